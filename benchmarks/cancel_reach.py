"""How far a cancellation reaches, per executor and policy (S10.2): prints a markdown table.

For each executor (a thread, a worker process, an in-process Dask cluster) and each policy
(WAIT, TRY_CANCEL, ABANDON), one session runs one blocking call that works for up to 1 s,
checking `cf.cancel_requested()` every millisecond; 0.2 s after it started, the session is
cancelled. The table shows when the session ended and when the run ended (both from the
cancel), how long the work ran and whether it ended by itself, was stopped early (it saw
`cf.cancel_requested()`) or was killed (it never wrote its end), and what the event log
said. Not part of `run.py`'s targets: `python benchmarks/cancel_reach.py [asyncio|trio]`.
"""

import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path

import anyio

import crossflow as cf

WORK_S, CANCEL_AFTER_S = 1.0, 0.2


def work(path: str) -> str:
    """Work for up to WORK_S, or until asked to stop; write how it ended and when."""
    start = time.monotonic()
    Path(path + ".started").write_text(str(os.getpid()))
    how = "ran to its end"
    while time.monotonic() - start < WORK_S:
        if cf.cancel_requested():
            how = "stopped early"
            break
        time.sleep(0.001)
    Path(path + ".ended").write_text(f"{how}:{time.monotonic() - start}")
    return how


def read_end(path: str) -> str | None:
    ended = Path(path + ".ended")
    return ended.read_text() if ended.exists() else None


def has_started(path: str) -> bool:
    return Path(path + ".started").exists()


async def measure(executor: cf.Executor, policy: cf.CancellationPolicy, folder: str) -> list[str]:
    path = os.path.join(folder, f"{type(executor).__name__}-{policy.name}")

    @cf.workflow(name="one")
    def wf(scope: cf.Scope[str, str], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(
            work, name="work", executor=executor, cancellation=policy
        ).connect(scope.terminate)

    async with wf.start(path) as session:
        while not has_started(path):
            await anyio.sleep(0.005)
        await anyio.sleep(CANCEL_AFTER_S)
        t0 = time.monotonic()
        session.cancel("measured")
        with contextlib.suppress(cf.WorkflowCancelled):
            await session.result()
        session_ended = time.monotonic() - t0
    run_ended = time.monotonic() - t0
    end = read_end(path)
    if end is not None:
        how, ran = end.split(":")
        work_text = f"{how} after {float(ran) * 1e3:.0f} ms"
    else:
        work_text = "killed (never wrote its end)"
    said = [
        e.describe().split(": ", 1)[1]
        for e in session.events
        if type(e).__name__ in ("TaskCancelled", "TaskAbandoned")
    ]
    return [
        type(executor).__name__,
        policy.name,
        f"{session_ended * 1e3:.0f} ms",
        f"{run_ended * 1e3:.0f} ms",
        work_text,
        "; ".join(said),
    ]


async def main(client: object) -> None:
    executors: list[cf.Executor] = [cf.ThreadExecutor(), cf.ProcessExecutor()]
    executors.append(cf.DaskExecutor(client))  # type: ignore[arg-type]
    # a first call starts the worker process, so that its start-up is not measured
    with tempfile.TemporaryDirectory() as folder:
        warm = os.path.join(folder, "warm")
        await cf.workflow(
            lambda s, b: b.chain(s.start).then(work, executor=executors[1]).connect(s.terminate)
        ).run(warm)
        rows = [
            await measure(executor, policy, folder)
            for executor in executors
            for policy in cf.CancellationPolicy
        ]
    print(
        "| executor | policy | cancel → session ended | cancel → run ended | the work | "
        "what the log said |"
    )
    print("|---|---|---:|---:|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    from distributed import Client, LocalCluster

    backend = sys.argv[1] if len(sys.argv) > 1 else "asyncio"
    with (
        LocalCluster(
            processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        anyio.run(main, client, backend=backend)
