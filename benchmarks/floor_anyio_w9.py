"""W9 floor: a task group of 200 tasks, each calling anyio.to_thread.run_sync(time.sleep,
0.005) with anyio's default thread limiter set to 20 threads (the limiter crossflow's
offload=True uses). argv[1] = asyncio | trio."""

import sys
import time

import anyio
import anyio.to_thread
from _common import REPEATS, W9_CALLS, W9_SLEEP_S, W9_THREADS, check, now, w9_emit

backend = sys.argv[1] if len(sys.argv) > 1 else "asyncio"


def nap(x):
    time.sleep(W9_SLEEP_S)
    return x


async def session():
    out = []

    async def one(x):
        out.append(await anyio.to_thread.run_sync(nap, x))

    async with anyio.create_task_group() as tg:
        for x in range(W9_CALLS):
            tg.start_soon(one, x)
    return out


async def main():
    anyio.to_thread.current_default_thread_limiter().total_tokens = W9_THREADS
    times = []
    for i in range(REPEATS + 1):
        t = now()
        result = await session()
        elapsed = now() - t
        check(sorted(result) == list(range(W9_CALLS)), "wrong result")
        if i:
            times.append(elapsed)
    return times


w9_emit(
    "floor: anyio",
    f"to_thread.run_sync, 20 threads, backend={backend}",
    anyio.run(main, backend=backend),
)
