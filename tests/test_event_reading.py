"""Reading `session.events` while a session runs (S9.2): incremental reads see every
event once, in order, and sessions are cleaned up in the order they were opened."""

from __future__ import annotations

import anyio
import pytest

import crossflow as cf
from crossflow import events as ev

pytestmark = pytest.mark.anyio


async def test_reading_events_while_the_session_runs_loses_nothing() -> None:
    """S9.2: an inline call is recorded as a started and a finished event; reading the
    log between steps gives exactly the events of reading it once at the end."""
    steps = [anyio.Event() for _ in range(3)]
    reached = [anyio.Event() for _ in range(3)]

    async def step(i: int) -> int:
        reached[i].set()
        await steps[i].wait()
        return i + 1

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        chain = builder.chain(scope.start)
        for _ in range(3):
            chain = chain.map(lambda x: x, name="inline").then(step, name="step")
        chain.connect(scope.terminate)

    seen: list[str] = []
    with anyio.fail_after(5):
        async with wf.start(0) as session:
            for i in range(3):
                await reached[i].wait()
                seen = [e.describe() for e in session.events]
                steps[i].set()
            assert await session.result() == 3
    final = [e.describe() for e in session.events]
    assert final[: len(seen)] == seen
    inline = [e for e in session.events if str(getattr(e, "operation", "")).startswith("inline")]
    assert [type(e).__name__ for e in inline] == ["OperationStarted", "OperationFinished"] * 3
    started = [e for e in session.events if isinstance(e, ev.OperationStarted)]
    assert [e.operation.split("#")[0] for e in started] == ["inline", "step"] * 3
    assert len(set(final)) == len(final)  # no event twice


async def test_children_are_asked_to_cancel_in_the_order_they_were_opened() -> None:
    """S9.2, S8: operation cleanup interrupts child sessions in opening order, so the
    trace is the same on every run and backend."""
    opened = anyio.Event()
    count = 0

    async def park(x: int) -> int:
        nonlocal count
        count += 1
        if count == 6:
            opened.set()
        await anyio.sleep_forever()
        return x

    def child(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(park).connect(scope.terminate)

    @cf.workflow
    def wf(scope: cf.Scope[list[int], list[int]], builder: cf.Builder) -> None:
        builder.chain(scope.start).spread().then_scope(child, name="child").collect_all().connect(
            scope.terminate
        )

    with anyio.fail_after(5):
        async with wf.start(list(range(6))) as session:
            await opened.wait()
            session.cancel("enough")
    asked = [e for e in session.events if isinstance(e, ev.ChildCancellationRequested)]
    assert [e.child for e in asked] == [("wf", f"child[{i}]") for i in range(6)]
    assert all(e.operation == "child" and e.waited for e in asked)
