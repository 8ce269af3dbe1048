"""DRAW (crossflow's own, no peer): what drawing a workflow costs.

* `chain_1000`: `to_svg()` of a chain of 1,000 blocking maps;
* `nested_200`: `to_svg()` of a graph of about 200 operations (230 with each scope's
  start and terminate) in 20 nested scopes: each scope holds a fan-out of maps, a buffer
  pushed by one branch with its listener, and the next scope;
* `mermaid_1000` and `dot_1000`: the text forms of the chain.

The workflow is built once; each timed repeat draws it anew (nothing is cached between
drawings). Reports milliseconds per drawing (median, min, max of the timed repeats)
and the size of the SVG. No event loop is involved; argv[1] is accepted and ignored.

    python benchmarks/crossflow_draw.py
"""

import sys
from pathlib import Path

from _common import REPEATS, emit, now, stats

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import crossflow as cf  # noqa: E402


def chain(n):
    def build(scope, builder):
        c = builder.chain(scope.start)
        for _ in range(n):
            c = c.map(lambda x: x + 1)
        c.connect(scope.terminate)

    return cf.Workflow.build(build, name=f"chain_{n}")


def nested(scopes, width=4):
    def level(depth):
        def build(scope, builder):
            items = builder.create_buffer(cf.BufferSettings.keep_all(), name="items")
            c = builder.chain(scope.start).map(lambda x: x)
            branches = [
                lambda ch: ch.map(lambda x: x).then_push(items).dispose(),
                *[(lambda ch: ch.map(lambda x: x).dispose()) for _ in range(width - 2)],
            ]
            if depth < scopes - 1:
                branches.append(lambda ch: ch.then_scope(level(depth + 1)).connect(scope.terminate))
            else:
                branches.append(lambda ch: ch.connect(scope.terminate))
            c.fork_clone(*branches)
            builder.listen(items).map(lambda keys: None).dispose()

        return build

    return cf.Workflow.build(level(0), name=f"nested_{scopes}")


def operations(graph):
    return sum(len(g.operations) for _, g in graph.walk())


def time_it(fn):
    fn()  # warm-up
    times = []
    for _ in range(REPEATS):
        t0 = now()
        fn()
        times.append((now() - t0) * 1e3)
    return stats(times)


def main():
    big = chain(1000)
    deep = nested(21, 3)
    results = {
        "chain_1000": (big, lambda: big.to_svg()),
        "nested_200": (deep, lambda: deep.to_svg()),
        "mermaid_1000": (big, lambda: big.to_mermaid()),
        "dot_1000": (big, lambda: big.to_dot()),
    }
    for name, (wf, fn) in results.items():
        s = time_it(fn)
        scopes = sum(1 for _, g in wf.graph.walk()) - 1
        emit(
            "DRAW",
            "crossflow",
            name,
            operations=operations(wf.graph),
            scopes=scopes,
            ms=s,
            bytes=len(fn()),
        )


main()
