"""An event log in time: a timeline picture and a Mermaid sequence (API §8).

The timeline has one lane per session (the root first, then nested sessions and
cleanup workflows in the order they started), a bar per activation from its start to
its end (red when it raised, grey when it was cancelled; a failed attempt that is tried
again is a red bar of its own), an amber tick per disposal, and the session's end in
green (terminated) or red (cancelled). Time runs left to right from the run's start.
Both forms are bounded: a log of any size draws its first lanes and activations and
says how much it left out.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..events import (
    AttemptFailed,
    Cancelled,
    Disposed,
    Event,
    OperationFinished,
    OperationStarted,
    SessionStarted,
    TaskAbandoned,
    TaskCancelled,
    Terminated,
    TimerCancelled,
)
from . import _mermaid
from ._labels import clip, safe_text
from ._layered import _n

LANES = 40
BARS = 2000
NOTES = 150
STOPPED_EVENTS = TaskCancelled | TaskAbandoned | TimerCancelled


def svg(events: Sequence[Event]) -> str:
    """The timeline of `events` as SVG."""
    from ._svg import FONT, INK, MUTED, escape

    lanes: dict[tuple[str, ...], int] = {}
    for event in events:
        if event.path not in lanes and len(lanes) < LANES:
            lanes[event.path] = len(lanes)
    first = events[0].time if events else 0.0
    span = max((events[-1].time - first) if events else 0.0, 1e-6)
    label_w = min(max((len("/".join(p)) for p in lanes), default=4) * 6.1 + 16, 260)
    plot_w = 640.0
    lane_h = 20.0
    width = label_w + plot_w + 30
    height = 34 + lane_h * max(len(lanes), 1) + 26

    def x(t: float) -> float:
        return label_w + (t - first) / span * plot_w

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(width)}" height="{_n(height)}" '
        f'viewBox="0 0 {_n(width)} {_n(height)}" font-family="{FONT}" role="img" '
        'aria-label="event timeline">',
        "<title>event timeline</title>",
        f'<rect x="0" y="0" width="{_n(width)}" height="{_n(height)}" fill="#ffffff"/>',
    ]
    unit, scale = ("ms", 1e3) if span < 1 else ("s", 1.0)
    for i in range(5):
        t = first + span * i / 4
        out.append(
            f'<path d="M{_n(x(t))} 26V{_n(height - 24)}" stroke="#e3e6ea" stroke-width="1"/>'
            f'<text x="{_n(x(t))}" y="18" font-size="10" fill="{MUTED}" text-anchor="middle">'
            f"+{(t - first) * scale:.3g} {unit}</text>"
        )
    for path, row in lanes.items():
        y = 30 + row * lane_h
        out.append(
            f'<text x="6" y="{_n(y + 13)}" font-size="10" fill="{INK}">'
            f"{escape(clip(safe_text('/'.join(path)), 40))}</text>"
        )
    open_: dict[tuple[tuple[str, ...], str], list[float]] = {}
    bars = 0
    for event in events:
        lane = lanes.get(event.path)
        if lane is None:
            continue
        y = 30 + lane * lane_h
        if isinstance(event, OperationStarted):
            open_.setdefault((event.path, event.operation), []).append(event.time)
        elif isinstance(event, OperationFinished | AttemptFailed | STOPPED_EVENTS):
            starts = open_.get((event.path, event.operation))
            if not starts and not isinstance(event, OperationFinished):
                continue  # a cancelled activation that never started: nothing to draw
            began = starts.pop(0) if starts else event.time
            if bars < BARS:
                bars += 1
                if isinstance(event, OperationFinished):
                    raised = event.error is not None
                    colour, what = ("#b3261e" if raised else "#3a78b5"), ""
                elif isinstance(event, AttemptFailed):
                    colour, what = "#b3261e", f" (attempt {event.attempt} failed)"
                else:
                    colour, what = "#8a939c", " (cancelled)"
                x0, x1 = x(began), x(event.time)
                out.append(
                    f'<rect x="{_n(x0)}" y="{_n(y + 4)}" width="{_n(max(x1 - x0, 2))}" '
                    f'height="11" rx="2" fill="{colour}" fill-opacity="0.75">'
                    f"<title>{escape(safe_text(event.operation) + what)}</title></rect>"
                )
        elif isinstance(event, Disposed):
            out.append(
                f'<path d="M{_n(x(event.time))} {_n(y + 2)}V{_n(y + 17)}" stroke="#b86e00" '
                f'stroke-width="2"><title>{escape(safe_text(str(event.disposal)))}</title></path>'
            )
        elif isinstance(event, Terminated | Cancelled | SessionStarted):
            colour = {"Terminated": "#2f7a3b", "Cancelled": "#b3261e"}.get(
                type(event).__name__, "#5c6670"
            )
            out.append(
                f'<circle cx="{_n(x(event.time))}" cy="{_n(y + 9.5)}" r="3.5" fill="{colour}">'
                f"<title>{escape(type(event).__name__)}</title></circle>"
            )
    sessions = len({e.path for e in events})
    note = f"{len(events)} events, {sessions} session(s)"
    if sessions > len(lanes):
        note += f"; the first {len(lanes)} sessions are drawn"
    out.append(
        f'<text x="6" y="{_n(height - 8)}" font-size="10" fill="{MUTED}">{escape(note)}: '
        "bars are activations (red: raised, grey: cancelled), amber ticks disposals, dots "
        "session starts and ends</text>"
    )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def mermaid(events: Sequence[Event]) -> str:
    """The event log as a Mermaid sequence diagram: a participant per session, a note per
    event with its time from the run's start."""
    out = ["sequenceDiagram"]
    names: dict[tuple[str, ...], str] = {}
    for event in events:
        if event.path not in names and len(names) < LANES:
            names[event.path] = f"p{len(names)}"
            label = _mermaid.text(clip(safe_text("/".join(event.path)), 60))
            out.append(f"    participant {names[event.path]} as {label}")
    first = events[0].time if events else 0.0
    shown = 0
    for event in events:
        who = names.get(event.path)
        if who is None:
            continue
        if shown >= NOTES:
            break
        shown += 1
        relative = f"+{(event.time - first) * 1e3:.3f} ms"
        described = event.describe()
        prefix = "/".join(event.path) + ": "
        text = _mermaid.text(clip(safe_text(described.removeprefix(prefix)), 100))
        parent = names.get(event.path[:-1])
        if isinstance(event, SessionStarted) and parent is not None:
            out.append(f"    {parent}->>{who}: {relative} {text}")
        elif isinstance(event, Terminated | Cancelled) and parent is not None:
            out.append(f"    {who}-->>{parent}: {relative} {text}")
        else:
            out.append(f"    Note over {who}: {relative} {text}")
    if len(events) > shown:
        who = next(iter(names.values()), None)
        if who is not None:
            out.append(f"    Note over {who}: {len(events) - shown} more events")
    return "\n".join(out) + "\n"
