"""Checks of the pictures shared by the picture tests: small parsers for the Mermaid and
DOT that crossflow writes, and the geometry of a laid-out picture."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import crossflow as cf
from crossflow._viz._frames import Frames
from crossflow._viz._layout import Arrow, Layout, lay_out

SVG_NS = "{http://www.w3.org/2000/svg}"

# ----------------------------------------------------------------------------- Mermaid

MERMAID_LABEL = r'"(?:[^"#<>&;|\\`]|#\d+;|<br/>)*"'  # entity codes for everything with a meaning
SHAPE_OPEN = r"(?:\(\[|\[\(|\{\{|\[/|\[\\|\[\[|\[|\(|>)"
SHAPE_CLOSE = r"(?:\]\)|\)\]|\}\}|\\\]|/\]|\]\]|\]|\))"
NODE = re.compile(rf"^\s*(n\d+){SHAPE_OPEN}({MERMAID_LABEL}){SHAPE_CLOSE}$")
SUBGRAPH = re.compile(rf"^\s*subgraph (s\d+)\[({MERMAID_LABEL})\]$")
EDGE = re.compile(rf"^\s*([ns]\d+) (-->|-\.->)(?:\|({MERMAID_LABEL})\|)? ([ns]\d+)$")
CLASSDEF = re.compile(r"^\s*classDef cf_\w+ [\w#:,.\- ]+$")
CLASS = re.compile(r"^\s*class ([ns]\d+(?:,[ns]\d+)*) cf_\w+$")


def check_mermaid(text: str) -> dict[str, str]:
    """Check that `text` is a Mermaid flowchart as crossflow writes them: every line one
    statement, subgraphs balanced, every label quoted and escaped, every edge between
    things defined. Returns the labels by identifier."""
    lines = text.splitlines()
    assert lines[0] == "flowchart TB", lines[0]
    labels: dict[str, str] = {}
    depth = 0
    edges: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line.strip() == "end":
            depth -= 1
            assert depth >= 0, "an `end` without its subgraph"
            continue
        if line.strip() == "direction TB":
            continue
        if m := SUBGRAPH.match(line):
            depth += 1
            labels[m[1]] = m[2]
            continue
        if m := NODE.match(line):
            assert m[1] not in labels, f"{m[1]} defined twice"
            labels[m[1]] = m[2]
            continue
        if m := EDGE.match(line):
            edges.append((m[1], m[4]))
            continue
        assert CLASSDEF.match(line) or CLASS.match(line), f"not a statement: {line!r}"
    assert depth == 0, "a subgraph is not closed"
    for a, b in edges:
        assert a in labels and b in labels, (a, b)
    return labels


def mermaid_text(label: str) -> str:
    """A label as Mermaid shows it: entity codes decoded."""
    return re.sub(r"#(\d+);", lambda m: chr(int(m[1])), label.strip('"'))


# ----------------------------------------------------------------------------- DOT

DOT_TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<id>[A-Za-z_][\w.]*|-?\d+(?:\.\d+)?)'
                       r"|(?P<op>->|[{}\[\];,=]))")  # fmt: skip


def dot_tokens(text: str) -> Iterator[tuple[str, str]]:
    at = 0
    text = text.rstrip()
    while at < len(text):
        m = DOT_TOKEN.match(text, at)
        assert m is not None, f"cannot read DOT at {text[at : at + 40]!r}"
        at = m.end()
        kind = m.lastgroup
        assert kind is not None
        yield kind, m[kind]


def dot_unquote(token: str) -> str:
    """A quoted DOT string's text: `\\n` is a line break, other escapes the character."""
    return re.sub(r"\\(.)", lambda m: "\n" if m[1] == "n" else m[1], token[1:-1])


