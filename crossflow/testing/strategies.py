"""Hypothesis strategies that draw random crossflow workflows.

`workflows()` draws small random workflows over `int` messages: chains of blocking
and async maps, forks, filters, spreads, collects, nested scopes, and branches that
terminate, cancel, dispose of their messages or lead nowhere. Each drawn workflow
comes with a `Probe` that its services report to, and with flags that say what the
shape guarantees (for example that every path reaches `terminate`), so property
tests can check the runtime's rules (S1 ... S8) on workflows nobody wrote by hand.

Options add faults on purpose: cancellation policies other than `WAIT` on nested
scopes and async services, cleanup workflows (`on_cancel`, `on_terminate`,
`on_cleanup`) that report to the probe, hostile messages (`int`s that refuse
`copy.deepcopy` or whose `repr`/`str` raise), and services that raise a
`CancelledError` of their own (they await a task someone else cancelled).

Example:
    ```python
    from hypothesis import given, strategies as st
    from crossflow.testing.strategies import workflows

    @given(drawn=workflows(max_operations=6), request=st.integers())
    async def test_runs_end(drawn, request):
        try:
            await drawn.run(request)
        except cf.WorkflowCancelled:
            pass
        assert drawn.probe.open_activations() == []
    ```

This module needs `hypothesis`: install crossflow with the `testing` extra
(`pip install 'crossflow-py[testing]'`).
"""

from __future__ import annotations

import asyncio
import threading
import warnings
from collections.abc import Awaitable, Callable, Collection, Iterator, Mapping
from typing import Any, Literal, Self, TypeAlias, final, get_args

import anyio
import anyio.lowlevel
import attrs
from hypothesis import strategies as st

import crossflow as cf

from .._text import counted
from ._recorder import EventKind, Probe, ProbeEvent, running_as

__all__ = (
    "CLEANUP_KINDS",
    "DELAYS",
    "FEATURES",
    "HOSTILITIES",
    "ROOT",
    "AsyncMap",
    "Cancel",
    "CancelOnNone",
    "CancellationFilter",
    "CleanupKind",
    "Collect",
    "DeliberateFailure",
    "DisposalFilter",
    "Dispose",
    "DisposeOnNone",
    "DrawnCleanup",
    "DrawnEnding",
    "DrawnForkClone",
    "DrawnForkOption",
    "DrawnForkResult",
    "DrawnPath",
    "DrawnWorkflow",
    "Fail",
    "ForeignCancel",
    "Hostility",
    "Map",
    "NestedScope",
    "Nowhere",
    "Probe",
    "ProbeEvent",
    "Spread",
    "Step",
    "Terminate",
    "UncopyableInt",
    "UnrenderableFailure",
    "UnrenderableInt",
    "UnrenderableUncopyableInt",
    "branches",
    "hostile",
    "hostility_of",
    "walk",
    "workflows",
)

DELAYS = (0.0, 0.001, 0.002)
"""The delays an async service of a drawn workflow may sleep for, in seconds."""

ROOT = "root"
"""The scope path of a drawn workflow's own scope, as recorded by its probe."""


class DeliberateFailure(Exception):
    """What the failing services of a drawn workflow raise (only with `allow_failures`)."""


class UnrenderableFailure(DeliberateFailure):
    """A `DeliberateFailure` whose `str()` and `repr()` raise.

    A failing service whose messages are unrenderable (`hostile_messages`) raises this
    one: crossflow must never trust a user's exception to render.
    """

    def __str__(self) -> str:
        raise RuntimeError("this exception refuses to be rendered")

    __repr__ = __str__


# --------------------------------------------------------------------------- hostile messages

Hostility: TypeAlias = Literal["uncopyable", "unrenderable"]
"""How a hostile message misbehaves: it refuses `copy.deepcopy`, or its `repr`/`str` raise."""

HOSTILITIES: tuple[Hostility, ...] = get_args(Hostility)
"""Every `Hostility`, in the order `workflows(hostile_messages=...)` draws them."""


class _HostileInt(int):
    """The common base of hostile messages: an `int` with an instance dictionary."""


class UncopyableInt(_HostileInt):
    """An `int` message that `copy.deepcopy` refuses: it holds a lock, like a client object.

    Arithmetic on it gives plain `int`s; `int(message)` is its plain value.
    """

    lock: threading.Lock

    def __new__(cls, value: int) -> Self:
        self = super().__new__(cls, value)
        self.lock = threading.Lock()
        return self


class UnrenderableInt(_HostileInt):
    """An `int` message whose `repr()`, `str()` and `format()` raise, like an ORM row of a
    closed session. Arithmetic on it gives plain `int`s; `int(message)` is its plain value."""

    def __repr__(self) -> str:
        raise RuntimeError("this message refuses to be rendered")

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        raise RuntimeError("this message refuses to be rendered")


class UnrenderableUncopyableInt(UncopyableInt, UnrenderableInt):
    """An `int` message that is both uncopyable and unrenderable."""


_HOSTILE_TYPES: dict[frozenset[str], type[_HostileInt]] = {
    frozenset({"uncopyable"}): UncopyableInt,
    frozenset({"unrenderable"}): UnrenderableInt,
    frozenset(HOSTILITIES): UnrenderableUncopyableInt,
}


def hostile(value: int, hostility: Collection[str]) -> int:
    """`value` as a message with the given hostilities (a plain `int` for none).

    Example:
        `hostile(3, {"uncopyable"})` is an `UncopyableInt` equal to 3.

    Raises:
        InvalidArgument: `hostility` names something that is not a `Hostility`.
    """
    kind = frozenset(hostility)
    if not kind:
        return int(value)
    if not kind <= set(HOSTILITIES):
        raise cf.InvalidArgument(
            f"hostile(hostility=...) takes some of {HOSTILITIES!r}, got {hostility!r}"
        )
    return _HOSTILE_TYPES[kind](int(value))


def hostility_of(message: object) -> frozenset[str]:
    """The hostilities of a message (each a `Hostility`): empty for anything but the
    hostile `int`s of this module."""
    found: set[str] = set()
    if isinstance(message, UncopyableInt):
        found.add("uncopyable")
    if isinstance(message, UnrenderableInt):
        found.add("unrenderable")
    return frozenset(found)


def _plain(value: Any) -> Any:
    """What the probe records: hostile `int`s (also inside lists) as plain `int`s."""
    if isinstance(value, _HostileInt):
        return int(value)
    if isinstance(value, list) and any(isinstance(v, _HostileInt) for v in value):
        return [_plain(v) for v in value]
    return value


