"""What the builder needs to know about the functions users hand it.

Their default names (a lambda is named after where it was written), whether they are
async, and whether their signature fits the way crossflow will call them: a step is
called with one message (and `streams=` when it declares streams), a build function
with `(scope, builder)`, a branch builder with one chain. Mismatches are reported when
the workflow is built, naming the function and what to change. A callable whose
signature cannot be read (some builtins and C extensions) is taken on trust.
"""

from __future__ import annotations

import functools
import inspect
import os
import types
from typing import Literal

from ._arguments import shown
from ._errors import InvalidArgument

_P = inspect.Parameter
_POSITIONAL = (_P.POSITIONAL_ONLY, _P.POSITIONAL_OR_KEYWORD)


# --------------------------------------------------------------------------- names


def lambda_label(fn: object) -> str | None:
    """`lambda@file.py:12` for a lambda (or a partial of one), else None."""
    if isinstance(fn, functools.partial):
        return lambda_label(fn.func)
    if getattr(fn, "__name__", None) != "<lambda>":
        return None
    code = getattr(fn, "__code__", None)
    if code is None:  # pragma: no cover - a lambda always has code
        return "lambda"
    return f"lambda@{os.path.basename(code.co_filename)}:{code.co_firstlineno}"


def callable_name(fn: object) -> str:
    """The name a node gets by default: the function's `__qualname__`, or where a lambda
    was written (`lambda@pipeline.py:12`)."""
    if isinstance(fn, functools.partial):
        return callable_name(fn.func)
    label = lambda_label(fn)
    if label is not None:
        return label
    name = getattr(fn, "__qualname__", None)
    if isinstance(name, str):
        return name
    return type(fn).__qualname__


def build_fn_name(fn: object) -> str:
    """The name a scope or workflow gets by default: its build function's `__name__`
    (`pricing`, not `outer.<locals>.pricing`), or where a lambda was written."""
    if isinstance(fn, functools.partial):
        return build_fn_name(fn.func)
    label = lambda_label(fn)
    if label is not None:
        return label
    name = getattr(fn, "__name__", None)
    if isinstance(name, str) and name:
        return name
    return type(fn).__name__


def is_async_callable(fn: object) -> bool:
    """True for `async def` functions, partials of them and objects with an async `__call__`."""
    if inspect.iscoroutinefunction(fn):
        return True
    if isinstance(fn, functools.partial):
        return is_async_callable(fn.func)
    # an object whose class defines `async def __call__`
    return inspect.iscoroutinefunction(getattr(type(fn), "__call__", None))  # noqa: B004


def check_callable(fn: object, where: str) -> None:
    """Reject what cannot be a service, with a message that says what to pass instead."""
    if inspect.iscoroutine(fn):
        name = getattr(fn, "__qualname__", "the function")
        fn.close()  # it will never run; closing it avoids a "never awaited" warning
        raise InvalidArgument(
            f"{where} got a coroutine object ({name}(...) was called): pass the async "
            f"function itself, for example `.then({name})`, not `.then({name}(...))`"
        )
    if inspect.isasyncgenfunction(fn) or inspect.isgeneratorfunction(fn):
        raise InvalidArgument(
            f"{where} got the generator function {callable_name(fn)!r}: a service returns one "
            "response per request. To send several messages, declare streams with "
            "`@cf.service(streams={...})` and call `streams.<name>.send(...)`, or return a "
            "list and use `.spread()`"
        )
    if not callable(fn):
        raise InvalidArgument(
            f"{where} expects a function, a cf.Service or a cf.Workflow, got {shown(fn)}"
        )


# --------------------------------------------------------------------------- signatures


def signature_of(fn: object) -> inspect.Signature | None:
    """The signature of `fn`, or None when it cannot be read."""
    try:
        return inspect.signature(fn)  # type: ignore[arg-type]  # any callable object
    except (TypeError, ValueError):
        return None


def _binds(signature: inspect.Signature, *args: object, **kwargs: object) -> bool:
    try:
        signature.bind(*args, **kwargs)
    except TypeError:
        return False
    return True


def _mentions_streams(parameter: inspect.Parameter) -> bool:
    annotation = parameter.annotation
    if annotation is _P.empty:
        return False
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    return "Streams" in str(text)


