"""Whole-graph analysis done once, when a scope's build function returns.

It computes what the runtime needs to answer reachability questions in constant time:

* `useful[i]`: operation `i` has a path to the scope's terminate or to an explicit
  cancel. Activity on useful operations is what keeps a session alive (S2.2). The set
  is closed under predecessors, so once no useful operation has activity, none can get
  any again: the check can run at any quiet moment with the same answer.
* `collects_of[i]`: the collects that operation `i` lies upstream of, ignoring paths
  through the collect itself (S5.2). The runtime keeps one counter per collect of the
  activity upstream of it.
* the order in which collects react (upstream ones first), and circular collects,
  which are rejected (S5.5).
"""

from __future__ import annotations

from ._errors import CircularCollectError
from ._graph import Graph, Kind


def analyse(graph: Graph) -> None:
    """Fill in the analysis fields of `graph`; raise `CircularCollectError` if needed."""
    preds = graph.predecessors()
    n = len(graph.ops)

    useful = [False] * n
    stack = [op.index for op in graph.ops if op.kind in (Kind.TERMINATE, Kind.CANCEL)]
    while stack:
        i = stack.pop()
        if useful[i]:
            continue
        useful[i] = True
        stack.extend(preds[i])
    graph.useful = useful

    collects = [op.index for op in graph.ops if op.kind is Kind.COLLECT]
    upstream: dict[int, set[int]] = {}
    for c in collects:
        seen: set[int] = set()
        stack = list(preds[c])
        while stack:
            i = stack.pop()
            if i == c or i in seen:
                continue
            seen.add(i)
            stack.extend(preds[i])
        upstream[c] = seen

    conflicts: list[tuple[int, int]] = []
    for a_pos, a in enumerate(collects):
        for b in collects[a_pos + 1 :]:
            if a in upstream[b] and b in upstream[a]:
                conflicts.append((a, b))
    if conflicts:
        names = tuple((graph.ops[a].name, graph.ops[b].name) for a, b in conflicts)
        listed = ", ".join(f"{a!r} and {b!r}" for a, b in names)
        raise CircularCollectError(
            f"in scope {graph.name!r}, collects {listed} each lie upstream of the other, "
            "so each would wait for the other to fall quiet and neither could ever emit. "
            "Move one of them into a nested scope (chain.then_scope(...)) so that its "
            "collection finishes inside that scope.",
            names,
        )

    of: list[list[int]] = [[] for _ in range(n)]
    for c, ups in upstream.items():
        for i in ups:
            of[i].append(c)
    graph.collects_of = [tuple(x) for x in of]

    # upstream collects first: rank = number of collects upstream of it
    ranked = sorted(collects, key=lambda c: sum(1 for d in collects if d in upstream[c]))
    graph.collect_rank = {c: r for r, c in enumerate(ranked)}