def _wrap(value: Any, hostility: frozenset[str]) -> Any:
    """Make the `int`s of a service's result hostile (`None` stays `None`)."""
    if not hostility or value is None:
        return value
    if isinstance(value, list):
        return [_wrap(v, hostility) for v in value]
    if isinstance(value, cf.Ok):
        return cf.Ok(_wrap(value.value, hostility))
    if isinstance(value, cf.Err):
        return cf.Err(_wrap(value.error, hostility))
    return _HOSTILE_TYPES[hostility](int(value))


_PLAIN: frozenset[str] = frozenset()


# --------------------------------------------------------------------------- shapes
#
# A drawn workflow is first drawn as a tree of small frozen records (its *shape*),
# then built. A path is a line of steps followed by an ending; forks are endings
# whose branches are paths again. The shape is a tree, so no two collects of a scope
# can lie upstream of each other (S5.5): a drawn workflow always builds.


# Every service that produces a message has a `hostility`: the messages it produces
# are made hostile that way (empty: plain `int`s; only with `hostile_messages`).

_WAIT = cf.CancellationPolicy.WAIT

CleanupKind: TypeAlias = Literal["cancel", "terminate", "cleanup"]
"""Which cleanup workflow: `on_cancel`, `on_terminate` or `on_cleanup` (S6.2)."""

CLEANUP_KINDS: tuple[CleanupKind, ...] = get_args(CleanupKind)
"""Every `CleanupKind`, in the order a scope's cleanup workflows are drawn."""


@attrs.frozen
class Map:
    """A blocking service: `x + add`."""

    name: str
    add: int
    hostility: frozenset[str] = _PLAIN


@attrs.frozen
class AsyncMap:
    """An async service: `await anyio.sleep(delay)`, then `x + add`.

    `policy` is its node's cancellation policy (API §6).
    """

    name: str
    add: int
    delay: float
    policy: cf.CancellationPolicy = _WAIT
    hostility: frozenset[str] = _PLAIN


@attrs.frozen
class DisposeOnNone:
    """A blocking map to `None` when `x % 2 == parity`, then `dispose_on_none`."""

    name: str
    parity: int
    hostility: frozenset[str] = _PLAIN


@attrs.frozen
class CancelOnNone:
    """A blocking map to `None` when `x % 2 == parity`, then `cancel_on_none`."""

    name: str
    parity: int
    hostility: frozenset[str] = _PLAIN


@attrs.frozen
class DisposalFilter:
    """`disposal_filter` of a function that gives `None` when `x % 2 == parity`, else `x`.

    Its `Filtered` disposal renders the message (drawn with `hostile_messages` only).
    """

    name: str
    parity: int


@attrs.frozen
class CancellationFilter:
    """`cancellation_filter` of a function that gives `None` when `x % 2 == parity`, else `x`.

    Its `Filtered` cancellation renders the message (drawn with `hostile_messages` only).
    """

    name: str
    parity: int


@attrs.frozen
class Spread:
    """A blocking map to `[x, x + 1, ..., x + count - 1]`, then `spread`."""

    name: str
    count: int
    hostility: frozenset[str] = _PLAIN


@attrs.frozen
class Collect:
    """`collect(min, max)`, then a blocking `sum` of each list."""

    name: str
    min: int
    max: int | None
    hostility: frozenset[str] = _PLAIN


@attrs.frozen
class Fail:
    """A service that raises `DeliberateFailure` when `x % 2 == parity`, else passes `x` on.

    With an unrenderable `hostility` it raises `UnrenderableFailure`.
    """

    name: str
    parity: int
    delay: float | None  # None: a blocking service; else async, sleeping first
    hostility: frozenset[str] = _PLAIN


@attrs.frozen
class ForeignCancel:
    """An async service that, when `x % 2 == parity`, awaits a task someone else cancelled.

    On asyncio it then raises that task's `CancelledError`: a failure of the service,
    not a cancellation of anything crossflow runs (S4.3). Other backends have no such
    thing; there it raises `DeliberateFailure` instead. Otherwise it passes `x` on.
    """

    name: str
    parity: int
    hostility: frozenset[str] = _PLAIN


@attrs.frozen
class DrawnCleanup:
    """A cleanup workflow of a scope: one service that reports to the probe.

    It records `started` and `finished` under the scope path `<scope>/<name>` and the
    operation `name`; `delay` None makes it blocking, else it is async and sleeps
    first (so it records `cancelled` if it is ever cut short).
    """

    kind: CleanupKind
    name: str
    delay: float | None


@attrs.frozen
class NestedScope:
    """`then_scope`: every message opens a child session that runs `body`.

    `policy` is the node's cancellation policy (API §6); `cleanups` are the cleanup
    workflows of the scope, run by each of its sessions.
    """

    name: str
    body: DrawnPath
    policy: cf.CancellationPolicy = _WAIT
    cleanups: tuple[DrawnCleanup, ...] = ()


Step: TypeAlias = (
    "Map | AsyncMap | DisposeOnNone | CancelOnNone | DisposalFilter | CancellationFilter"
    " | Spread | Collect | Fail | ForeignCancel | NestedScope"
)


@attrs.frozen
class Terminate:
    """The path ends at the scope's `terminate`."""


@attrs.frozen
class Cancel:
    """The path ends in `then_cancel()`."""


@attrs.frozen
class Dispose:
    """The path ends in `dispose()`: messages are discarded, no disposal is recorded."""


@attrs.frozen
class Nowhere:
    """The path's output is left unconnected: messages go nowhere."""


@attrs.frozen
class DrawnForkClone:
    """`fork_clone` into every branch."""

    name: str
    branches: tuple[DrawnPath, ...]


@attrs.frozen
class DrawnForkOption:
    """A blocking map to `None` when `x % 2 == parity`, then `fork_option`.

    The `none` branch first maps `None` back to `0`.
    """

    name: str
    parity: int
    some: DrawnPath
    none: DrawnPath
    hostility: frozenset[str] = _PLAIN


@attrs.frozen
class DrawnForkResult:
    """A blocking map to `Err(x)` when `x % 2 == parity` (else `Ok(x)`), then `fork_result`."""

    name: str
    parity: int
    ok: DrawnPath
    err: DrawnPath
    hostility: frozenset[str] = _PLAIN


DrawnEnding: TypeAlias = (
    "Terminate | Cancel | Dispose | Nowhere | DrawnForkClone | DrawnForkOption | DrawnForkResult"
)


@attrs.frozen
class DrawnPath:
    """A line of steps and how it ends."""

    steps: tuple[Step, ...]
    end: DrawnEnding


def branches(end: DrawnEnding) -> tuple[DrawnPath, ...]:
    """The branches of a fork ending (none for the other endings)."""
    if isinstance(end, DrawnForkClone):
        return end.branches
    if isinstance(end, DrawnForkOption):
        return (end.some, end.none)
    if isinstance(end, DrawnForkResult):
        return (end.ok, end.err)
    return ()


