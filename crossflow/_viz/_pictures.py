"""The pictures of a workflow and of a run: what `to_mermaid`, `to_dot` and `to_svg` return."""

from __future__ import annotations

from collections.abc import Sequence

from .._model import Graph
from ..events import Event
from . import _dot, _mermaid, _svg
from ._frames import Frames
from ._layout import lay_out
from ._trace import Trace


def workflow_mermaid(graph: Graph) -> str:
    """`wf.to_mermaid()`."""
    return _mermaid.to_mermaid(graph)


def workflow_dot(graph: Graph) -> str:
    """`wf.to_dot()`."""
    return _dot.to_dot(graph)


def workflow_svg(graph: Graph) -> str:
    """`wf.to_svg()`."""
    frames = Frames(graph)
    return _svg.render(lay_out(frames), title=f"workflow {graph.name}")


def run_svg(graph: Graph, events: Sequence[Event] | None, state: str | None = None) -> str:
    """The picture of `graph` with what the run of `events` did drawn over it."""
    frames = Frames(graph)
    trace = Trace(frames, events or (), recorded=events is not None, state=state)
    layout = lay_out(frames, trace)
    return _svg.render(
        layout, title=trace.title(), caption=trace.caption(), statuses=trace.statuses()
    )


def run_mermaid(graph: Graph, events: Sequence[Event] | None, state: str | None = None) -> str:
    """The Mermaid chart of `graph` with the run's state of every operation."""
    frames = Frames(graph)
    trace = Trace(frames, events or (), recorded=events is not None, state=state)
    return _mermaid.to_mermaid(graph, trace.annotate, trace.frame_note)
