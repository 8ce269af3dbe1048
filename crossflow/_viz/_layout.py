"""Where everything of a workflow's picture goes: boxes, nested scopes, cleanups, edges.

Each frame (the workflow, a nested scope, a cleanup workflow: see `_frames`) is laid out
on its own, innermost first, with the layered layout of `_layered`: a nested scope is one
big box of its parent's layout, with its own picture inside. Cleanup workflows are dashed
boxes whose title says when they run and which buffers they get keys to: one that gets
keys is laid out with the body of its scope, a "keys" edge leading to it from each of
those buffers (as in Mermaid and DOT); the others sit in a row under the body. An edge
is laid out in the frame of its connection, so it never leaves that frame, and since no
edge crosses a box, none crosses the box of a scope it does not belong to.

A run overlay (`Overlay`) adds lines and a state to operations and frames; the layout
makes room for them.
"""

from __future__ import annotations

from typing import Literal, Protocol, TypeAlias

import attrs

from .._model import Connection, Operation
from . import _frames, _labels
from ._frames import Frame, Frames
from ._layered import Edge, Route, layout

NAME_SIZE = 12.0
SMALL_SIZE = 10.0
CHAR = 0.61  # the advance of a monospaced character, in font sizes (0.6 and a margin)
NAME_LINE = 15.0
SMALL_LINE = 13.0
PAD = 12.0
MARGIN = 10.0
PILL_HEIGHT = 24.0

Status: TypeAlias = Literal[
    "ran", "reached", "running", "disposed", "failed", "origin", "unreached"
]


def text_width(text: str, size: float) -> float:
    """The width of `text` in the pictures' monospaced font at `size`."""
    return len(text) * size * CHAR


@attrs.frozen
class Mark:
    """What a run overlay says about an operation or a frame.

    Attributes:
        lines: extra lines shown in its box.
        status: how it is coloured.
        tooltip: the full story, shown on hover.
        numbers: numbered markers (the disposals that made a scope unreachable).
    """

    lines: tuple[str, ...] = ()
    status: Status | None = None
    tooltip: str = ""
    numbers: tuple[int, ...] = ()


class Overlay(Protocol):
    """What a run adds to a picture (see `_trace.Trace`)."""

    def operation(self, frame: Frame, op: Operation) -> Mark | None: ...

    def frame(self, frame: Frame) -> Mark | None: ...

    def travelled(self, frame: Frame, connection: Connection) -> bool | None: ...


class Box:
    """An operation drawn as a box (a scope drawn in full is a `FrameBox` instead)."""

    __slots__ = ("family", "frame", "h", "ident", "lines", "mark", "op", "w", "x", "y")

    def __init__(
        self, ident: str, frame: Frame, op: Operation, lines: list[tuple[str, str]],
        mark: Mark | None, w: float, h: float,
    ) -> None:  # fmt: skip
        self.ident = ident
        self.frame = frame
        self.op = op
        self.family = "scope" if op.kind == "scope" else _labels.FAMILY[op.kind]
        self.lines = lines  # (text, role): role "name", "detail" or "note"
        self.mark = mark
        self.x = 0.0
        self.y = 0.0
        self.w = w
        self.h = h

    def __repr__(self) -> str:
        return f"<Box {self.op.name!r} at ({self.x:.0f}, {self.y:.0f}) {self.w:.0f}x{self.h:.0f}>"


class FrameBox:
    """The box of a frame: the workflow, a nested scope drawn in full, a cleanup workflow."""

    __slots__ = ("frame", "h", "header", "lines", "mark", "w", "x", "y")

    def __init__(self, frame: Frame) -> None:
        self.frame = frame
        self.lines: list[tuple[str, str]] = []
        self.mark: Mark | None = None
        self.x = 0.0
        self.y = 0.0
        self.w = 0.0
        self.h = 0.0
        self.header = 0.0

    def __repr__(self) -> str:
        where = f"({self.x:.0f}, {self.y:.0f}) {self.w:.0f}x{self.h:.0f}"
        return f"<FrameBox {self.frame.ident} at {where}>"


class Arrow:
    """A connection drawn: its route, label and whether the run travelled it."""

    __slots__ = ("connection", "frame", "label", "route", "source", "target", "travelled")

    def __init__(
        self, frame: Frame, connection: Connection, route: Route, source: str, target: str,
        label: str | None, travelled: bool | None,
    ) -> None:  # fmt: skip
        self.frame = frame
        self.connection = connection
        self.route = route
        self.source = source  # the identifier of the box it leaves (a node or a frame)
        self.target = target
        self.label = label
        self.travelled = travelled

    @property
    def kind(self) -> str:
        return self.connection.kind

    def __repr__(self) -> str:
        return f"<Arrow {self.source} -> {self.target}>"


