"""Read a workflow's graph: its operations, their settings and the connections between
their ports, nested scopes included. Pictures, diagrams and the testing tools read it the
same way."""

from __future__ import annotations

import crossflow as cf


def per_item(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
    builder.chain(scope.start).map(lambda x: x * x, name="square").connect(scope.terminate)


@cf.workflow
def squares(scope: cf.Scope[list[int], list[int]], builder: cf.Builder) -> None:
    chain = builder.chain(scope.start).spread().then_scope(per_item, name="per item")
    chain.collect(max=100).connect(scope.terminate)


def describe(graph: cf.Graph, indent: str = "") -> None:
    """Print every operation with its kind and where each of its ports leads."""
    for op in graph:
        leads = [f"{c.port} -> {c.target.name}" for c in graph.outgoing(op)]
        print(f"{indent}{op.name} ({op.kind}): {', '.join(leads) or 'nothing'}")
        if op.body is not None:  # a nested scope: its own graph
            describe(op.body, indent + "    ")


graph = squares.graph
describe(graph)

(gather,) = [op for op in graph if op.kind == "collect"]
assert isinstance(gather.settings, cf.CollectSettings)
print(f"{gather.name} emits at most {gather.settings.max} items")
assert [path for path, _ in graph.walk()] == [("squares",), ("squares", "per item")]
