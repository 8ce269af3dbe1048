"""W3 crossflow: 10,000 concurrent `wf.run(i)` in one anyio task group; workflow = map(x+1) ->
then(async: await anyio.sleep(0.01); x+1) -> map(x+1). argv[1] = asyncio | trio.
Wall time per repeat and peak RSS, as floor_anyio_w3.py."""

import sys

import anyio
from _common import REPEATS, W3_EXPECT, W3_N, W3_SLEEP, check, now, peak_rss_mib, w3_emit

import crossflow as cf

backend = sys.argv[1] if len(sys.argv) > 1 else "asyncio"


async def b(x: int) -> int:
    await anyio.sleep(W3_SLEEP)
    return x + 1


@cf.workflow
def three(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
    builder.chain(scope.start).map(lambda x: x + 1).then(b).map(lambda x: x + 1).connect(
        scope.terminate
    )


rss0 = peak_rss_mib()  # after import and build, before any session (as the floors)


async def session(i, out):
    out.append(await three.run(i))


async def one():
    out = []
    t = now()
    async with anyio.create_task_group() as tg:
        for i in range(W3_N):
            tg.start_soon(session, i, out)
    dt = now() - t
    check(sum(out) == W3_EXPECT and len(out) == W3_N, "bad results")
    return dt


async def main():
    await one()  # warm-up
    return [await one() for _ in range(REPEATS)]


w3_emit("crossflow", f"TG 10k wf.run, backend={backend}", anyio.run(main, backend=backend), rss0)
