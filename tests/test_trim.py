"""Trims: clean up a span of operations for the current session (S3 `Trimming`, S6.1)."""

from __future__ import annotations

from typing import Any

import anyio
import anyio.lowlevel
import pytest

import crossflow as cf
from crossflow.testing import assert_cancelled
from crossflow.testing import assert_completes as run

pytestmark = pytest.mark.anyio


# --------------------------------------------------------------------------- TR-1


async def test_trim_downstream_drops_the_queued_activation() -> None:
    """TR-1: `fork_clone(start){ noop -> A:async(2x) -> [terminate] ;
    trim(downstream(noop)) -> B:map(2x) -> A }` with 2.0 gives 8.0: the activation of A
    from the noop branch is cleaned up by the trim; only B -> A completes."""
    finished: list[float] = []

    async def double(x: float) -> float:
        await anyio.lowlevel.checkpoint()
        finished.append(x)
        return 2 * x

    @cf.workflow
    def wf(scope: cf.Scope[float, float], builder: cf.Builder) -> None:
        a = builder.create_node(double, name="A")
        builder.connect(a.output, scope.terminate)
        noop = builder.create_node(lambda x: x, name="noop")
        builder.connect(noop.output, a.input)
        builder.chain(scope.start).fork_clone(
            lambda c: c.connect(noop.input),
            lambda c: (
                c.then_trim(cf.TrimBranch.downstream(noop))
                .map(lambda x: 2 * x, name="B")
                .connect(a.input)
            ),
        )

    assert await run(wf, 2.0) == 8.0
    assert finished == [4.0]


async def test_trim_downstream_cancels_the_running_activation() -> None:
    """TR-1, with the first activation of A running when the trim comes: its task is
    cancelled and awaited (its `finally` runs) before the trim passes the message on."""
    log: list[Any] = []
    first_started = anyio.Event()

    async def double(x: float) -> float:
        log.append(("A started", x))
        if x == 2.0:
            first_started.set()
            try:
                await anyio.sleep_forever()
            finally:
                log.append(("A finally", x))
        return 2 * x

    async def when_started(x: float) -> float:
        await first_started.wait()
        return x

    def b(x: float) -> float:
        log.append("B")
        return 2 * x

    @cf.workflow
    def wf(scope: cf.Scope[float, float], builder: cf.Builder) -> None:
        a = builder.create_node(double, name="A")
        builder.connect(a.output, scope.terminate)
        noop = builder.create_node(lambda x: x, name="noop")
        builder.connect(noop.output, a.input)
        builder.chain(scope.start).fork_clone(
            lambda c: c.connect(noop.input),
            lambda c: (
                c.then(when_started)
                .then_trim(cf.TrimBranch.downstream(noop))
                .map(b)
                .connect(a.input)
            ),
        )

    assert await run(wf, 2.0) == 8.0
    assert log == [("A started", 2.0), ("A finally", 2.0), "B", ("A started", 4.0)]


# --------------------------------------------------------------------------- TR-2, TR-3


async def test_trimming_a_long_running_node() -> None:
    """TR-2: a node's stream triggers a trim of the node itself; its task is cancelled
    (`finally` ran) and the trim's message goes on to terminate."""
    log: list[str] = []

    @cf.service(streams={"started": int})
    async def long(x: int, *, streams: cf.Streams) -> int:
        streams.started.send(x)
        try:
            await anyio.sleep_forever()
        finally:
            log.append("long finally")
        return x

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        node = builder.create_node(long)
        builder.connect(scope.start, node.input)
        builder.connect(node.output, scope.terminate)
        builder.chain(node.streams.started).then_trim(cf.TrimBranch.single_point(node)).map(
            lambda _: 2
        ).connect(scope.terminate)

    assert await run(wf, 1) == 2
    assert log == ["long finally"]


def trimmed_on_its_only_path(provider: Any, started: anyio.Event) -> cf.Workflow[int, int]:
    """`provider` is the only path to terminate; a trim of just that node fires once
    `started` is set, and its output goes nowhere."""

    async def when_started(x: int) -> int:
        await started.wait()
        return x

    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        node = builder.create_node(provider)
        builder.connect(node.output, scope.terminate)
        trim = builder.create_trim(cf.TrimBranch.single_point(node))
        builder.chain(trim.output).dispose()
        builder.chain(scope.start).fork_clone(
            lambda c: c.connect(node.input),
            lambda c: c.then(when_started).connect(trim.input),
        )

    return cf.Workflow.build(wf)


