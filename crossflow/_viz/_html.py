"""HTML and plain text for notebooks: event tables, trees of causes, session summaries.

Plain HTML with inline attributes, no script and no style sheet: it reads the same in
JupyterLab, VS Code, GitHub and nbviewer. Colours are only given to text that says
something (a cancellation, a disposal), so the tables follow the notebook's theme.
Every table and tree is bounded: a log of a million events shows its first and last
rows and says how many it left out.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime

from .._causes import Cancellation
from .._text import counted
from ..events import Event
from . import _cause_tree
from ._labels import safe_text

HEAD_ROWS = 200
TAIL_ROWS = 50

KIND_COLOURS = {
    "Cancelled": "#b3261e",
    "CleanupFailed": "#b3261e",
    "Disposed": "#a86b00",
    "CancellationRequested": "#a86b00",
    "Terminated": "#2f7a3b",
}


def escape(text: str) -> str:
    return html.escape(safe_text(text), quote=True)


def _unit(events: Sequence[Event]) -> tuple[str, float]:
    span = events[-1].time - events[0].time if events else 0.0
    return ("ms", 1e3) if span < 1.0 else ("s", 1.0)


def rows(events: Sequence[Event]) -> list[tuple[str, str, str, str] | None]:
    """(relative time, session, kind, detail) for each row shown; None where rows are
    left out."""
    if not events:
        return []
    unit, scale = _unit(events)
    first = events[0].time
    picked: list[Event | None]
    if len(events) > HEAD_ROWS + TAIL_ROWS:
        picked = [*events[:HEAD_ROWS], None, *events[-TAIL_ROWS:]]
    else:
        picked = list(events)
    out: list[tuple[str, str, str, str] | None] = []
    for event in picked:
        if event is None:
            out.append(None)
            continue
        path = "/".join(event.path)
        kind = type(event).__name__
        described = event.describe()
        prefix = f"{path}: {kind}"
        detail = described[len(prefix) :].removeprefix(": ") if described.startswith(prefix) else ""
        relative = (event.time - first) * scale
        out.append((f"+{relative:.3f} {unit}", safe_text(path), kind, safe_text(detail)))
    return out


def left_out(events: Sequence[Event]) -> int:
    return max(len(events) - HEAD_ROWS - TAIL_ROWS, 0)


def _start(started_at: datetime | None) -> str:
    if started_at is None:
        return ""
    return started_at.isoformat(sep=" ", timespec="microseconds")


def events_text(events: Sequence[Event], started_at: datetime | None) -> str:
    """The event log as an aligned text table with times relative to the run's start."""
    head = counted(len(events), "event")
    if started_at is not None:
        head += f", run started {_start(started_at)}"
    table = rows(events)
    if not table:
        return head
    shown = [r for r in table if r is not None]
    widths = [max(len(r[i]) for r in shown) for i in range(3)]
    lines = [head]
    for row in table:
        if row is None:
            lines.append(f"... {left_out(events)} events left out ...")
            continue
        t, path, kind, detail = row
        line = f"{t:>{widths[0]}}  {path:<{widths[1]}}  {kind:<{widths[2]}}  {detail}"
        lines.append(line.rstrip())
    return "\n".join(lines)


def events_html(events: Sequence[Event], started_at: datetime | None) -> str:
    """The event log as an HTML table: relative time, session path, event, detail."""
    head = counted(len(events), "event")
    if started_at is not None:
        head += f", run started {escape(_start(started_at))}"
    out = [
        '<div class="crossflow-events">',
        f"<p><strong>Event log</strong>: {head}</p>",
    ]
    table = rows(events)
    if table:
        cell = 'style="text-align:left;padding:1px 10px 1px 0;vertical-align:top"'
        out.append('<table style="border-collapse:collapse;font-family:monospace;font-size:12px">')
        out.append(
            f"<thead><tr><th {cell}>time</th><th {cell}>session</th><th {cell}>event</th>"
            f"<th {cell}>detail</th></tr></thead><tbody>"
        )
        for row in table:
            if row is None:
                out.append(
                    f'<tr><td {cell} colspan="4"><em>… {left_out(events)} events left out '
                    "…</em></td></tr>"
                )
                continue
            t, path, kind, detail = row
            colour = KIND_COLOURS.get(kind)
            shown = (
                f'<span style="color:{colour}">{escape(kind)}</span>' if colour else escape(kind)
            )
            out.append(
                f"<tr><td {cell}>{escape(t)}</td><td {cell}>{escape(path)}</td>"
                f"<td {cell}>{shown}</td><td {cell}>{escape(detail)}</td></tr>"
            )
        out.append("</tbody></table>")
    out.append("</div>")
    return "\n".join(out)


def cancellation_html(cancellation: Cancellation) -> str:
    """A cancellation as a nested list: its cause, the disposals and what lies behind."""
    root = _cause_tree.tree(cancellation)
    out = ['<div class="crossflow-cancellation">', "<p><strong>Cancellation</strong></p>", "<ul>"]
    depth = 0
    for node, level in _cause_tree.walk(root):
        while depth > level:
            out.append("</ul></li>")
            depth -= 1
        if level > depth:
            out[-1] = out[-1].removesuffix("</li>")
            out.append("<ul>")
            depth = level
        colour = {"cause": "#b3261e", "while": "#b86e00", "disposal": "#a86b00"}.get(node.role)
        kind = (
            f'<strong style="color:{colour}">{escape(node.kind)}</strong>: '
            if node.kind and colour
            else ""
        )
        count = f" <em>({node.count} times)</em>" if node.count > 1 else ""
        out.append(f"<li>{kind}{escape(node.text)}{count}</li>")
    while depth > 0:
        out.append("</ul></li>")
        depth -= 1
    out.append("</ul>")
    out.append("</div>")
    return "\n".join(out)


def picture(svg: str) -> str:
    """An SVG inline in HTML, scaled down to the width of the output."""
    return (
        '<div class="crossflow-picture" style="max-width:100%;overflow-x:auto">'
        + svg.replace("<svg ", '<svg style="max-width:100%;height:auto" ', 1)
        + "</div>"
    )


def details(summary: str, body: str, open_: bool = False) -> str:
    """A section that folds away (no script: `<details>`)."""
    shown = " open" if open_ else ""
    return f"<details{shown}><summary>{summary}</summary>\n{body}\n</details>"


def heading(text: str) -> str:
    return f"<p><strong>{escape(text)}</strong></p>"
