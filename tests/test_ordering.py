"""Ordering guarantees (S8)."""

from __future__ import annotations

from typing import Any

import anyio
import anyio.lowlevel
import pytest

import crossflow as cf
from crossflow.testing import assert_completes as run

pytestmark = pytest.mark.anyio


def recorder(log: list[Any], tag: str | None = None) -> Any:
    def record(x: Any) -> Any:
        log.append(x if tag is None else tag)
        return x

    record.__qualname__ = f"record_{tag}"
    return record


async def test_breadth_first() -> None:
    """Messages are queued behind everything already queued: the value that reaches terminate
    first is the one from the shortest path (EX-1, S8.1)."""

    def times3(x: int) -> int:
        return x * 3

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        op1 = builder.create_node(times3)
        builder.connect(scope.start, op1.input)
        builder.chain(op1.output).fork_clone(
            lambda c: c.connect(op1.input),
            lambda c: c.map(times3).connect(scope.terminate),
        )

    assert await run(wf, 4) == 36


async def test_first_queued_branch_wins_a_synchronous_race() -> None:
    """A split sends to its outputs in order, so the first sequential output reaches
    terminate first (EX-2, S8.1)."""

    @cf.workflow
    def wf(scope: cf.Scope[list[int], int], builder: cf.Builder) -> None:
        split = builder.chain(scope.start).split_outputs(sequence=4)
        builder.connect(split.seq(0), scope.terminate)
        for i in range(1, 4):
            builder.chain(split.seq(i)).map(lambda v: v).connect(scope.terminate)

    assert await run(wf, [1, 2, 3, 4]) == 1


async def test_fork_emits_in_declaration_order() -> None:
    """A fork emits to its branches in declaration order (S8.1, EX-b)."""
    log: list[str] = []

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).fork_clone(
            lambda c: c.map(recorder(log, "a")).dispose(),
            lambda c: c.map(recorder(log, "b")).dispose(),
            lambda c: c.map(recorder(log, "c")).connect(scope.terminate),
        )

    assert await run(wf, 0) == 0
    assert log == ["a", "b", "c"]


async def test_blocking_operations_run_breadth_first() -> None:
    """Blocking operations run one at a time in the order their inputs arrived: two
    two-step branches interleave step by step (S8.1, EX-a)."""
    log: list[str] = []

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).fork_clone(
            lambda c: c.map(recorder(log, "a1")).map(recorder(log, "a2")).dispose(),
            lambda c: c.map(recorder(log, "b1")).map(recorder(log, "b2")).connect(scope.terminate),
        )

    assert await run(wf, 0) == 0
    assert log == ["a1", "b1", "a2", "b2"]


async def test_spread_keeps_fifo_order() -> None:
    """Messages reach a blocking operation in the order they were sent (S8.1)."""
    log: list[int] = []

    @cf.workflow
    def wf(scope: cf.Scope[list[int], list[int]], builder: cf.Builder) -> None:
        builder.chain(scope.start).spread().map(recorder(log)).collect_all().connect(
            scope.terminate
        )

    assert await run(wf, [3, 1, 2]) == [3, 1, 2]
    assert log == [3, 1, 2]


@cf.service(streams={"s": int})
def blocking_streamer(_: Any, *, streams: cf.Streams) -> int:
    for i in (1, 2, 3):
        streams.s.send(i)
    return 99


@cf.service(streams={"s": int})
async def async_streamer(_: Any, *, streams: cf.Streams) -> int:
    for i in (1, 2, 3):
        streams.s.send(i)
        await anyio.lowlevel.checkpoint()
    return 99


@pytest.mark.parametrize("service", [blocking_streamer, async_streamer], ids=["blocking", "async"])
async def test_streams_before_final_output(service: cf.Service[Any, int]) -> None:
    """A node's stream messages are delivered before its final output, for blocking and
    async services (EX-4, S8.2)."""
    log: list[int] = []

    @cf.workflow
    def wf(scope: cf.Scope[None, int], builder: cf.Builder) -> None:
        node = builder.chain(scope.start).then_node(service)
        builder.chain(node.streams.s).map(recorder(log)).dispose()
        builder.chain(node.output).map(recorder(log)).connect(scope.terminate)

    assert await run(wf, None) == 99
    assert log == [1, 2, 3, 99]


