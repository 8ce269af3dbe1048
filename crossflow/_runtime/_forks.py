"""Forks, filters, spreads and splits: operations that route each message (S3).

They hold no state: each one looks at a message and sends it on, copies it, splits it,
or disposes of it with a cause. A fork that cannot copy its message, or one that gets a
message of the wrong shape, fails like a service would (S4.3).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .._causes import (
    Branching,
    Disposal,
    EmptySpread,
    Filtered,
    IncompleteSplit,
)
from .._errors import UncopyableMessage
from .._model import FilterSettings, ForkCloneSettings, SplitSettings
from .._results import Err, Ok
from .._text import describe_error, safe_repr

if TYPE_CHECKING:
    from ._engine import Engine
    from ._plan import Handler, Plan
    from ._scope_session import ScopeSession

# messages of these types are immutable: a fork can share them instead of copying
_SHARED = frozenset({int, float, complex, str, bytes, bool, type(None), frozenset, range})


def _clone(msg: Any) -> Any:
    if type(msg) in _SHARED:
        return msg
    if type(msg) is tuple and all(type(x) in _SHARED for x in msg):
        return msg
    return copy.deepcopy(msg)


def clone_or_error(msg: Any, name: str, what: str, fix: str) -> tuple[Any, Exception | None]:
    """A copy of `msg`, or the error that says why it cannot be copied, and how to fix it."""
    try:
        return _clone(msg), None
    except Exception as error:
        failure = UncopyableMessage(
            f"{name} could not copy {safe_repr(msg, 80)} for {what}: copy.deepcopy raised "
            f"{describe_error(error)}. Make the message copyable (give its class a "
            f"__deepcopy__, or keep the part that cannot be copied, such as a lock, a socket "
            f"or a connection, out of the message), or {fix}."
        )
        failure.__cause__ = error
        return None, failure


def _type_error(name: str, expected: str, msg: Any) -> TypeError:
    return TypeError(
        f"{name} expects {expected}, got {safe_repr(msg)} of type {type(msg).__name__}"
    )


def handler(plan: Plan, index: int) -> Handler:
    """The handler of a fork, unzip, filter, spread or split operation."""
    kind = plan.kinds[index]
    name = plan.names[index]
    targets = plan.targets[index]
    target = targets[0] if targets else -1

    if kind == "fork_clone":
        # which branch receives the message itself; the others get copies
        settings = plan.settings[index]
        assert isinstance(settings, ForkCloneSettings)
        connected = [(port, t) for port, t in enumerate(targets) if t >= 0]
        original = settings.original
        if connected and targets[original] < 0:
            # the branch meant for the message itself goes nowhere: the first branch that
            # is connected gets it, so no copy is made for nothing
            original = connected[0][0]
        branches = tuple((t, port == original, port) for port, t in connected)

        def fork_clone(
            engine: Engine,
            s: ScopeSession,
            msg: Any,
            branches: tuple[tuple[int, bool, int], ...] = branches,
        ) -> None:
            if type(msg) in _SHARED:  # immutable: every branch gets the message itself
                for t, _, _ in branches:
                    engine.send(s, t, msg)
                return
            # every copy is made before anything is sent: a message that cannot be copied
            # fails the fork as a whole (S4.3)
            out = []
            for t, is_original, port in branches:
                if is_original:
                    out.append((t, msg))
                    continue
                copied, error = clone_or_error(
                    msg,
                    name,
                    f"its branch {port}",
                    "send the same object down every branch without copying it: "
                    ".map(lambda m: (m, m)).unzip()",
                )
                if error is not None:
                    engine.fail(s, index, error)
                    return
                out.append((t, copied))
            for t, value in out:
                engine.send(s, t, value)

        return fork_clone

    if kind == "unzip":
        size = len(targets)

        def unzip(engine: Engine, s: ScopeSession, msg: Any) -> None:
            if not isinstance(msg, (tuple, list)) or len(msg) != size:
                engine.fail(s, index, _type_error(name, f"a tuple of {size} elements", msg))
                return
            for t, element in zip(targets, msg, strict=True):
                if t >= 0:
                    engine.send(s, t, element)

        return unzip

    if kind == "fork_result":
        ok_t, err_t = targets
        err_not_taken = Disposal(name, Branching(name, "err"))
        ok_not_taken = Disposal(name, Branching(name, "ok"))

        def fork_result(
            engine: Engine,
            s: ScopeSession,
            msg: Any,
            ok_t: int = ok_t,
            err_t: int = err_t,
            ok_not_taken: Disposal = ok_not_taken,
            err_not_taken: Disposal = err_not_taken,
        ) -> None:
            if isinstance(msg, Ok):
                engine.record_disposal(s, err_not_taken)
                if ok_t >= 0:
                    engine.send(s, ok_t, msg.value)
            elif isinstance(msg, Err):
                engine.record_disposal(s, ok_not_taken)
                if err_t >= 0:
                    engine.send(s, err_t, msg.error)
            else:
                engine.fail(s, index, _type_error(name, "cf.Ok or cf.Err", msg))

        return fork_result

    if kind == "fork_option":
        some_t, none_t = targets

        some_not_taken = Disposal(name, Branching(name, "some"))
        none_not_taken = Disposal(name, Branching(name, "none"))

        def fork_option(
            engine: Engine,
            s: ScopeSession,
            msg: Any,
            some_t: int = some_t,
            none_t: int = none_t,
            some_not_taken: Disposal = some_not_taken,
            none_not_taken: Disposal = none_not_taken,
        ) -> None:
            if msg is None:
                engine.record_disposal(s, some_not_taken)
                if none_t >= 0:
                    engine.send(s, none_t, None)
            else:
                engine.record_disposal(s, none_not_taken)
                if some_t >= 0:
                    engine.send(s, some_t, msg)

        return fork_option

    if kind == "spread":
        empty = Disposal(name, EmptySpread(name))

        def spread(engine: Engine, s: ScopeSession, msg: Any) -> None:
            try:
                items = list(msg)
            except Exception:
                engine.fail(s, index, _type_error(name, "an iterable", msg))
                return
            if not items:
                engine.record_disposal(s, empty)
                return
            if target >= 0:
                for item in items:
                    engine.send(s, target, item)

        return spread

    if kind == "split":
        split_settings = plan.settings[index]
        assert isinstance(split_settings, SplitSettings)
        return _split(index, name, split_settings.keys, split_settings.sequence, targets)

    assert kind == "filter", kind
    filter_settings = plan.settings[index]
    assert isinstance(filter_settings, FilterSettings)
    return _filter(filter_settings.mode, index, name, filter_settings.function, target)


def _filter(mode: str, index: int, name: str, fn: Any, target: int) -> Handler:
    def passed(engine: Engine, s: ScopeSession, value: Any) -> None:
        if target >= 0:
            engine.send(s, target, value)

    if mode == "noop":
        return passed

    if mode == "trigger":

        def trigger(engine: Engine, s: ScopeSession, msg: Any) -> None:
            passed(engine, s, None)

        return trigger

    if mode in ("cancel_on_none", "dispose_on_none", "dispose_on_some"):
        cancels = mode == "cancel_on_none"
        none_filtered = Disposal(name, Filtered(name, "dispose_on_none received None"))

        def on_none(engine: Engine, s: ScopeSession, msg: Any) -> None:
            if mode == "dispose_on_some":
                if msg is None:
                    passed(engine, s, None)
                else:
                    engine.dispose(
                        s, index, Filtered(name, f"dispose_on_some received {safe_repr(msg)}")
                    )
            elif msg is not None:
                passed(engine, s, msg)
            elif cancels:
                engine.cancel(s, Filtered(name, "cancel_on_none received None"))
            else:
                engine.record_disposal(s, none_filtered)

        return on_none

    if mode in ("cancel_on_err", "dispose_on_err", "dispose_on_ok"):

        def on_result(engine: Engine, s: ScopeSession, msg: Any) -> None:
            if isinstance(msg, Ok):
                if mode == "dispose_on_ok":
                    engine.dispose(
                        s, index, Filtered(name, f"dispose_on_ok received {safe_repr(msg)}")
                    )
                else:
                    passed(engine, s, msg.value)
            elif isinstance(msg, Err):
                if mode == "dispose_on_ok":
                    passed(engine, s, msg.error)
                elif mode == "cancel_on_err":
                    engine.cancel(s, Filtered(name, f"cancel_on_err received {safe_repr(msg)}"))
                else:
                    engine.dispose(
                        s, index, Filtered(name, f"dispose_on_err received {safe_repr(msg)}")
                    )
            else:
                engine.fail(s, index, _type_error(name, "cf.Ok or cf.Err", msg))

        return on_result

    assert mode in ("cancellation_filter", "disposal_filter"), mode
    assert fn is not None
    cancels = mode == "cancellation_filter"

    def user_filter(engine: Engine, s: ScopeSession, msg: Any) -> None:
        try:
            value = fn(msg)
        except BaseException as error:
            engine.fail(s, index, error)
            return
        if value is not None:
            passed(engine, s, value)
        elif cancels:
            engine.cancel(
                s, Filtered(name, f"the cancellation filter returned None for {safe_repr(msg)}")
            )
        else:
            engine.dispose(
                s, index, Filtered(name, f"the disposal filter returned None for {safe_repr(msg)}")
            )

    return user_filter


def _split(
    index: int, name: str, keys: tuple[Any, ...], sequence: int, targets: list[int]
) -> Handler:
    key_port = {k: i for i, k in enumerate(keys)}
    n_keys = len(keys)
    remaining = n_keys + sequence
    labels = [f"key:{k!r}" for k in keys] + [f"seq:{i}" for i in range(sequence)] + ["remaining"]

    def split(engine: Engine, s: ScopeSession, msg: Any) -> None:
        if isinstance(msg, Mapping):
            entries: list[tuple[int, Any]] = []
            numbered = 0
            for k, v in msg.items():
                if k in key_port:
                    entries.append((key_port[k], v))
                else:
                    port = n_keys + numbered if numbered < sequence else remaining
                    numbered += 1
                    entries.append((port, (k, v)))
        elif isinstance(msg, Sequence) and not isinstance(msg, (str, bytes)):
            entries = []
            numbered = 0
            for position, v in enumerate(msg):
                if position in key_port and not isinstance(position, bool):
                    entries.append((key_port[position], v))
                else:
                    port = n_keys + numbered if numbered < sequence else remaining
                    numbered += 1
                    entries.append((port, v))
        else:
            engine.fail(s, index, _type_error(name, "a list, tuple or dict", msg))
            return
        got = [False] * len(targets)
        for port, value in entries:
            got[port] = True
            t = targets[port]
            if t >= 0:
                engine.send(s, t, value)
        missing = tuple(labels[p] for p, t in enumerate(targets) if t >= 0 and not got[p])
        if missing:
            engine.dispose(s, index, IncompleteSplit(name, missing))

    return split
