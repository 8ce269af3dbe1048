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

Buffers add edges that are not connections (S2.2, S7): a buffer leads to the joins and
listeners it wakes; a gate-open operation leads to its buffers (it may wake them); and
every operation downstream of an accessor (listen, with_access, then_access, push) leads
to the accessor's buffers, because it may hold a key and push through it. Reachability
runs on connections plus all these edges; collects too, except where the key-holder
edges alone would make two collects each wait for the other.
"""

from __future__ import annotations

from ._errors import BuildError, CircularCollectError
from ._graph import Graph, Kind

_ACCESSORS = (Kind.LISTEN, Kind.ACCESS)


def _forward(succ: list[list[int]], starts: list[int]) -> set[int]:
    seen: set[int] = set()
    stack = list(starts)
    while stack:
        i = stack.pop()
        if i in seen:
            continue
        seen.add(i)
        stack.extend(succ[i])
    return seen


def _reverse(succ: list[tuple[int, ...]]) -> list[list[int]]:
    preds: list[list[int]] = [[] for _ in succ]
    for i, ts in enumerate(succ):
        for t in ts:
            preds[t].append(i)
    return preds


def _edges(graph: Graph) -> tuple[list[tuple[int, ...]], list[tuple[int, ...]]]:
    n = len(graph.ops)
    succ: list[list[int]] = [[t for t in op.targets if t is not None] for op in graph.ops]
    readers: dict[int, list[int]] = {}
    reopeners: dict[int, list[int]] = {}
    for op in graph.ops:
        if op.kind in (Kind.JOIN, Kind.LISTEN):
            for b in op.params["buffers"]:
                readers.setdefault(b, []).append(op.index)
        if op.kind is Kind.GATE and op.params["open"]:
            for b in op.params["buffers"]:
                reopeners.setdefault(b, []).append(op.index)
        if op.kind is Kind.PUSH:
            succ[op.index].append(op.params["buffer"])
    for b, rs in readers.items():
        succ[b].extend(rs)
    # a join's pull is a change its buffers' other readers see (S7.3)
    for op in graph.ops:
        if op.kind is Kind.JOIN:
            for b, clone in zip(op.params["buffers"], op.params["clone"], strict=True):
                if not clone:
                    for r in readers[b]:
                        if r != op.index and r not in succ[op.index]:
                            succ[op.index].append(r)
    for b, gs in reopeners.items():
        for g in gs:
            succ[g].append(b)
    # key holders: everything downstream of an accessor may push into its buffers
    base = [list(x) for x in succ]
    holders: dict[int, set[int]] = {}
    for op in graph.ops:
        if op.kind in _ACCESSORS:
            down = _forward(base, [op.index])
            for b in op.params["buffers"]:
                holders.setdefault(b, set()).update(down)
    for b, hs in holders.items():
        for h in hs:
            if b not in succ[h]:
                succ[h].append(b)
        reopeners.setdefault(b, []).extend(sorted(hs))
    graph.readers = {b: tuple(rs) for b, rs in readers.items()}
    graph.reopeners = {b: tuple(rs) for b, rs in reopeners.items()}
    # joins make reachability depend on what buffers hold (closed gates too: the
    # runtime checks those per session)
    graph.conditional = any(op.kind is Kind.JOIN for op in graph.ops)
    assert len(succ) == n
    return [tuple(x) for x in succ], [tuple(x) for x in base]


def _trim_spans(graph: Graph, succ: list[tuple[int, ...]]) -> None:
    if not any(op.kind is Kind.TRIM for op in graph.ops):
        return
    fwd = [list(x) for x in succ]
    bwd = _reverse(succ)
    from_start = _forward(fwd, [graph.start])
    for op in graph.ops:
        if op.kind is not Kind.TRIM:
            continue
        span: set[int] = set()
        for how, a, b in op.params["branches"]:
            if how == "single_point":
                span.add(a)
            elif how == "downstream":
                before = from_start & _forward(bwd, [a])
                span |= _forward(fwd, [a]) - (before - {a})
            else:
                down = _forward(fwd, [a])
                if b not in down:
                    raise BuildError(
                        f"trim {op.name!r} in scope {graph.name!r}: TrimBranch.between("
                        f"{graph.ops[a].name!r}, {graph.ops[b].name!r}) is empty, because "
                        f"{graph.ops[b].name!r} is not downstream of {graph.ops[a].name!r}. "
                        "Give the upstream point first."
                    )
                upstream_of_a = _forward(bwd, [a]) - {a}
                span |= (down & _forward(bwd, [b])) - upstream_of_a
        span.discard(graph.terminate)  # terminate ignores trims
        span.discard(op.index)
        op.params["ops"] = tuple(sorted(span))


def analyse(graph: Graph) -> None:
    """Fill in the analysis fields of `graph`; raise `CircularCollectError` if needed."""
    succ, base = _edges(graph)
    graph.succ = succ
    _trim_spans(graph, base)
    n = len(graph.ops)
    preds = _reverse(succ)
    base_preds = _reverse(base)

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

    def upstream_of(c: int, edges: list[list[int]]) -> set[int]:
        seen: set[int] = set()
        stack = list(edges[c])
        while stack:
            i = stack.pop()
            if i == c or i in seen:
                continue
            seen.add(i)
            stack.extend(edges[i])
        return seen

    # Key-holder edges count for collects (a service holding a key may still push),
    # except where they alone would make two collects each wait for the other: such
    # collects fall back to the connections and buffer edges.
    upstream = {c: upstream_of(c, base_preds) for c in collects}
    if preds != base_preds:
        full = {c: upstream_of(c, preds) for c in collects}
        for a_pos, a in enumerate(collects):
            for b in collects[a_pos + 1 :]:
                if a in full[b] and b in full[a]:
                    full[a] = upstream[a]
                    full[b] = upstream[b]
        conflicts_first = upstream
        upstream = full
    else:
        conflicts_first = upstream

    conflicts: list[tuple[int, int]] = []
    for a_pos, a in enumerate(collects):
        for b in collects[a_pos + 1 :]:
            if a in conflicts_first[b] and b in conflicts_first[a]:
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


# --------------------------------------------------------------------------- build warnings

_SHOWN_ENDS = 6  # dead ends listed in a warning; the rest are counted
_SHOWN_PATH = 6  # operations shown of one path from start


def _path_text(graph: Graph, parent: dict[int, int], op: int) -> str:
    names: list[str] = []
    at: int | None = op
    while at is not None:
        names.append("start" if at == graph.start else repr(graph.ops[at].name))
        at = parent.get(at)
    names.reverse()
    if len(names) > _SHOWN_PATH:
        names = [*names[:2], "...", *names[-(_SHOWN_PATH - 3) :]]
    return " -> ".join(names)


def _dead_ends(
    graph: Graph, reached: list[int], parent: dict[int, int], disposed: set[tuple[int, int]]
) -> list[str]:
    """Where messages leaving `start` stop: each with the path that leads there."""
    ends: list[str] = []
    for i in reached:
        op = graph.ops[i]
        stops: list[str] = []
        if op.kind is Kind.BUFFER and not graph.succ[i]:
            stops.append("it is stored in a buffer that no join or listener reads")
        elif op.kind is Kind.STREAM_OUT:
            stops.append(f"it leaves the scope on stream {op.params['stream']!r}")
        elif not op.ports and op.kind not in (Kind.TERMINATE, Kind.CANCEL, Kind.BUFFER):
            stops.append("the operation has no outputs")
        for port, (name, target) in enumerate(zip(op.ports, op.targets, strict=True)):
            if target is None:
                ended = "is ended with dispose()" if (i, port) in disposed else "is not connected"
                stops.append(f"output {name!r} {ended}")
        ends.extend(f"{_path_text(graph, parent, i)}: {stop}" for stop in stops)
    return ends


def reach_problems(graph: Graph, disposed: set[tuple[int, int]], what: str) -> str | None:
    """What a `cf.UnreachableWarning` says about `graph`, or None when all is well.

    Two problems are reported (API §10):

    * nothing that leaves `start` can reach `terminate` or an explicit cancel (S2.3),
      so every session is cancelled at once; the warning lists where the messages
      stop (unconnected or disposed outputs, unread buffers, stream outs), each with
      the chain that leads there;
    * operations that no message can ever reach (nothing connects them to `start`,
      directly or through buffers): a forgotten connection. Start, terminate, stream
      outs and buffers handed to cleanup workflows are never reported.

    `disposed` holds the outputs ended with `chain.dispose()`, `what` names the graph
    ("workflow", "nested scope", "cleanup workflow").
    """
    parent: dict[int, int] = {}
    seen = {graph.start}
    order = [graph.start]
    for i in order:  # breadth first: the shortest chain to every operation
        for t in graph.succ[i]:
            if t not in seen:
                seen.add(t)
                parent[t] = i
                order.append(t)
    parts: list[str] = []
    first = graph.ops[graph.start].targets[0]
    if first is None or not graph.useful[first]:
        ends = _dead_ends(graph, order, parent, disposed)
        shown = "; ".join(ends[:_SHOWN_ENDS])
        if len(ends) > _SHOWN_ENDS:
            shown += f"; and {len(ends) - _SHOWN_ENDS} more"
        parts.append(
            f"{what} {graph.name!r} can never reach its end: no path leads from scope.start to "
            "scope.terminate or to a cancel operation, so every session of it is cancelled "
            f"at once (Unreachable, S2.3). The chains end nowhere: {shown}. Connect the chain "
            "whose message is the response to scope.terminate "
            "(chain.connect(scope.terminate)), or end it in a cancel (chain.then_cancel())."
        )
    kept = {b for c in graph.cleanups for b in c.buffers}
    skipped = (Kind.START, Kind.TERMINATE, Kind.STREAM_OUT)
    never = [
        op.name
        for op in graph.ops
        if op.index not in seen and op.kind not in skipped and op.index not in kept
    ]
    if never:
        listed = ", ".join(repr(n) for n in never[:_SHOWN_ENDS])
        if len(never) > _SHOWN_ENDS:
            listed += f" and {len(never) - _SHOWN_ENDS} more"
        parts.append(
            f"In {what} {graph.name!r}, no message can ever reach {listed}: nothing connects "
            "them to scope.start. Connect an output to their input "
            "(builder.connect(output, node.input)), or remove them."
        )
    return " ".join(parts) if parts else None
