"""W7 crossflow: a listener with a blocking service draining a keep_all buffer.

One session per repeat: `spread` of the request `range(1000)` -> then(async step:
await anyio.lowlevel.checkpoint(); x) -> a keep_all buffer; `builder.listen(buffer)` wakes once per
push, and its blocking service `map(drain)` empties the buffer through the key and returns how
many items it took; `collect_all -> terminate`. The response (items drained per wake) must sum to
1000 over exactly 1000 wakes. The session runs 1,000 tasks (one per item); the listener and its
service run inline, without a task. Compare with floor_anyio_w7.py.

Then the scaling check (wake cost must not grow with the graph): the same workflow padded with an
idle side branch of N blocking operations ending at terminate, whose head has no input, so it never
runs (its function raises if it does); ms/session for N = 10 and N = 2000 and
time(N=2000) / time(N=10). argv[1] = asyncio | trio.
"""

import os
import sys

import anyio
import anyio.lowlevel
from _common import (
    PAD_SIZES,
    W7_N,
    count_calls,
    now,
    pad_scaling,
    session_times,
    w7_verify,
    w67_emit,
)

import crossflow as cf

CROSSFLOW = os.path.dirname(cf.__file__)

backend = sys.argv[1] if len(sys.argv) > 1 else "asyncio"


async def step(x: int) -> int:
    await anyio.lowlevel.checkpoint()
    return x


def drain(key: cf.BufferKey[int]) -> int:
    with key.access() as view:
        return len(view.drain())


def idle(x: object) -> object:
    raise AssertionError("the idle side branch ran")


def add_idle_branch(scope: cf.Scope, builder: cf.Builder, n: int) -> None:
    """n blocking operations on a side branch from an unconnected node to terminate."""
    if n:
        chain = builder.chain(builder.create_node(idle, name="idle").output)
        for _ in range(n - 1):
            chain = chain.map(idle)
        chain.connect(scope.terminate)


def make(pad: int) -> cf.Workflow[range, list[int]]:
    def build(scope: cf.Scope[range, list[int]], builder: cf.Builder) -> None:
        items = builder.create_buffer(cf.BufferSettings.keep_all(), name="items")
        builder.chain(scope.start).spread().then(step).connect(items)
        builder.listen(items).map(drain).collect_all().connect(scope.terminate)
        add_idle_branch(scope, builder, pad)

    return cf.Workflow.build(build, name=f"w7_pad{pad}")


def session_of(wf: cf.Workflow[range, list[int]]):
    async def session():
        return await wf.run(range(W7_N))

    return session


async def main():
    elapsed = await session_times(session_of(make(0)), w7_verify)
    padded, build_ms, ops = {}, {}, {}
    for n in PAD_SIZES:
        t = now()
        wf = make(n)
        build_ms[str(n)] = (now() - t) * 1e3
        ops[str(n)] = len(wf.graph.operations)
        padded[n] = session_of(wf)
    calls = {str(n): await count_calls(padded[n], CROSSFLOW) for n in PAD_SIZES}
    scaling = await pad_scaling(padded, w7_verify)
    scaling.update(
        crossflow_calls=calls,
        build_ms=build_ms,
        operations=ops,
        operations_unpadded=len(make(0).graph.operations),
    )
    return elapsed, scaling


elapsed, scaling = anyio.run(main, backend=backend)
w67_emit(
    "W7",
    "crossflow",
    f"spread->async->keep_all buffer, listen->blocking drain->collect_all, backend={backend}",
    elapsed,
    scaling,
)