def _plainly_fits(fn: object, streams: tuple[str, ...]) -> bool:
    """A quick yes for the common case, read from the code object of a plain function:
    one required positional parameter, nothing else required, and a `streams` keyword
    exactly when streams are declared. False means "look closer", not "does not fit"."""
    if type(fn) is not types.FunctionType or hasattr(fn, "__wrapped__"):
        return False
    if "__signature__" in fn.__dict__:
        return False
    code = fn.__code__
    positional = code.co_argcount
    required = positional - len(fn.__defaults__ or ())
    keyword_only = code.co_varnames[positional : positional + code.co_kwonlyargcount]
    kwdefaults = fn.__kwdefaults__ or {}
    if required > 1 or (positional == 0 and not code.co_flags & inspect.CO_VARARGS):
        return False
    if any(k not in kwdefaults and k != "streams" for k in keyword_only):
        return False
    has_streams = "streams" in code.co_varnames[1 : positional + code.co_kwonlyargcount]
    if streams:
        return has_streams or bool(code.co_flags & inspect.CO_VARKEYWORDS)
    return not has_streams


def check_step_signature(fn: object, name: str, streams: tuple[str, ...], where: str) -> None:
    """`fn` must take one message as its only required argument, and `streams=` exactly
    when it declares streams.

    Raises:
        InvalidArgument: saying which step and what to change.
    """
    if _plainly_fits(fn, streams):
        return
    signature = signature_of(fn)
    if signature is None:
        return
    params = list(signature.parameters.values())
    positional = [p for p in params if p.kind in _POSITIONAL]
    star_args = any(p.kind is _P.VAR_POSITIONAL for p in params)
    star_kwargs = any(p.kind is _P.VAR_KEYWORD for p in params)
    request = positional[0] if positional else None
    streams_param = signature.parameters.get("streams")
    if streams_param is not None and (
        streams_param is request or streams_param.kind in (_P.VAR_POSITIONAL, _P.VAR_KEYWORD)
    ):
        streams_param = None  # the message itself is called `streams`, or *streams
    step = f"{where}: step {name!r}"
    if request is None and not star_args:
        raise InvalidArgument(
            f"{step} takes no argument, but a node calls it with each message. Give it one "
            "parameter for the message (name it `_` if it does not use it: "
            f"`def {_short(name)}(_: object)`)."
        )
    required = [
        p for p in positional if p.default is _P.empty and not (streams and p is streams_param)
    ]
    if len(required) > 1:
        names = ", ".join(p.name for p in required)
        raise InvalidArgument(
            f"{step} needs {len(required)} arguments ({names}), but a node calls it with one "
            "message. Take the values as one message and unpack it (join them first: "
            "builder.join((a, b)) gives tuples, builder.join({'a': a, 'b': b}) dicts), or fix "
            f"the other arguments with functools.partial({_short(name)}, ...)."
        )
    keyword_only = [
        p.name
        for p in params
        if p.kind is _P.KEYWORD_ONLY and p.default is _P.empty and p.name != "streams"
    ]
    if keyword_only:
        raise InvalidArgument(
            f"{step} has the required keyword-only parameter(s) {', '.join(keyword_only)}, "
            "which a node never passes. Give them defaults, or fix them with "
            f"functools.partial({_short(name)}, ...)."
        )
    if streams:
        if streams_param is None and not star_kwargs:
            raise InvalidArgument(
                f"{step} declares the streams {list(streams)}, but its function has no "
                "`streams` parameter to send on them. Add one: "
                f"`def {_short(name)}(request, *, streams: cf.Streams)`, and send with "
                f"`streams.{streams[0]}.send(...)`."
            )
    elif streams_param is not None and (
        streams_param.default is _P.empty
        or streams_param.kind is _P.KEYWORD_ONLY
        or _mentions_streams(streams_param)
    ):
        raise InvalidArgument(
            f"{step} has a `streams` parameter, but declares no streams, so nothing would be "
            "passed to it. Declare them with the service decorator: "
            f"`@cf.service(streams={{'progress': float}})` on {_short(name)} (or "
            f"`cf.service({_short(name)}, streams={{...}})`)."
        )
    kwargs = {"streams": object()} if streams else {}
    if not _binds(signature, object(), **kwargs):  # pragma: no cover - caught above
        raise InvalidArgument(
            f"{step} cannot be called with one message{' and streams=' if streams else ''}; "
            f"its signature is {signature}"
        )


def _short(name: str) -> str:
    """The last part of a qualified name, usable in a suggested `def`."""
    tail = name.rsplit(".", 1)[-1]
    return tail if tail.isidentifier() else "step"


BuildForm = Literal["build", "service"]


