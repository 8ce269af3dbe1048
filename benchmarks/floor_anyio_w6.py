"""W6 floor: the work of crossflow_w6.py in plain anyio. One task group with 2,000 tasks, as many as
crossflow runs (one per item per branch): two producer loops start, for each x in range(1000), a task
that awaits anyio.lowlevel.checkpoint(), records its arrival and appends x to its branch's deque,
then pairs while both deques hold an item (oldest of each). Same result and checks as crossflow.
argv[1] = asyncio | trio backend."""

import sys
from collections import deque

import anyio
import anyio.lowlevel
from _common import W6_N, session_times, w6_verify, w67_emit

backend = sys.argv[1] if len(sys.argv) > 1 else "asyncio"


async def session():
    a, b = deque(), deque()
    arrived_a, arrived_b = [], []
    pairs = []

    async def step(x, buf, arrived):
        await anyio.lowlevel.checkpoint()
        arrived.append(x)
        buf.append(x)
        while a and b:
            pairs.append((a.popleft(), b.popleft()))

    async with anyio.create_task_group() as tg:
        for x in range(W6_N):
            tg.start_soon(step, x, a, arrived_a)
        for x in range(W6_N):
            tg.start_soon(step, x, b, arrived_b)
    return pairs, arrived_a, arrived_b


async def main():
    return await session_times(session, w6_verify(strict_order=backend == "asyncio"))


w67_emit(
    "W6",
    "floor: anyio",
    f"TG 2x1000 tasks -> 2 deques, paired on arrival, backend={backend}",
    anyio.run(main, backend=backend),
)
