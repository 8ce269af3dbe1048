"""What notebooks show: the mime bundles of workflows, sessions, cancellations and event
logs (`_repr_mimebundle_`, API §8).

Every bundle has `text/plain`, `image/svg+xml`, `text/html` (which holds the picture
inline, so a notebook that prefers HTML shows it too) and `text/vnd.mermaid`. Nothing
needs JavaScript or the network. Only the forms asked for (`include`, `exclude`) are
made, and none of them may raise: a picture that cannot be drawn is left out, so the
notebook falls back to the text.
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from datetime import datetime

from .._causes import Cancellation
from .._model import Graph
from .._text import counted
from ..events import Event
from . import _cause_tree, _html, _pictures, _timeline
from ._bundle import HTML, MERMAID, PLAIN, SVG, Makers, bundle
from ._progress import Progress, progress_html


def workflow(
    graph: Graph, plain: str, include: Container[str] | None, exclude: Container[str] | None
) -> dict[str, str]:
    """A workflow: its picture."""
    svg: list[str] = []

    def picture() -> str:
        if not svg:
            svg.append(_pictures.workflow_svg(graph))
        return svg[0]

    return bundle(
        {
            PLAIN: lambda: plain,
            SVG: picture,
            HTML: lambda: _html.picture(picture()),
            MERMAID: lambda: _pictures.workflow_mermaid(graph),
        },
        include,
        exclude,
    )


def run(
    graph: Graph | None,
    events: Sequence[Event] | None,
    *,
    plain: str,
    heading: str,
    state: str | None,
    started_at: datetime | None,
    cancellation: Cancellation | None,
    progress: Progress | None,
    include: Container[str] | None,
    exclude: Container[str] | None,
) -> dict[str, str]:
    """A session, or the `WorkflowCancelled` of a run: the picture with the run over it,
    the cancellation's tree, the event log and, while it runs, its progress."""
    svg: list[str] = []

    def picture() -> str:
        if not svg:
            assert graph is not None
            svg.append(_pictures.run_svg(graph, events, state))
        return svg[0]

    def page() -> str:
        parts = [_html.heading(heading)]
        if progress is not None and not progress.state.ended:
            parts.append(progress_html(progress))
        if graph is not None:
            parts.append(_html.picture(picture()))
        if cancellation is not None:
            parts.append(_html.cancellation_html(cancellation))
        if events is not None:
            count = len(events)
            parts.append(
                _html.details(
                    f"Event log ({counted(count, 'event')})",
                    _html.events_html(events, started_at),
                )
            )
        return "\n".join(parts)

    makers: Makers = {PLAIN: lambda: plain, HTML: page}
    if graph is not None:
        makers[SVG] = picture
        makers[MERMAID] = lambda: _pictures.run_mermaid(graph, events, state)
    return bundle(makers, include, exclude)


def cancellation(
    value: Cancellation, include: Container[str] | None, exclude: Container[str] | None
) -> dict[str, str]:
    """A cancellation: the tree of its causes and disposals."""
    tree: list[_cause_tree.Node] = []

    def root() -> _cause_tree.Node:
        if not tree:
            tree.append(_cause_tree.tree(value))
        return tree[0]

    return bundle(
        {
            PLAIN: lambda: str(value),
            SVG: lambda: _cause_tree.svg(root()),
            HTML: lambda: _html.cancellation_html(value),
            MERMAID: lambda: _cause_tree.mermaid(root()),
        },
        include,
        exclude,
    )


def event_log(
    events: Sequence[Event],
    started_at: datetime | None,
    include: Container[str] | None,
    exclude: Container[str] | None,
) -> dict[str, str]:
    """An event log: a table with relative times, and a timeline."""
    return bundle(
        {
            PLAIN: lambda: _html.events_text(events, started_at),
            SVG: lambda: _timeline.svg(events),
            HTML: lambda: (
                _html.events_html(events, started_at)
                + "\n"
                + _html.details("Timeline", _html.picture(_timeline.svg(events)), open_=True)
            ),
            MERMAID: lambda: _timeline.mermaid(events),
        },
        include,
        exclude,
    )