async def test_async_activations_run_concurrently() -> None:
    """Async activations of the same node run concurrently: three activations that each
    wait until all three have started finish (S8.4)."""
    started: list[int] = []
    all_started = anyio.Event()

    async def gather(x: int) -> int:
        started.append(x)
        if len(started) == 3:
            all_started.set()
        await all_started.wait()
        return x

    @cf.workflow
    def wf(scope: cf.Scope[list[int], list[int]], builder: cf.Builder) -> None:
        builder.chain(scope.start).spread().then(gather).collect_all().connect(scope.terminate)

    assert sorted(await run(wf, [1, 2, 3])) == [1, 2, 3]


async def test_stream_out_before_terminate_reaches_the_parent() -> None:
    """A child's stream message that reached its stream-out before the child's terminate is
    delivered to the parent (S8.3, S1.6)."""
    log: list[int] = []

    @cf.service(streams={"s": int})
    def emit(x: int, *, streams: cf.Streams) -> int:
        streams.s.send(x + 1)
        return x

    def child(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        node = builder.chain(scope.start).then_node(emit)
        builder.connect(node.streams.s, scope.streams.s)
        builder.connect(node.output, scope.terminate)

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        node = builder.create_scope(child, streams={"s": int})
        builder.connect(scope.start, node.input)
        builder.chain(node.streams.s).map(recorder(log)).dispose()
        builder.chain(node.output).then(at_the_end).connect(scope.terminate)

    assert await run(wf, 1) == 1
    assert log == [2]


async def at_the_end(x: Any) -> Any:
    await anyio.wait_all_tasks_blocked()
    return x


async def test_stream_message_still_in_flight_at_terminate_is_dropped() -> None:
    """A stream message still two hops away from the stream-out when the child's terminate
    fires never reaches the parent: after cleanup starts nothing new enters the session
    (ST-9, S8.3)."""
    log: list[int] = []

    @cf.service(streams={"s": int})
    def emit(x: int, *, streams: cf.Streams) -> int:
        streams.s.send(x + 1)
        return x

    def child(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        node = builder.chain(scope.start).then_node(emit)
        builder.chain(node.streams.s).map(lambda v: v).map(lambda v: v).connect(scope.streams.s)
        builder.connect(node.output, scope.terminate)

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        node = builder.create_scope(child, streams={"s": int})
        builder.connect(scope.start, node.input)
        builder.chain(node.streams.s).map(recorder(log)).dispose()
        builder.chain(node.output).then(at_the_end).connect(scope.terminate)

    assert await run(wf, 1) == 1
    assert log == []


async def test_child_streams_arrive_before_its_response() -> None:
    """A child session's stream messages reach the parent before the child's response, in
    the order they were sent (S8.2, S1.6)."""
    log: list[Any] = []

    @cf.service(streams={"s": int})
    async def emit(x: int, *, streams: cf.Streams) -> str:
        for i in range(x):
            streams.s.send(i)
            await anyio.lowlevel.checkpoint()
        return "response"

    @cf.workflow(streams={"s": int})
    def child(scope: cf.Scope[int, str], builder: cf.Builder) -> None:
        node = builder.chain(scope.start).then_node(emit)
        builder.connect(node.streams.s, scope.streams.s)
        builder.connect(node.output, scope.terminate)

    @cf.workflow
    def wf(scope: cf.Scope[int, str], builder: cf.Builder) -> None:
        node = builder.chain(scope.start).then_node(child)
        builder.chain(node.streams.s).map(recorder(log)).dispose()
        builder.chain(node.output).map(recorder(log)).connect(scope.terminate)

    assert await run(wf, 3) == "response"
    assert log == [0, 1, 2, "response"]


async def test_branch_clone_branch_runs_before_the_continuation() -> None:
    """S8.1: `branch_clone` declares its branch first, so the branch gets its copy first;
    the chain continues with the original message."""
    seen: list[list[int]] = []

    @cf.workflow
    def wf(scope: cf.Scope[list[int], list[int]], builder: cf.Builder) -> None:
        builder.chain(scope.start).branch_clone(lambda c: c.map(seen.append).dispose()).connect(
            scope.terminate
        )

    request = [1, 2]
    with anyio.fail_after(5):
        response = await wf.run(request)
    assert response is request
    assert seen == [[1, 2]]
    assert seen[0] is not request
