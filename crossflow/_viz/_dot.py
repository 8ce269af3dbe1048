"""`workflow.to_dot()`: the workflow in Graphviz's DOT language (API §8).

Nested scopes and cleanup workflows are clusters; an edge into a nested scope ends at the
cluster's border (`lhead`), one out of it starts there (`ltail`), so the graph needs
`compound=true`, which it sets. Ports other than a single `out` label their edges;
buffer connections are dashed. Every identifier and label is a quoted string with `"`
and `\\` escaped, so no name can break the file or be read as an escape sequence.
Rendering it needs Graphviz; crossflow itself never calls it.
"""

from __future__ import annotations

from .._model import Graph, Operation
from . import _frames, _labels
from ._frames import Frame, Frames
from ._mermaid import Annotate, FrameNote

SHAPES: dict[str, str] = {
    "terminal": 'shape=oval, fillcolor="#e8f1fb", color="#1f5a96"',
    "node": 'shape=box, style="rounded,filled", fillcolor="#ffffff", color="#3a4a5c"',
    "scope": 'shape=box3d, fillcolor="#f4f6f8", color="#3a4a5c"',
    "stream": 'shape=cds, fillcolor="#eef7ee", color="#2f7a3b"',
    "flow": 'shape=hexagon, fillcolor="#f1f2f4", color="#5c6670"',
    "filter": 'shape=trapezium, fillcolor="#fff5e0", color="#a86b00"',
    "cancel": 'shape=octagon, fillcolor="#fdecea", color="#b3261e"',
    "buffer": 'shape=cylinder, fillcolor="#f3ecfb", color="#6a3fa0"',
    "buffer_op": 'shape=invtrapezium, fillcolor="#f8f4fd", color="#6a3fa0"',
    "delay": 'shape=box, style="rounded,dashed,filled", fillcolor="#ffffff", color="#3a4a5c"',
}

RUN: dict[str, str] = {
    "ran": 'fillcolor="#e3f4e5", color="#2f7a3b", penwidth=2',
    "reached": 'fillcolor="#f1f9f2", color="#2f7a3b"',
    "running": 'fillcolor="#e3eefb", color="#1f5a96", penwidth=2',
    "disposed": 'fillcolor="#fff1d6", color="#b86e00", penwidth=2',
    "failed": 'fillcolor="#fdecea", color="#b3261e", penwidth=3',
    "origin": 'fillcolor="#fdecea", color="#b3261e", penwidth=3',
    "unreached": 'fillcolor="#f6f6f6", color="#9aa3ad", fontcolor="#6b7580", style="dashed,filled"',
}


def quote(value: str) -> str:
    """`value` as a DOT quoted string: `\\` and `"` escaped, lines joined by `\\n`."""
    value = _labels.safe_text(value)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _label(lines: list[str]) -> str:
    # each line escaped on its own, then joined with DOT's own line break
    return '"' + "\\n".join(quote(line)[1:-1] for line in lines if line) + '"'


def to_dot(
    graph: Graph, annotate: Annotate | None = None, frame_note: FrameNote | None = None
) -> str:
    """The DOT digraph of `graph`; `annotate` and `frame_note` add a run's state."""
    frames = Frames(graph)
    out = [
        f"digraph {quote(graph.name)} {{",
        '    graph [compound=true, rankdir=TB, fontname="Helvetica", fontsize=11, '
        "labeljust=l, nodesep=0.3, ranksep=0.35];",
        '    node [fontname="Helvetica", fontsize=10, style=filled, margin="0.12,0.04"];',
        '    edge [fontname="Helvetica", fontsize=9, color="#3a4a5c", arrowsize=0.7];',
    ]
    edges: list[str] = []

    def head(frame: Frame, op: Operation) -> tuple[str, str]:
        """Where an edge into `op` ends: the node, or the start inside its cluster."""
        body = frames.body(frame, op)
        if body is None:
            return frames.node(frame, op), ""
        return frames.node(body, body.graph.start), f"lhead={quote('cluster_' + body.ident)}"

    def tail(frame: Frame, op: Operation) -> tuple[str, str]:
        body = frames.body(frame, op)
        if body is None:
            return frames.node(frame, op), ""
        return frames.node(body, body.graph.terminate), f"ltail={quote('cluster_' + body.ident)}"

    stack: list[tuple[Frame, int]] = [(frames.root, 0)]
    while stack:
        frame, state = stack.pop()
        indent = "    " * (len(frame.key) + 1)
        if state == 1:
            out.append(indent + "}")
            continue
        title = [_frames.title(frame), _frames.detail(frame)]
        note = frame_note(frame) if frame_note is not None else None
        if note:
            title.append(note)
        style = '"rounded,dashed"' if frame.cleanup is not None else '"rounded"'
        out.append(f"{indent}subgraph {quote('cluster_' + frame.ident)} {{")
        out.append(f'{indent}    label={_label(title)}; style={style}; color="#5c6670";')
        children = {id(child.op) for child in frame.children if child.op is not None}
        for op in frame.graph.operations:
            if id(op) in children:
                continue
            family = "scope" if op.kind == "scope" else _labels.FAMILY[op.kind]
            lines = [_labels.name(op)]
            if op.kind not in ("start", "terminate"):
                lines.append(_labels.detail(op))
            attributes = SHAPES[family]
            if annotate is not None:
                extra, run = annotate(frame, op)
                lines.extend(extra)
                if run is not None:
                    attributes += ", " + RUN[run]
            ident = quote(frames.node(frame, op))
            out.append(f"{indent}    {ident} [label={_label(lines)}, {attributes}];")
        for connection in frame.graph.connections:
            source, ltail = tail(frame, connection.source)
            target, lhead = head(frame, connection.target)
            edge = [a for a in (ltail, lhead) if a]
            label = _labels.port_label(connection)
            if label is not None:
                edge.append(f"label={quote(label)}")
            if connection.kind == "buffer":
                edge.append('style=dashed, color="#6a3fa0", arrowhead=empty')
            shown = f" [{', '.join(edge)}]" if edge else ""
            edges.append(f"    {quote(source)} -> {quote(target)}{shown};")
        for child in frame.children:
            if child.cleanup is None:
                continue
            start = frames.node(child, child.graph.start)
            for buffer in child.cleanup.buffers:
                if buffer in frame.graph:
                    source = frames.node(frame, frame.graph[buffer])
                    edges.append(
                        f"    {quote(source)} -> {quote(start)} [lhead="
                        f'{quote("cluster_" + child.ident)}, label="keys", style=dotted, '
                        'color="#6a3fa0", arrowhead=empty];'
                    )
        stack.append((frame, 1))
        for child in reversed(frame.children):
            stack.append((child, 0))
    out.extend(edges)
    out.append("}")
    return "\n".join(out) + "\n"
