"""Blocking services on Dask: `cf.DaskExecutor` with an in-process cluster (S10.1, S10.2,
S10.5).

The client is a synchronous one, the same on asyncio and trio. Its cluster has one worker
with one thread: a second task waits on the worker while a first one runs, which lets the
tests cancel both a running task and one that has not started.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest
from exec_support import (
    double,
    fail,
    has_ended,
    has_started,
    release,
    run_until_cancelled,
    run_until_released,
)

import crossflow as cf
from crossflow import events as ev

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

TIMEOUT = 30
TRY_CANCEL = cf.CancellationPolicy.TRY_CANCEL
ABANDON = cf.CancellationPolicy.ABANDON


def single(step: object, **options: object) -> cf.Workflow[Any, Any]:
    @cf.workflow(name="one")
    def wf(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(step, name="work", **options).connect(scope.terminate)

    return wf


def fan_out(step: object, **options: object) -> cf.Workflow[list[Any], list[Any]]:
    @cf.workflow(name="fan")
    def wf(scope: cf.Scope[list[Any], list[Any]], builder: cf.Builder) -> None:
        spread = builder.chain(scope.start).spread()
        spread.then(step, name="work", **options).collect().connect(scope.terminate)

    return wf


async def left_on(client: Any, prefix: str = "work-") -> tuple[dict[Any, Any], list[Any]]:
    """What is still running on the workers, and the futures the client still holds, of
    tasks whose keys start with `prefix`."""
    stacks = await anyio.to_thread.run_sync(client.call_stack)
    running = {w: tasks for w, tasks in stacks.items() if tasks}
    held = [k for k in client.futures if str(k).startswith(prefix)]
    return running, held


async def started(path: str) -> None:
    while not has_started(path):  # the work runs elsewhere
        await anyio.sleep(0.01)


async def test_calls_run_on_the_cluster(dask_client: Any) -> None:
    """S10.1: each call is a Dask task; the results come back; no future is left."""
    executor = cf.DaskExecutor(dask_client)
    with anyio.fail_after(TIMEOUT):
        assert sorted(await fan_out(double, executor=executor).run([1, 2, 3])) == [2, 4, 6]
        assert await left_on(dask_client) == ({}, [])


async def test_a_failure_on_a_worker_fails_the_node(dask_client: Any) -> None:
    """S4.3: what the function raises on its worker is the node's failure."""
    with anyio.fail_after(TIMEOUT), pytest.raises(cf.WorkflowCancelled) as caught:
        await single(fail, executor=cf.DaskExecutor(dask_client)).run(3)
    cause = caught.value.cancellation.cause
    assert isinstance(cause, cf.ServiceFailed)
    assert isinstance(cause.error, ValueError) and str(cause.error) == "bad input 3"


@pytest.mark.parametrize("policy", [cf.CancellationPolicy.WAIT, TRY_CANCEL])
async def test_cancelling_reaches_a_running_task_and_a_waiting_one(
    dask_client: Any, tmp_path: Path, policy: cf.CancellationPolicy
) -> None:
    """S10.2, S10.5: cancelling cancels both Dask futures. The task that had not started
    never runs (stopped=True); the running one cannot be interrupted by Dask: the event
    names its worker and says it runs on, and the run ends only once nothing of it runs
    on the worker. (Here the running task ignores `cf.cancel_requested()` and is let go
    by the test once both cancellations are recorded.)"""
    first, second = str(tmp_path / "first"), str(tmp_path / "second")
    wf = fan_out(run_until_released, executor=cf.DaskExecutor(dask_client), cancellation=policy)
    with anyio.fail_after(TIMEOUT):
        async with wf.start([first, second]) as session:
            while not (has_started(first) or has_started(second)):
                await anyio.sleep(0.01)  # the work runs elsewhere
            session.cancel("stop")
            while sum(isinstance(e, ev.TaskCancelled) for e in session.events) < 2:
                await anyio.sleep(0.01)  # the cancellations go through the scheduler
            running = first if has_started(first) else second
            release(running)
            with pytest.raises(cf.WorkflowCancelled):
                await session.result()
        assert await left_on(dask_client) == ({}, [])
    assert [has_started(p) for p in (first, second)].count(True) == 1
    assert has_ended(running)
    cancelled = sorted(
        (e for e in session.events if isinstance(e, ev.TaskCancelled)), key=lambda e: e.stopped
    )
    assert [(e.waited, e.stopped) for e in cancelled] == [
        (policy is not TRY_CANCEL, False),
        (policy is not TRY_CANCEL, True),
    ]
    assert cancelled[0].reach is not None and "already running on worker" in cancelled[0].reach
    assert "inproc://" in cancelled[0].reach
    assert cancelled[1].reach == "its Dask future was cancelled before the task started"


