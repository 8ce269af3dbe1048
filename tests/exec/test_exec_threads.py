"""Blocking services in worker threads: `offload=True` and `cf.ThreadExecutor` (S10.1,
S10.2, S10.5).

A thread cannot be interrupted: the tests check that each policy waits for it, or not,
as it says, that `cf.cancel_requested()` tells the function to stop, that the event log
says how far the cancellation reached, and that the run never returns before the thread.
Threads wait on `threading.Event`s with bounds, never on the clock.
"""

from __future__ import annotations

import threading
from typing import Any

import anyio
import anyio.to_thread
import pytest

import crossflow as cf
from crossflow import events as ev

pytestmark = pytest.mark.anyio

TIMEOUT = 10
WAIT = cf.CancellationPolicy.WAIT
TRY_CANCEL = cf.CancellationPolicy.TRY_CANCEL
ABANDON = cf.CancellationPolicy.ABANDON


def fan_out(step: Any, **options: Any) -> cf.Workflow[list[int], list[Any]]:
    """spread -> step (with `options`) -> collect."""

    @cf.workflow(name="fan")
    def wf(scope: cf.Scope[list[int], list[Any]], builder: cf.Builder) -> None:
        builder.chain(scope.start).spread().then(step, **options).collect().connect(scope.terminate)

    return wf