class Layout:
    """A workflow's picture, laid out: every box, frame and arrow, in absolute coordinates."""

    __slots__ = ("arrows", "boxes", "frames", "height", "width")

    def __init__(self) -> None:
        self.boxes: list[Box] = []
        self.frames: list[FrameBox] = []
        self.arrows: list[Arrow] = []
        self.width = 0.0
        self.height = 0.0

    def __repr__(self) -> str:
        return (
            f"<Layout {self.width:.0f}x{self.height:.0f}: {len(self.boxes)} boxes, "
            f"{len(self.frames)} frames, {len(self.arrows)} arrows>"
        )


def _box_lines(op: Operation, mark: Mark | None, collapsed: bool) -> list[tuple[str, str]]:
    lines = [(_labels.name(op), "name")]
    if op.kind not in ("start", "terminate"):
        detail = _labels.detail(op)
        if collapsed:
            detail = _labels.clip(detail + " (drawn above)", _labels.MAX_DETAIL + 14)
        lines.append((detail, "detail"))
    if mark is not None:
        lines.extend((line, "note") for line in mark.lines)
    return lines


def _size(lines: list[tuple[str, str]], pill: bool) -> tuple[float, float]:
    widths = [text_width(t, NAME_SIZE if r == "name" else SMALL_SIZE) for t, r in lines]
    if pill and len(lines) == 1:
        return max(widths) + 28.0, PILL_HEIGHT
    return max(widths) + 20.0, 12.0 + NAME_LINE + SMALL_LINE * (len(lines) - 1)