def walk(path: DrawnPath) -> Iterator[Step | DrawnEnding]:
    """Every step and ending of `path`, nested scopes included, depth first."""
    for step in path.steps:
        yield step
        if isinstance(step, NestedScope):
            yield from walk(step.body)
    yield path.end
    for branch in branches(path.end):
        yield from walk(branch)


_FEATURE = {
    Map: "map",
    AsyncMap: "async",
    DisposeOnNone: "dispose_on_none",
    CancelOnNone: "cancel_on_none",
    DisposalFilter: "disposal_filter",
    CancellationFilter: "cancellation_filter",
    Spread: "spread",
    Collect: "collect",
    Fail: "fail",
    ForeignCancel: "foreign_cancel",
    NestedScope: "scope",
    Terminate: "terminate",
    Cancel: "cancel",
    Dispose: "dispose",
    Nowhere: "nowhere",
    DrawnForkClone: "fork_clone",
    DrawnForkOption: "fork_option",
    DrawnForkResult: "fork_result",
}

# features that no shape class stands for: policies, cleanup workflows, hostile messages
_POLICY_FEATURE = {
    cf.CancellationPolicy.TRY_CANCEL: "try_cancel",
    cf.CancellationPolicy.ABANDON: "abandon",
}
_EXTRA_FEATURES = frozenset(
    {*_POLICY_FEATURE.values(), *(f"on_{kind}" for kind in CLEANUP_KINDS), *HOSTILITIES}
)

FEATURES = frozenset(_FEATURE.values()) | _EXTRA_FEATURES
"""Every feature name `DrawnWorkflow.features` may contain.

Besides the kinds of operation: `try_cancel` and `abandon` (a node with that
cancellation policy), `on_cancel`, `on_terminate` and `on_cleanup` (a cleanup workflow
of that kind), `uncopyable` and `unrenderable` (hostile messages of that kind).
"""


def _count(path: DrawnPath) -> int:
    return sum(
        1 for part in walk(path) if not isinstance(part, (Terminate, Cancel, Dispose, Nowhere))
    )


def _depth(path: DrawnPath) -> int:
    deepest = 0
    for step in path.steps:
        if isinstance(step, NestedScope):
            deepest = max(deepest, 1 + _depth(step.body))
    for branch in branches(path.end):
        deepest = max(deepest, _depth(branch))
    return deepest


def _reaches_terminate(path: DrawnPath) -> bool:
    """Every message on `path` (and every message made from it) ends at `terminate`.

    No step may drop, filter, fail or cancel: maps, async maps, non-empty spreads,
    collects with `min=0` (they always emit once upstream falls quiet) and nested
    scopes whose body has the same property. Forks qualify when all their branches
    do (a fork's `Branching` disposal does not stop the message that goes on).
    """
    for step in path.steps:
        if isinstance(step, (Map, AsyncMap)):
            continue
        if isinstance(step, Spread) and step.count > 0:
            continue
        if isinstance(step, Collect) and step.min == 0:
            continue
        if isinstance(step, NestedScope) and _reaches_terminate(step.body):
            continue
        return False
    if isinstance(path.end, Terminate):
        return True
    forks = branches(path.end)
    return bool(forks) and all(_reaches_terminate(b) for b in forks)


def _single_session_scopes(path: DrawnPath, scope: str, multi: bool, out: set[str]) -> None:
    """Collect the scopes that open at most one session per run.

    `multi` is True once a spread or a collect lies upstream in the current scope:
    from there on an operation may receive several messages per session. (A collect
    of a single item emits once by S5.4; it is counted as a source of several
    messages anyway, so that this set stays right even if a runtime re-emits.)
    """
    for step in path.steps:
        if isinstance(step, NestedScope):
            if not multi:
                child = f"{scope}/{step.name}"
                out.add(child)
                _single_session_scopes(step.body, child, False, out)
        elif isinstance(step, (Spread, Collect)):
            multi = True
    for branch in branches(path.end):
        _single_session_scopes(branch, scope, multi, out)


# --------------------------------------------------------------------------- services


def _name(fn: Callable[..., Any], name: str) -> None:
    fn.__name__ = fn.__qualname__ = name


def _blocking(
    probe: Probe, scope: str, name: str, fn: Callable[[Any], Any]
) -> Callable[[Any], Any]:
    def service(x: Any) -> Any:
        activation = probe.new_activation()
        probe.record(scope, name, "started", _plain(x), activation=activation)
        try:
            result = fn(x)
        except DeliberateFailure:
            probe.record(scope, name, "failed", _plain(x), activation=activation)
            raise
        probe.record(scope, name, "finished", _plain(x), activation=activation)
        return result

    _name(service, name)
    return service


def _async(
    probe: Probe, scope: str, name: str, fn: Callable[[Any], Any], delay: float
) -> Callable[[Any], Awaitable[Any]]:
    async def service(x: Any) -> Any:
        activation = probe.new_activation()
        seen = _plain(x)
        probe.record(scope, name, "started", seen, activation=activation, is_async=True)
        ended: EventKind = "cancelled"  # unless we get past the sleep
        try:
            await anyio.sleep(delay)
            ended = "failed"
            result = fn(x)
            ended = "finished"
        finally:
            # cancellation can only arrive in the sleep: `ended` tells which way we left
            probe.record(scope, name, ended, seen, activation=activation, is_async=True)
        return result

    _name(service, name)
    return service


def _asyncio_task() -> asyncio.Task[Any] | None:
    """The asyncio task running this code, or None on another backend."""
    try:
        return asyncio.current_task()
    except RuntimeError:  # no asyncio event loop: trio
        return None


async def _await_a_cancelled_task(name: str, x: Any) -> None:
    """Await a task that its owner cancels: on asyncio, raises its `CancelledError`."""
    if _asyncio_task() is None:
        raise DeliberateFailure(f"{name} fails on purpose for {_plain(x)!r} (no asyncio here)")
    helper = asyncio.ensure_future(asyncio.sleep(3600))  # someone else's task ...
    helper.cancel()  # ... that its owner cancels (before it ran: it is never left behind)
    await helper


def _foreign_cancel(
    probe: Probe, scope: str, step: ForeignCancel
) -> Callable[[Any], Awaitable[Any]]:
    name, parity, hostility = step.name, step.parity, step.hostility

    async def service(x: Any) -> Any:
        activation = probe.new_activation()
        seen = _plain(x)
        probe.record(scope, name, "started", seen, activation=activation, is_async=True)
        ended: EventKind = "cancelled"
        try:
            await anyio.lowlevel.checkpoint()
            if x % 2 == parity:
                ended = "failed"
                try:
                    await _await_a_cancelled_task(name, x)
                except asyncio.CancelledError:
                    task = _asyncio_task()
                    if task is not None and task.cancelling():
                        ended = "cancelled"  # this task was cancelled too, meanwhile
                    raise
            ended = "finished"
        finally:
            probe.record(scope, name, ended, seen, activation=activation, is_async=True)
        return _wrap(x, hostility)

    _name(service, name)
    return service


