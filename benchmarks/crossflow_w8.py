"""W8 crossflow: a nested scope per item. `spread` of 10,000 items -> `then_scope(one async step
awaiting a checkpoint)` -> `collect_all` -> sum; one session per repeat. argv[1] = asyncio | trio.
Wall time per session and peak RSS, as floor_anyio_w8.py."""

import sys

import anyio
import anyio.lowlevel
from _common import REPEATS, W8_EXPECT, W8_N, check, now, peak_rss_mib, w8_emit

import crossflow as cf

backend = sys.argv[1] if len(sys.argv) > 1 else "asyncio"


async def step(x: int) -> int:
    await anyio.lowlevel.checkpoint()
    return x * 2


def per_item(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
    builder.chain(scope.start).then(step).connect(scope.terminate)


@cf.workflow
def w8(scope: cf.Scope[list[int], int], builder: cf.Builder) -> None:
    builder.chain(scope.start).spread().then_scope(per_item).collect_all().map(sum).connect(
        scope.terminate
    )


rss0 = peak_rss_mib()  # after import and build, before any session (as the floor)
items = list(range(W8_N))


async def one():
    t = now()
    total = await w8.run(items, events=False)
    dt = now() - t
    check(total == W8_EXPECT, f"bad result {total}")
    return dt


async def main():
    await one()  # warm-up
    return [await one() for _ in range(REPEATS)]


w8_emit(
    "crossflow",
    f"spread 10k -> then_scope -> collect_all, backend={backend}",
    anyio.run(main, backend=backend),
    rss0,
)
