"""W1 crossflow: a 10-node linear chain of sync `map`s (x + 1), 2,000 sequential `await wf.run(0)` per repeat.
argv[1] = asyncio | trio (anyio backend). Compare with floor_anyio_w1.py (a task group + 1 task per session)."""

import sys

import anyio
from _common import W1_HOPS, w1_async, w1_emit

import crossflow as cf

backend = sys.argv[1] if len(sys.argv) > 1 else "asyncio"


@cf.workflow
def chain10(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
    chain = builder.chain(scope.start)
    for _ in range(W1_HOPS):
        chain = chain.map(lambda x: x + 1)
    chain.connect(scope.terminate)


async def session():
    return await chain10.run(0)


async def main():
    return await w1_async(session)


w1_emit(
    "crossflow", f"10 sync maps, await wf.run, backend={backend}", anyio.run(main, backend=backend)
)
