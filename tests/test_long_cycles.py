"""Long runs of blocking operations share the event loop (S8.1 keeps holding).

A flush handles a bounded number of messages, then lets the event loop run before it
goes on, so a cycle of blocking operations neither starves other tasks nor escapes
cancellation from outside.
"""

from __future__ import annotations

from typing import Any

import anyio
import anyio.lowlevel
import pytest

import crossflow as cf
from crossflow._runtime import _core
from crossflow.testing import assert_completes

pytestmark = pytest.mark.anyio


def counting_loop(limit: float) -> cf.Workflow[int, int]:
    """A blocking cycle: x -> x + 1 while x < limit, then respond with the limit."""

    def build(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        step = builder.create_node(lambda x: x + 1, name="step")
        builder.connect(scope.start, step.input)
        finished = builder.create_fork_option()
        builder.chain(step.output).map(lambda x: x if x < limit else None).connect(finished.input)
        # not finished yet (a value): go round again; finished (None): respond
        builder.connect(finished.some, step.input)
        builder.chain(finished.none).map(lambda _: int(limit)).connect(scope.terminate)

    return cf.Workflow.build(build, name="counting_loop")


async def test_a_long_blocking_cycle_lets_other_tasks_run() -> None:
    """A cycle of 50,000 blocking steps gives the right answer, and other tasks of the
    event loop run while it goes on (it yields every `FLUSH_LIMIT` messages)."""
    ticks = 0
    stop = anyio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            await anyio.lowlevel.checkpoint()
            ticks += 1

    async with anyio.create_task_group() as tg:
        tg.start_soon(ticker)
        await anyio.lowlevel.checkpoint()  # the ticker is now waiting for its turn
        before = ticks
        assert await assert_completes(counting_loop(50_000), 0) == 50_000
        during = ticks - before
        stop.set()
    assert during > 0


async def test_an_endless_blocking_cycle_can_be_cancelled_from_outside() -> None:
    """A blocking cycle that never reaches terminate still ends when the task awaiting
    `run` is cancelled: the backend's cancellation propagates (API §2)."""
    endless = counting_loop(float("inf"))
    with anyio.fail_after(5):
        with anyio.move_on_after(0.05) as scope:
            await endless.run(0)
    assert scope.cancelled_caught


async def test_yielding_often_changes_no_outcome(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a flush limit of two messages, breadth-first ordering (S8.1) and collect
    (S5.2) give the same results as with the default limit."""
    monkeypatch.setattr(_core, "FLUSH_LIMIT", 2)

    @cf.workflow
    def breadth_first(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        op1 = builder.create_node(lambda x: x * 3, name="op1")
        builder.connect(scope.start, op1.input)
        builder.chain(op1.output).fork_clone(
            lambda c: c.connect(op1.input),
            lambda c: c.map(lambda x: x * 3).connect(scope.terminate),
        )

    async def double(x: int) -> int:
        await anyio.lowlevel.checkpoint()
        return x * 2

    @cf.workflow
    def gather(scope: cf.Scope[list[int], list[int]], builder: cf.Builder) -> None:
        builder.chain(scope.start).spread().then(double).collect_all().map(sorted).connect(
            scope.terminate
        )

    results: list[Any] = [
        await assert_completes(breadth_first, 4),
        await assert_completes(gather, list(range(20))),
        await assert_completes(counting_loop(100), 0),
    ]
    assert results == [36, [x * 2 for x in range(20)], 100]


async def test_an_endless_blocking_cycle_does_not_starve_an_async_activation() -> None:
    """S8.1: a cycle of blocking operations yields to the loop, and async work waiting
    to start gets to run and reach terminate."""

    async def slow(x: int) -> str:
        await anyio.lowlevel.checkpoint()
        return "done"

    def build(scope: cf.Scope[int, str], b: cf.Builder) -> None:
        spin = b.create_node(lambda x: x, name="spin")
        b.connect(spin.output, spin.input)
        b.chain(scope.start).fork_clone(
            lambda ch: ch.connect(spin.input),
            lambda ch: ch.then(slow).connect(scope.terminate),
        )

    with anyio.fail_after(10):
        assert await cf.Workflow.build(build).run(0) == "done"
