"""W8 floor: 10,000 tasks in one task group, each opening its own task group around the one
async step (the per-item isolation a nested scope gives); results gathered and summed.
argv[1] = asyncio | trio."""

import sys

import anyio
import anyio.lowlevel
from _common import REPEATS, W8_EXPECT, W8_N, check, now, peak_rss_mib, w8_emit

backend = sys.argv[1] if len(sys.argv) > 1 else "asyncio"
rss0 = peak_rss_mib()


async def step(x):
    await anyio.lowlevel.checkpoint()
    return x * 2


async def item(x, out):
    async with anyio.create_task_group() as tg:  # the item's own scope
        result = []

        async def run():
            result.append(await step(x))

        tg.start_soon(run)
    out.append(result[0])


async def one():
    out = []
    t = now()
    async with anyio.create_task_group() as tg:
        for x in range(W8_N):
            tg.start_soon(item, x, out)
    total = sum(out)
    dt = now() - t
    check(total == W8_EXPECT and len(out) == W8_N, "bad result")
    return dt


async def main():
    await one()  # warm-up
    return [await one() for _ in range(REPEATS)]


w8_emit(
    "floor: anyio",
    f"TG 10k tasks, each with its own task group, backend={backend}",
    anyio.run(main, backend=backend),
    rss0,
)
