"""A real Dask cluster: a scheduler and two workers, each a process of its own on
127.0.0.1 (S10.1, S10.2, S10.5).

One workflow runs there to its end; a second run is cancelled while two of its calls run
on the workers and two wait: the results, the event log and the workers afterwards show
that the running calls were asked to stop and ended, the waiting ones never ran, and
nothing is left on the cluster.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest
from exec_support import (
    double,
    has_ended,
    has_started,
    run_until_cancelled,
    same,
    scheduler_keys,
)

import crossflow as cf
from crossflow import events as ev

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

TIMEOUT = 60


def pipeline(executor: cf.DaskExecutor, step: object) -> cf.Workflow[list[Any], list[Any]]:
    """spread -> same (on the cluster) -> step (on the cluster) -> collect."""

    @cf.workflow(name="pipeline")
    def wf(scope: cf.Scope[list[Any], list[Any]], builder: cf.Builder) -> None:
        items = builder.chain(scope.start).spread()
        items.then(same, name="prepare", executor=executor).then(
            step, name="work", executor=executor
        ).collect().connect(scope.terminate)

    return wf


async def nothing_left(client: Any) -> None:
    """Nothing of ours runs on the workers, is held by the client, or is known to the
    scheduler (which forgets released tasks soon after the client lets go of them)."""
    stacks = await anyio.to_thread.run_sync(client.call_stack)
    assert {w: t for w, t in stacks.items() if t} == {}
    assert [k for k in client.futures if str(k).startswith(("prepare-", "work-"))] == []
    processing = await anyio.to_thread.run_sync(client.processing)
    assert all(not keys for keys in processing.values())
    while True:
        keys = await anyio.to_thread.run_sync(client.run_on_scheduler, scheduler_keys)
        if not [k for k in keys if k.startswith(("prepare-", "work-"))]:
            return
        await anyio.sleep(0.05)  # the scheduler forgets released tasks as messages arrive


async def test_a_workflow_runs_on_a_real_cluster(real_cluster: Any) -> None:
    """S10.1: the blocking nodes of a workflow run as tasks on the cluster's workers; the
    results come back in full, and nothing is left on the cluster."""
    executor = cf.DaskExecutor(real_cluster)
    with anyio.fail_after(TIMEOUT):
        async with pipeline(executor, double).start(list(range(8))) as session:
            result = await session.result()
        await nothing_left(real_cluster)
    assert sorted(result) == [2 * i for i in range(8)]
    kinds = [type(e).__name__ for e in session.events]
    assert kinds.count("OperationStarted") == kinds.count("OperationFinished") == 16


async def test_a_run_cancelled_midway_on_a_real_cluster(real_cluster: Any, tmp_path: Path) -> None:
    """S10.2, S10.5: a run cancelled while two calls run on the two workers and two more
    wait: the running ones see `cf.cancel_requested()` and end (their TaskCancelled name
    their worker and say they ran on), the waiting ones never start (stopped=True), and
    when the run is over nothing of it is left on the cluster."""
    executor = cf.DaskExecutor(real_cluster)
    paths = [str(tmp_path / f"item{i}") for i in range(4)]
    with anyio.fail_after(TIMEOUT):
        async with pipeline(executor, run_until_cancelled).start(paths) as session:
            while sum(has_started(p) for p in paths) < 2:
                await anyio.sleep(0.02)  # the calls run in other processes
            session.cancel("enough")
            with pytest.raises(cf.WorkflowCancelled) as caught:
                await session.result()
        await nothing_left(real_cluster)
    assert caught.value.cancellation.cause == cf.UserCancelled("enough")
    ran = [p for p in paths if has_started(p)]
    # the two that ran when the run was cancelled, and maybe one that a worker started as
    # it became free, before that call's own cancellation reached the scheduler
    assert len(ran) >= 2
    assert all(has_ended(p) for p in ran)
    cancelled = [e for e in session.events if isinstance(e, ev.TaskCancelled)]
    running = [e for e in cancelled if not e.stopped]
    assert 2 <= len(running) <= len(ran)
    assert all(e.operation == "work" for e in running)
    workers = {(e.reach or "").split("worker ", 1)[1].split(",")[0] for e in running}
    assert all(w.startswith("tcp://127.0.0.1:") for w in workers)
    assert len(workers) == 2  # one call on each worker
    stopped = [e for e in cancelled if e.stopped]
    assert all(e.waited for e in cancelled)
    assert all("before the task started" in (e.reach or "") for e in stopped)
    assert len(cancelled) <= len(paths)
    assert [type(e).__name__ for e in session.events][-2:] == ["CleanupFinished", "Cancelled"]
