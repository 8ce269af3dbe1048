"""Whole-graph analysis, done once when a scope is built: an `Analysis` of its `Graph`.

It works out what the runtime needs to answer reachability questions in constant time:

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

Operations are numbered by their position in `Graph.operations`; the analysis refers to
them by those numbers. It is kept apart from the graph (`analysis_of`), which stays a
plain description.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Sequence

from ._errors import BuildError, CircularCollectError
from ._model import (
    AccessSettings,
    GateSettings,
    Graph,
    JoinSettings,
    OperationKind,
    PushSettings,
    StreamOutSettings,
    TrimSettings,
)


class Skeleton:
    """A scope's graph by position: names, kinds, settings and message targets.

    Built from a finished `Graph` (`skeleton_of`) or while a scope is being built.
    `targets[i][p]` is the operation that port `p` of operation `i` sends to, or -1.
    """

    __slots__ = ("kinds", "name", "names", "positions", "settings", "targets")

    def __init__(
        self,
        name: str,
        names: Sequence[str],
        kinds: Sequence[OperationKind],
        settings: Sequence[object],
        targets: Sequence[Sequence[int]],
    ) -> None:
        self.name = name
        self.names = tuple(names)
        self.kinds = tuple(kinds)
        self.settings = tuple(settings)
        self.targets = tuple(tuple(t) for t in targets)
        self.positions = {n: i for i, n in enumerate(self.names)}

    def __repr__(self) -> str:
        return f"<Skeleton {self.name!r}: {len(self.names)} operations>"


def skeleton_of(graph: Graph) -> Skeleton:
    """The skeleton of a finished graph."""
    position = {id(op): i for i, op in enumerate(graph.operations)}
    targets = [[-1] * len(op.ports) for op in graph.operations]
    for c in graph.connections:
        if c.kind == "message":
            source = position[id(c.source)]
            targets[source][c.source.ports.index(c.port)] = position[id(c.target)]
    return Skeleton(
        graph.name,
        [op.name for op in graph.operations],
        [op.kind for op in graph.operations],
        [op.settings for op in graph.operations],
        targets,
    )


def _forward(succ: Sequence[Iterable[int]], starts: Iterable[int]) -> set[int]:
    seen: set[int] = set()
    stack = list(starts)
    while stack:
        i = stack.pop()
        if i in seen:
            continue
        seen.add(i)
        stack.extend(succ[i])
    return seen


def _reverse(succ: Sequence[Iterable[int]]) -> list[list[int]]:
    preds: list[list[int]] = [[] for _ in succ]
    for i, ts in enumerate(succ):
        for t in ts:
            preds[t].append(i)
    return preds


class Edges:
    """Connections plus the edges buffers add (see the module's docstring)."""

    __slots__ = ("base", "readers", "reopeners", "succ")

    def __init__(self, skeleton: Skeleton) -> None:
        at = skeleton.positions
        settings = skeleton.settings
        kinds = skeleton.kinds
        succ: list[list[int]] = [[t for t in ts if t >= 0] for ts in skeleton.targets]
        readers: dict[int, list[int]] = {}
        reopeners: dict[int, list[int]] = {}
        for i, kind in enumerate(kinds):
            s = settings[i]
            if kind in ("join", "listen"):
                assert isinstance(s, (JoinSettings, AccessSettings))
                for name in s.buffers:
                    readers.setdefault(at[name], []).append(i)
            elif kind == "gate":
                assert isinstance(s, GateSettings)
                if s.open:
                    for name in s.buffers:
                        reopeners.setdefault(at[name], []).append(i)
            elif kind == "push":
                assert isinstance(s, PushSettings)
                succ[i].append(at[s.buffer])
        for b, rs in readers.items():
            succ[b].extend(rs)
        # a join's pull is a change its buffers' other readers see (S7.3)
        for i, kind in enumerate(kinds):
            s = settings[i]
            if kind == "join":
                assert isinstance(s, JoinSettings)
                for name, cloned in zip(s.buffers, s.cloned, strict=True):
                    if not cloned:
                        for r in readers[at[name]]:
                            if r != i and r not in succ[i]:
                                succ[i].append(r)
        for b, gs in reopeners.items():
            for g in gs:
                succ[g].append(b)
        # key holders: everything downstream of an accessor may push into its buffers
        base = [list(x) for x in succ]
        holders: dict[int, set[int]] = {}
        for i, kind in enumerate(kinds):
            if kind in ("listen", "access"):
                s = settings[i]
                assert isinstance(s, AccessSettings)
                down = _forward(base, [i])
                for name in s.buffers:
                    holders.setdefault(at[name], set()).update(down)
        for b, hs in holders.items():
            for h in hs:
                if b not in succ[h]:
                    succ[h].append(b)
            reopeners.setdefault(b, []).extend(sorted(hs))
        self.succ = tuple(tuple(x) for x in succ)
        self.base = tuple(tuple(x) for x in base)
        self.readers = {b: tuple(rs) for b, rs in readers.items()}
        self.reopeners = {b: tuple(rs) for b, rs in reopeners.items()}

    def __repr__(self) -> str:
        return f"<Edges {len(self.succ)} operations>"


def trim_span(
    skeleton: Skeleton, edges: Edges, trim: int, settings: TrimSettings
) -> tuple[str, ...]:
    """The names of the operations a trim cleans up, from its branches.

    Raises:
        BuildError: a `between` branch whose end is not downstream of its start.
    """
    fwd = edges.base
    bwd = _reverse(fwd)
    at = skeleton.positions
    names = skeleton.names
    from_start = _forward(fwd, [0])
    span: set[int] = set()
    for branch in settings.branches:
        a = at[branch.start]
        if branch.how == "single_point":
            span.add(a)
        elif branch.how == "downstream":
            before = from_start & _forward(bwd, [a])
            span |= _forward(fwd, [a]) - (before - {a})
        else:
            assert branch.end is not None  # invariant: `between` has an end
            b = at[branch.end]
            down = _forward(fwd, [a])
            if b not in down:
                raise BuildError(
                    f"trim {names[trim]!r} in scope {skeleton.name!r}: TrimBranch.between("
                    f"{names[a]!r}, {names[b]!r}) is empty, because {names[b]!r} is not "
                    f"downstream of {names[a]!r}. Give the upstream point first."
                )
            upstream_of_a = _forward(bwd, [a]) - {a}
            span |= (down & _forward(bwd, [b])) - upstream_of_a
    span.discard(1)  # terminate ignores trims
    span.discard(trim)
    return tuple(names[i] for i in sorted(span))


class Analysis:
    """What the build-time analysis of one scope found out (see the module's docstring)."""

    __slots__ = (
        "collect_rank",
        "collects_of",
        "conditional",
        "edges",
        "skeleton",
        "useful",
    )

    def __init__(self, skeleton: Skeleton) -> None:
        self.skeleton = skeleton
        edges = self.edges = Edges(skeleton)
        kinds = skeleton.kinds
        n = len(kinds)
        preds = _reverse(edges.succ)
        base_preds = _reverse(edges.base)

        useful = [False] * n
        stack = [i for i, kind in enumerate(kinds) if kind in ("terminate", "cancel")]
        while stack:
            i = stack.pop()
            if useful[i]:
                continue
            useful[i] = True
            stack.extend(preds[i])
        self.useful = tuple(useful)
        # joins make reachability depend on what buffers hold (closed gates too: the
        # runtime checks those per session)
        self.conditional = "join" in kinds

        collects = [i for i, kind in enumerate(kinds) if kind == "collect"]

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
        conflicts_first = upstream
        if preds != base_preds:
            full = {c: upstream_of(c, preds) for c in collects}
            for a_pos, a in enumerate(collects):
                for b in collects[a_pos + 1 :]:
                    if a in full[b] and b in full[a]:
                        full[a] = upstream[a]
                        full[b] = upstream[b]
            upstream = full

        conflicts: list[tuple[int, int]] = []
        for a_pos, a in enumerate(collects):
            for b in collects[a_pos + 1 :]:
                if a in conflicts_first[b] and b in conflicts_first[a]:
                    conflicts.append((a, b))
        if conflicts:
            names = tuple((skeleton.names[a], skeleton.names[b]) for a, b in conflicts)
            listed = ", ".join(f"{a!r} and {b!r}" for a, b in names)
            raise CircularCollectError(
                f"in scope {skeleton.name!r}, collects {listed} each lie upstream of the "
                "other, so each would wait for the other to fall quiet and neither could ever "
                "emit. Move one of them into a nested scope (chain.then_scope(...)) so that "
                "its collection finishes inside that scope.",
                names,
            )

        of: list[list[int]] = [[] for _ in range(n)]
        for c, ups in upstream.items():
            for i in ups:
                of[i].append(c)
        self.collects_of = tuple(tuple(x) for x in of)
        # upstream collects first: rank = number of collects upstream of it
        ranked = sorted(collects, key=lambda c: sum(1 for d in collects if d in upstream[c]))
        self.collect_rank = {c: r for r, c in enumerate(ranked)}

    def __repr__(self) -> str:
        return f"<Analysis of {self.skeleton.name!r}>"


_ANALYSES: weakref.WeakKeyDictionary[Graph, Analysis] = weakref.WeakKeyDictionary()


def analyse(graph: Graph) -> Analysis:
    """Analyse a finished graph, once; later calls give the same `Analysis`.

    Raises:
        CircularCollectError: two collects lie upstream of each other (S5.5).
    """
    analysis = _ANALYSES.get(graph)
    if analysis is None:
        analysis = _ANALYSES[graph] = Analysis(skeleton_of(graph))
    return analysis


# --------------------------------------------------------------------------- build warnings

_SHOWN_ENDS = 6  # dead ends listed in a warning; the rest are counted
_SHOWN_PATH = 6  # operations shown of one path from start


def _path_text(names: Sequence[str], parent: dict[int, int], op: int) -> str:
    shown: list[str] = []
    at: int | None = op
    while at is not None:
        shown.append("start" if at == 0 else repr(names[at]))
        at = parent.get(at)
    shown.reverse()
    if len(shown) > _SHOWN_PATH:
        shown = [*shown[:2], "...", *shown[-(_SHOWN_PATH - 3) :]]
    return " -> ".join(shown)


def reach_problems(
    graph: Graph, analysis: Analysis, disposed: set[tuple[str, str]], what: str
) -> str | None:
    """What a `cf.UnreachableWarning` says about `graph`, or None when all is well.

    Two problems are reported (API §10):

    * nothing that leaves `start` can reach `terminate` or an explicit cancel (S2.3),
      so every session is cancelled at once; the warning lists where the messages
      stop (unconnected or disposed outputs, unread buffers, stream outs), each with
      the chain that leads there;
    * operations that no message can ever reach (nothing connects them to `start`,
      directly or through buffers): a forgotten connection. Start, terminate, stream
      outs and buffers handed to cleanup workflows are never reported.

    `disposed` holds the outputs, as (operation, port), ended with `chain.dispose()`;
    `what` names the graph ("workflow", "nested scope", "cleanup workflow").
    """
    skeleton = analysis.skeleton
    succ = analysis.edges.succ
    names = skeleton.names
    kinds = skeleton.kinds
    parent: dict[int, int] = {}
    seen = {0}
    order = [0]
    for i in order:  # breadth first: the shortest chain to every operation
        for t in succ[i]:
            if t not in seen:
                seen.add(t)
                parent[t] = i
                order.append(t)
    parts: list[str] = []
    first = skeleton.targets[0][0]
    if first < 0 or not analysis.useful[first]:
        ends: list[str] = []
        for i in order:
            op = graph.operations[i]
            stops: list[str] = []
            if op.kind == "buffer" and not succ[i]:
                stops.append("it is stored in a buffer that no join or listener reads")
            elif isinstance(op.settings, StreamOutSettings):
                stops.append(f"it leaves the scope on stream {op.settings.stream!r}")
            elif not op.ports and op.kind not in ("terminate", "cancel", "buffer"):
                stops.append("the operation has no outputs")
            for port, target in zip(op.ports, skeleton.targets[i], strict=True):
                if target < 0:
                    ended = (
                        "is ended with dispose()"
                        if (op.name, port) in disposed
                        else ("is not connected")
                    )
                    stops.append(f"output {port!r} {ended}")
            ends.extend(f"{_path_text(names, parent, i)}: {stop}" for stop in stops)
        shown = "; ".join(ends[:_SHOWN_ENDS])
        if len(ends) > _SHOWN_ENDS:
            shown += f"; and {len(ends) - _SHOWN_ENDS} more"
        parts.append(
            f"{what} {graph.name!r} can never reach its end: no path leads from scope.start to "
            "scope.terminate or to a cancel operation, so every session of it is cancelled "
            f"at once (Unreachable). The chains end nowhere: {shown}. Connect the chain "
            "whose message is the response to scope.terminate "
            "(chain.connect(scope.terminate)), or end it in a cancel (chain.then_cancel())."
        )
    kept = {b for c in graph.cleanups for b in c.buffers}
    never = [
        names[i]
        for i in range(len(names))
        if i not in seen
        and kinds[i] not in ("start", "terminate", "stream_out")
        and names[i] not in kept
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