def lay_out(frames: Frames, overlay: Overlay | None = None) -> Layout:
    """Lay out every frame of `frames`, innermost first, then place them all."""
    result = Layout()
    boxes_of: dict[str, list[Box]] = {}  # frame ident -> its operation boxes (local)
    arrows_of: dict[str, list[Arrow]] = {}
    children_at: dict[str, list[tuple[Frame, float, float]]] = {}  # local offsets
    frame_boxes: dict[str, FrameBox] = {}

    for frame in reversed(frames.all):
        fbox = FrameBox(frame)
        frame_boxes[frame.ident] = fbox
        fbox.mark = overlay.frame(frame) if overlay is not None else None
        fbox.lines = [(_frames.title(frame), "name"), (_frames.detail(frame), "detail")]
        if fbox.mark is not None:
            fbox.lines.extend((line, "note") for line in fbox.mark.lines)

        graph = frame.graph
        ops = graph.operations
        index = {id(op): i for i, op in enumerate(ops)}
        children = {id(child.op): child for child in frame.children if child.op is not None}
        # a cleanup workflow that gets keys to buffers of this frame is laid out with its
        # body, under those buffers, with a "keys" edge from each; the others sit in a row
        # under the body
        keyed: list[Frame] = []
        cleanup_children: list[Frame] = []
        connections = list(graph.connections)
        for sub in frame.children:
            if sub.cleanup is None:
                continue
            buffers = [graph[b] for b in sub.cleanup.buffers if b in graph]
            if not buffers:
                cleanup_children.append(sub)
                continue
            keyed.append(sub)
            index[id(sub.graph.start)] = len(ops) + len(keyed) - 1
            for buffer in buffers:
                connections.append(Connection(buffer, "keys", sub.graph.start, "buffer"))
        total = len(ops) + len(keyed)
        labels: list[str | None] = []
        edges: list[Edge] = []
        for c in connections:
            label = _labels.port_label(c)
            labels.append(label)
            source = c.source
            order = (
                source.ports.index(c.port)
                if c.kind == "message" and c.port in source.ports
                else len(source.ports) + 1
            )
            edges.append(
                Edge(
                    index[id(source)],
                    index[id(c.target)],
                    order=float(order),
                    label_width=0.0 if label is None else text_width(label, SMALL_SIZE) + 2,
                    weight=1.0 if c.kind == "message" else 0.5,
                )
            )
        exits = [0] * total
        widest = [0.0] * total
        entries = [0] * total
        for e in edges:
            exits[e.source] += 1
            widest[e.source] = max(widest[e.source], e.label_width)
            entries[e.target] += 1
        sizes: list[tuple[float, float]] = []
        local: list[Box | None] = []
        for i, op in enumerate(ops):
            child = children.get(id(op))
            if child is not None:
                cbox = frame_boxes[child.ident]
                sizes.append((cbox.w, cbox.h))
                local.append(None)
                continue
            mark = overlay.operation(frame, op) if overlay is not None else None
            lines = _box_lines(op, mark, id(op) in frame.collapsed)
            w, h = _size(lines, op.kind in ("start", "terminate"))
            if op.kind == "buffer":
                h += 4.0  # the top of the cylinder
            # exits are spread evenly along the bottom, each label right of its edge
            w = max(w, (exits[i] + 1) * (widest[i] + 10.0), 10.0 * (entries[i] + 1))
            box = Box(frames.node(frame, op), frame, op, lines, mark, w, h)
            sizes.append((w, h))
            local.append(box)
        sizes.extend((frame_boxes[k.ident].w, frame_boxes[k.ident].h) for k in keyed)
        placed = layout(sizes, edges, first=0)

        header_w = max(
            text_width(t, NAME_SIZE if r == "name" else SMALL_SIZE) for t, r in fbox.lines
        )
        fbox.header = 10.0 + NAME_LINE + SMALL_LINE * (len(fbox.lines) - 1) + 4.0
        row_w = sum(frame_boxes[c.ident].w for c in cleanup_children)
        row_w += 16.0 * max(len(cleanup_children) - 1, 0)
        row_h = max((frame_boxes[c.ident].h for c in cleanup_children), default=0.0)
        inner_w = max(placed.width, row_w, header_w)
        fbox.w = inner_w + 2 * PAD
        body_x = PAD + (inner_w - placed.width) / 2
        body_y = fbox.header + 6.0
        fbox.h = body_y + placed.height + PAD
        if cleanup_children:
            fbox.h += 18.0 + row_h
        placements: list[tuple[Frame, float, float]] = []
        boxes: list[Box] = []
        for i, op in enumerate(ops):
            x, y = placed.xs[i] + body_x, placed.ys[i] + body_y
            drawn = local[i]
            if drawn is None:
                placements.append((children[id(op)], x, y))
            else:
                drawn.x, drawn.y = x, y
                boxes.append(drawn)
        for k, sub in enumerate(keyed, start=len(ops)):
            placements.append((sub, placed.xs[k] + body_x, placed.ys[k] + body_y))
        row_x = PAD + (inner_w - row_w) / 2
        row_y = body_y + placed.height + 18.0
        for cleanup in cleanup_children:
            placements.append((cleanup, row_x, row_y))
            row_x += frame_boxes[cleanup.ident].w + 16.0
        arrows: list[Arrow] = []
        keys_to = {id(sub.graph.start): sub for sub in keyed}
        for c, route, label in zip(connections, placed.routes, labels, strict=True):
            route.translate(body_x, body_y)
            keys_to_cleanup = keys_to.get(id(c.target)) if c.port == "keys" else None
            if keys_to_cleanup is not None:
                # the keys are handed over only if the cleanup workflow runs
                mark = frame_boxes[keys_to_cleanup.ident].mark
                travelled = False if mark is not None and mark.status == "unreached" else None
                target = keys_to_cleanup.ident
            else:
                travelled = overlay.travelled(frame, c) if overlay is not None else None
                target = _ident(frames, frame, c.target)
            arrows.append(
                Arrow(frame, c, route, _ident(frames, frame, c.source), target, label, travelled)
            )
        boxes_of[frame.ident] = boxes
        arrows_of[frame.ident] = arrows
        children_at[frame.ident] = placements

    # place everything: offsets from the root down
    offsets: dict[str, tuple[float, float]] = {frames.root.ident: (MARGIN, MARGIN)}
    for frame in frames.all:
        ox, oy = offsets[frame.ident]
        fbox = frame_boxes[frame.ident]
        fbox.x, fbox.y = ox, oy
        result.frames.append(fbox)
        for child, x, y in children_at[frame.ident]:
            offsets[child.ident] = (ox + x, oy + y)
        for box in boxes_of[frame.ident]:
            box.x += ox
            box.y += oy
            result.boxes.append(box)
        for arrow in arrows_of[frame.ident]:
            arrow.route.translate(ox, oy)
            result.arrows.append(arrow)
    root = frame_boxes[frames.root.ident]
    result.width = root.w + 2 * MARGIN
    result.height = root.h + 2 * MARGIN
    return result


def _ident(frames: Frames, frame: Frame, op: Operation) -> str:
    body = frames.body(frame, op)
    return body.ident if body is not None else frames.node(frame, op)
