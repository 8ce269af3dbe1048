"""`on_event`: every event handed to a callback as the run goes (S9.2).

The callback sees the same events as `session.events`, in the same order; it runs
between operations, so it may cancel the session it watches; a callback that raises
is called no more and the run warns when it ends.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest

import crossflow as cf
from crossflow import events as ev

pytestmark = pytest.mark.anyio


async def step(x: int) -> int:
    await anyio.lowlevel.checkpoint()
    return x + 1


@cf.workflow
def chain(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
    (
        builder.chain(scope.start)
        .map(lambda x: x + 1, name="inc")
        .then(step)
        .then_scope(
            lambda s, b: b.chain(s.start).map(lambda x: x * 2, name="dbl").connect(s.terminate),
            name="inner",
        )
        .connect(scope.terminate)
    )


async def test_on_event_sees_the_log_in_order() -> None:
    """S9.2: the callback gets exactly the events of `session.events`, in order."""
    seen: list[ev.Event] = []
    with anyio.fail_after(5):
        async with chain.start(1, on_event=seen.append) as session:
            assert await session.result() == 6
    assert seen == list(session.events)
    assert isinstance(seen[-1], ev.Terminated) and seen[-1].path == ("chain",)


async def test_on_event_with_run() -> None:
    """`run(on_event=...)` hands over the same events as a session would record."""
    seen: list[str] = []
    with anyio.fail_after(5):
        assert await chain.run(1, on_event=lambda e: seen.append(e.describe())) == 6
    assert seen[0] == "chain: SessionStarted: scope 'chain'"
    assert seen[-1] == "chain: Terminated"
    assert "chain/inner[0]: OperationStarted: dbl" in seen


async def test_cancel_from_the_callback_takes_effect_after_that_operation() -> None:
    """A cancel requested on an event stops the session before the next operation runs."""
    for k in range(1, 5):
        seen: list[ev.Event] = []
        holder: list[cf.Session[int]] = []

        def watch(
            event: ev.Event,
            k: int = k,
            seen: list[ev.Event] = seen,
            holder: list[cf.Session[int]] = holder,
        ) -> None:
            seen.append(event)
            if len(seen) == k:
                holder[0].cancel(f"after event {k}")

        session = chain.start(1, on_event=watch)
        holder.append(session)
        with anyio.fail_after(5):
            async with session:
                with pytest.raises(cf.WorkflowCancelled) as caught:
                    await session.result()
        assert caught.value.cancellation.cause == cf.UserCancelled(f"after event {k}")
        # nothing was started after the event that asked for the cancellation
        later = seen[k:]
        assert not any(isinstance(e, ev.OperationStarted) for e in later), [
            e.describe() for e in later
        ]


async def test_a_failing_callback_is_dropped_and_reported() -> None:
    """A callback that raises does not break the run; the run warns when it ends."""
    calls: list[ev.Event] = []

    def broken(event: ev.Event) -> None:
        calls.append(event)
        raise RuntimeError("progress bar broke")

    with anyio.fail_after(5), pytest.warns(cf.CrossflowWarning, match="progress bar broke"):
        assert await chain.run(1, on_event=broken) == 6
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"on_event": 5}, "on_event=...\\) takes a function"),
        ({"on_event": print, "events": False}, "needs events=True"),
    ],
)
def test_bad_on_event_is_rejected(kwargs: dict[str, Any], match: str) -> None:
    """InvalidArgument where it is given: not callable, or with events=False."""
    with pytest.raises(cf.InvalidArgument, match=match):
        chain.start(1, **kwargs)
    with pytest.raises(cf.InvalidArgument, match=match):
        chain.run_sync(1, **kwargs)


async def test_watch_attaches_to_a_running_session() -> None:
    """`session.watch(cb)` hands over every event recorded from then on; with `replay`
    the earlier ones first: together, the whole log in order."""
    gate = anyio.Event()

    async def wait(x: int) -> int:
        await gate.wait()
        return x

    wf = cf.Workflow.build(
        lambda s, b: (
            b.chain(s.start).map(lambda x: x + 1, name="inc").then(wait).connect(s.terminate)
        ),
        name="waiting",
    )
    late: list[ev.Event] = []
    replayed: list[ev.Event] = []
    with anyio.fail_after(5):
        async with wf.start(1) as session:
            await anyio.wait_all_tasks_blocked()
            session.watch(late.append)
            session.watch(replayed.append, replay=True)
            gate.set()
            assert await session.result() == 2
    log = list(session.events)
    assert replayed == log
    assert late == log[len(log) - len(late) :]
    assert late and not any(isinstance(e, ev.SessionStarted) for e in late)
    assert isinstance(late[-1], ev.Terminated)


async def test_watch_needs_a_recording_session() -> None:
    """`watch` on a session started with events=False says why it cannot."""
    async with chain.start(1, events=False) as session:
        with pytest.raises(cf.CrossflowError, match="events=False"):
            session.watch(print)
        with pytest.raises(cf.InvalidArgument, match="takes a function"):
            session.watch(5)  # type: ignore[arg-type]
        await session.result()


async def test_workflow_cancelled_carries_the_graph() -> None:
    """`WorkflowCancelled.graph` is the graph of the workflow that was cancelled, so what
    happened can be drawn over it."""
    wf = cf.Workflow.build(lambda s, b: b.chain(s.start).then_cancel(), name="cancelling")
    with pytest.raises(cf.WorkflowCancelled) as caught:
        await wf.run(1)
    assert caught.value.graph is wf.graph
