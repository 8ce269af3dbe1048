"""W10 crossflow: 1,000 tiny functions (x + 1) on an in-process Dask cluster through
cf.DaskExecutor (spread -> then(executor=DaskExecutor(client)) -> collect), one session per
repeat; the same cluster and client as floor_dask_w10.py. argv[1] = asyncio | trio."""

import sys

import anyio
from _common import REPEATS, W10_CALLS, check, now, w10_cluster, w10_emit, w10_tiny

import crossflow as cf

backend = sys.argv[1] if len(sys.argv) > 1 else "asyncio"


def build(executor: cf.DaskExecutor) -> cf.Workflow[list[int], list[int]]:
    @cf.workflow
    def fan(scope: cf.Scope[list[int], list[int]], builder: cf.Builder) -> None:
        spread = builder.chain(scope.start).spread()
        spread.then(w10_tiny, executor=executor).collect().connect(scope.terminate)

    return fan


async def main(fan):
    times = []
    for i in range(REPEATS + 1):
        t = now()
        result = await fan.run(list(range(W10_CALLS)))
        elapsed = now() - t
        check(sorted(result) == list(range(1, W10_CALLS + 1)), "wrong result")
        if i:
            times.append(elapsed)
    return times


if __name__ == "__main__":
    cluster, client = w10_cluster()
    with cluster, client:
        times = anyio.run(main, build(cf.DaskExecutor(client)), backend=backend)
    w10_emit("crossflow", f"DaskExecutor, backend={backend}", times)