def _build_fn_problem(fn: object, signature: inspect.Signature, name: str) -> str | None:
    """Why `fn` cannot be called as `fn(scope, builder)`, or None if it can."""
    if _binds(signature, object(), object()):
        return None
    params = list(signature.parameters.values())
    positional = [p for p in params if p.kind in _POSITIONAL]
    star_args = any(p.kind is _P.VAR_POSITIONAL for p in params)
    required = [p for p in positional if p.default is _P.empty]
    if not positional and not star_args:
        return f"{name!r} takes no arguments"
    if len(positional) == 1 and not star_args:
        if positional[0].name == "scope":
            return (
                f"{name!r} has no `builder` parameter: add it, `def {_short(name)}(scope, builder)`"
            )
        return f"{name!r} takes one argument, like a step that runs on each message"
    if len(required) > 2:
        return f"{name!r} needs {len(required)} arguments ({', '.join(p.name for p in required)})"
    keyword_only = [p.name for p in params if p.kind is _P.KEYWORD_ONLY and p.default is _P.empty]
    if keyword_only:
        return f"{name!r} has the required keyword-only parameter(s) {', '.join(keyword_only)}"
    return f"{name!r} cannot be called as {_short(name)}(scope, builder)"  # pragma: no cover


def check_build_fn(fn: object, where: str, step_hint: str = "") -> None:
    """`fn` must be a plain function callable as `fn(scope, builder)`.

    `step_hint` completes the message when `fn` looks like a step (one argument): it
    says what to write instead, for example `use chain.then(f)`.

    Raises:
        InvalidArgument: naming the function and the common mistake it looks like.
    """
    expected = "a build function `def build(scope, builder) -> None`"
    if inspect.iscoroutine(fn):
        fn.close()  # it will never run
        raise InvalidArgument(
            f"{where} expects {expected}, got a coroutine object: pass the function itself"
        )
    if not callable(fn):
        raise InvalidArgument(f"{where} expects {expected}, got {shown(fn)}")
    name = build_fn_name(fn)
    signature = signature_of(fn)
    problem = None if signature is None else _build_fn_problem(fn, signature, name)
    if problem is not None:
        hint = f" {step_hint.format(name=_short(name))}" if "one argument" in problem else ""
        raise InvalidArgument(
            f"{where} expects {expected}, which receives the scope and its builder; "
            f"{problem}.{hint}"
        )
    if is_async_callable(fn):
        raise InvalidArgument(
            f"{where} got the async function {name!r} as a build function. A build function "
            "runs once, synchronously, while the workflow is built: make it a plain "
            f"`def {_short(name)}(scope, builder)`. The steps it adds may be async."
        )
    if inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn):
        raise InvalidArgument(
            f"{where} got the generator function {name!r} as a build function: calling it "
            "would not run its body. A build function is a plain "
            f"`def {_short(name)}(scope, builder)`: remove the `yield`."
        )


def cleanup_form(fn: object, where: str) -> BuildForm:
    """Which form a cleanup given as a function takes.

    A function with two required positional parameters is a build function, called as
    `fn(scope, builder)`; one that takes one argument (plain or async) is the service
    form. A callable whose signature cannot be read is taken as a build function.

    Raises:
        InvalidArgument: neither form, explaining both.
    """
    both = (
        "A cleanup is either a build function `def build(scope, builder)` that builds the "
        "cleanup workflow (its request: the keys), or a service called once with a "
        "cf.Ending: a function of one argument (plain or async), a cf.Service or a "
        "cf.Workflow."
    )
    if inspect.iscoroutine(fn):
        fn.close()  # it will never run
        raise InvalidArgument(f"{where} got a coroutine object: pass the function itself. {both}")
    if not callable(fn):
        raise InvalidArgument(f"{where}: {shown(fn)} is no cleanup. {both}")
    signature = signature_of(fn)
    if signature is None:
        return "build"
    params = list(signature.parameters.values())
    positional = [p for p in params if p.kind in _POSITIONAL]
    star_args = any(p.kind is _P.VAR_POSITIONAL for p in params)
    required = [p for p in positional if p.default is _P.empty]
    if len(required) >= 2 and _binds(signature, object(), object()):
        return "build"
    if len(required) <= 1 and (positional or star_args):
        # one message: the service form; the step checks say what else does not fit
        return "service"
    name = build_fn_name(fn)
    problem = _build_fn_problem(fn, signature, name) or f"{name!r} takes neither form"
    raise InvalidArgument(f"{where}: {problem}. {both}")


def check_one_argument(fn: object, where: str, what: str) -> None:
    """`fn` must be callable with one positional argument (`what` says what it gets)."""
    if not callable(fn):
        raise InvalidArgument(
            f"{where} expects a function of one argument ({what}), got {shown(fn)}"
        )
    signature = signature_of(fn)
    if signature is not None and not _binds(signature, object()):
        raise InvalidArgument(
            f"{where} calls {callable_name(fn)!r} with one argument ({what}), but its "
            f"signature is {signature}"
        )
