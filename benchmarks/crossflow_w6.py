"""W6 crossflow: a pairwise join of two keep_all buffers.

One session per repeat: the request `range(1000)` is fork_clone'd into two branches, each
`spread -> then(async step: await anyio.lowlevel.checkpoint(); x) -> keep_all buffer`, and
`builder.join((a, b)) -> collect_all -> terminate` pairs the k-th item of each buffer. The step is
async, so the session runs 2,000 tasks (one per item per branch) and every buffer arrival wakes the
join. Each step records its arrival order; the response must be exactly
zip(arrivals of a, arrivals of b) with every item once, and on asyncio (FIFO scheduling)
[(0, 0), ..., (999, 999)]. Compare with floor_anyio_w6.py.

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
    W6_N,
    count_calls,
    now,
    pad_scaling,
    session_times,
    w6_verify,
    w67_emit,
)

import crossflow as cf

CROSSFLOW = os.path.dirname(cf.__file__)

backend = sys.argv[1] if len(sys.argv) > 1 else "asyncio"
arrived: dict[str, list[int]] = {"a": [], "b": []}


async def step_a(x: int) -> int:
    await anyio.lowlevel.checkpoint()
    arrived["a"].append(x)
    return x


async def step_b(x: int) -> int:
    await anyio.lowlevel.checkpoint()
    arrived["b"].append(x)
    return x


def idle(x: object) -> object:
    raise AssertionError("the idle side branch ran")


def add_idle_branch(scope: cf.Scope, builder: cf.Builder, n: int) -> None:
    """n blocking operations on a side branch from an unconnected node to terminate."""
    if n:
        chain = builder.chain(builder.create_node(idle, name="idle").output)
        for _ in range(n - 1):
            chain = chain.map(idle)
        chain.connect(scope.terminate)


def make(pad: int) -> cf.Workflow[range, list[tuple[int, int]]]:
    def build(scope: cf.Scope[range, list[tuple[int, int]]], builder: cf.Builder) -> None:
        a = builder.create_buffer(cf.BufferSettings.keep_all(), name="a")
        b = builder.create_buffer(cf.BufferSettings.keep_all(), name="b")
        builder.chain(scope.start).fork_clone(
            lambda c: c.spread().then(step_a).connect(a),
            lambda c: c.spread().then(step_b).connect(b),
        )
        builder.join((a, b)).collect_all().connect(scope.terminate)
        add_idle_branch(scope, builder, pad)

    return cf.Workflow.build(build, name=f"w6_pad{pad}")


def session_of(wf: cf.Workflow[range, list[tuple[int, int]]]):
    async def session():
        arrived["a"], arrived["b"] = [], []
        pairs = await wf.run(range(W6_N))
        return pairs, arrived["a"], arrived["b"]

    return session


async def main():
    verify = w6_verify(strict_order=backend == "asyncio")
    elapsed = await session_times(session_of(make(0)), verify)
    padded, build_ms, ops = {}, {}, {}
    for n in PAD_SIZES:
        t = now()
        wf = make(n)
        build_ms[str(n)] = (now() - t) * 1e3
        ops[str(n)] = len(wf.graph.operations)
        padded[n] = session_of(wf)
    calls = {str(n): await count_calls(padded[n], CROSSFLOW) for n in PAD_SIZES}
    scaling = await pad_scaling(padded, verify)
    scaling.update(
        crossflow_calls=calls,
        build_ms=build_ms,
        operations=ops,
        operations_unpadded=len(make(0).graph.operations),
    )
    return elapsed, scaling


elapsed, scaling = anyio.run(main, backend=backend)
w67_emit(
    "W6",
    "crossflow",
    f"fork_clone -> 2x spread->async->keep_all buffer, join->collect_all, backend={backend}",
    elapsed,
    scaling,
)
