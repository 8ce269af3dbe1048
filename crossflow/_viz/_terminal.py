"""A progress line on a terminal, for long runs (`crossflow run`).

It is an event callback: hand it to `on_event=` or `session.watch(...)`. It stays silent
for the first `delay` seconds of a run, so quick runs print nothing; after that it
rewrites one line in place, at most every `interval` seconds, and when the run ends it
leaves a last line with the outcome. It writes only to a terminal.

A run can be silent for a long time (one activation that works for an hour logs nothing
in between), so the line does not wait for events: from the run's first event a daemon
thread calls `tick()` every `interval` seconds, which redraws the line with the time
that has passed. The thread stops when the run ends (or `close()` is called), and never
keeps the process alive. Writes from the thread and from the events are serialised by
a lock.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

from ..events import Event
from ._progress import Tracker

SPINNER = "|/-\\"


class ProgressLine:
    """Shows a run's progress on one terminal line, rewritten in place.

    Args:
        stream: where to write; standard error by default.
        delay: seconds of the run during which nothing is drawn.
        interval: at most one redraw per this many seconds; also how often the line is
            redrawn while the run is silent.
        clock: the time now, in the seconds of `time.monotonic()` (the clock of event
            times).
        ticking: whether a daemon thread redraws the line while the run is silent;
            without it, only events and `tick()` do.
    """

    __slots__ = ("_done", "_drawn", "_last", "_lock", "_spin", "_stop", "_thread", "_tracker",
                 "clock", "delay", "interval", "stream", "ticking")  # fmt: skip

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        delay: float = 1.0,
        interval: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
        ticking: bool = True,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.delay = delay
        self.interval = interval
        self.clock = clock
        self.ticking = ticking
        self._tracker = Tracker()
        self._drawn = False
        self._done = False  # the outcome is written: work left in the background is not
        self._last = 0.0
        self._spin = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        state = "done" if self._done else "drawing" if self._drawn else "waiting"
        return f"<ProgressLine after {self.delay} s, every {self.interval} s: {state}>"

    def __call__(self, event: Event) -> None:
        with self._lock:
            tracker = self._tracker
            tracker.update(event)
            if self._done:
                return
            if len(event.path) == 1 and tracker.state.ended:
                self._stop.set()
                if not self._drawn:
                    self._done = True  # a quick run: nothing was shown, nothing to close
                else:
                    self._draw(ended=True)
                return
            if self.ticking and self._thread is None:
                self._start()
            self._maybe_draw()

    def tick(self) -> None:
        """Redraw the line if it is due: the run has lasted `delay` and the last drawing
        is `interval` old. The ticking thread calls it; so may a caller of its own."""
        with self._lock:
            if not self._done and self._tracker.first is not None:
                self._maybe_draw()

    def close(self) -> None:
        """Stop the ticking thread (the run's end stops it too). Nothing more is drawn."""
        with self._lock:
            self._done = True
            self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def line(self) -> str:
        """The text of the line as it would be drawn now."""
        tracker = self._tracker
        p = tracker.snapshot()
        elapsed = p.elapsed
        if not p.state.ended and tracker.first is not None:
            elapsed = max(elapsed, self.clock() - tracker.first)
        parts = [f"{p.finished}/{p.started} done"]
        if p.running:
            parts.append(f"{p.running} running")
        if p.cancelled:
            parts.append(f"{p.cancelled} cancelled")
        if p.failed:
            parts.append(f"{p.failed} failed")
        if p.disposed:
            parts.append(f"{p.disposed} disposed")
        if p.sessions > 1:
            parts.append(f"{p.sessions} sessions")
        if p.current is not None and not p.state.ended:
            parts.append(f"now {p.current}")
        return f"{p.workflow} {p.state.name} {elapsed:.1f} s: " + ", ".join(parts)

    # ------------------------------------------------------------------ under the lock

    def _maybe_draw(self) -> None:
        first = self._tracker.first
        now = self.clock()
        if first is None or now - first < self.delay:
            return
        if self._drawn and now - self._last < self.interval:
            return
        self._last = now
        self._draw(ended=False)

    def _draw(self, ended: bool) -> None:
        width = max(shutil.get_terminal_size((80, 24)).columns - 1, 20)
        spinner = "" if ended else SPINNER[self._spin % len(SPINNER)] + " "
        self._spin += 1
        text = (spinner + self.line())[:width]
        self._drawn = True
        self._done = ended
        try:
            self.stream.write("\r\x1b[K" + text + ("\n" if ended else ""))
            self.stream.flush()
        except (OSError, ValueError):  # the terminal is gone, or the stream closed
            self._done = True
            self._stop.set()

    def _start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name="crossflow progress line", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        """The ticking thread: a redraw every `interval` until the run ends."""
        while not self._stop.wait(max(self.interval, 0.01)):
            self.tick()