async def test_trimming_records_a_trimming_disposal() -> None:
    """S3, S2.4: after trimming the only path to terminate, the session is unreachable,
    and its disposals are exactly the trim's `Trimming`."""
    log: list[str] = []
    started = anyio.Event()

    async def long(x: int) -> int:
        started.set()
        try:
            await anyio.sleep_forever()
        finally:
            log.append("long finally")
        return x

    cause = (await assert_cancelled(trimmed_on_its_only_path(long, started), 1)).cancellation.cause
    assert cause == cf.Unreachable("wf", (cf.Disposal("trim", cf.Trimming("trim")),))
    assert log == ["long finally"]


def inner_workflow(log: list[Any], started: anyio.Event) -> cf.Workflow[int, int]:
    """`[s] -> fork_clone{ buf ; park -> [t] }` with `on_cancel`/`on_terminate` records."""

    async def park(x: int) -> int:
        started.set()
        try:
            await anyio.sleep_forever()
        finally:
            log.append("inner task finally")
        return x

    def record(tag: str) -> Any:
        def build(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
            def read(key: cf.BufferKey[int]) -> None:
                with key.access() as view:
                    log.append((tag, list(view)))

            builder.chain(scope.start).map(read).connect(scope.terminate)

        return build

    @cf.workflow
    def inner(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        buf = builder.create_buffer()
        builder.chain(scope.start).fork_clone(
            lambda c: c.connect(buf),
            lambda c: c.then(park).connect(scope.terminate),
        )
        builder.on_cancel(buf, record("inner on_cancel"))
        builder.on_terminate(buf, record("inner on_terminate"))

    return inner


async def test_trimming_a_nested_workflow_runs_its_on_cancel() -> None:
    """TR-3 (S6.2): a trimmed nested workflow is interrupted: its task is cancelled and its
    `on_cancel` workflow runs (with its buffer), before the trim passes its message on."""
    log: list[Any] = []
    started = anyio.Event()
    inner = inner_workflow(log, started)

    async def when_started(x: int) -> int:
        await started.wait()
        return x

    def after_trim(_: int) -> int:
        log.append("trim passed")
        return 2

    @cf.workflow
    def outer(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        node = builder.create_node(inner)
        builder.connect(node.output, scope.terminate)
        builder.chain(scope.start).fork_clone(
            lambda c: c.connect(node.input),
            lambda c: (
                c.then(when_started)
                .then_trim(cf.TrimBranch.single_point(node))
                .map(after_trim)
                .connect(scope.terminate)
            ),
        )

    assert await run(outer, 5) == 2
    assert log == ["inner task finally", ("inner on_cancel", [5]), "trim passed"]


async def test_a_trimmed_nested_session_is_no_scope_cancelled_disposal() -> None:
    """S3: a nested session cleaned up by a trim records the trim's `Trimming` only, not a
    `ScopeCancelled` of its own."""
    log: list[Any] = []
    started = anyio.Event()
    inner = inner_workflow(log, started)

    cause = (await assert_cancelled(trimmed_on_its_only_path(inner, started), 5)).cancellation.cause
    assert cause == cf.Unreachable("wf", (cf.Disposal("trim", cf.Trimming("trim")),))
    assert log == ["inner task finally", ("inner on_cancel", [5])]


# --------------------------------------------------------------------------- spans


class Parked:
    """Three async nodes n1 -> n2 -> n3 -> [terminate], each also fed by the start.

    Every activation parks until `release` is set; the trim runs once all three park,
    and its message then sets `release`.
    """

    def __init__(self) -> None:
        self.started = {name: anyio.Event() for name in ("n1", "n2", "n3")}
        self.release = anyio.Event()
        self.cancelled: list[str] = []

    def service(self, name: str) -> Any:
        async def park(x: int) -> int:
            self.started[name].set()
            try:
                await self.release.wait()
                await anyio.lowlevel.checkpoint()
            except anyio.get_cancelled_exc_class():
                if not self.release.is_set():  # later, terminate's cleanup cancels the rest
                    self.cancelled.append(name)
                raise
            return x

        return park

    async def all_started(self, x: int) -> int:
        for event in self.started.values():
            await event.wait()
        return x

    def let_go(self, x: int) -> int:
        self.release.set()
        return x

    def workflow(self, branches: Any) -> cf.Workflow[int, int]:
        @cf.workflow
        def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
            n1 = builder.create_node(self.service("n1"), name="n1")
            n2 = builder.create_node(self.service("n2"), name="n2")
            n3 = builder.create_node(self.service("n3"), name="n3")
            builder.connect(n1.output, n2.input)
            builder.connect(n2.output, n3.input)
            builder.connect(n3.output, scope.terminate)
            builder.chain(scope.start).fork_clone(
                lambda c: c.connect(n1.input),
                lambda c: c.connect(n2.input),
                lambda c: c.connect(n3.input),
                lambda c: (
                    c.then(self.all_started)
                    .then_trim(*branches(n1, n2, n3))
                    .map(self.let_go)
                    .dispose()
                ),
            )

        return wf


@pytest.mark.parametrize(
    ("branch", "cancelled"),
    [
        (lambda n1, n2, n3: cf.TrimBranch.single_point(n2), ["n2"]),
        (lambda n1, n2, n3: cf.TrimBranch.single_point(n2.input), ["n2"]),
        (lambda n1, n2, n3: cf.TrimBranch.downstream(n2), ["n2", "n3"]),
        (lambda n1, n2, n3: cf.TrimBranch.between(n1, n2), ["n1", "n2"]),
        (lambda n1, n2, n3: cf.TrimBranch.between(n2.input, n3.input), ["n2", "n3"]),
        (lambda n1, n2, n3: cf.TrimBranch.between(n1, n1), ["n1"]),
    ],
    ids=[
        "single_point",
        "single_point_slot",
        "downstream_n2",
        "between_n1_n2",
        "between_slots",
        "between_same",
    ],
)
async def test_spans_select_exactly_their_operations(branch: Any, cancelled: list[str]) -> None:
    """S3 (`Trimming`): `single_point` is the operation alone, `downstream` the point and
    what follows it, `between(a, b)` the operations on the paths from a to b. Exactly the
    running activations of the span are cancelled; the others run on and respond."""
    parked = Parked()
    assert await run(parked.workflow(lambda *nodes: (branch(*nodes),)), 7) == 7
    assert sorted(parked.cancelled) == cancelled


async def test_trimming_every_path_to_terminate_makes_it_unreachable() -> None:
    """S3, S2.4: `downstream(n1)` spans n1, n2 and n3: once they are cleaned up nothing
    can reach terminate, and the only disposal is the trim's `Trimming`."""
    parked = Parked()
    wf = parked.workflow(lambda n1, n2, n3: (cf.TrimBranch.downstream(n1),))
    cause = (await assert_cancelled(wf, 7)).cancellation.cause
    assert isinstance(cause, cf.Unreachable)
    assert [type(d.cause) for d in cause.disposals] == [cf.Trimming]
    assert sorted(parked.cancelled) == ["n1", "n2", "n3"]


async def test_several_branches_add_up() -> None:
    """S3: a trim of several branches cleans up the union of their spans."""
    parked = Parked()
    wf = parked.workflow(
        lambda n1, n2, n3: (cf.TrimBranch.single_point(n1), cf.TrimBranch.single_point(n3))
    )
    assert await run(wf, 3) == 3
    assert sorted(parked.cancelled) == ["n1", "n3"]


async def test_trim_clears_the_buffers_of_its_span() -> None:
    """S3: a trim empties the buffers in its span for the session."""

    def contents(key: cf.BufferKey[int]) -> list[int]:
        with key.access() as view:
            return list(view)

    def build(trimmed: bool) -> cf.Workflow[int, list[int]]:
        @cf.workflow
        def wf(scope: cf.Scope[int, list[int]], builder: cf.Builder) -> None:
            buf = builder.create_buffer(cf.BufferSettings.keep_all())
            other = builder.create_buffer(cf.BufferSettings.keep_all())
            span = (cf.TrimBranch.single_point(buf),) if trimmed else ()
            builder.chain(scope.start).fork_clone(
                lambda c: c.connect(buf),
                lambda c: c.map(lambda x: -x).connect(other),
                lambda c: (
                    c.then_trim(*span, cf.TrimBranch.single_point(other))
                    .then_access((buf, other))
                    .map(lambda keys: contents(keys[0]) + contents(keys[1]))
                    .connect(scope.terminate)
                ),
            )

        return wf

    assert await run(build(False), 4) == [4]
    assert await run(build(True), 4) == []


async def test_terminate_ignores_trims() -> None:
    """S3: terminate is never part of a span; a message waiting for it still arrives."""

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).fork_clone(
            lambda c: (
                c.then_trim(cf.TrimBranch.single_point(scope.terminate))
                .map(lambda x: x * 10)
                .connect(scope.terminate)
            ),
            lambda c: c.connect(scope.terminate),
        )

    # the trim runs first (fork order, S8.1) while the second copy waits for terminate
    assert await run(wf, 3) == 3


async def test_between_with_the_end_upstream_is_a_build_error() -> None:
    """S3: `between(a, b)` with b not downstream of a is an empty span: `BuildError` at
    build time, naming both points."""

    def build(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        first = builder.create_node(lambda x: x, name="first")
        second = builder.create_node(lambda x: x, name="second")
        builder.connect(scope.start, first.input)
        builder.connect(first.output, second.input)
        builder.chain(second.output).then_trim(cf.TrimBranch.between(second, first)).connect(
            scope.terminate
        )

    with pytest.raises(cf.BuildError, match=r"(?s)second.*first"):
        cf.Workflow.build(build)
