"""W4T floor: a task group of 100 tasks, each running a thread with
anyio.to_thread.run_sync (not abandoned on cancel) that polls a threading.Event every
millisecond; the controller cancels the task group and sets the event, and times until
the task group has exited (all threads returned). argv[1] = asyncio | trio."""

import sys
import threading
import time

import anyio
import anyio.to_thread
from _common import REPEATS, W4_BRANCHES, W4_START_TIMEOUT_S, now, w4_emit

backend = sys.argv[1] if len(sys.argv) > 1 else "asyncio"


async def one():
    stop = threading.Event()
    lock = threading.Lock()
    counts = {"started": 0, "finished": 0}
    all_started = anyio.Event()
    token = anyio.lowlevel.current_token()

    def branch():
        with lock:
            counts["started"] += 1
            last = counts["started"] == W4_BRANCHES
        if last:
            anyio.from_thread.run_sync(all_started.set, token=token)
        try:
            while not stop.is_set():
                time.sleep(0.001)
        finally:
            with lock:
                counts["finished"] += 1

    stopped, scopes = anyio.Event(), []
    limiter = anyio.CapacityLimiter(W4_BRANCHES)

    async def session():
        try:
            async with anyio.create_task_group() as tg:
                scopes.append(tg.cancel_scope)
                for _ in range(W4_BRANCHES):
                    tg.start_soon(lambda: anyio.to_thread.run_sync(branch, limiter=limiter))
        finally:
            stopped.set()

    async with anyio.create_task_group() as outer:
        outer.start_soon(session)
        with anyio.fail_after(W4_START_TIMEOUT_S):
            await all_started.wait()
        t0 = now()
        scopes[0].cancel()
        stop.set()
        await stopped.wait()
        t1 = now()
    done = counts["finished"]
    return t1 - t0, (t1 - t0 if done == W4_BRANCHES else None), done, done


async def main():
    await one()  # warm-up
    return [list(c) for c in zip(*[await one() for _ in range(REPEATS)])]


to_ret, to_all, counts, at_ret = anyio.run(main, backend=backend)
w4_emit(
    "floor: anyio", f"100 threads polling a flag, backend={backend}", to_ret, to_all, counts, at_ret
)
