"""W9 crossflow: 200 blocking calls of time.sleep(0.005) fanned out with `offload=True`
(spread -> then(offloaded) -> collect), anyio's default thread limiter set to 20 threads,
as floor_anyio_w9.py uses it; one session per repeat. argv[1] = asyncio | trio."""

import sys
import time

import anyio
import anyio.to_thread
from _common import REPEATS, W9_CALLS, W9_SLEEP_S, W9_THREADS, check, now, w9_emit

import crossflow as cf

backend = sys.argv[1] if len(sys.argv) > 1 else "asyncio"


@cf.service(offload=True)
def nap(x: int) -> int:
    time.sleep(W9_SLEEP_S)
    return x


@cf.workflow
def fan(scope: cf.Scope[list[int], list[int]], builder: cf.Builder) -> None:
    builder.chain(scope.start).spread().then(nap).collect().connect(scope.terminate)


async def main():
    anyio.to_thread.current_default_thread_limiter().total_tokens = W9_THREADS
    times = []
    for i in range(REPEATS + 1):
        t = now()
        result = await fan.run(list(range(W9_CALLS)))
        elapsed = now() - t
        check(sorted(result) == list(range(W9_CALLS)), "wrong result")
        if i:
            times.append(elapsed)
    return times


w9_emit(
    "crossflow", f"offload=True, 20 threads, backend={backend}", anyio.run(main, backend=backend)
)