def single(step: Any, **options: Any) -> cf.Workflow[int, Any]:
    """start -> step (with `options`) -> terminate."""

    @cf.workflow(name="one")
    def wf(scope: cf.Scope[int, Any], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(step, name="work", **options).connect(scope.terminate)

    return wf


async def wait_for(event: threading.Event) -> None:
    """Wait, off the loop, for a thread to set `event`."""
    assert await anyio.to_thread.run_sync(event.wait, TIMEOUT), "the thread never got there"


def cancelled_events(events: tuple[cf.Event, ...] | cf.EventLog) -> list[ev.TaskCancelled]:
    return [e for e in events if isinstance(e, ev.TaskCancelled)]


async def test_offloaded_calls_run_at_the_same_time() -> None:
    """S10.1: blocking calls with offload=True are activations that run concurrently:
    five calls that each wait for all five to arrive can only finish together."""
    meeting = threading.Barrier(5, timeout=TIMEOUT)

    @cf.service(offload=True)
    def meet(x: int) -> int:
        meeting.wait()
        return x * 2

    with anyio.fail_after(TIMEOUT):
        result = await fan_out(meet).run([1, 2, 3, 4, 5])
    assert sorted(result) == [2, 4, 6, 8, 10]


async def test_a_thread_limit_is_never_exceeded() -> None:
    """S10.1, API §9: ThreadExecutor(limit=2) runs at most two calls at once (and does
    run two: calls meet in pairs)."""
    lock = threading.Lock()
    running = [0]
    most = [0]
    pairs = threading.Barrier(2, timeout=TIMEOUT)

    def step(x: int) -> int:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        pairs.wait()
        with lock:
            running[0] -= 1
        return x

    with anyio.fail_after(TIMEOUT):
        result = await fan_out(step, executor=cf.ThreadExecutor(limit=2)).run(list(range(6)))
    assert sorted(result) == list(range(6))
    assert most[0] == 2


async def test_cancel_requested_is_false_on_the_event_loop() -> None:
    """S10.2: `cf.cancel_requested()` answers only for calls that run elsewhere: in plain
    code and in an inline blocking service it is False."""
    seen: list[bool] = []

    def inline(x: int) -> int:
        seen.append(cf.cancel_requested())
        return x

    assert cf.cancel_requested() is False
    with anyio.fail_after(TIMEOUT):
        assert await single(inline).run(1) == 1
    assert seen == [False]


async def test_wait_waits_for_the_thread_which_sees_cancel_requested() -> None:
    """S10.2, S6.6: with WAIT, the session's cleanup waits until the thread's function has
    returned; inside, `cf.cancel_requested()` turns True, so it stops early. The log says
    the work could not be interrupted (stopped=False) and was waited for."""
    started = threading.Event()
    trace: list[str] = []

    def work(x: int) -> int:
        started.set()
        for _ in range(TIMEOUT * 1000):
            if cf.cancel_requested():
                trace.append("saw cancel_requested")
                break
            threading.Event().wait(0.001)
        trace.append("returned")
        return x

    wf = single(work, executor=cf.ThreadExecutor())
    with anyio.fail_after(TIMEOUT):
        async with wf.start(1) as session:
            session.watch(
                lambda e: trace.append("session ended") if isinstance(e, ev.Cancelled) else None
            )
            await wait_for(started)
            session.cancel("stop")
            with pytest.raises(cf.WorkflowCancelled):
                await session.result()
    assert trace == ["saw cancel_requested", "returned", "session ended"]
    [cancelled] = cancelled_events(session.events)
    assert cancelled.operation == "work"
    assert (cancelled.waited, cancelled.stopped) == (True, False)
    assert cancelled.reach is not None and "thread cannot be interrupted" in cancelled.reach
    assert "cannot be interrupted" in cancelled.describe()


async def test_try_cancel_leaves_the_thread_and_the_run_waits_for_it() -> None:
    """S10.2, S10.5: with TRY_CANCEL the session ends without waiting for the thread, and
    the event says it was not waited for and runs on (recorded once the cancellation
    reached the executor: after the session's end); but the `async with` block (the run)
    does not end before the thread's function has returned."""
    started = threading.Event()
    release = threading.Event()
    ended = threading.Event()

    def work(x: int) -> int:
        started.set()
        release.wait(TIMEOUT)
        ended.set()
        return x

    wf = single(work, executor=cf.ThreadExecutor(), cancellation=TRY_CANCEL)
    exited = anyio.Event()
    ended_while_thread_ran: list[bool] = []
    events: list[cf.Event] = []

    async def use() -> None:
        async with wf.start(1) as session:
            await wait_for(started)
            session.cancel("stop")
            with pytest.raises(cf.WorkflowCancelled):
                await session.result()
            ended_while_thread_ran.append(not ended.is_set())
        events.extend(session.events)
        exited.set()

    with anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as tg:
            tg.start_soon(use)
            while not ended_while_thread_ran:
                await anyio.wait_all_tasks_blocked()
                await anyio.lowlevel.checkpoint()
            await anyio.wait_all_tasks_blocked()
            assert not exited.is_set(), "the run ended while its thread still ran"
            release.set()
    assert ended_while_thread_ran == [True]
    assert ended.is_set() and exited.is_set()
    [cancelled] = cancelled_events(events)
    assert (cancelled.waited, cancelled.stopped) == (False, False)
    assert "(not waited for)" in cancelled.describe()
    kinds = [type(e).__name__ for e in events]
    assert kinds.index("Cancelled") < kinds.index("TaskCancelled")


async def test_abandon_is_not_asked_to_stop_and_the_run_waits_for_it() -> None:
    """S6.6, S10.5: with ABANDON the thread is not asked to stop (`cf.cancel_requested()`
    stays False after its session ended), its result is dropped, and the run ends only
    after it."""
    started = threading.Event()
    release = threading.Event()
    asked: list[bool] = []

    def work(x: int) -> int:
        started.set()
        release.wait(TIMEOUT)
        asked.append(cf.cancel_requested())
        return x

    wf = single(work, executor=cf.ThreadExecutor(), cancellation=ABANDON)
    with anyio.fail_after(TIMEOUT):
        async with wf.start(1) as session:
            await wait_for(started)
            session.cancel("stop")
            with pytest.raises(cf.WorkflowCancelled):
                await session.result()
            release.set()
    assert asked == [False]
    assert [type(e).__name__ for e in session.events if "Task" in type(e).__name__] == [
        "TaskAbandoned"
    ]


async def test_a_call_waiting_for_a_thread_stops_before_it_starts() -> None:
    """S10.2: a call still waiting for a thread under the executor's limit never runs once
    cancelled: its TaskCancelled says stopped=True."""
    started = threading.Event()
    calls: list[int] = []

    def work(x: int) -> int:
        calls.append(x)
        started.set()
        for _ in range(TIMEOUT * 1000):
            if cf.cancel_requested():
                break
            threading.Event().wait(0.001)
        return x

    wf = fan_out(work, executor=cf.ThreadExecutor(limit=1))
    with anyio.fail_after(TIMEOUT):
        async with wf.start([1, 2]) as session:
            await wait_for(started)
            session.cancel("stop")
            with pytest.raises(cf.WorkflowCancelled):
                await session.result()
    assert len(calls) == 1
    reached = sorted((e.stopped, e.reach or "") for e in cancelled_events(session.events))
    assert [stopped for stopped, _ in reached] == [False, True]
    assert "had not started" in reached[1][1]


async def test_a_timed_out_thread_fails_once_its_function_returns() -> None:
    """S10.4, S10.2: a thread that runs past its node's timeout is asked to stop
    (`cf.cancel_requested()`), cannot be interrupted, and its attempt fails with
    `TimeoutError` once it returned: OperationTimedOut says stopped=False."""
    saw: list[bool] = []

    def work(x: int) -> int:
        for _ in range(TIMEOUT * 1000):
            if cf.cancel_requested():
                saw.append(True)
                break
            threading.Event().wait(0.001)
        return x

    wf = single(work, executor=cf.ThreadExecutor(), timeout=0.05)
    with anyio.fail_after(TIMEOUT), pytest.raises(cf.WorkflowCancelled) as caught:
        await wf.run(1)
    assert saw == [True]
    cause = caught.value.cancellation.cause
    assert isinstance(cause, cf.ServiceFailed) and isinstance(cause.error, TimeoutError)
    [timed_out] = [e for e in caught.value.events if isinstance(e, ev.OperationTimedOut)]
    assert (timed_out.timeout, timed_out.attempt, timed_out.stopped) == (0.05, 1, False)
    assert not cancelled_events(caught.value.events)


async def test_a_failing_thread_fails_its_node() -> None:
    """S4.3, S10.1: what the function raises in its thread is the node's failure."""

    def work(x: int) -> int:
        raise ValueError(f"bad {x}")

    with anyio.fail_after(TIMEOUT), pytest.raises(cf.WorkflowCancelled) as caught:
        await single(work, executor=cf.ThreadExecutor()).run(3)
    cause = caught.value.cancellation.cause
    assert isinstance(cause, cf.ServiceFailed) and str(cause.error) == "bad 3"


async def test_a_thread_returning_a_coroutine_fails_clearly() -> None:
    """S10.1: a plain function run in a thread that returns a coroutine fails with
    `cf.UnawaitedCoroutine`, as it would inline."""

    async def later(x: int) -> int:
        return x

    def work(x: int) -> Any:
        return later(x)

    with anyio.fail_after(TIMEOUT), pytest.raises(cf.WorkflowCancelled) as caught:
        await single(work, executor=cf.ThreadExecutor()).run(3)
    cause = caught.value.cancellation.cause
    assert isinstance(cause, cf.ServiceFailed)
    assert isinstance(cause.error, cf.UnawaitedCoroutine)


def test_thread_executor_checks_its_limit() -> None:
    """API §9: `limit` is a positive int or None, checked where it is given."""
    assert repr(cf.ThreadExecutor(limit=3)) == "ThreadExecutor(limit=3)"
    for bad in (0, -1, 2.5, True, "4"):
        with pytest.raises(cf.InvalidArgument, match=r"ThreadExecutor\(limit=\.\.\.\)"):
            cf.ThreadExecutor(limit=bad)  # type: ignore[arg-type]
