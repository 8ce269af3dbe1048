"""W1 crossflow: a 10-node linear chain of sync `map`s (x + 1), 2,000 sequential `await wf.run(0)` per repeat.
argv[1] = asyncio | trio (anyio backend); argv[2] = "events-off" runs with `events=False` (the event
log switched off), to measure what recording costs. Compare with floor_anyio_w1.py (a task group +
1 task per session)."""

import sys

import anyio
from _common import W1_HOPS, w1_async, w1_emit

import crossflow as cf

backend = sys.argv[1] if len(sys.argv) > 1 else "asyncio"
events = not (len(sys.argv) > 2 and sys.argv[2] == "events-off")


@cf.workflow
def chain10(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
    chain = builder.chain(scope.start)
    for _ in range(W1_HOPS):
        chain = chain.map(lambda x: x + 1)
    chain.connect(scope.terminate)


async def session():
    return await chain10.run(0, events=events)


async def main():
    return await w1_async(session)


w1_emit(
    "crossflow",
    f"10 sync maps, await wf.run, events {'on' if events else 'off'}, backend={backend}",
    anyio.run(main, backend=backend),
)