def _cleanup_service(probe: Probe, scope: str, cleanup: DrawnCleanup) -> Callable[[Any], Any]:
    name = cleanup.name
    if cleanup.delay is None:
        return _blocking(probe, scope, name, lambda keys: None)
    return _async(probe, scope, name, lambda keys: None, cleanup.delay)


def _marker(probe: Probe, scope: str, what: str) -> Callable[[Any], Any]:
    def reach(x: Any) -> Any:
        probe.record(scope, what, "reached", _plain(x))
        return x

    _name(reach, f"reach_{what}")
    return reach


def _making(hostility: frozenset[str], fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`fn`, its result made hostile (`fn` itself for plain messages)."""
    if not hostility:
        return fn
    return lambda x: _wrap(fn(x), hostility)


def _add(n: int) -> Callable[[int], int]:
    return lambda x: x + n


def _none_if(parity: int) -> Callable[[int], int | None]:
    return lambda x: None if x % 2 == parity else x


def _err_if(parity: int) -> Callable[[int], cf.Ok[int] | cf.Err[int]]:
    return lambda x: cf.Err(x) if x % 2 == parity else cf.Ok(x)


def _range(count: int) -> Callable[[int], list[int]]:
    return lambda x: [x + i for i in range(count)]


def _fail_if(name: str, parity: int, hostility: frozenset[str]) -> Callable[[int], int]:
    error = UnrenderableFailure if "unrenderable" in hostility else DeliberateFailure

    def check(x: int) -> int:
        if x % 2 == parity:
            raise error(f"{name} fails on purpose for {_plain(x)!r}")
        return x

    return check


def _zero(_: None) -> int:
    return 0


def _sum(items: list[int]) -> int:
    return sum(items)


# --------------------------------------------------------------------------- building


@attrs.frozen
class _Where:
    probe: Probe
    path: str  # the scope path, as recorded
    scope: cf.Scope[Any, Any]


def _build_path(chain: cf.Chain[Any], path: DrawnPath, where: _Where) -> None:
    for step in path.steps:
        chain = _build_step(chain, step, where)
    _build_end(chain, path.end, where)


def _build_step(chain: cf.Chain[Any], step: Step, where: _Where) -> cf.Chain[Any]:
    probe, scope = where.probe, where.path
    if isinstance(step, Map):
        fn = _making(step.hostility, _add(step.add))
        return chain.map(_blocking(probe, scope, step.name, fn), name=step.name)
    if isinstance(step, AsyncMap):
        fn = _making(step.hostility, _add(step.add))
        service = _async(probe, scope, step.name, fn, step.delay)
        if step.policy is _WAIT:
            return chain.map(service, name=step.name)
        return chain.then(service, name=step.name, cancellation=step.policy)
    if isinstance(step, DisposeOnNone):
        fn = _making(step.hostility, _none_if(step.parity))
        return chain.map(_blocking(probe, scope, step.name, fn), name=step.name).dispose_on_none()
    if isinstance(step, CancelOnNone):
        fn = _making(step.hostility, _none_if(step.parity))
        return chain.map(_blocking(probe, scope, step.name, fn), name=step.name).cancel_on_none()
    if isinstance(step, DisposalFilter):
        return chain.disposal_filter(_none_if(step.parity))
    if isinstance(step, CancellationFilter):
        return chain.cancellation_filter(_none_if(step.parity))
    if isinstance(step, Spread):
        fn = _making(step.hostility, _range(step.count))
        return chain.map(_blocking(probe, scope, step.name, fn), name=step.name).spread()
    if isinstance(step, Collect):
        collected = chain.collect(step.min, step.max)
        fn = _making(step.hostility, _sum)
        return collected.map(_blocking(probe, scope, step.name, fn), name=step.name)
    if isinstance(step, Fail):
        check = _making(step.hostility, _fail_if(step.name, step.parity, step.hostility))
        if step.delay is None:
            return chain.map(_blocking(probe, scope, step.name, check), name=step.name)
        return chain.map(_async(probe, scope, step.name, check, step.delay), name=step.name)
    if isinstance(step, ForeignCancel):
        return chain.map(_foreign_cancel(probe, scope, step), name=step.name)
    body, cleanups = step.body, step.cleanups
    child = f"{scope}/{step.name}"

    def build_scope(inner: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        _build_path(builder.chain(inner.start), body, _Where(probe, child, inner))
        _build_cleanups(builder, cleanups, probe, child)

    if step.policy is _WAIT:
        return chain.then_scope(build_scope, name=step.name)
    return chain.then_scope(build_scope, name=step.name, cancellation=step.policy)


def _build_cleanups(
    builder: cf.Builder, cleanups: tuple[DrawnCleanup, ...], probe: Probe, scope: str
) -> None:
    for cleanup in cleanups:
        service = _cleanup_service(probe, f"{scope}/{cleanup.name}", cleanup)
        build = _cleanup_builder(service, cleanup.name)
        if cleanup.kind == "cancel":
            builder.on_cancel((), build)
        elif cleanup.kind == "terminate":
            builder.on_terminate((), build)
        else:
            builder.on_cleanup((), build)


def _cleanup_builder(
    service: Callable[[Any], Any], name: str
) -> Callable[[cf.Scope[Any, Any], cf.Builder], None]:
    def build(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        builder.chain(scope.start).map(service, name=name).connect(scope.terminate)

    return build


def _build_end(chain: cf.Chain[Any], end: DrawnEnding, where: _Where) -> None:
    probe, scope = where.probe, where.path
    if isinstance(end, Terminate):
        chain.map(_marker(probe, scope, "terminate")).connect(where.scope.terminate)
    elif isinstance(end, Cancel):
        chain.map(_marker(probe, scope, "cancel")).then_cancel()
    elif isinstance(end, Dispose):
        chain.dispose()
    elif isinstance(end, Nowhere):
        chain.output()
    elif isinstance(end, DrawnForkClone):
        chain.fork_clone(*(_brancher(branch, where) for branch in end.branches))
    elif isinstance(end, DrawnForkOption):
        fn = _making(end.hostility, _none_if(end.parity))
        optional = chain.map(_blocking(probe, scope, end.name, fn), name=end.name)
        none_name = f"{end.name}:none"
        revive = _blocking(probe, scope, none_name, _making(end.hostility, _zero))
        none_path = end.none
        optional.fork_option(
            some=_brancher(end.some, where),
            none=lambda c: _build_path(c.map(revive, name=none_name), none_path, where),
        )
    else:
        fn = _making(end.hostility, _err_if(end.parity))
        result = chain.map(_blocking(probe, scope, end.name, fn), name=end.name)
        result.fork_result(ok=_brancher(end.ok, where), err=_brancher(end.err, where))


def _brancher(path: DrawnPath, where: _Where) -> Callable[[cf.Chain[Any]], None]:
    return lambda chain: _build_path(chain, path, where)


# --------------------------------------------------------------------------- description


def _describe_path(path: DrawnPath, indent: str) -> list[str]:
    lines: list[str] = []
    for step in path.steps:
        lines.extend(_describe_step(step, indent))
    lines.extend(_describe_end(path.end, indent))
    return lines


def _parity(parity: int) -> str:
    return "odd" if parity else "even"


def _plus(n: int) -> str:
    return f"x + {n}" if n >= 0 else f"x - {-n}"


def _hostile(hostility: frozenset[str]) -> str:
    """`; uncopyable` and the like: how the messages a service makes misbehave."""
    return "".join(f"; {h}" for h in HOSTILITIES if h in hostility)


def _policy(policy: cf.CancellationPolicy) -> str:
    return "" if policy is _WAIT else f", cancellation={policy.name}"


def _describe_cleanups(cleanups: tuple[DrawnCleanup, ...], indent: str) -> list[str]:
    lines = []
    for c in cleanups:
        body = "" if c.delay is None else f": await sleep({c.delay})"
        lines.append(f"{indent}.on_{c.kind}({c.name}{body})")
    return lines


def _describe_step(step: Step, indent: str) -> list[str]:
    if isinstance(step, Map):
        return [f"{indent}.map({step.name}: {_plus(step.add)}{_hostile(step.hostility)})"]
    if isinstance(step, AsyncMap):
        return [
            f"{indent}.map({step.name}: await sleep({step.delay}); {_plus(step.add)}"
            f"{_hostile(step.hostility)}{_policy(step.policy)})"
        ]
    if isinstance(step, DisposeOnNone):
        return [
            f"{indent}.map({step.name}: None if x is {_parity(step.parity)} else x"
            f"{_hostile(step.hostility)}).dispose_on_none()"
        ]
    if isinstance(step, CancelOnNone):
        return [
            f"{indent}.map({step.name}: None if x is {_parity(step.parity)} else x"
            f"{_hostile(step.hostility)}).cancel_on_none()"
        ]
    if isinstance(step, DisposalFilter):
        return [
            f"{indent}.disposal_filter({step.name}: None if x is {_parity(step.parity)} else x)"
        ]
    if isinstance(step, CancellationFilter):
        return [
            f"{indent}.cancellation_filter({step.name}: None if x is {_parity(step.parity)} else x)"
        ]
    if isinstance(step, Spread):
        return [
            f"{indent}.map({step.name}: [x + i for i in range({step.count})]"
            f"{_hostile(step.hostility)}).spread()"
        ]
    if isinstance(step, Collect):
        return [
            f"{indent}.collect(min={step.min}, max={step.max})"
            f".map({step.name}: sum{_hostile(step.hostility)})"
        ]
    if isinstance(step, Fail):
        sleep = "" if step.delay is None else f"await sleep({step.delay}); "
        return [
            f"{indent}.map({step.name}: {sleep}raise if x is {_parity(step.parity)} else x"
            f"{_hostile(step.hostility)})"
        ]
    if isinstance(step, ForeignCancel):
        return [
            f"{indent}.map({step.name}: await a cancelled task if x is {_parity(step.parity)} "
            f"else x{_hostile(step.hostility)})"
        ]
    return [
        f"{indent}.then_scope({step.name}{_policy(step.policy)}: start",
        *_describe_path(step.body, indent + "    "),
        *_describe_cleanups(step.cleanups, indent + "    "),
        f"{indent})",
    ]


def _describe_end(end: DrawnEnding, indent: str) -> list[str]:
    if isinstance(end, Terminate):
        return [f"{indent}.connect(terminate)"]
    if isinstance(end, Cancel):
        return [f"{indent}.then_cancel()"]
    if isinstance(end, Dispose):
        return [f"{indent}.dispose()"]
    if isinstance(end, Nowhere):
        return [f"{indent}.output()  # left unconnected"]
    inner = indent + "    "
    if isinstance(end, DrawnForkClone):
        lines = [f"{indent}.fork_clone(  # {end.name}"]
        for i, branch in enumerate(end.branches):
            lines.append(f"{indent}  branch {i}:")
            lines.extend(_describe_path(branch, inner))
        return [*lines, f"{indent})"]
    made = _hostile(end.hostility)
    if isinstance(end, DrawnForkOption):
        return [
            f"{indent}.map({end.name}: None if x is {_parity(end.parity)} else x{made})"
            ".fork_option(",
            f"{indent}  some:",
            *_describe_path(end.some, inner),
            f"{indent}  none:",
            f"{inner}.map({end.name}:none: 0{made})",
            *_describe_path(end.none, inner),
            f"{indent})",
        ]
    return [
        f"{indent}.map({end.name}: Err(x) if x is {_parity(end.parity)} else Ok(x){made})"
        ".fork_result(",
        f"{indent}  ok:",
        *_describe_path(end.ok, inner),
        f"{indent}  err:",
        *_describe_path(end.err, inner),
        f"{indent})",
    ]


# --------------------------------------------------------------------------- drawn workflows


_PASS_THROUGH = (
    DisposeOnNone,
    CancelOnNone,
    DisposalFilter,
    CancellationFilter,
    Fail,
    ForeignCancel,
)

# the hostilities a message at some point of a workflow may have
_Kinds: TypeAlias = frozenset[frozenset[str]]


def _made(hostility: frozenset[str], kinds: _Kinds, passes_on: bool) -> _Kinds:
    """What a service emits: messages of its hostility, else what it received (when it
    passes its message on) or plain `int`s."""
    if not kinds:
        return kinds
    if hostility:
        return frozenset({hostility})
    return kinds if passes_on else frozenset({_PLAIN})


def _flow(path: DrawnPath, kinds: _Kinds, forks: dict[str, set[frozenset[str]]]) -> _Kinds:
    """Follow the hostility of messages down `path`; note what reaches each fork_clone.

    Returns the hostilities of the messages that reach `terminate` from `path`.
    """
    for step in path.steps:
        if isinstance(step, NestedScope):
            kinds = _flow(step.body, kinds, forks)
        elif isinstance(step, (DisposalFilter, CancellationFilter)):
            continue
        else:
            kinds = _made(step.hostility, kinds, isinstance(step, _PASS_THROUGH))
    end = path.end
    if isinstance(end, Terminate):
        return kinds
    if isinstance(end, DrawnForkClone):
        forks.setdefault(end.name, set()).update(kinds)
        return frozenset().union(*(_flow(b, kinds, forks) for b in end.branches))
    if isinstance(end, DrawnForkOption):
        some = _made(end.hostility, kinds, True)
        none = _made(end.hostility, kinds, False)
        return _flow(end.some, some, forks) | _flow(end.none, none, forks)
    if isinstance(end, DrawnForkResult):
        made = _made(end.hostility, kinds, True)
        return _flow(end.ok, made, forks) | _flow(end.err, made, forks)
    return frozenset()


def _nested_scopes(path: DrawnPath, scope: str) -> Iterator[tuple[str, NestedScope]]:
    """Every nested scope of `path` with its scope path, nested ones included."""
    for step in path.steps:
        if isinstance(step, NestedScope):
            child = f"{scope}/{step.name}"
            yield child, step
            yield from _nested_scopes(step.body, child)
    for branch in branches(path.end):
        yield from _nested_scopes(branch, scope)


@final
class DrawnWorkflow:
    """A workflow drawn by `workflows()`, with its probe and what its shape guarantees.

    Building it issues no `cf.UnreachableWarning`: a drawn workflow may lead nowhere
    on purpose.

    Args:
        shape: the tree to build the workflow from.
        cleanups: the cleanup workflows of the workflow's own scope.
        request_hostility: how the request misbehaves (see `hostile`): `run(request)`
            sends `hostile(request, request_hostility)`.

    Attributes:
        workflow: the built workflow; its request is an `int`.
        probe: the recorder every service of the workflow reports to (see `Probe`).
        shape: the tree the workflow was built from.
        description: the workflow's structure, one operation a line, written like the
            chain calls that built it.
        features: which kinds of operation the workflow uses (names from `FEATURES`).
        operations: how many operations were drawn (steps and forks; endings, cleanup
            workflows and the probe's markers do not count).
        depth: how deeply scopes are nested (0: no nested scope).
        terminate_on_every_path: every message that leaves `start`, and every message
            made from it, reaches `terminate` with no filter, disposal, failure or
            cancel on the way: a run must return a response.
        deterministic: the outcome of a run and what its services see do not depend
            on timing: the workflow has no async service, or it never has two messages
            in flight in one session (no fork_clone, spread or collect, and no scope
            with two cleanup workflows).
        single_session_scopes: the scope paths (as recorded by the probe) that open
            at most one session per run; `"root"` is always one of them.
        cleanup_workflows: the cleanup workflows of each scope that has any, by scope
            path (as recorded by the probe; `"root"` for the workflow's own scope). Each
            session of that scope runs those that apply to how it ended (S6.2); their
            service records under the scope path `<scope path>/<cleanup name>`.
        request_hostility: how the request misbehaves (empty: a plain `int`).
        uncopyable_forks: the names of the `fork_clone`s that may receive a message
            that cannot be copied.
    """

    __slots__ = (
        "cleanup_workflows",
        "depth",
        "description",
        "deterministic",
        "features",
        "operations",
        "probe",
        "request_hostility",
        "shape",
        "single_session_scopes",
        "terminate_on_every_path",
        "uncopyable_forks",
        "workflow",
    )

    def __init__(
        self,
        shape: DrawnPath,
        *,
        cleanups: tuple[DrawnCleanup, ...] = (),
        request_hostility: Collection[str] = frozenset(),
    ) -> None:
        self.shape = shape
        self.probe = Probe()
        self.request_hostility: frozenset[str] = frozenset(request_hostility)
        probe = self.probe

        def drawn(scope: cf.Scope[int, Any], builder: cf.Builder) -> None:
            _build_path(builder.chain(scope.start), shape, _Where(probe, ROOT, scope))
            _build_cleanups(builder, cleanups, probe, ROOT)

        with warnings.catch_warnings():
            # paths that end nowhere are drawn on purpose (S2.3 is among the rules tested)
            warnings.simplefilter("ignore", cf.UnreachableWarning)
            self.workflow: cf.Workflow[int, Any] = cf.Workflow.build(drawn, name="drawn")
        start = "start"
        if self.request_hostility:
            start += f"  # the request is{_hostile(self.request_hostility)[1:]}"
        self.description = "\n".join(
            [start, *_describe_path(shape, ""), *_describe_cleanups(cleanups, "")]
        )
        scopes: dict[str, tuple[DrawnCleanup, ...]] = {}
        if cleanups:
            scopes[ROOT] = cleanups
        nested = list(_nested_scopes(shape, ROOT))
        scopes.update((path, scope.cleanups) for path, scope in nested if scope.cleanups)
        self.cleanup_workflows: Mapping[str, tuple[DrawnCleanup, ...]] = scopes
        parts = list(walk(shape))
        every_cleanup = [c for group in scopes.values() for c in group]
        features = {_FEATURE[type(part)] for part in parts}
        features.update(f"on_{c.kind}" for c in every_cleanup)
        for part in parts:
            policy = getattr(part, "policy", _WAIT)
            if policy is not _WAIT:
                features.add(_POLICY_FEATURE[policy])
            features.update(getattr(part, "hostility", _PLAIN))
        features.update(self.request_hostility)
        self.features = frozenset(features)
        self.operations = _count(shape)
        self.depth = _depth(shape)
        self.terminate_on_every_path = _reaches_terminate(shape)
        has_async = any(
            isinstance(p, (AsyncMap, ForeignCancel))
            or (isinstance(p, Fail) and p.delay is not None)
            for p in parts
        ) or any(c.delay is not None for c in every_cleanup)
        several = any(isinstance(p, (DrawnForkClone, Spread, Collect)) for p in parts) or any(
            len(group) > 1 for group in scopes.values()
        )
        self.deterministic = not (has_async and several)
        single: set[str] = {ROOT}
        _single_session_scopes(shape, ROOT, False, single)
        self.single_session_scopes = frozenset(single)
        forks: dict[str, set[frozenset[str]]] = {}
        _flow(shape, frozenset({self.request_hostility}), forks)
        self.uncopyable_forks = frozenset(
            name for name, kinds in forks.items() if any("uncopyable" in k for k in kinds)
        )

    def __repr__(self) -> str:
        flags = [counted(self.operations, "operation")]
        if self.terminate_on_every_path:
            flags.append("terminate on every path")
        if self.deterministic:
            flags.append("deterministic")
        body = "\n".join("    " + line for line in self.description.splitlines())
        return f"<DrawnWorkflow ({', '.join(flags)}):\n{body}\n>"

    def message(self, request: int) -> int:
        """The request as `run` sends it: `request`, made hostile as `request_hostility` says."""
        return hostile(request, self.request_hostility)

    async def run(
        self,
        request: int,
        *,
        run: int = 0,
        on_event: Callable[[cf.Event], object] | None = None,
    ) -> Any:
        """Run the workflow once; the probe records its events under run number `run`.

        Args:
            request: the request, an `int` (made hostile first if `request_hostility` says so).
            run: the run number the probe records.
            on_event: passed on to `Workflow.run`: called with each event of the run.

        Returns:
            The response.

        Raises:
            WorkflowCancelled: the session was cancelled.
        """
        message = self.message(request)
        with running_as(run):
            if on_event is None:
                return await self.workflow.run(message)
            return await self.workflow.run(message, on_event=on_event)


# --------------------------------------------------------------------------- drawing


class _Drawer:
    __slots__ = ("budget", "count", "draw", "options")

    def __init__(self, draw: st.DrawFn, options: dict[str, Any]) -> None:
        self.draw = draw
        self.options = options
        self.budget: int = options["max_operations"]
        self.count = 0

    def name(self, kind: str) -> str:
        self.count += 1
        return f"{kind}#{self.count}"

    def hostility(self) -> frozenset[str]:
        """How the messages of one service misbehave (plain unless `hostile_messages`)."""
        allowed: tuple[str, ...] = self.options["hostile_messages"]
        if not allowed:
            return _PLAIN
        kinds = [_PLAIN, *(frozenset({h}) for h in allowed)]
        if len(allowed) > 1:
            kinds.append(frozenset(allowed))
        return self.draw(st.sampled_from(kinds))

    def policy(self) -> cf.CancellationPolicy:
        policies: tuple[cf.CancellationPolicy, ...] = self.options["policies"]
        if len(policies) == 1:
            return policies[0]
        return self.draw(st.sampled_from(policies))

    def cleanups(self) -> tuple[DrawnCleanup, ...]:
        """The cleanup workflows of one scope (none unless `allow_cleanups`)."""
        if not self.options["allow_cleanups"]:
            return ()
        draw = self.draw
        drawn = []
        for kind in CLEANUP_KINDS:
            if draw(st.booleans()):
                asynchronous = self.options["allow_async"] and draw(st.booleans())
                delay: float | None = draw(st.sampled_from(DELAYS)) if asynchronous else None
                drawn.append(DrawnCleanup(kind, self.name(f"on_{kind}"), delay))
        return tuple(drawn)

    def path(self, depth: int) -> DrawnPath:
        draw = self.draw
        steps: list[Step] = []
        while self.budget > 0 and draw(st.integers(0, 3)) > 0:
            steps.append(self.step(depth))
        return DrawnPath(tuple(steps), self.ending(depth))

    def step(self, depth: int) -> Step:
        draw, opts = self.draw, self.options
        self.budget -= 1
        kinds = ["map", "map"]
        if opts["allow_async"]:
            kinds += ["async", "async"]
        if opts["allow_filters"]:
            kinds.append("dispose_on_none")
            if opts["allow_cancel"]:
                kinds.append("cancel_on_none")
        kinds.append("spread")
        if opts["allow_collect"]:
            kinds.append("collect")
        if opts["allow_scopes"] and depth < opts["max_depth"]:
            kinds += ["scope", "scope"]
        if opts["allow_failures"]:
            kinds.append("fail")
        # the options below came later: their kinds go last, so that the options above
        # keep drawing the same workflows from the same data
        if opts["hostile_messages"] and opts["allow_filters"]:
            kinds.append("disposal_filter")
            if opts["allow_cancel"]:
                kinds.append("cancellation_filter")
        if opts["allow_foreign_cancellations"]:
            kinds += ["foreign_cancel", "foreign_cancel"]
        kind = draw(st.sampled_from(kinds))
        name = self.name(kind)
        if kind == "map":
            return Map(name, draw(st.integers(-2, 2)), self.hostility())
        if kind == "async":
            add, delay = draw(st.integers(-2, 2)), draw(st.sampled_from(DELAYS))
            return AsyncMap(name, add, delay, self.policy(), self.hostility())
        if kind == "dispose_on_none":
            return DisposeOnNone(name, draw(st.integers(0, 1)), self.hostility())
        if kind == "cancel_on_none":
            return CancelOnNone(name, draw(st.integers(0, 1)), self.hostility())
        if kind == "disposal_filter":
            return DisposalFilter(name, draw(st.integers(0, 1)))
        if kind == "cancellation_filter":
            return CancellationFilter(name, draw(st.integers(0, 1)))
        if kind == "spread":
            return Spread(name, draw(st.integers(0, 3)), self.hostility())
        if kind == "collect":
            low = draw(st.integers(0, 2))
            tight = max(low, 1)
            high = draw(st.sampled_from([tight, None, tight + 1, tight + 2]))
            return Collect(name, low, high, self.hostility())
        if kind == "fail":
            pause = draw(st.none() | st.sampled_from(DELAYS)) if opts["allow_async"] else None
            return Fail(name, draw(st.integers(0, 1)), pause, self.hostility())
        if kind == "foreign_cancel":
            return ForeignCancel(name, draw(st.integers(0, 1)), self.hostility())
        policy = self.policy()
        body = self.path(depth + 1)
        return NestedScope(name, body, policy, self.cleanups())

    def ending(self, depth: int) -> DrawnEnding:
        draw, opts = self.draw, self.options
        kinds = ["terminate", "terminate", "terminate", "dispose", "nowhere"]
        if opts["allow_cancel"]:
            kinds.append("cancel")
        if self.budget > 0:
            kinds += ["fork_clone", "fork_clone", "fork_option", "fork_result"]
        kind = draw(st.sampled_from(kinds))
        if kind == "terminate":
            return Terminate()
        if kind == "dispose":
            return Dispose()
        if kind == "nowhere":
            return Nowhere()
        if kind == "cancel":
            return Cancel()
        self.budget -= 1
        name = self.name(kind)
        if kind == "fork_clone":
            count = draw(st.integers(2, 3))
            return DrawnForkClone(name, tuple(self.path(depth) for _ in range(count)))
        parity = draw(st.integers(0, 1))
        hostility = self.hostility()
        first, second = self.path(depth), self.path(depth)
        if kind == "fork_option":
            return DrawnForkOption(name, parity, first, second, hostility)
        return DrawnForkResult(name, parity, first, second, hostility)


_ALL_POLICIES = tuple(cf.CancellationPolicy)
_WAIT_ONLY = (_WAIT,)
_NO_HOSTILITY: tuple[Hostility, ...] = ()


def _draw_workflow(
    draw: st.DrawFn,
    *,
    max_operations: int = 8,
    max_depth: int = 2,
    allow_async: bool = True,
    allow_scopes: bool = True,
    allow_filters: bool = True,
    allow_collect: bool = True,
    allow_cancel: bool = True,
    allow_failures: bool = False,
    policies: tuple[cf.CancellationPolicy, ...] = _WAIT_ONLY,
    allow_cleanups: bool = False,
    hostile_messages: tuple[Hostility, ...] = _NO_HOSTILITY,
    allow_foreign_cancellations: bool = False,
) -> DrawnWorkflow:
    options = {
        "max_operations": max_operations,
        "max_depth": max_depth,
        "allow_async": allow_async,
        "allow_scopes": allow_scopes,
        "allow_filters": allow_filters,
        "allow_collect": allow_collect,
        "allow_cancel": allow_cancel,
        "allow_failures": allow_failures,
        "policies": policies,
        "allow_cleanups": allow_cleanups,
        "hostile_messages": hostile_messages,
        "allow_foreign_cancellations": allow_foreign_cancellations,
    }
    drawer = _Drawer(draw, options)
    request = drawer.hostility()
    shape = drawer.path(0)
    return DrawnWorkflow(shape, cleanups=drawer.cleanups(), request_hostility=request)


# the strategy's repr names it after the public function: `workflows(max_depth=1)`
_draw_workflow.__name__ = _draw_workflow.__qualname__ = "workflows"
_workflows = st.composite(_draw_workflow)


def _check_count(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise cf.InvalidArgument(
            f"workflows({name}=...) takes an int, got {value!r} of type {type(value).__name__}"
        )
    if value < 0:
        raise cf.InvalidArgument(f"workflows({name}=...) must be >= 0, got {value!r}")


def _check_flag(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise cf.InvalidArgument(
            f"workflows({name}=...) takes True or False, "
            f"got {value!r} of type {type(value).__name__}"
        )


def _check_choices(
    name: str, value: object, allowed: tuple[Any, ...], what: str
) -> tuple[Any, ...]:
    """A collection of some of `allowed`, in the order of `allowed`, without repeats."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Collection):
        raise cf.InvalidArgument(
            f"workflows({name}=...) takes a collection of {what}, "
            f"got {value!r} of type {type(value).__name__}"
        )
    for item in value:
        if item not in allowed or isinstance(item, bool):
            raise cf.InvalidArgument(
                f"workflows({name}=...) takes a collection of {what}, got {item!r} among {value!r}"
            )
    return tuple(a for a in allowed if a in value)


def workflows(
    *,
    max_operations: int = 8,
    max_depth: int = 2,
    allow_async: bool = True,
    allow_scopes: bool = True,
    allow_filters: bool = True,
    allow_collect: bool = True,
    allow_cancel: bool = True,
    allow_failures: bool = False,
    policies: Collection[cf.CancellationPolicy] = (cf.CancellationPolicy.WAIT,),
    allow_cleanups: bool = False,
    hostile_messages: Collection[str] = (),
    allow_foreign_cancellations: bool = False,
) -> st.SearchStrategy[DrawnWorkflow]:
    """A strategy for random workflows over `int` messages, with a probe.

    A drawn workflow is a tree of chains that start at `scope.start`. Its steps are
    blocking maps (`x + k`), async maps that sleep 0, 1 or 2 ms first, value-driven
    filters (a map to `None` when `x` is odd or even, then `dispose_on_none` or
    `cancel_on_none`), spreads of small lists, collects with valid bounds followed by a
    `sum`, and nested scopes. Paths end at `terminate`, in `then_cancel()`, in
    `dispose()`, unconnected, or in a fork (`fork_clone` with 2-3 branches,
    `fork_option` or `fork_result` driven by the value) whose branches are paths again.
    Shrinking goes towards fewer operations and plain `map -> terminate` chains.

    Services never raise, unless `allow_failures=True` adds services that raise
    `DeliberateFailure` for odd or even values, or `allow_foreign_cancellations=True`
    adds services that raise a `CancelledError` of their own.

    Args:
        max_operations: at most this many operations (steps and forks) in the whole
            workflow, nested scopes included.
        max_depth: at most this many levels of nested scopes (0: none).
        allow_async: draw async services (with a small delay).
        allow_scopes: draw nested scopes (`then_scope`).
        allow_filters: draw `dispose_on_none` (and `cancel_on_none` with `allow_cancel`).
        allow_collect: draw collects.
        allow_cancel: draw `then_cancel()` endings and `cancel_on_none`.
        allow_failures: draw services that raise `DeliberateFailure` depending on the value.
        policies: the cancellation policies (API §6) drawn for nested scopes and async
            maps; `cf.CancellationPolicy.WAIT` comes first when shrinking.
        allow_cleanups: draw cleanup workflows (`on_cancel`, `on_terminate`,
            `on_cleanup`; at most one of each) for the workflow's own scope and for
            nested scopes. Each is one blocking or async service that reports to the
            probe when it starts and when it ends (see `DrawnWorkflow.cleanup_workflows`).
        hostile_messages: the ways messages may misbehave (`"uncopyable"`: refuse
            `copy.deepcopy`; `"unrenderable"`: `repr()`/`str()` raise). The request and
            the messages each service makes are drawn plain or hostile (see `hostile`);
            failing services whose messages are unrenderable raise
            `UnrenderableFailure`; `disposal_filter` and `cancellation_filter` steps,
            which render the message they reject, are drawn too (with `allow_filters`).
        allow_foreign_cancellations: draw async services that, for odd or even values,
            await a task that someone else cancelled (see `ForeignCancel`).

    Returns:
        A strategy of `DrawnWorkflow`.

    Raises:
        InvalidArgument: at once, when an argument has the wrong type, is negative, or
            names an unknown policy or hostility.
    """
    _check_count("max_operations", max_operations)
    _check_count("max_depth", max_depth)
    for flag, value in (
        ("allow_async", allow_async),
        ("allow_scopes", allow_scopes),
        ("allow_filters", allow_filters),
        ("allow_collect", allow_collect),
        ("allow_cancel", allow_cancel),
        ("allow_failures", allow_failures),
        ("allow_cleanups", allow_cleanups),
        ("allow_foreign_cancellations", allow_foreign_cancellations),
    ):
        _check_flag(flag, value)
    chosen_policies = _check_choices("policies", policies, _ALL_POLICIES, "cf.CancellationPolicy")
    if not chosen_policies:
        raise cf.InvalidArgument(
            f"workflows(policies=...) needs at least one cf.CancellationPolicy, got {policies!r}"
        )
    hostilities = _check_choices(
        "hostile_messages", hostile_messages, HOSTILITIES, f"hostilities ({HOSTILITIES!r})"
    )
    return _workflows(
        max_operations=max_operations,
        max_depth=max_depth,
        allow_async=allow_async,
        allow_scopes=allow_scopes,
        allow_filters=allow_filters,
        allow_collect=allow_collect,
        allow_cancel=allow_cancel,
        allow_failures=allow_failures,
        policies=_WAIT_ONLY if chosen_policies == _WAIT_ONLY else chosen_policies,
        allow_cleanups=allow_cleanups,
        hostile_messages=hostilities or _NO_HOSTILITY,
        allow_foreign_cancellations=allow_foreign_cancellations,
    )
