"""W4T crossflow: W4 with the 100 branches in worker threads. One session, spread into 100
blocking branches run with ThreadExecutor(limit=100), each polling cf.cancel_requested()
every millisecond inside try/finally; once all 100 started, the task running `wf.run` is
cancelled through an anyio cancel scope. Times cancel -> `wf.run` has stopped, and -> all
100 threads returned (the run waits for them: a thread cannot be interrupted).
argv[1] = asyncio | trio."""

import sys
import threading
import time

import anyio
from _common import REPEATS, W4_BRANCHES, W4_START_TIMEOUT_S, now, w4_emit

import crossflow as cf

backend = sys.argv[1] if len(sys.argv) > 1 else "asyncio"


class Threads:
    """Counters shared by the 100 threads of one session."""

    def __init__(self, all_started: anyio.Event, token: object) -> None:
        self.lock = threading.Lock()
        self.started = self.finished = 0
        self.all_started = all_started
        self.token = token

    def on_start(self) -> None:
        with self.lock:
            self.started += 1
            last = self.started == W4_BRANCHES
        if last:
            anyio.from_thread.run_sync(self.all_started.set, token=self.token)

    def on_finish(self) -> None:
        with self.lock:
            self.finished += 1


def branch(t: Threads) -> None:
    t.on_start()
    try:
        while not cf.cancel_requested():
            time.sleep(0.001)
    finally:
        t.on_finish()


@cf.workflow
def hundred(scope: cf.Scope[Threads, list[None]], builder: cf.Builder) -> None:
    (
        builder.chain(scope.start)
        .map(lambda t: [t] * W4_BRANCHES)
        .spread()
        .then(branch, executor=cf.ThreadExecutor(limit=W4_BRANCHES))
        .collect()
        .connect(scope.terminate)
    )


async def one():
    t = Threads(anyio.Event(), anyio.lowlevel.current_token())
    stopped, scopes, outcome = anyio.Event(), [], []

    async def session():
        try:
            with anyio.CancelScope() as cs:
                scopes.append(cs)
                await hundred.run(t)
                outcome.append("returned normally")
            if cs.cancelled_caught:
                outcome.append("backend cancellation")
        finally:
            stopped.set()

    async with anyio.create_task_group() as outer:
        outer.start_soon(session)
        with anyio.fail_after(W4_START_TIMEOUT_S):
            await t.all_started.wait()
        t0 = now()
        scopes[0].cancel()
        await stopped.wait()
        t1 = now()
    at_return = t.finished
    return (
        t1 - t0,
        (t1 - t0 if at_return == W4_BRANCHES else None),
        t.finished,
        at_return,
        "/".join(outcome),
    )


async def main():
    await one()  # warm-up
    rows = [await one() for _ in range(REPEATS)]
    return [list(c) for c in zip(*rows)]


to_ret, to_all, counts, at_ret, outcomes = anyio.run(main, backend=backend)
w4_emit(
    "crossflow",
    f"100 threads polling cf.cancel_requested(), cancel scope around wf.run, backend={backend}",
    to_ret,
    to_all,
    counts,
    at_ret,
    note=f"run outcome: {sorted(set(outcomes))}",
)
