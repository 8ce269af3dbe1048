"""Hypothesis strategies that draw random crossflow workflows.

`workflows()` draws small random workflows over `int` messages: chains of blocking
and async maps, forks, filters, spreads, collects, nested scopes, and branches that
terminate, cancel, dispose of their messages or lead nowhere. Each drawn workflow
comes with a `Probe` that its services report to, and with flags that say what the
shape guarantees (for example that every path reaches `terminate`), so property
tests can check the runtime's rules (S1 ... S8) on workflows nobody wrote by hand.

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

import warnings
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeAlias, final

import anyio
import attrs
from hypothesis import strategies as st

import crossflow as cf

from ._recorder import EventKind, Probe, ProbeEvent, running_as

__all__ = (
    "DELAYS",
    "FEATURES",
    "ROOT",
    "AsyncMap",
    "Cancel",
    "CancelOnNone",
    "Collect",
    "DeliberateFailure",
    "Dispose",
    "DisposeOnNone",
    "DrawnEnding",
    "DrawnForkClone",
    "DrawnForkOption",
    "DrawnForkResult",
    "DrawnPath",
    "DrawnWorkflow",
    "Fail",
    "Map",
    "NestedScope",
    "Nowhere",
    "Probe",
    "ProbeEvent",
    "Spread",
    "Step",
    "Terminate",
    "branches",
    "walk",
    "workflows",
)

DELAYS = (0.0, 0.001, 0.002)
"""The delays an async service of a drawn workflow may sleep for, in seconds."""

ROOT = "root"
"""The scope path of a drawn workflow's own scope, as recorded by its probe."""


class DeliberateFailure(Exception):
    """What the failing services of a drawn workflow raise (only with `allow_failures`)."""


# --------------------------------------------------------------------------- shapes
#
# A drawn workflow is first drawn as a tree of small frozen records (its *shape*),
# then built. A path is a line of steps followed by an ending; forks are endings
# whose branches are paths again. The shape is a tree, so no two collects of a scope
# can lie upstream of each other (S5.5): a drawn workflow always builds.


@attrs.frozen
class Map:
    """A blocking service: `x + add`."""

    name: str
    add: int


@attrs.frozen
class AsyncMap:
    """An async service: `await anyio.sleep(delay)`, then `x + add`."""

    name: str
    add: int
    delay: float


@attrs.frozen
class DisposeOnNone:
    """A blocking map to `None` when `x % 2 == parity`, then `dispose_on_none`."""

    name: str
    parity: int


@attrs.frozen
class CancelOnNone:
    """A blocking map to `None` when `x % 2 == parity`, then `cancel_on_none`."""

    name: str
    parity: int


@attrs.frozen
class Spread:
    """A blocking map to `[x, x + 1, ..., x + count - 1]`, then `spread`."""

    name: str
    count: int


@attrs.frozen
class Collect:
    """`collect(min, max)`, then a blocking `sum` of each list."""

    name: str
    min: int
    max: int | None


@attrs.frozen
class Fail:
    """A service that raises `DeliberateFailure` when `x % 2 == parity`, else passes `x` on."""

    name: str
    parity: int
    delay: float | None  # None: a blocking service; else async, sleeping first


@attrs.frozen
class NestedScope:
    """`then_scope`: every message opens a child session that runs `body`."""

    name: str
    body: DrawnPath


Step: TypeAlias = (
    "Map | AsyncMap | DisposeOnNone | CancelOnNone | Spread | Collect | Fail | NestedScope"
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


@attrs.frozen
class DrawnForkResult:
    """A blocking map to `Err(x)` when `x % 2 == parity` (else `Ok(x)`), then `fork_result`."""

    name: str
    parity: int
    ok: DrawnPath
    err: DrawnPath


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
    Spread: "spread",
    Collect: "collect",
    Fail: "fail",
    NestedScope: "scope",
    Terminate: "terminate",
    Cancel: "cancel",
    Dispose: "dispose",
    Nowhere: "nowhere",
    DrawnForkClone: "fork_clone",
    DrawnForkOption: "fork_option",
    DrawnForkResult: "fork_result",
}

FEATURES = frozenset(_FEATURE.values())
"""Every feature name `DrawnWorkflow.features` may contain."""


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
        probe.record(scope, name, "started", x, activation=activation)
        try:
            result = fn(x)
        except DeliberateFailure:
            probe.record(scope, name, "failed", x, activation=activation)
            raise
        probe.record(scope, name, "finished", x, activation=activation)
        return result

    _name(service, name)
    return service


def _async(
    probe: Probe, scope: str, name: str, fn: Callable[[Any], Any], delay: float
) -> Callable[[Any], Awaitable[Any]]:
    async def service(x: Any) -> Any:
        activation = probe.new_activation()
        probe.record(scope, name, "started", x, activation=activation, is_async=True)
        ended: EventKind = "cancelled"  # unless we get past the sleep
        try:
            await anyio.sleep(delay)
            ended = "failed"
            result = fn(x)
            ended = "finished"
        finally:
            # cancellation can only arrive in the sleep: `ended` tells which way we left
            probe.record(scope, name, ended, x, activation=activation, is_async=True)
        return result

    _name(service, name)
    return service


