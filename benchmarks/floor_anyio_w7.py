"""W7 floor: the work of crossflow_w7.py in plain anyio. One task group with 1,000 tasks, as many as
crossflow runs (one per item): for each x in range(1000) a task awaits anyio.lowlevel.checkpoint(),
appends x to a deque and then calls the listener inline (crossflow's listener and its blocking
service run inline too), which drains the deque and records how many items it took. Same result
and checks as crossflow. argv[1] = asyncio | trio backend."""

import sys
from collections import deque

import anyio
import anyio.lowlevel
from _common import W7_N, session_times, w7_verify, w67_emit

backend = sys.argv[1] if len(sys.argv) > 1 else "asyncio"


async def session():
    buf = deque()
    counts = []

    def listener():
        items = list(buf)
        buf.clear()
        counts.append(len(items))

    async def step(x):
        await anyio.lowlevel.checkpoint()
        buf.append(x)
        listener()

    async with anyio.create_task_group() as tg:
        for x in range(W7_N):
            tg.start_soon(step, x)
    return counts


async def main():
    return await session_times(session, w7_verify)


w67_emit(
    "W7",
    "floor: anyio",
    f"TG 1000 tasks -> deque, listener called per push, backend={backend}",
    anyio.run(main, backend=backend),
)
