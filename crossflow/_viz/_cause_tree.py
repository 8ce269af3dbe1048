"""A cancellation as a tree: its cause, the disposals that led there, the nested
cancellations behind them, and what failed while cancelling (API §8).

The tree is bounded the way `str()` of a cancellation is: the first disposals of each
`Unreachable` and a count of the rest, nested sessions down to a depth, then the
innermost cause of what lies deeper. It is built with a stack, not recursion, so no
depth of nesting can exhaust it. HTML, SVG and Mermaid are drawn from it; the full data
stays in `to_dict()`.
"""

from __future__ import annotations

import textwrap

from .._causes import Cancellation, Disposal, ScopeCancelled, Unreachable, _innermost
from . import _mermaid
from ._labels import safe_text
from ._layered import Edge, layout

SHOWN_DISPOSALS = 10
SHOWN_DEPTH = 5
SHOWN_WHILE = 5


class Node:
    """One entry of the tree: a cancellation's cause, a disposal, or a note."""

    __slots__ = ("children", "count", "kind", "parent", "role", "text")

    def __init__(self, role: str, kind: str, text: str, count: int = 1) -> None:
        self.role = role  # "cause", "disposal", "while" (cancellation of a cleanup), "more"
        self.kind = kind  # the class name: Unreachable, Branching, ...
        self.text = text
        self.count = count
        self.children: list[Node] = []
        self.parent: Node | None = None

    def add(self, child: Node) -> Node:
        child.parent = self
        self.children.append(child)
        return child

    def __repr__(self) -> str:
        return f"<Node {self.role} {self.kind}: {self.text[:40]!r}>"


def _cause_text(cancellation: Cancellation) -> str:
    cause = cancellation.cause
    if isinstance(cause, Unreachable):
        total = sum(d.count for d in cause.disposals) + cause.omitted
        if not cause.disposals:
            return (
                f"terminate of {cause.scope!r} cannot be reached from its start: no path leads "
                "from start to terminate or to a cancel operation"
            )
        return f"terminate of {cause.scope!r} can no longer be reached after {total} disposal(s)"
    return safe_text(str(cause))


def _disposal_text(disposal: Disposal) -> str:
    cause = disposal.cause
    if isinstance(cause, ScopeCancelled):
        return f"{disposal.operation}: a nested session was cancelled"
    return safe_text(str(cause))


def tree(cancellation: Cancellation) -> Node:
    """The bounded tree of `cancellation`."""
    root = Node("cause", type(cancellation.cause).__name__, _cause_text(cancellation))
    stack: list[tuple[Cancellation, Node, int]] = [(cancellation, root, 0)]
    while stack:
        current, node, depth = stack.pop()
        cause = current.cause
        if isinstance(cause, Unreachable):
            for disposal in cause.disposals[:SHOWN_DISPOSALS]:
                child = node.add(
                    Node(
                        "disposal",
                        type(disposal.cause).__name__,
                        _disposal_text(disposal),
                        disposal.count,
                    )
                )
                if isinstance(disposal.cause, ScopeCancelled):
                    nested = disposal.cause.cancellation
                    if depth + 1 >= SHOWN_DEPTH:
                        innermost, levels = _innermost(nested)
                        below = f"{levels + 1} level(s) further down: " if levels else ""
                        child.add(
                            Node(
                                "cause", type(innermost).__name__, below + safe_text(str(innermost))
                            )
                        )
                        continue
                    grandchild = child.add(
                        Node("cause", type(nested.cause).__name__, _cause_text(nested))
                    )
                    stack.append((nested, grandchild, depth + 1))
            more = max(len(cause.disposals) - SHOWN_DISPOSALS, 0) + cause.omitted
            if more > 0:
                node.add(Node("more", "", f"and {more} more disposal(s)"))
        for cleanup in current.while_cancelling[:SHOWN_WHILE]:
            child = node.add(
                Node(
                    "while",
                    type(cleanup.cause).__name__,
                    "while cancelling: " + _cause_text(cleanup),
                )
            )
            if depth + 1 < SHOWN_DEPTH:
                stack.append((cleanup, child, depth + 1))
        if len(current.while_cancelling) > SHOWN_WHILE:
            node.add(
                Node("more", "", f"and {len(current.while_cancelling) - SHOWN_WHILE} more "
                     "failure(s) while cancelling")
            )  # fmt: skip
    return root


