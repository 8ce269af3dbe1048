"""What notebooks show: the mime bundles of workflows, sessions, cancellations and event
logs (`_repr_mimebundle_`, API §8).

Every bundle has `text/plain`, `image/svg+xml`, `text/html` (which holds the picture
inline, so a notebook that prefers HTML shows it too) and `text/vnd.mermaid`. Nothing
needs JavaScript or the network. Only the forms asked for (`include`, `exclude`) are
made, and none of them may raise: a picture that cannot be drawn is left out, so the
notebook falls back to the text.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Container, Sequence
from datetime import datetime

from .._causes import Cancellation
from .._errors import CrossflowWarning
from .._model import Graph
from ..events import Event
from . import _cause_tree, _html, _pictures, _timeline
from ._progress import Progress

PLAIN = "text/plain"
SVG = "image/svg+xml"
HTML = "text/html"
MERMAID = "text/vnd.mermaid"

Makers = dict[str, Callable[[], str]]


def bundle(
    makers: Makers, include: Container[str] | None, exclude: Container[str] | None
) -> dict[str, str]:
    """The forms asked for; a form that fails is left out with a warning, never raised."""
    out: dict[str, str] = {}
    for mime, make in makers.items():
        if include is not None and mime not in include:
            continue
        if exclude is not None and mime in exclude:
            continue
        try:
            out[mime] = make()
        except Exception as error:
            if mime == PLAIN:
                raise
            warnings.warn(
                f"crossflow could not make the {mime} form of this object for the notebook "
                f"({type(error).__name__}: {error}); the other forms are shown",
                CrossflowWarning,
                stacklevel=3,
            )
    return out


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
                    f"Event log ({count} event{'s' if count != 1 else ''})",
                    _html.events_html(events, started_at),
                )
            )
        return "\n".join(parts)

    makers: Makers = {PLAIN: lambda: plain, HTML: page}
    if graph is not None:
        makers[SVG] = picture
        makers[MERMAID] = lambda: _pictures.run_mermaid(graph, events, state)
    return bundle(makers, include, exclude)


def progress_html(progress: Progress) -> str:
    """The progress of a run as a table, one row per operation that did anything."""
    cell = 'style="text-align:right;padding:1px 8px"'
    left = 'style="text-align:left;padding:1px 8px"'
    rows = [
        f"<p>{_html.escape(str(progress))}</p>",
        '<table style="border-collapse:collapse;font-family:monospace;font-size:12px">',
        f"<thead><tr><th {left}>operation</th><th {cell}>started</th><th {cell}>finished</th>"
        f"<th {cell}>running</th><th {cell}>failed</th><th {cell}>disposed</th></tr></thead>"
        "<tbody>",
    ]
    for op in progress.operations[:200]:
        where = "/".join((*op.scope[1:], op.name))
        rows.append(
            f"<tr><td {left}>{_html.escape(where)}</td><td {cell}>{op.started}</td>"
            f"<td {cell}>{op.finished}</td><td {cell}>{op.running}</td>"
            f"<td {cell}>{op.failed}</td><td {cell}>{op.disposed}</td></tr>"
        )
    rows.append("</tbody></table>")
    return "\n".join(rows)


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
