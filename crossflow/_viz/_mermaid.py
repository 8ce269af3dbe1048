"""`workflow.to_mermaid()`: the workflow as a Mermaid flowchart (API §8).

Nested scopes and cleanup workflows are subgraphs; an edge into or out of a nested scope
meets its subgraph. Ports other than a single `out` label their edges; buffer
connections (pushes, gates, joins, listeners, keys) are dotted. Every name is written
as a quoted label with Mermaid's entity codes for anything but letters, digits and a
few safe signs, so no name can break the chart. Identifiers are generated (`n0`,
`s1`, ...), in the order of the graph: the same workflow always gives the same text.
"""

from __future__ import annotations

from collections.abc import Callable

from .._model import Graph, Operation
from . import _frames, _labels
from ._frames import Frame, Frames

_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _.,:/@+-=?*'()[]")


def _safe(ch: str) -> bool:
    # letters and signs beyond ASCII are safe inside quotes; only ASCII signs have meaning
    return ch in _SAFE or (ord(ch) > 0x7F and ch.isprintable())


SHAPES: dict[str, tuple[str, str]] = {
    "terminal": ('(["', '"])'),
    "node": ('["', '"]'),
    "stream": ('>"', '"]'),
    "flow": ('{{"', '"}}'),
    "filter": ('[/"', '"\\]'),
    "cancel": ('[["', '"]]'),
    "buffer": ('[("', '")]'),
    "buffer_op": ('[\\"', '"/]'),
    "delay": ('("', '")'),
    "scope": ('[["', '"]]'),
}
"""Opening and closing of each family's node shape (a collapsed scope is a subroutine)."""

CLASSES: dict[str, str] = {
    "terminal": "fill:#e8f1fb,stroke:#1f5a96,color:#10314f",
    "node": "fill:#ffffff,stroke:#3a4a5c,color:#14202b",
    "scope": "fill:#f4f6f8,stroke:#3a4a5c,color:#14202b",
    "stream": "fill:#eef7ee,stroke:#2f7a3b,color:#163d1c",
    "flow": "fill:#f1f2f4,stroke:#5c6670,color:#1d242b",
    "filter": "fill:#fff5e0,stroke:#a86b00,color:#4a3000",
    "cancel": "fill:#fdecea,stroke:#b3261e,color:#5c0f0a",
    "buffer": "fill:#f3ecfb,stroke:#6a3fa0,color:#2e1650",
    "buffer_op": "fill:#f8f4fd,stroke:#6a3fa0,color:#2e1650",
    "delay": "fill:#ffffff,stroke:#3a4a5c,color:#14202b,stroke-dasharray:4 3",
}

RUN_CLASSES: dict[str, str] = {
    "ran": "fill:#e3f4e5,stroke:#2f7a3b,stroke-width:2px",
    "reached": "fill:#f1f9f2,stroke:#2f7a3b",
    "running": "fill:#e3eefb,stroke:#1f5a96,stroke-width:2px",
    "disposed": "fill:#fff1d6,stroke:#b86e00,stroke-width:2px",
    "failed": "fill:#fdecea,stroke:#b3261e,stroke-width:3px",
    "origin": "fill:#fdecea,stroke:#b3261e,stroke-width:3px",
    "unreached": "fill:#f6f6f6,stroke:#9aa3ad,color:#6b7580,stroke-dasharray:3 3",
}


def text(value: str) -> str:
    """`value` as the inside of a quoted Mermaid label: entity codes for everything unsafe."""
    value = _labels.safe_text(value)
    if all(_safe(ch) for ch in value):
        return value
    return "".join(ch if _safe(ch) else f"#{ord(ch)};" for ch in value)


def _label(lines: list[str]) -> str:
    return "<br/>".join(text(line) for line in lines if line)


Annotate = Callable[[Frame, Operation], tuple[list[str], str | None]]
"""Extra lines and a run class for an operation (the run overlay), or none."""

FrameNote = Callable[[Frame], str | None]


def to_mermaid(
    graph: Graph, annotate: Annotate | None = None, frame_note: FrameNote | None = None
) -> str:
    """The Mermaid flowchart of `graph`; `annotate` and `frame_note` add a run's state."""
    frames = Frames(graph)
    out: list[str] = ["flowchart TB"]
    classes: dict[str, list[str]] = {}
    run_classes: dict[str, list[str]] = {}
    edges: list[str] = []

    # an edge into or out of a scope operation meets its subgraph
    def endpoint(frame: Frame, op: Operation) -> str:
        body = frames.body(frame, op)
        return body.ident if body is not None else frames.node(frame, op)

    stack: list[tuple[Frame, int]] = [(frames.root, 0)]
    while stack:
        frame, state = stack.pop()
        indent = "    " * (frame.key.__len__() + 1)
        if state == 1:
            out.append(indent + "end")
            continue
        title = [_frames.title(frame)]
        title.append(_frames.detail(frame))
        note = frame_note(frame) if frame_note is not None else None
        if note:
            title.append(note)
        out.append(f'{indent}subgraph {frame.ident}["{_label(title)}"]')
        out.append(f"{indent}    direction TB")
        children = {id(child.op): child for child in frame.children if child.op is not None}
        for op in frame.graph.operations:
            if id(op) in children:
                continue
            ident = frames.node(frame, op)
            family = "scope" if op.kind == "scope" else _labels.FAMILY[op.kind]
            lines = [_labels.name(op)]
            if op.kind not in ("start", "terminate"):
                lines.append(_labels.detail(op))
            run = None
            if annotate is not None:
                extra, run = annotate(frame, op)
                lines.extend(extra)
            opening, closing = SHAPES[family]
            out.append(f"{indent}    {ident}{opening}{_label(lines)}{closing}")
            classes.setdefault(family, []).append(ident)
            if run is not None:
                run_classes.setdefault(run, []).append(ident)
        for connection in frame.graph.connections:
            source = endpoint(frame, connection.source)
            target = endpoint(frame, connection.target)
            arrow = "-->" if connection.kind == "message" else "-.->"
            label = _labels.port_label(connection)
            shown = f'|"{text(label)}"|' if label is not None else ""
            edges.append(f"    {source} {arrow}{shown} {target}")
        for child in frame.children:
            if child.cleanup is not None:
                for buffer in child.cleanup.buffers:
                    if buffer in frame.graph:
                        source = frames.node(frame, frame.graph[buffer])
                        edges.append(f'    {source} -.->|"keys"| {child.ident}')
        stack.append((frame, 1))
        # children are emitted inside this subgraph, in order
        for child in reversed(frame.children):
            stack.append((child, 0))
    out.extend(edges)
    for styles, used in ((CLASSES, classes), (RUN_CLASSES, run_classes)):
        for name, style in styles.items():
            if name in used:
                out.append(f"    classDef cf_{name} {style}")
                out.append(f"    class {','.join(used[name])} cf_{name}")
    return "\n".join(out) + "\n"
