"""W2 crossflow: spread 1,000 ints -> then(async double: await anyio.sleep(0); x*2) -> collect_all -> map(sum).
One session per repeat, result 999000. argv[1] = asyncio | trio. Compare with floor_anyio_w2.py."""

import sys

import anyio
import anyio.lowlevel
from _common import W2_N, w2_async, w2_emit

import crossflow as cf

backend = sys.argv[1] if len(sys.argv) > 1 else "asyncio"


async def double(x: int) -> int:
    await anyio.lowlevel.checkpoint()
    return x * 2


@cf.workflow
def fanout(scope: cf.Scope[list[int], int], builder: cf.Builder) -> None:
    (
        builder.chain(scope.start)
        .spread()
        .then(double)
        .collect_all()
        .map(sum)
        .connect(scope.terminate)
    )


async def session():
    return await fanout.run(list(range(W2_N)))


async def main():
    return await w2_async(session)


w2_emit(
    "crossflow",
    f"spread->async->collect_all->sum, backend={backend}",
    anyio.run(main, backend=backend),
)