def _marker(probe: Probe, scope: str, what: str) -> Callable[[Any], Any]:
    def reach(x: Any) -> Any:
        probe.record(scope, what, "reached", x)
        return x

    _name(reach, f"reach_{what}")
    return reach


def _add(n: int) -> Callable[[int], int]:
    return lambda x: x + n


def _none_if(parity: int) -> Callable[[int], int | None]:
    return lambda x: None if x % 2 == parity else x


def _err_if(parity: int) -> Callable[[int], cf.Ok[int] | cf.Err[int]]:
    return lambda x: cf.Err(x) if x % 2 == parity else cf.Ok(x)


def _range(count: int) -> Callable[[int], list[int]]:
    return lambda x: [x + i for i in range(count)]


def _fail_if(name: str, parity: int) -> Callable[[int], int]:
    def check(x: int) -> int:
        if x % 2 == parity:
            raise DeliberateFailure(f"{name} fails on purpose for {x!r}")
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
        return chain.map(_blocking(probe, scope, step.name, _add(step.add)), name=step.name)
    if isinstance(step, AsyncMap):
        service = _async(probe, scope, step.name, _add(step.add), step.delay)
        return chain.map(service, name=step.name)
    if isinstance(step, DisposeOnNone):
        service = _blocking(probe, scope, step.name, _none_if(step.parity))
        return chain.map(service, name=step.name).dispose_on_none()
    if isinstance(step, CancelOnNone):
        service = _blocking(probe, scope, step.name, _none_if(step.parity))
        return chain.map(service, name=step.name).cancel_on_none()
    if isinstance(step, Spread):
        return chain.map(
            _blocking(probe, scope, step.name, _range(step.count)), name=step.name
        ).spread()
    if isinstance(step, Collect):
        collected = chain.collect(step.min, step.max)
        return collected.map(_blocking(probe, scope, step.name, _sum), name=step.name)
    if isinstance(step, Fail):
        check = _fail_if(step.name, step.parity)
        if step.delay is None:
            return chain.map(_blocking(probe, scope, step.name, check), name=step.name)
        return chain.map(_async(probe, scope, step.name, check, step.delay), name=step.name)
    body = step.body
    child = f"{scope}/{step.name}"

    def build_scope(inner: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        _build_path(builder.chain(inner.start), body, _Where(probe, child, inner))

    return chain.then_scope(build_scope, name=step.name)


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
        optional = chain.map(_blocking(probe, scope, end.name, _none_if(end.parity)), name=end.name)
        none_name = f"{end.name}:none"
        revive = _blocking(probe, scope, none_name, _zero)
        none_path = end.none
        optional.fork_option(
            some=_brancher(end.some, where),
            none=lambda c: _build_path(c.map(revive, name=none_name), none_path, where),
        )
    else:
        result = chain.map(_blocking(probe, scope, end.name, _err_if(end.parity)), name=end.name)
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


def _describe_step(step: Step, indent: str) -> list[str]:
    if isinstance(step, Map):
        return [f"{indent}.map({step.name}: {_plus(step.add)})"]
    if isinstance(step, AsyncMap):
        return [f"{indent}.map({step.name}: await sleep({step.delay}); {_plus(step.add)})"]
    if isinstance(step, DisposeOnNone):
        return [
            f"{indent}.map({step.name}: None if x is {_parity(step.parity)} else x)"
            ".dispose_on_none()"
        ]
    if isinstance(step, CancelOnNone):
        return [
            f"{indent}.map({step.name}: None if x is {_parity(step.parity)} else x)"
            ".cancel_on_none()"
        ]
    if isinstance(step, Spread):
        return [f"{indent}.map({step.name}: [x + i for i in range({step.count})]).spread()"]
    if isinstance(step, Collect):
        return [f"{indent}.collect(min={step.min}, max={step.max}).map({step.name}: sum)"]
    if isinstance(step, Fail):
        sleep = "" if step.delay is None else f"await sleep({step.delay}); "
        return [f"{indent}.map({step.name}: {sleep}raise if x is {_parity(step.parity)} else x)"]
    return [
        f"{indent}.then_scope({step.name}: start",
        *_describe_path(step.body, indent + "    "),
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
    if isinstance(end, DrawnForkOption):
        return [
            f"{indent}.map({end.name}: None if x is {_parity(end.parity)} else x).fork_option(",
            f"{indent}  some:",
            *_describe_path(end.some, inner),
            f"{indent}  none:",
            f"{inner}.map({end.name}:none: 0)",
            *_describe_path(end.none, inner),
            f"{indent})",
        ]
    return [
        f"{indent}.map({end.name}: Err(x) if x is {_parity(end.parity)} else Ok(x)).fork_result(",
        f"{indent}  ok:",
        *_describe_path(end.ok, inner),
        f"{indent}  err:",
        *_describe_path(end.err, inner),
        f"{indent})",
    ]


# --------------------------------------------------------------------------- drawn workflows


@final
class DrawnWorkflow:
    """A workflow drawn by `workflows()`, with its probe and what its shape guarantees.

    Building it issues no `cf.UnreachableWarning`: a drawn workflow may lead nowhere
    on purpose.

    Attributes:
        workflow: the built workflow; its request is an `int`.
        probe: the recorder every service of the workflow reports to (see `Probe`).
        shape: the tree the workflow was built from.
        description: the workflow's structure, one operation a line, written like the
            chain calls that built it.
        features: which kinds of operation the workflow uses (names from `FEATURES`).
        operations: how many operations were drawn (steps and forks; endings and the
            probe's markers do not count).
        depth: how deeply scopes are nested (0: no nested scope).
        terminate_on_every_path: every message that leaves `start`, and every message
            made from it, reaches `terminate` with no filter, disposal, failure or
            cancel on the way: a run must return a response.
        deterministic: the outcome of a run and what its services see do not depend
            on timing: the workflow has no async service, or it never has two messages
            in flight in one session (no fork_clone, spread or collect).
        single_session_scopes: the scope paths (as recorded by the probe) that open
            at most one session per run; `"root"` is always one of them.
    """

    __slots__ = (
        "depth",
        "description",
        "deterministic",
        "features",
        "operations",
        "probe",
        "shape",
        "single_session_scopes",
        "terminate_on_every_path",
        "workflow",
    )

    def __init__(self, shape: DrawnPath) -> None:
        self.shape = shape
        self.probe = Probe()
        probe = self.probe

        def drawn(scope: cf.Scope[int, Any], builder: cf.Builder) -> None:
            _build_path(builder.chain(scope.start), shape, _Where(probe, ROOT, scope))

        with warnings.catch_warnings():
            # paths that end nowhere are drawn on purpose (S2.3 is among the rules tested)
            warnings.simplefilter("ignore", cf.UnreachableWarning)
            self.workflow: cf.Workflow[int, Any] = cf.Workflow.build(drawn, name="drawn")
        self.description = "\n".join(["start", *_describe_path(shape, "")])
        parts = list(walk(shape))
        self.features = frozenset(_FEATURE[type(part)] for part in parts)
        self.operations = _count(shape)
        self.depth = _depth(shape)
        self.terminate_on_every_path = _reaches_terminate(shape)
        has_async = any(
            isinstance(p, AsyncMap) or (isinstance(p, Fail) and p.delay is not None) for p in parts
        )
        several = any(isinstance(p, (DrawnForkClone, Spread, Collect)) for p in parts)
        self.deterministic = not (has_async and several)
        single: set[str] = {ROOT}
        _single_session_scopes(shape, ROOT, False, single)
        self.single_session_scopes = frozenset(single)

    def __repr__(self) -> str:
        flags = [f"{self.operations} operations"]
        if self.terminate_on_every_path:
            flags.append("terminate on every path")
        if self.deterministic:
            flags.append("deterministic")
        body = "\n".join("    " + line for line in self.description.splitlines())
        return f"<DrawnWorkflow ({', '.join(flags)}):\n{body}\n>"

    async def run(self, request: int, *, run: int = 0) -> Any:
        """Run the workflow once; the probe records its events under run number `run`.

        Returns:
            The response.

        Raises:
            WorkflowCancelled: the session was cancelled.
        """
        with running_as(run):
            return await self.workflow.run(request)


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
        kind = draw(st.sampled_from(kinds))
        name = self.name(kind)
        if kind == "map":
            return Map(name, draw(st.integers(-2, 2)))
        if kind == "async":
            return AsyncMap(name, draw(st.integers(-2, 2)), draw(st.sampled_from(DELAYS)))
        if kind == "dispose_on_none":
            return DisposeOnNone(name, draw(st.integers(0, 1)))
        if kind == "cancel_on_none":
            return CancelOnNone(name, draw(st.integers(0, 1)))
        if kind == "spread":
            return Spread(name, draw(st.integers(0, 3)))
        if kind == "collect":
            low = draw(st.integers(0, 2))
            tight = max(low, 1)
            high = draw(st.sampled_from([tight, None, tight + 1, tight + 2]))
            return Collect(name, low, high)
        if kind == "fail":
            delay = draw(st.none() | st.sampled_from(DELAYS)) if opts["allow_async"] else None
            return Fail(name, draw(st.integers(0, 1)), delay)
        return NestedScope(name, self.path(depth + 1))

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
        first, second = self.path(depth), self.path(depth)
        if kind == "fork_option":
            return DrawnForkOption(name, parity, first, second)
        return DrawnForkResult(name, parity, first, second)


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
    }
    return DrawnWorkflow(_Drawer(draw, options).path(0))


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
    `DeliberateFailure` for odd or even values.

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

    Returns:
        A strategy of `DrawnWorkflow`.

    Raises:
        InvalidArgument: at once, when an argument has the wrong type or is negative.
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
    ):
        _check_flag(flag, value)
    return _workflows(
        max_operations=max_operations,
        max_depth=max_depth,
        allow_async=allow_async,
        allow_scopes=allow_scopes,
        allow_filters=allow_filters,
        allow_collect=allow_collect,
        allow_cancel=allow_cancel,
        allow_failures=allow_failures,
    )
