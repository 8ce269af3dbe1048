"""A layered layout of boxes and arrows, top to bottom: crossflow's own, for its pictures.

The classic steps, each kept simple and linear or close to it, so a thousand boxes are
placed in a fraction of a second:

1. cycles are broken by turning the edges that close them (found by a depth-first
   search from the first box) around, for the layout only;
2. every box gets a layer: the longest path from a source, and sources other than the
   first box sit just above the first box they feed;
3. an edge that spans several layers passes each one through a point of its own (a
   "dummy"), so it never runs through a box;
4. the order in each layer is improved by moving each box to the mean position of its
   neighbours, sweeping down and up, keeping the order with the fewest crossings;
5. x positions: each layer is placed as close as possible to its neighbours' positions
   without overlapping (an exact isotonic regression, pool-adjacent-violators), sweeping
   down and up;
6. edges leave a box from its bottom and enter the next at its top: straight down in
   the box's own column to below its layer, a curve across the gap between two layers
   (where there are no boxes), straight down through a layer at their dummy's place.

So no edge ever crosses a box: between layers there are no boxes, and within a layer an
edge runs only in its own column. Every box keeps its size; nested pictures are drawn
inside the boxes of their parent.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

ARROW = 7.0  # length of an arrowhead
STEM_LABEL = 16.0  # the straight part under a box, where the port label sits
STEM = 8.0
ENTRY = 10.0  # the straight part above a box, where the arrowhead sits
ENTRY_LABEL = 18.0
SEP_BOX = 26.0  # horizontal space between two boxes of a layer
SEP_DUMMY = 14.0
SEP_DUMMIES = 10.0
LOOP = 22.0  # room on the right of a box for an edge to itself
SWEEPS = 6
PASSES = 6


class Edge:
    """An edge to lay out: from box `source` to box `target`.

    Attributes:
        order: where its port is among the ports of the source (ports in order leave
            left to right unless their targets lie the other way).
        label_width: the width of its label, 0 for none.
        weight: how strongly it pulls its ends into line.
    """

    __slots__ = ("label_width", "order", "source", "target", "weight")

    def __init__(
        self, source: int, target: int, order: float = 0.0, label_width: float = 0.0,
        weight: float = 1.0,
    ) -> None:  # fmt: skip
        self.source = source
        self.target = target
        self.order = order
        self.label_width = label_width
        self.weight = weight


Point = tuple[float, float]
Segment = tuple[Point, ...]  # two points: a line; four: a cubic curve


class Route:
    """Where an edge runs once laid out.

    Attributes:
        segments: lines (two points) and cubic curves (four points), end to end.
        arrow: the tip of the arrowhead and the direction it points, (x, y, dx, dy).
        label: where its label starts (left end of its baseline), or None.
    """

    __slots__ = ("arrow", "label", "segments")

    def __init__(self) -> None:
        self.segments: list[Segment] = []
        self.arrow: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 1.0)
        self.label: Point | None = None

    def path(self) -> str:
        """The SVG path data of the route."""
        parts: list[str] = []
        last: Point | None = None
        for segment in self.segments:
            if segment[0] != last:
                parts.append(f"M{_n(segment[0][0])} {_n(segment[0][1])}")
            if len(segment) == 2:
                (x0, y0), (x1, y1) = segment
                if x0 == x1:
                    parts.append(f"V{_n(y1)}")
                elif y0 == y1:
                    parts.append(f"H{_n(x1)}")
                else:
                    parts.append(f"L{_n(x1)} {_n(y1)}")
            else:
                _, (ax, ay), (bx, by), (x1, y1) = segment
                parts.append(f"C{_n(ax)} {_n(ay)} {_n(bx)} {_n(by)} {_n(x1)} {_n(y1)}")
            last = segment[-1]
        return "".join(parts)

    def points(self, steps: int = 12) -> list[Point]:
        """Points along the route, curves sampled: for checking where it runs."""
        out: list[Point] = []
        for segment in self.segments:
            if len(segment) == 2:
                out.extend(segment)
                continue
            (x0, y0), (ax, ay), (bx, by), (x1, y1) = segment
            for i in range(steps + 1):
                t = i / steps
                u = 1 - t
                out.append(
                    (
                        u * u * u * x0 + 3 * u * u * t * ax + 3 * u * t * t * bx + t * t * t * x1,
                        u * u * u * y0 + 3 * u * u * t * ay + 3 * u * t * t * by + t * t * t * y1,
                    )
                )
        return out

    def translate(self, dx: float, dy: float) -> None:
        self.segments = [tuple((x + dx, y + dy) for x, y in s) for s in self.segments]
        x, y, ux, uy = self.arrow
        self.arrow = (x + dx, y + dy, ux, uy)
        if self.label is not None:
            self.label = (self.label[0] + dx, self.label[1] + dy)


def _n(value: float) -> str:
    """A coordinate as short text: at most one decimal."""
    rounded = round(value, 1)
    return str(int(rounded)) if rounded == int(rounded) else str(rounded)


class Placed:
    """The result: the top-left corner of every box, the routes, the total size."""

    __slots__ = ("height", "routes", "width", "xs", "ys")

    def __init__(self, n: int, m: int) -> None:
        self.xs = [0.0] * n
        self.ys = [0.0] * n
        self.routes = [Route() for _ in range(m)]
        self.width = 0.0
        self.height = 0.0


def layout(sizes: Sequence[tuple[float, float]], edges: Sequence[Edge], first: int = 0) -> Placed:
    """Lay out boxes of the given sizes (width, height) and the edges between them."""
    n = len(sizes)
    placed = Placed(n, len(edges))
    if n == 0:
        return placed
    out_edges: list[list[int]] = [[] for _ in range(n)]
    for i, e in enumerate(edges):
        if e.source != e.target:
            out_edges[e.source].append(i)

    # 1. cycles: edges back to a box on the search path are turned around
    reversed_ = [False] * len(edges)
    discovered = [-1] * n
    state = [0] * n  # 0 new, 1 on the path, 2 done
    count = 0
    for root in [first, *range(n)]:
        if state[root]:
            continue
        discovered[root] = count
        count += 1
        state[root] = 1
        stack = [(root, 0)]
        while stack:
            v, i = stack[-1]
            if i < len(out_edges[v]):
                stack[-1] = (v, i + 1)
                e_index = out_edges[v][i]
                w = edges[e_index].target
                if state[w] == 1:
                    reversed_[e_index] = True
                elif state[w] == 0:
                    state[w] = 1
                    discovered[w] = count
                    count += 1
                    stack.append((w, 0))
            else:
                state[v] = 2
                stack.pop()

    # the edges of the acyclic graph: (upper, lower, edge index)
    dag: list[tuple[int, int, int]] = []
    for i, e in enumerate(edges):
        if e.source == e.target:
            continue
        dag.append((e.target, e.source, i) if reversed_[i] else (e.source, e.target, i))
    succs: list[list[int]] = [[] for _ in range(n)]
    preds: list[list[int]] = [[] for _ in range(n)]
    for u, v, _ in dag:
        succs[u].append(v)
        preds[v].append(u)

    # 2. layers: longest path from the sources, in topological order
    indegree = [len(p) for p in preds]
    topo = [v for v in range(n) if indegree[v] == 0]
    topo.sort(key=lambda v: discovered[v])
    layer = [0] * n
    head = 0
    while head < len(topo):
        u = topo[head]
        head += 1
        for v in succs[u]:
            if layer[u] + 1 > layer[v]:
                layer[v] = layer[u] + 1
            indegree[v] -= 1
            if indegree[v] == 0:
                topo.append(v)
    for v in reversed(topo):
        if v != first and not preds[v] and succs[v]:
            layer[v] = max(min(layer[s] for s in succs[v]) - 1, 0)

    # 3. dummies: an edge over several layers passes each through a point of its own
    depth = max(layer) + 1
    vlayer = list(layer)
    width = [s[0] for s in sizes]
    key = [float(d) for d in discovered]
    chains: list[list[int]] = []  # per dag edge: the vertices it passes
    for u, v, i in dag:
        chain = [u]
        for level in range(layer[u] + 1, layer[v]):
            vlayer.append(level)
            width.append(0.0)
            key.append(discovered[u] + (edges[i].order + 1) / 1000.0)
            chain.append(len(vlayer) - 1)
        chain.append(v)
        chains.append(chain)
    total = len(vlayer)
    up: list[list[tuple[int, float]]] = [[] for _ in range(total)]  # (neighbour, weight)
    down: list[list[tuple[int, float]]] = [[] for _ in range(total)]
    for (_, _, i), chain in zip(dag, chains, strict=True):
        weight = edges[i].weight
        for a, b in itertools.pairwise(chain):
            pull = weight * (1.0 if a < n and b < n else 2.0 if a < n or b < n else 8.0)
            down[a].append((b, pull))
            up[b].append((a, pull))

    # 4. order within layers
    layers: list[list[int]] = [[] for _ in range(depth)]
    for v in sorted(range(total), key=lambda v: key[v]):
        layers[vlayer[v]].append(v)
    pos = [0] * total
    for members in layers:
        for p, v in enumerate(members):
            pos[v] = p
    best = [list(members) for members in layers]
    best_crossings = _crossings(layers, down, pos)
    for sweep in range(SWEEPS):
        if best_crossings == 0:
            break
        downward = sweep % 2 == 0
        levels = range(1, depth) if downward else range(depth - 2, -1, -1)
        for level in levels:
            members = layers[level]
            if len(members) < 2:
                continue
            bary: dict[int, float] = {}
            for v in members:
                near = up[v] if downward else down[v]
                bary[v] = sum(pos[u] for u, _ in near) / len(near) if near else float(pos[v])
            members.sort(key=lambda v: bary[v])
            for p, v in enumerate(members):
                pos[v] = p
        crossings = _crossings(layers, down, pos)
        if crossings < best_crossings:
            best_crossings = crossings
            best = [list(members) for members in layers]
    layers = best
    for members in layers:
        for p, v in enumerate(members):
            pos[v] = p

    # 5. x positions (of centres)
    x = [0.0] * total
    loops = {e.source for e in edges if e.source == e.target}
    room = [w + (LOOP if v in loops else 0.0) for v, w in enumerate(width)]
    for members in layers:
        at = 0.0
        for i, v in enumerate(members):
            if i:
                at += _gap(members[i - 1], v, room, n)
            x[v] = at
    for p in range(PASSES + 1):
        final = p == PASSES
        downward = p % 2 == 0
        levels = range(depth) if downward or final else range(depth - 1, -1, -1)
        for level in levels:
            members = layers[level]
            desired: list[float] = []
            weights: list[float] = []
            for v in members:
                near = (up[v] + down[v]) if final else (up[v] if downward else down[v])
                if near:
                    total_w = sum(w for _, w in near)
                    desired.append(sum(x[u] * w for u, w in near) / total_w)
                    weights.append(total_w)
                else:
                    desired.append(x[v])
                    weights.append(0.05)
            seps = [_gap(a, b, room, n) for a, b in itertools.pairwise(members)]
            for v, value in zip(members, _isotonic(desired, weights, seps), strict=True):
                x[v] = value
    left = min(x[v] - width[v] / 2 for v in range(total))
    right = max(x[v] + width[v] / 2 + (LOOP if v in loops else 0.0) for v in range(total))
    for v in range(total):
        x[v] -= left
    placed.width = right - left

    # 6. y positions and routes
    height = [0.0] * depth
    for v in range(n):
        height[vlayer[v]] = max(height[vlayer[v]], sizes[v][1])
    stem = [STEM] * depth
    entry = [ENTRY] * depth
    spread = [0.0] * depth  # the widest horizontal move across each gap
    for (u, _, i), chain in zip(dag, chains, strict=True):
        if edges[i].label_width:
            if reversed_[i]:
                entry[layer[chain[-1]]] = ENTRY_LABEL
            else:
                stem[layer[u]] = STEM_LABEL
        for a, b in itertools.pairwise(chain):
            level = vlayer[a]
            spread[level] = max(spread[level], abs(x[a] - x[b]))
    top = [0.0] * depth
    for level in range(1, depth):
        curve = min(max(18.0, 0.12 * spread[level - 1]), 48.0)
        top[level] = top[level - 1] + height[level - 1] + stem[level - 1] + curve + entry[level]
    placed.height = top[-1] + height[-1]
    for v in range(n):
        placed.xs[v] = x[v] - sizes[v][0] / 2
        placed.ys[v] = top[vlayer[v]]

    # where edges leave and enter boxes: spread along the side, in the order of where
    # they go (or come from), so they do not cross at the box
    exits: list[list[tuple[float, float, int]]] = [[] for _ in range(n)]
    entries: list[list[tuple[float, float, int]]] = [[] for _ in range(n)]
    for d, ((u, v, i), chain) in enumerate(zip(dag, chains, strict=True)):
        exits[u].append((x[chain[1]], edges[i].order, d))
        entries[v].append((x[chain[-2]], edges[i].order, d))
    exit_x: dict[int, float] = {}
    entry_x: dict[int, float] = {}
    for v in range(n):
        for side, found in ((exits[v], exit_x), (entries[v], entry_x)):
            side.sort()
            k = len(side)
            for j, (_, _, d) in enumerate(side):
                found[d] = placed.xs[v] + sizes[v][0] * (j + 1) / (k + 1)

    for d, ((u, v, i), chain) in enumerate(zip(dag, chains, strict=True)):
        route = placed.routes[i]
        ex, en = exit_x[d], entry_x[d]
        cx = ex
        cy = placed.ys[u] + sizes[u][1]
        start = (cx, cy)
        segments: list[Segment] = []
        for a, b in itertools.pairwise(chain):
            la, lb = vlayer[a], vlayer[b]
            below = top[la] + height[la] + stem[la]
            if cy < below:
                segments.append(((cx, cy), (cx, below)))
            nx = en if b == v else x[b]
            above = top[lb] - entry[lb]
            mid = (below + above) / 2
            segments.append(((cx, below), (cx, mid), (nx, mid), (nx, above)))
            cx, cy = nx, above
            if b != v:
                bottom = top[lb] + height[lb]
                segments.append(((cx, cy), (cx, bottom)))
                cy = bottom
        end = (en, top[layer[v]])
        segments.append(((cx, cy), end))
        route.segments = _merge(segments)
        e = edges[i]
        if reversed_[i]:
            # drawn from the lower box up to the upper one: arrowhead at the upper box
            route.arrow = (start[0], start[1], 0.0, -1.0)
            if e.label_width:
                route.label = (end[0] + 4, end[1] - 5)
        else:
            route.arrow = (end[0], end[1], 0.0, 1.0)
            if e.label_width:
                route.label = (start[0] + 4, start[1] + 11)
        # the arrowhead sits on the straight part before the box
    for i, e in enumerate(edges):
        if e.source != e.target:
            continue
        v = e.source
        right = placed.xs[v] + sizes[v][0]
        y0 = placed.ys[v] + sizes[v][1] * 0.3
        y1 = placed.ys[v] + sizes[v][1] * 0.7
        route = placed.routes[i]
        route.segments = [
            ((right, y0), (right + LOOP - 4, y0), (right + LOOP - 4, y1), (right, y1))
        ]
        route.arrow = (right, y1, -1.0, 0.0)
        if e.label_width:
            route.label = (right + 3, y0 - 3)
    return placed


def _gap(a: int, b: int, room: list[float], n: int) -> float:
    """The distance between the centres of neighbours `a` and `b` of a layer."""
    sep = SEP_BOX if a < n and b < n else SEP_DUMMY if a < n or b < n else SEP_DUMMIES
    return (room[a] + room[b]) / 2 + sep


def _isotonic(desired: list[float], weights: list[float], seps: list[float]) -> list[float]:
    """Positions as close to `desired` as they can be (least squares, weighted), in order,
    each at least `seps[i]` right of the one before: pool adjacent violators."""
    offsets = [0.0]
    for s in seps:
        offsets.append(offsets[-1] + s)
    blocks: list[list[float]] = []  # [weight, weighted sum, count]
    for d, w, o in zip(desired, weights, offsets, strict=True):
        blocks.append([w, w * (d - o), 1])
        while len(blocks) > 1 and blocks[-2][1] / blocks[-2][0] > blocks[-1][1] / blocks[-1][0]:
            w2, s2, c2 = blocks.pop()
            blocks[-1][0] += w2
            blocks[-1][1] += s2
            blocks[-1][2] += c2
    out: list[float] = []
    for w, s, c in blocks:
        out.extend([s / w] * int(c))
    return [y + o for y, o in zip(out, offsets, strict=True)]


def _crossings(layers: list[list[int]], down: list[list[tuple[int, float]]], pos: list[int]) -> int:
    """How many pairs of edges cross between consecutive layers."""
    total = 0
    for members in layers[:-1]:
        ends = sorted((pos[u], pos[v]) for u in members for v, _ in down[u])
        if len(ends) < 2:
            continue
        # inversions among the lower ends, counted with a Fenwick tree
        size = max(b for _, b in ends) + 2
        tree = [0] * (size + 1)
        for seen, (_, b) in enumerate(ends):
            i = b + 1
            smaller_or_equal = 0
            while i > 0:
                smaller_or_equal += tree[i]
                i -= i & -i
            total += seen - smaller_or_equal
            i = b + 1
            while i <= size:
                tree[i] += 1
                i += i & -i
    return total


def _merge(segments: list[Segment]) -> list[Segment]:
    """Consecutive vertical lines joined into one; lines of no length dropped."""
    out: list[Segment] = []
    for s in segments:
        if len(s) == 2 and s[0] == s[1]:
            continue
        if (
            out
            and len(s) == 2
            and len(out[-1]) == 2
            and out[-1][1] == s[0]
            and out[-1][0][0] == s[0][0] == s[1][0]
        ):
            out[-1] = (out[-1][0], s[1])
            continue
        out.append(s)
    return out
