"""Build-time checks: bad arguments are rejected where they are given, handles of the
wrong kind, build functions and step signatures are explained, and default names read
well (API §1, §5; SEMANTICS S2.3 for the names in cancellations)."""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable
from typing import Any

import anyio
import pytest

import crossflow as cf
from crossflow.testing import assert_cancelled, assert_completes


def build(fn: Callable[[cf.Scope[Any, Any], cf.Builder], None], **kwargs: Any) -> Any:
    return cf.Workflow.build(fn, **kwargs)


def within(body: Callable[[cf.Scope[Any, Any], cf.Builder], object]) -> Callable[[], object]:
    """A call that builds a workflow whose build function does `body(scope, builder)`."""

    def build_fn(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        body(scope, builder)

    return lambda: cf.Workflow.build(build_fn, name="wf")


def step(x: int) -> int:
    return x


async def async_step(x: int) -> int:
    return x


def pipeline(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
    builder.chain(scope.start).then(step).connect(scope.terminate)


echo = cf.Workflow.build(pipeline, name="echo")


# --------------------------------------------------------------------------- A: arguments

# (id, the bad call, the argument the message must name, the bad value)
BAD_ARGUMENTS: list[tuple[str, Callable[[], object], str, object]] = [
    (
        "uninterruptible-str",
        lambda: cf.ScopeSettings(uninterruptible="no"),  # type: ignore[arg-type]
        "uninterruptible",
        "no",
    ),
    (
        "uninterruptible-int",
        lambda: cf.ScopeSettings(uninterruptible=1),  # type: ignore[arg-type]
        "uninterruptible",
        1,
    ),
    (
        "cleanup_timeout-str",
        lambda: cf.ScopeSettings(cleanup_timeout="5"),  # type: ignore[arg-type]
        "cleanup_timeout",
        "5",
    ),
    ("cleanup_timeout-zero", lambda: cf.ScopeSettings(cleanup_timeout=0), "cleanup_timeout", 0),
    (
        "cleanup_timeout-negative",
        lambda: cf.ScopeSettings(cleanup_timeout=-1.5),
        "cleanup_timeout",
        -1.5,
    ),
    (
        "cleanup_timeout-bool",
        lambda: cf.ScopeSettings(cleanup_timeout=True),
        "cleanup_timeout",
        True,
    ),
    (
        "cleanup_timeout-nan",
        lambda: cf.ScopeSettings(cleanup_timeout=math.nan),
        "cleanup_timeout",
        math.nan,
    ),
    ("service-serial-str", lambda: cf.service(serial="yes"), "serial", "yes"),  # type: ignore[call-overload]
    ("service-serial-list", lambda: cf.service(step, serial=[]), "serial", []),  # type: ignore[call-overload]
    ("service-offload-str", lambda: cf.service(offload="yes"), "offload", "yes"),  # type: ignore[call-overload]
    ("service-offload-int", lambda: cf.service(step, offload=0), "offload", 0),  # type: ignore[call-overload]
    ("service-name", lambda: cf.service(name=5), "name", 5),  # type: ignore[call-overload]
    ("service-empty-name", lambda: cf.service(step, name=""), "name", ""),
    ("service-stream-type", lambda: cf.service(streams={"a": 5}), "'a'", 5),  # type: ignore[dict-item]
    (
        "service-stream-type-str",
        lambda: cf.service(streams={"a": "float"}),  # type: ignore[dict-item]
        "'a'",
        "float",
    ),
    ("service-streams-list", lambda: cf.service(streams=["a"]), "streams", ["a"]),  # type: ignore[call-overload]
    (
        "service-instruct-preempt",
        lambda: cf.service(async_step).instruct(preempt="yes"),
        "preempt",
        "yes",
    ),  # type: ignore[arg-type]
    ("service-instruct-ensure", lambda: cf.service(async_step).instruct(ensure=1), "ensure", 1),  # type: ignore[arg-type]
    ("service-instruct-label", lambda: cf.service(async_step).instruct(label=[1]), "label", [1]),
    ("workflow-instruct-label", lambda: echo.instruct(label={}), "label", {}),
    ("workflow-name", lambda: cf.workflow(name=5), "name", 5),  # type: ignore[call-overload]
    ("workflow-stream-type", lambda: cf.workflow(streams={"s": 5}), "'s'", 5),  # type: ignore[call-overload]
    (
        "workflow-settings",
        lambda: cf.workflow(settings={"timeout": 1}),  # type: ignore[call-overload]
        "settings",
        {"timeout": 1},
    ),
    ("build-name", lambda: build(pipeline, name=5), "name", 5),
    ("build-stream-type", lambda: build(pipeline, streams={"s": [int]}), "'s'", [int]),
    ("split-keys-str", within(lambda s, b: b.create_split(keys="ab")), "keys", "ab"),
    ("split-keys-int", within(lambda s, b: b.create_split(keys=5)), "keys", 5),
    ("split-keys-dict", within(lambda s, b: b.create_split(keys={"a": 1})), "keys", {"a": 1}),
    ("split-key-unhashable", within(lambda s, b: b.create_split(keys=[[1]])), "key", [1]),
    (
        "split-outputs-keys-str",
        within(lambda s, b: b.chain(s.start).split_outputs(keys="ab")),
        "keys",
        "ab",
    ),
    ("split-sequence", within(lambda s, b: b.create_split(sequence="2")), "sequence", "2"),
    ("split-seq", within(lambda s, b: b.create_split(sequence=1).seq("0")), "seq", "0"),
    (
        "then_scope-name",
        within(lambda s, b: b.chain(s.start).then_scope(pipeline, name=5)),
        "name",
        5,
    ),
    ("create_scope-name", within(lambda s, b: b.create_scope(pipeline, name=5)), "name", 5),
    (
        "create_scope-settings",
        within(lambda s, b: b.create_scope(pipeline, settings=5)),
        "settings",
        5,
    ),
    (
        "then_scope-stream-type",
        within(lambda s, b: b.chain(s.start).then_scope(pipeline, streams={"s": 5})),
        "'s'",
        5,
    ),
    ("then-name", within(lambda s, b: b.chain(s.start).then(step, name=5)), "name", 5),
    ("create_node-empty-name", within(lambda s, b: b.create_node(step, name="")), "name", ""),
    ("create_buffer-name", within(lambda s, b: b.create_buffer(name=5)), "name", 5),
    (
        "join-name",
        within(lambda s, b: b.join(b.create_buffer(), name=5)),
        "name",
        5,
    ),
    ("join-into", within(lambda s, b: b.join({"a": b.create_buffer()}, into=5)), "into", 5),
    (
        "listen-name",
        within(lambda s, b: b.listen(b.create_buffer(), name=5)),
        "name",
        5,
    ),
    ("delay-name", within(lambda s, b: b.chain(s.start).delay(1, name=7)), "name", 7),
    ("collect-min", within(lambda s, b: b.chain(s.start).collect(min="1")), "min", "1"),
    (
        "cancellation-policy",
        within(lambda s, b: b.create_node(async_step, cancellation="abandon")),
        "cancellation",
        "abandon",
    ),
    (
        "on_cancel-ending",
        within(lambda s, b: b.on_cancel((), pipeline, ending="yes")),
        "ending",
        "yes",
    ),
    ("buffer-settings-n", lambda: cf.BufferSettings.keep_last("3"), "n", "3"),  # type: ignore[arg-type]
    (
        "buffer-settings-retention",
        lambda: cf.BufferSettings("keep_some", 1),  # type: ignore[arg-type]
        "retention",
        "keep_some",
    ),
    ("trim-point", lambda: cf.TrimBranch.single_point(5), "point", 5),  # type: ignore[arg-type]
    ("trim-how", lambda: cf.TrimBranch("sideways", 5), "how", "sideways"),
    ("run-events", lambda: echo.run_sync(1, events="no"), "events", "no"),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(
    ("call", "argument", "value"),
    [pytest.param(call, arg, value, id=name) for name, call, arg, value in BAD_ARGUMENTS],
)
def test_bad_arguments_are_rejected_where_given(
    call: Callable[[], object], argument: str, value: object
) -> None:
    """A bad argument raises `cf.InvalidArgument` (also a `TypeError`) at the call that
    received it, naming the argument and showing the value (`!r`) and its type (API §1)."""
    with pytest.raises(cf.InvalidArgument) as info:
        call()
    message = str(info.value)
    assert isinstance(info.value, TypeError)
    assert argument in message
    assert repr(value) in message
    assert type(value).__name__ in message


def test_options_of_decorator_factories_are_checked_before_decorating() -> None:
    """`cf.service(...)` and `cf.workflow(...)` check their options when called, not
    when the decorator is applied, so the error points at the options (API §1)."""
    with pytest.raises(cf.InvalidArgument, match="serial"):
        cf.service(serial="yes")  # type: ignore[call-overload]
    with pytest.raises(cf.InvalidArgument, match="name"):
        cf.workflow(name=3)  # type: ignore[call-overload]


def test_truthy_settings_do_not_make_a_scope_uninterruptible() -> None:
    """`ScopeSettings(uninterruptible='no')` used to mean True: now only `True` and
    `False` are accepted, and both are kept as given (S6.4)."""
    assert cf.ScopeSettings(uninterruptible=True).uninterruptible is True
    assert cf.ScopeSettings(uninterruptible=False).uninterruptible is False
    for value in ("no", "", [], 0, None):
        with pytest.raises(cf.InvalidArgument):
            cf.ScopeSettings(uninterruptible=value)  # type: ignore[arg-type]


def test_cleanup_timeout_is_kept() -> None:
    """`cf.ScopeSettings(cleanup_timeout=...)` takes a positive number of seconds or None
    and keeps it; it is part of the settings' value (S6.5)."""
    assert cf.ScopeSettings().cleanup_timeout is None
    assert cf.ScopeSettings(cleanup_timeout=2).cleanup_timeout == 2
    assert cf.ScopeSettings(cleanup_timeout=0.5).cleanup_timeout == 0.5
    assert cf.ScopeSettings(cleanup_timeout=math.inf).cleanup_timeout == math.inf
    assert cf.ScopeSettings(cleanup_timeout=1) != cf.ScopeSettings(cleanup_timeout=2)
    assert "cleanup_timeout=1" in repr(cf.ScopeSettings(cleanup_timeout=1))


def test_serial_and_offload_keep_their_booleans() -> None:
    """`cf.service(serial=True)` is still serial, and `serial=False` is not (S7.5)."""
    assert cf.service(async_step, serial=True).serial is True
    assert cf.service(async_step, serial=False).serial is False


@pytest.mark.parametrize(
    "kind",
    [int, str, list[int], dict[str, float], int | None, Any, None, type(None), step],
    ids=repr,
)
def test_stream_types_take_classes_and_typing_forms(kind: Any) -> None:
    """A stream's message type is a class, `None`, `typing.Any` or a typing form such as
    `list[int]` or `int | None` (API §1); whatever else is refused."""
    declared = {"s": kind}
    if kind is step:
        with pytest.raises(cf.InvalidArgument, match="'s'"):
            cf.service(streams=declared)
        return
    svc = cf.service(streams=declared)(lambda x, *, streams: x)
    assert svc.streams == declared


@pytest.mark.parametrize("keys", [("a", "b"), ["a", "b"], (0, 2), range(2), iter(["x"])], ids=repr)
def test_split_keys_take_any_iterable_of_hashables_but_a_string(keys: Any) -> None:
    """`create_split(keys=...)` takes a list, tuple or other iterable of hashable keys
    (API §1 Split)."""
    expected = tuple(keys) if not isinstance(keys, type(iter([]))) else ("x",)

    def wf(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        split = builder.create_split(keys=expected if isinstance(keys, type(iter([]))) else keys)
        builder.connect(scope.start, split.input)
        builder.connect(split.key(expected[0]), scope.terminate)

    build(wf)


@pytest.mark.parametrize(
    "fork",
    [
        lambda c: c.fork_clone(),
        lambda c: c.fork_unzip(),
    ],
    ids=["fork_clone", "fork_unzip"],
)
def test_a_fork_needs_branches(fork: Callable[[cf.Chain[Any]], object]) -> None:
    """`fork_clone()` and `fork_unzip()` without branches are refused: their messages
    would go nowhere (API §1 Chains)."""

    def wf(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        fork(builder.chain(scope.start))

    with pytest.raises(cf.InvalidArgument, match="branch"):
        build(wf)


def test_a_fork_branch_is_a_function_of_the_chain() -> None:
    """A service given where a fork's branch builder belongs is explained: branches are
    functions that receive the branch's chain (API §1 Chains)."""
    svc = cf.service(step)

    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).fork_clone(svc)  # type: ignore[arg-type]

    with pytest.raises(cf.InvalidArgument, match=r"cf\.Service") as info:
        build(wf)
    assert "lambda chain" in str(info.value)

    def two_arguments(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).fork_clone(lambda a, b: None)  # type: ignore[arg-type, misc]

    with pytest.raises(cf.InvalidArgument, match="one argument"):
        build(two_arguments)


def test_a_filter_takes_a_plain_one_argument_function() -> None:
    """Filters decide inline: an async function, or one that needs two arguments, is
    refused naming it (API §1 Chains)."""

    def with_async(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).disposal_filter(async_step).connect(scope.terminate)  # type: ignore[arg-type]

    with pytest.raises(cf.InvalidArgument, match="async_step"):
        build(with_async)

    def with_two(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).cancellation_filter(lambda a, b: a).connect(scope.terminate)  # type: ignore[arg-type, misc]

    with pytest.raises(cf.InvalidArgument, match="one argument"):
        build(with_two)


# --------------------------------------------------------------------------- B: handles


HANDLE_MISTAKES: list[tuple[str, Callable[[cf.Scope[Any, Any], cf.Builder], object], str]] = [
    ("chain-terminate", lambda s, b: b.chain(s.terminate), "InputSlot"),
    ("chain-buffer", lambda s, b: b.chain(b.create_buffer()), "Buffer"),
    ("chain-node-input", lambda s, b: b.chain(b.create_node(step).input), "InputSlot"),
    ("chain-node", lambda s, b: b.chain(b.create_node(step)), "Node"),
    ("chain-scope", lambda s, b: b.chain(s), "Scope"),
    ("chain-a-chain", lambda s, b: b.chain(b.chain(s.start)), "Chain"),
    (
        "connect-from-node-input",
        lambda s, b: b.connect(b.create_node(step).input, s.terminate),
        "InputSlot",
    ),
    ("connect-from-buffer", lambda s, b: b.connect(b.create_buffer(), s.terminate), "Buffer"),
]


@pytest.mark.parametrize(
    ("mistake", "given"),
    [pytest.param(m, g, id=name) for name, m, g in HANDLE_MISTAKES],
)
def test_chain_and_connect_need_an_output(
    mistake: Callable[[cf.Scope[Any, Any], cf.Builder], object], given: str
) -> None:
    """`builder.chain(x)` and `builder.connect(x, ...)` with something that is not an
    `Output` raise `cf.InvalidArgument` saying an `Output` is needed and what was given,
    with a hint of what to use instead (API §1 Ports)."""

    def wf(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        mistake(scope, builder)

    with pytest.raises(cf.InvalidArgument) as info:
        build(wf)
    message = str(info.value)
    assert "needs a cf.Output" in message
    assert given in message
    assert "InputSlot or" not in message  # the old message offered an input slot
    assert ";" in message  # a hint follows


@pytest.mark.parametrize(
    ("target", "hint"),
    [
        (lambda s, b: b.create_node(step), "node.input"),
        (lambda s, b: s.start, "to* an input slot"),
        (lambda s, b: step, "chain.then(fn)"),
        (lambda s, b: s, "scope.terminate"),
    ],
    ids=["node", "output", "function", "scope"],
)
def test_connect_and_chain_connect_need_an_input_slot(
    target: Callable[[cf.Scope[Any, Any], cf.Builder], object], hint: str
) -> None:
    """`builder.connect(out, x)` and `chain.connect(x)` with something that is not an
    input slot or a buffer say what was given and what to use instead (API §1 Ports)."""

    def with_builder(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        builder.connect(scope.start, target(scope, builder))  # type: ignore[arg-type]

    def with_chain(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(step).connect(target(scope, builder))  # type: ignore[arg-type]

    for wf in (with_builder, with_chain):
        with pytest.raises(cf.InvalidArgument, match=r"needs a cf\.InputSlot") as info:
            build(wf)
        assert hint in str(info.value)


def test_listen_on_an_output_says_to_buffer_it() -> None:
    """`builder.listen(output)` explains that an output holds nothing and needs a buffer
    (API §5)."""

    def wf(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        builder.listen(scope.start)  # type: ignore[call-overload]

    with pytest.raises(cf.InvalidArgument, match="create_buffer"):
        build(wf)


def test_trim_points_are_checked_when_the_branch_is_made() -> None:
    """`cf.TrimBranch` refuses an output as a point at once, saying to use an input slot
    (API §5)."""

    def wf(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        cf.TrimBranch.downstream(scope.start)  # type: ignore[arg-type]

    with pytest.raises(cf.InvalidArgument, match="input slot"):
        build(wf)


# --------------------------------------------------------------------------- B: build functions


def pricing(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
    builder.chain(scope.start).map(lambda x: x * 2).connect(scope.terminate)


def only_scope(scope: cf.Scope[int, int]) -> None:
    pass


def no_arguments() -> None:
    pass


def three(scope: Any, builder: Any, extra: Any) -> None:
    pass


async def async_build(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
    pass


def generator_build(scope: Any, builder: Any) -> Any:
    yield


BUILD_FN_MISTAKES: list[tuple[str, object, str]] = [
    ("step", step, "takes one argument, like a step"),
    ("async-step", async_step, "takes one argument, like a step"),
    ("no-builder", only_scope, "no `builder` parameter"),
    ("no-arguments", no_arguments, "takes no arguments"),
    ("three-arguments", three, "needs 3 arguments"),
    ("async-build", async_build, "async function"),
    ("generator", generator_build, "generator function"),
    ("not-callable", 42, "42 of type int"),
]


@pytest.mark.parametrize(
    ("fn", "says"), [pytest.param(f, s, id=name) for name, f, s in BUILD_FN_MISTAKES]
)
@pytest.mark.parametrize(
    "use",
    [
        lambda fn: build(fn),
        lambda fn: cf.workflow(fn),
        lambda fn: cf.workflow(name="x")(fn),
        lambda fn: build(lambda s, b: b.chain(s.start).then_scope(fn)),
        lambda fn: build(lambda s, b: b.create_scope(fn)),
    ],
    ids=["Workflow.build", "@cf.workflow", "@cf.workflow(...)", "then_scope", "create_scope"],
)
def test_build_functions_are_checked(
    use: Callable[[object], object], fn: object, says: str
) -> None:
    """Where a `(scope, builder)` build function is expected, anything else raises
    `cf.InvalidArgument` saying so and recognising the mistake: a one-argument step, a
    missing `builder` parameter, an `async def` or generator function (API §1)."""
    with pytest.raises(cf.InvalidArgument) as info:
        use(fn)
    message = str(info.value)
    assert says in message
    assert "scope, builder" in message or "(scope, builder)" in message


@pytest.mark.parametrize(
    ("use", "suggestion"),
    [
        (lambda: build(lambda s, b: b.chain(s.start).then_scope(step)), "chain.then(step)"),
        (lambda: build(lambda s, b: b.create_scope(step)), "builder.create_node(step)"),
        (lambda: cf.workflow(step), ".then(step).connect(scope.terminate)"),
    ],
    ids=["then_scope", "create_scope", "workflow"],
)
def test_a_step_given_as_build_function_is_pointed_to_the_right_call(
    use: Callable[[], object], suggestion: str
) -> None:
    """A step given where a build function belongs is told what to write instead (API §1)."""
    with pytest.raises(cf.InvalidArgument) as info:
        use()
    assert suggestion in str(info.value)


@pytest.mark.parametrize("provider", [cf.service(step), echo], ids=["service", "workflow"])
def test_a_provider_given_as_build_function_is_explained(provider: object) -> None:
    """`then_scope(service)` and `create_scope(workflow)` say a build function is
    expected and that `then` runs a provider on every message (API §1)."""
    for use in (
        lambda: build(lambda s, b: b.chain(s.start).then_scope(provider)),
        lambda: build(lambda s, b: b.create_scope(provider)),
        lambda: cf.workflow(provider),
    ):
        with pytest.raises(cf.InvalidArgument, match="build function") as info:
            use()
        assert "cf.Service" in str(info.value) or "cf.Workflow" in str(info.value)


def test_a_build_function_returning_an_awaitable_is_refused() -> None:
    """A callable object whose call returns a coroutine cannot build anything: its
    workflow is refused instead of built empty (API §1)."""

    class Builds:
        def __call__(self, scope: Any, builder: Any) -> Any:
            return async_build(scope, builder)

    with pytest.raises(cf.InvalidArgument, match="awaitable"):
        build(Builds())


class Opaque:
    """A callable whose signature cannot be read."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn

    def __call__(self, *args: Any) -> Any:
        return self.fn(*args)

    @property
    def __signature__(self) -> Any:
        raise ValueError("no signature")


@pytest.mark.anyio
async def test_callables_without_a_readable_signature_are_taken_on_trust() -> None:
    """A build function or a step whose signature cannot be read (builtins, some C
    callables) is used as given, without a check (API §1)."""
    opaque_step = Opaque(lambda x: x + 1)
    wf = build(
        Opaque(
            lambda s, b: b.chain(s.start).then(opaque_step).map(int).then(abs).connect(s.terminate)
        )
    )
    assert await assert_completes(wf, -5) == 4


# --------------------------------------------------------------------------- E: steps


def two(a: int, b: int) -> int:
    return a + b


def nothing() -> int:
    return 1


def undeclared(x: int, *, streams: cf.Streams) -> int:
    return x


def keyword_only(x: int, *, factor: int) -> int:
    return x * factor


STEP_USES: dict[str, Callable[..., object]] = {
    "then": lambda b, s, fn: b.chain(s.start).then(fn),
    "then_node": lambda b, s, fn: b.chain(s.start).then_node(fn),
    "map": lambda b, s, fn: b.chain(s.start).map(fn),
    "create_node": lambda b, s, fn: b.create_node(fn),
    "on_cancel": lambda b, s, fn: b.on_cancel((), fn),
}

STEP_MISTAKES: list[tuple[str, object, str]] = [
    ("two-arguments", two, "needs 2 arguments (a, b)"),
    ("no-argument", nothing, "takes no argument"),
    ("undeclared-streams", undeclared, "declares no streams"),
    ("keyword-only", keyword_only, "keyword-only parameter(s) factor"),
]


@pytest.mark.parametrize(
    ("use", "fn", "says"),
    [
        pytest.param(use, fn, says, id=f"{where}-{name}")
        for where, use in STEP_USES.items()
        for name, fn, says in STEP_MISTAKES
        # a cleanup of two arguments is a (scope, builder) build function
        if not (where == "on_cancel" and fn is two)
    ],
)
def test_steps_that_cannot_take_one_message_are_refused_at_build(
    use: Callable[..., object], fn: object, says: str
) -> None:
    """A step that needs two arguments, takes none, has a `streams` parameter without
    declared streams, or a required keyword-only parameter is refused when the workflow
    is built, naming the step and what to change (API §1 Nodes and services). A cleanup
    of two arguments is a build function, so it is not among the cleanup cases."""

    def wf(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        use(builder, scope, fn)

    with pytest.raises(cf.InvalidArgument) as info:
        build(wf)
    message = str(info.value)
    assert says in message
    assert repr(getattr(fn, "__qualname__", "")) in message


@pytest.mark.parametrize(("fn", "says"), [(f, s) for _, f, s in STEP_MISTAKES])
def test_services_are_checked_when_made(fn: Any, says: str) -> None:
    """`cf.service(fn)` checks `fn` the same way, when the service is made (API §1)."""
    with pytest.raises(cf.InvalidArgument, match=r"cf\.service") as info:
        cf.service(fn)
    assert says in str(info.value)


def test_a_service_with_streams_needs_a_streams_parameter() -> None:
    """A service declared with streams whose function has no `streams` keyword is
    refused, showing the parameter to add (API §1)."""
    with pytest.raises(cf.InvalidArgument, match=r"no `streams` parameter") as info:
        cf.service(streams={"progress": float})(step)
    assert "streams: cf.Streams" in str(info.value)
    assert "streams.progress.send" in str(info.value)


@pytest.mark.anyio
async def test_steps_that_fit_are_accepted() -> None:
    """Steps with one argument plus defaults, `*args`, a partial that fixes the others,
    builtins, callable objects and services with a `streams` keyword (or `**kwargs`) all
    build and run (API §1)."""

    def with_default(x: int, y: int = 1) -> int:
        return x + y

    def star(*args: int) -> int:
        return sum(args)

    class Doubler:
        def __call__(self, x: int) -> int:
            return x * 2

    def reports(x: int, *, streams: cf.Streams) -> int:
        return x

    def loose(x: int, **kwargs: Any) -> int:
        return x

    def named_streams(streams: int) -> int:  # the message itself is called `streams`
        return streams

    def optional_streams(x: int, streams: int = 0) -> int:  # not about crossflow's streams
        return x + streams

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        node = (
            builder.chain(scope.start)
            .then(with_default)
            .then(star)
            .then(functools.partial(two, 1))
            .then(abs)
            .then(Doubler())
            .then(named_streams)
            .then(optional_streams)
            .then(cf.service(streams={"s": int})(loose))
            .then_node(cf.service(streams={"s": int})(reports))
        )
        builder.chain(node.output).connect(scope.terminate)

    assert await assert_completes(wf, 3) == 10


# --------------------------------------------------------------------------- F: default names


def test_a_nested_scope_is_named_after_its_build_function() -> None:
    """A nested scope without `name=` is named after its build function, with `#2` when
    it repeats in one scope; an explicit name wins (API §1)."""
    nodes: list[cf.Node[Any, Any]] = []

    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        nodes.append(builder.create_scope(pricing))
        nodes.append(builder.create_scope(pricing))
        nodes.append(builder.create_scope(pricing, name="discount"))
        builder.connect(scope.start, nodes[0].input)
        builder.connect(nodes[0].output, nodes[1].input)
        builder.connect(nodes[1].output, nodes[2].input)
        builder.chain(nodes[2].output).then_scope(pricing).connect(scope.terminate)

    build(wf)
    assert [n.name for n in nodes] == ["pricing", "pricing#2", "discount"]
    assert repr(nodes[0]) == "<Node 'pricing'>"


def test_a_lambda_is_named_after_where_it_was_written() -> None:
    """A lambda used as a node or a scope is named `lambda@<file>:<line>`, and a workflow
    built from a lambda too (API §1)."""
    nodes: list[cf.Node[Any, Any]] = []
    line = 0

    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        nonlocal line
        line = inspect.stack()[0].lineno + 1
        nodes.append(builder.create_node(lambda x: x))
        nodes.append(builder.create_scope(lambda s, b: b.connect(s.start, s.terminate)))
        builder.connect(scope.start, nodes[0].input)
        builder.connect(nodes[0].output, nodes[1].input)
        builder.connect(nodes[1].output, scope.terminate)

    build(wf)
    assert nodes[0].name == f"lambda@test_build_checks.py:{line}"
    assert nodes[1].name == f"lambda@test_build_checks.py:{line + 1}"
    wf2 = cf.Workflow.build(lambda s, b: b.connect(s.start, s.terminate))
    assert wf2.name.startswith("lambda@test_build_checks.py:")


@pytest.mark.anyio
async def test_scope_names_read_well_in_events_and_cancellations() -> None:
    """The default names appear in event paths (`shop/pricing[0]`), in the disposal the
    parent records for a cancelled child, and as the scope of its `Unreachable`
    (S1.7, S2.4, S9.2)."""

    def failing(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        builder.chain(scope.start).dispose_on_none().connect(scope.terminate)

    @cf.workflow
    def shop(scope: cf.Scope[int, Any], builder: cf.Builder) -> None:
        builder.chain(scope.start).then_scope(pricing).map(lambda _: None).then_scope(
            failing
        ).connect(scope.terminate)

    with anyio.fail_after(5):
        error = await assert_cancelled(shop, 2)
    paths = {event.path for event in error.events}
    assert ("shop", "pricing[0]") in paths
    assert ("shop", "failing[0]") in paths
    match error.cancellation.cause:
        case cf.Unreachable(
            "shop",
            (cf.Disposal("failing", cf.ScopeCancelled(cf.Cancellation(cf.Unreachable(inner)))),),
        ):
            assert inner == "failing"
        case other:
            pytest.fail(f"unexpected cause {other!r}")