def walk(root: Node) -> list[tuple[Node, int]]:
    """Every node with its depth, parents first, in order."""
    out: list[tuple[Node, int]] = []
    stack = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        out.append((node, depth))
        stack.extend((c, depth + 1) for c in reversed(node.children))
    return out


def text(root: Node) -> str:
    """The tree as indented plain text."""
    lines = []
    for node, depth in walk(root):
        count = f" ({node.count} times)" if node.count > 1 else ""
        kind = f"{node.kind}: " if node.kind else ""
        lines.append("  " * depth + f"- {kind}{node.text}{count}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- pictures

COLOURS = {  # fill, stroke
    "cause": ("#fdecea", "#b3261e"),
    "while": ("#fdf3e7", "#b86e00"),
    "disposal": ("#fff8e6", "#a86b00"),
    "more": ("#f5f5f5", "#8a939c"),
}
WRAP = 46


def _lines(node: Node) -> list[str]:
    count = f" ({node.count} times)" if node.count > 1 else ""
    head = node.kind or "…"
    body = textwrap.wrap(node.text + count, WRAP)[:6] or [""]
    return [head, *body]


def svg(root: Node) -> str:
    """The tree drawn with crossflow's layered layout, causes red, disposals amber."""
    from ._layered import _n
    from ._svg import FONT, INK, MUTED, escape

    nodes = walk(root)
    index = {id(node): i for i, (node, _) in enumerate(nodes)}
    lines = [_lines(node) for node, _ in nodes]
    sizes = [(max(len(line) for line in ls) * 6.2 + 20, 10 + 14 * len(ls)) for ls in lines]
    edges = [
        Edge(index[id(node.parent)], index[id(node)], order=float(j))
        for node, _ in nodes
        if node.parent is not None
        for j in [node.parent.children.index(node)]
    ]
    placed = layout(sizes, edges)
    width = placed.width + 20
    height = placed.height + 20
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(width)}" height="{_n(height)}" '
        f'viewBox="0 0 {_n(width)} {_n(height)}" font-family="{FONT}" role="img" '
        'aria-label="cancellation">',
        "<title>cancellation</title>",
        f'<rect x="0" y="0" width="{_n(width)}" height="{_n(height)}" fill="#ffffff"/>',
    ]
    for route in placed.routes:
        route.translate(10, 10)
        out.append(
            f'<path class="cf-edge" d="{route.path()}" fill="none" stroke="#6b7580" '
            'stroke-width="1.2"/>'
        )
        x, y, _, _ = route.arrow
        out.append(
            f'<polygon points="{_n(x - 4)},{_n(y - 7)} {_n(x)},{_n(y)} {_n(x + 4)},{_n(y - 7)}" '
            'fill="#6b7580"/>'
        )
    for i, ((node, _), ls) in enumerate(zip(nodes, lines, strict=True)):
        x, y = placed.xs[i] + 10, placed.ys[i] + 10
        w, h = sizes[i]
        fill, stroke = COLOURS[node.role]
        out.append(
            f'<rect class="cf-cause" data-role="{node.role}" x="{_n(x)}" y="{_n(y)}" '
            f'width="{_n(w)}" height="{_n(h)}" rx="6" fill="{fill}" stroke="{stroke}" '
            'stroke-width="1.3"/>'
        )
        for j, line in enumerate(ls):
            weight = ' font-weight="bold"' if j == 0 else ""
            colour = INK if j == 0 else MUTED
            out.append(
                f'<text x="{_n(x + 10)}" y="{_n(y + 18 + 14 * j)}" font-size="10.5"{weight} '
                f'fill="{colour}" xml:space="preserve">{escape(line)}</text>'
            )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def mermaid(root: Node) -> str:
    """The tree as a Mermaid flowchart."""
    nodes = walk(root)
    index = {id(node): i for i, (node, _) in enumerate(nodes)}
    out = ["flowchart TB"]
    for i, (node, _) in enumerate(nodes):
        label = "<br/>".join(_mermaid.text(line) for line in _lines(node))
        out.append(f'    c{i}["{label}"]')
    for node, _ in nodes:
        if node.parent is not None:
            out.append(f"    c{index[id(node.parent)]} --> c{index[id(node)]}")
    for role, (fill, stroke) in COLOURS.items():
        members = [f"c{i}" for i, (node, _) in enumerate(nodes) if node.role == role]
        if members:
            out.append(f"    classDef cf_{role} fill:{fill},stroke:{stroke},color:#14202b")
            out.append(f"    class {','.join(members)} cf_{role}")
    return "\n".join(out) + "\n"
