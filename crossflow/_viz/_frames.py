"""The boxes of a picture: the workflow, each nested scope and each cleanup workflow.

A picture draws the workflow's graph as a box, and inside it the graph of every nested
scope (the `body` of a scope operation) and of every cleanup workflow, as boxes of their
own, to any depth. A workflow used as a node in several places is drawn in full the
first time and as a single box naming it after that, so a picture stays as large as
the workflow, not as large as its expansion.

Every frame has a key that says where it is, from the root: a scope operation's name,
or for a cleanup workflow its index among the cleanups of its scope. Run traces use the
same keys.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

from .._model import CleanupWorkflow, Graph, Operation
from . import _labels

Key: TypeAlias = tuple[str | int, ...]
"""Where a frame is: () for the workflow, then a scope operation's name or a cleanup's index."""


class Frame:
    """One box of the picture and the graph drawn in it."""

    __slots__ = ("children", "cleanup", "collapsed", "graph", "ident", "key", "op", "parent")

    def __init__(
        self,
        key: Key,
        graph: Graph,
        ident: str,
        op: Operation | None = None,
        cleanup: CleanupWorkflow | None = None,
        parent: Frame | None = None,
    ) -> None:
        self.key = key
        self.graph = graph
        self.ident = ident
        self.op = op
        self.cleanup = cleanup
        self.parent = parent
        self.children: list[Frame] = []
        self.collapsed: set[int] = set()  # ids of scope operations drawn as a single box

    @property
    def kind(self) -> Literal["workflow", "scope", "cleanup"]:
        if self.cleanup is not None:
            return "cleanup"
        return "scope" if self.op is not None else "workflow"

    def __repr__(self) -> str:
        return f"<Frame {self.ident} {self.kind} {self.graph.name!r} at {self.key!r}>"


class Frames:
    """Every frame of a picture, parents first, with an identifier for every operation."""

    __slots__ = ("all", "by_op", "ids", "root")

    def __init__(self, graph: Graph) -> None:
        self.root = Frame((), graph, "s0")
        self.all: list[Frame] = [self.root]
        self.ids: dict[tuple[int, int], str] = {}  # (id(frame), id(op)) -> node identifier
        self.by_op: dict[tuple[int, int], Frame] = {}  # (id(frame), id(scope op)) -> its frame
        drawn: set[int] = {id(graph)}
        count = 0
        stack = [self.root]
        while stack:
            frame = stack.pop()
            nested: list[Frame] = []
            for op in frame.graph.operations:
                self.ids[(id(frame), id(op))] = f"n{count}"
                count += 1
                body = op.body
                if body is None:
                    continue
                if id(body) in drawn:
                    frame.collapsed.add(id(op))
                    continue
                drawn.add(id(body))
                child = Frame((*frame.key, op.name), body, "", op=op, parent=frame)
                nested.append(child)
                self.by_op[(id(frame), id(op))] = child
            for index, cleanup in enumerate(frame.graph.cleanups):
                if id(cleanup.body) in drawn:
                    continue  # a cleanup body is never shared; guards against a cycle
                drawn.add(id(cleanup.body))
                nested.append(
                    Frame((*frame.key, index), cleanup.body, "", cleanup=cleanup, parent=frame)
                )
            for child in nested:
                child.ident = f"s{len(self.all)}"
                self.all.append(child)
            frame.children = nested
            stack.extend(reversed(nested))
        self.all.sort(key=lambda f: int(f.ident[1:]))

    def node(self, frame: Frame, op: Operation) -> str:
        """The identifier of `op` drawn in `frame`."""
        return self.ids[(id(frame), id(op))]

    def body(self, frame: Frame, op: Operation) -> Frame | None:
        """The frame that draws the body of scope operation `op`, unless it is collapsed."""
        return self.by_op.get((id(frame), id(op)))

    def __repr__(self) -> str:
        return f"<Frames of {self.root.graph.name!r}: {len(self.all)} frames>"


def title(frame: Frame) -> str:
    """The first line of a frame: the workflow's or scope's name, or `on_cancel`..."""
    if frame.cleanup is not None:
        return _labels.cleanup_title(frame.cleanup)
    if frame.op is not None:
        return _labels.name(frame.op)
    return _labels.clip(_labels.safe_text(frame.graph.name), _labels.MAX_NAME)


def detail(frame: Frame) -> str:
    """The second line of a frame: what it is, or when a cleanup workflow runs."""
    if frame.cleanup is not None:
        return _labels.cleanup_detail(frame.cleanup)
    if frame.op is not None:
        return _labels.detail(frame.op)
    streams = tuple(frame.graph.streams)
    shown = _labels.clip(_labels.safe_text(", ".join(streams)), _labels.MAX_DETAIL)
    return "workflow" + (f" · streams {shown}" if streams else "")