def check_dot(text: str) -> dict[str, str]:
    """Parse `text` as the DOT crossflow writes (a digraph of attribute statements, node
    statements, edge statements and nested subgraphs); every edge must be between
    declared nodes. Returns each node's label by identifier."""
    tokens = list(dot_tokens(text))
    pos = 0

    def take(kind: str | None = None, value: str | None = None) -> str:
        nonlocal pos
        k, v = tokens[pos]
        assert kind is None or k == kind, (tokens[pos], kind, value)
        assert value is None or v == value, (tokens[pos], kind, value)
        pos += 1
        return v

    def attributes() -> dict[str, str]:
        found: dict[str, str] = {}
        take("op", "[")
        while tokens[pos] != ("op", "]"):
            key = take()
            take("op", "=")
            found[key] = take()
            if tokens[pos] == ("op", ","):
                take()
        take("op", "]")
        return found

    nodes: dict[str, str] = {}
    edges: list[tuple[str, str]] = []

    def block() -> None:
        take("op", "{")
        while tokens[pos] != ("op", "}"):
            k, v = tokens[pos]
            if (k, v) == ("id", "subgraph"):
                take()
                take("str")
                block()
                continue
            if k == "id" and v in ("graph", "node", "edge"):
                take()
                attributes()
                take("op", ";")
                continue
            if k == "id":  # key=value; inside a subgraph
                take()
                take("op", "=")
                take()
                take("op", ";")
                continue
            name = dot_unquote(take("str"))
            if tokens[pos] == ("op", "->"):
                take()
                target = dot_unquote(take("str"))
                edges.append((name, target))
                if tokens[pos] == ("op", "["):
                    attributes()
            else:
                found = attributes()
                nodes[name] = dot_unquote(found["label"])
            take("op", ";")
        take("op", "}")

    take("id", "digraph")
    take("str")
    block()
    assert pos == len(tokens), "text after the graph"
    for a, b in edges:
        assert a in nodes and b in nodes, (a, b)
    return nodes


# ----------------------------------------------------------------------------- SVG


def check_svg(text: str) -> ET.Element:
    """Parse the SVG as XML and check its root."""
    root = ET.fromstring(text)
    assert root.tag == f"{SVG_NS}svg"
    assert float(root.get("width", "0")) > 0 and float(root.get("height", "0")) > 0
    assert all(e.tag != f"{SVG_NS}script" for e in root.iter())
    return root


def inside(
    point: tuple[float, float], box: tuple[float, float, float, float], margin: float
) -> bool:
    """Whether `point` lies inside `box` (x, y, w, h), more than `margin` from its border."""
    x, y = point
    bx, by, bw, bh = box
    return bx + margin < x < bx + bw - margin and by + margin < y < by + bh - margin


def crossings(layout: Layout) -> list[str]:
    """Every place where an edge runs through a box it does not belong to: an operation's
    box other than its own two ends, or the box of a scope or cleanup workflow that is
    neither one of its ends nor a frame it is drawn in."""
    problems: list[str] = []
    frames = {f.frame.ident: f for f in layout.frames}
    for arrow in layout.arrows:
        points = arrow.route.points(24)
        own = _ancestors(arrow)
        for fbox in layout.frames:
            ident = fbox.frame.ident
            if ident in own or ident in (arrow.source, arrow.target):
                continue
            box = (fbox.x, fbox.y, fbox.w, fbox.h)
            if any(inside(p, box, 0.5) for p in points):
                problems.append(f"{arrow} crosses the box of {fbox.frame}")
        for box in layout.boxes:
            if box.ident in (arrow.source, arrow.target):
                continue
            rect = (box.x, box.y, box.w, box.h)
            if any(inside(p, rect, 0.5) for p in points):
                problems.append(f"{arrow} crosses {box}")
        frame = frames[arrow.frame.ident]
        rect = (frame.x, frame.y, frame.w, frame.h)
        if not all(inside(p, rect, -0.5) for p in points):
            problems.append(f"{arrow} leaves its frame {arrow.frame}")
    return problems


def overlaps(layout: Layout) -> list[str]:
    """Boxes that overlap each other, or stick out of the frame they are drawn in."""
    problems: list[str] = []
    frames = {f.frame.ident: f for f in layout.frames}
    rects = [(b.x, b.y, b.w, b.h, repr(b), b.frame.ident) for b in layout.boxes]
    rects += [
        (f.x, f.y, f.w, f.h, repr(f), f.frame.parent.ident)
        for f in layout.frames
        if f.frame.parent is not None
    ]
    for x, y, w, h, name, parent in rects:
        p = frames[parent]
        if not (p.x <= x and p.y <= y and x + w <= p.x + p.w and y + h <= p.y + p.h):
            problems.append(f"{name} sticks out of {p}")
    by_frame: dict[str, list[tuple[float, float, float, float, str, str]]] = {}
    for r in rects:
        by_frame.setdefault(r[5], []).append(r)
    for members in by_frame.values():
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                if (
                    a[0] < b[0] + b[2]
                    and b[0] < a[0] + a[2]
                    and a[1] < b[1] + b[3]
                    and b[1] < a[1] + a[3]
                ):
                    problems.append(f"{a[4]} overlaps {b[4]}")
    return problems


def _ancestors(arrow: Arrow) -> set[str]:
    out = set()
    frame = arrow.frame
    while frame is not None:
        out.add(frame.ident)
        frame = frame.parent
    return out


def layout_of(workflow: cf.Workflow[object, object]) -> Layout:
    return lay_out(Frames(workflow.graph))


def all_operations(graph: cf.Graph) -> list[cf.Operation]:
    return [op for _, g in graph.walk() for op in g.operations]
