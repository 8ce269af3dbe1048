"""D1 diagrams: W1 built from a JSON diagram (ten `add` nodes over JSON numbers, config 1)
against the same ten nodes built in code, 2,000 sequential `await wf.run(0)` per repeat
each (result 10.0); and the time to load and check a 500-operation diagram.
argv[1] = asyncio | trio (anyio backend)."""

import json
import sys

import anyio
from _common import REPEATS, W1_HOPS, W1_SESSIONS, emit, now, stats

import crossflow as cf
from crossflow.diagram import Diagram, Registry

backend = sys.argv[1] if len(sys.argv) > 1 else "asyncio"
LARGE = 500

registry = Registry()


def add_builder(builder, config):
    step = 0.0 if config is None else config
    return builder.create_node(lambda x: x + step, name="add")


registry.register_node_builder("add", add_builder, config=float | None, response=float)


def chain_document(n):
    ops = {}
    for i in range(n):
        nxt = f"add{i + 1}" if i + 1 < n else {"builtin": "terminate"}
        ops[f"add{i}"] = {"type": "node", "builder": "add", "config": 1, "next": nxt}
    return {"version": "0.1.0", "start": "add0", "ops": ops}


from_diagram = Diagram.from_json(chain_document(W1_HOPS)).build(registry)


@cf.workflow
def in_code(scope: cf.Scope[float, float], builder: cf.Builder) -> None:
    output = scope.start
    for _ in range(W1_HOPS):
        node = add_builder(builder, 1.0)
        builder.connect(output, node.input)
        output = node.output
    builder.connect(output, scope.terminate)


async def repeat(wf):
    t = now()
    for _ in range(W1_SESSIONS):
        r = await wf.run(0)
        if r != 10:
            raise AssertionError(f"bad result {r!r}")
    return now() - t


async def main():
    times = {"diagram": [], "code": []}
    await repeat(from_diagram)  # warm-up
    await repeat(in_code)
    for i in range(REPEATS):  # interleaved, the order alternating
        pair = ("diagram", "code") if i % 2 == 0 else ("code", "diagram")
        for name in pair:
            times[name].append(await repeat(from_diagram if name == "diagram" else in_code))
    return times


times = anyio.run(main, backend=backend)
per_session = {k: stats(v, 1e6 / W1_SESSIONS) for k, v in times.items()}
ratios = [d / c for d, c in zip(times["diagram"], times["code"])]

text = json.dumps(chain_document(LARGE))
load = []
for _ in range(REPEATS + 1):
    t = now()
    problems = Diagram.from_json(text).check(registry)
    load.append(now() - t)
    if problems:
        raise AssertionError(problems)
load = load[1:]

emit(
    "D1",
    "crossflow",
    f"W1 from a diagram vs in code, backend={backend}",
    unit="us/session",
    sessions=W1_SESSIONS,
    repeats=REPEATS,
    us_per_session_diagram=per_session["diagram"],
    us_per_session_code=per_session["code"],
    ratio=per_session["diagram"]["median"] / per_session["code"]["median"],
    ratio_per_repeat=stats(ratios),
    load_check_ms=stats(load, 1e3),
    load_check_operations=LARGE,
)
