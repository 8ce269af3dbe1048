"""A progress line on a terminal, for long runs (`crossflow run`).

It is an event callback: hand it to `on_event=` or `session.watch(...)`. It stays silent
for the first `delay` seconds of a run, so quick runs print nothing; after that it
rewrites one line in place, at most every `interval` seconds, and when the run ends it
leaves a last line with the outcome. It writes only to a terminal.
"""

from __future__ import annotations

import shutil
import sys
import time
from typing import TextIO

from ..events import Event
from ._progress import Tracker

SPINNER = "|/-\\"


class ProgressLine:
    """Shows a run's progress on one terminal line, rewritten in place."""

    __slots__ = ("_done", "_drawn", "_last", "_spin", "_tracker", "delay", "interval", "stream")

    def __init__(
        self, stream: TextIO | None = None, *, delay: float = 1.0, interval: float = 0.1
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.delay = delay
        self.interval = interval
        self._tracker = Tracker()
        self._drawn = False
        self._done = False  # the outcome is written: work left in the background is not
        self._last = 0.0
        self._spin = 0

    def __repr__(self) -> str:
        return f"<ProgressLine after {self.delay} s, every {self.interval} s>"

    def __call__(self, event: Event) -> None:
        tracker = self._tracker
        tracker.update(event)
        if self._done:
            return
        ended = len(event.path) == 1 and tracker.state.ended
        if ended and not self._drawn:
            self._done = True  # a quick run: nothing was shown, nothing to close
            return
        first = tracker.first if tracker.first is not None else event.time
        if not self._drawn and event.time - first < self.delay:
            return
        now = time.monotonic()
        if not ended and self._drawn and now - self._last < self.interval:
            return
        self._last = now
        self._draw(ended)

    def line(self) -> str:
        """The text of the line as it would be drawn now."""
        p = self._tracker.snapshot()
        parts = [f"{p.finished}/{p.started} done"]
        if p.running:
            parts.append(f"{p.running} running")
        if p.failed:
            parts.append(f"{p.failed} failed")
        if p.disposed:
            parts.append(f"{p.disposed} disposed")
        if p.sessions > 1:
            parts.append(f"{p.sessions} sessions")
        if p.current is not None and not p.state.ended:
            parts.append(f"now {p.current}")
        return f"{p.workflow} {p.state.name} {p.elapsed:.1f} s: " + ", ".join(parts)

    def _draw(self, ended: bool) -> None:
        width = max(shutil.get_terminal_size((80, 24)).columns - 1, 20)
        spinner = "" if ended else SPINNER[self._spin % len(SPINNER)] + " "
        self._spin += 1
        text = (spinner + self.line())[:width]
        self.stream.write("\r\x1b[K" + text + ("\n" if ended else ""))
        self.stream.flush()
        self._drawn = True
        self._done = ended