async def test_a_running_task_sees_cancel_requested(dask_client: Any, tmp_path: Path) -> None:
    """S10.2: inside a Dask task whose future was cancelled, `cf.cancel_requested()` turns
    True, so a task that watches it returns early."""
    path = str(tmp_path / "work")
    wf = single(run_until_cancelled, executor=cf.DaskExecutor(dask_client))
    with anyio.fail_after(TIMEOUT):
        async with wf.start(path) as session:
            while not has_started(path):
                await anyio.sleep(0.01)  # the work runs elsewhere
            session.cancel("stop")
            with pytest.raises(cf.WorkflowCancelled):
                await session.result()
        assert await left_on(dask_client) == ({}, [])
    assert has_ended(path)


async def test_an_abandoned_task_runs_to_its_end(dask_client: Any, tmp_path: Path) -> None:
    """S6.6, S10.5: with ABANDON the Dask future is not cancelled: the task runs to its
    end, its result is dropped, and the run ends after it."""
    path = str(tmp_path / "work")
    wf = single(run_until_released, executor=cf.DaskExecutor(dask_client), cancellation=ABANDON)
    with anyio.fail_after(TIMEOUT):
        async with wf.start(path) as session:
            await started(path)
            session.cancel("stop")
            with pytest.raises(cf.WorkflowCancelled):
                await session.result()
            release(path)
        assert has_ended(path)
        assert await left_on(dask_client) == ({}, [])
    kinds = [type(e).__name__ for e in session.events]
    assert "TaskAbandoned" in kinds and "TaskCancelled" not in kinds


async def test_a_task_that_times_out_is_cancelled(dask_client: Any, tmp_path: Path) -> None:
    """S10.4: a Dask task past its timeout is cancelled and its attempt fails with
    TimeoutError; the task, already running, sees `cf.cancel_requested()` and returns."""
    path = str(tmp_path / "work")
    wf = single(run_until_cancelled, executor=cf.DaskExecutor(dask_client), timeout=0.5)
    with anyio.fail_after(TIMEOUT):
        async with wf.start(path) as session:
            with pytest.raises(cf.WorkflowCancelled) as caught:
                await session.result()
        assert await left_on(dask_client) == ({}, [])
    cause = caught.value.cancellation.cause
    assert isinstance(cause, cf.ServiceFailed) and isinstance(cause.error, TimeoutError)
    assert has_ended(path)
    [timed_out] = [e for e in session.events if isinstance(e, ev.OperationTimedOut)]
    assert timed_out.stopped is False


def test_dask_executor_checks_what_it_is_given(dask_client: Any) -> None:
    """API §9: DaskExecutor takes a distributed.Client; a service with streams, or whose
    function cannot be pickled, is refused when it is built."""
    with pytest.raises(cf.InvalidArgument, match=r"takes a distributed\.Client"):
        cf.DaskExecutor("tcp://127.0.0.1:8786")  # type: ignore[arg-type]
    executor = cf.DaskExecutor(dask_client)
    assert repr(executor).startswith("DaskExecutor(<Client")

    def produce(x: int, streams: cf.Streams) -> int:
        return x

    with pytest.raises(cf.BuildError, match=r"declares streams \(item\).*cf\.DaskExecutor"):
        cf.service(streams={"item": int}, executor=executor)(produce)
    lock = threading.Lock()

    def holds_a_lock(x: int) -> int:
        with lock:
            return x

    with pytest.raises(cf.BuildError, match="cannot be pickled"):
        cf.service(executor=executor)(holds_a_lock)


def test_importing_crossflow_does_not_import_dask() -> None:
    """Dask is an optional extra: `import crossflow` loads none of it (until a
    DaskExecutor is made)."""
    code = (
        "import sys, crossflow\n"
        "assert not {'dask', 'distributed'} & set(sys.modules), sorted(sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
