"""`cf.Progress`: how far a run has got, as a progress display reads it (API §8).

A `Progress` is a frozen snapshot worked out from the run's events alone: per operation,
how many activations started, finished and failed and how many messages it disposed
of; for the run, its state, how long it has run and how many sessions it opened. Get
one from a running or finished session with `session.progress()`, or from any event
log with `Progress.from_events(events)`; feed your own progress bar or logger from
`session.watch(...)` or `on_event=...`.

Nothing is counted unless someone asks: a run that nobody watches pays nothing.
"""

from __future__ import annotations

import re
from collections.abc import Container, Iterable, Mapping
from datetime import datetime
from typing import Any, final

import attrs

from .._causes import Cancellation
from .._state import SessionState
from .._text import seconds_text
from ..events import (
    Cancelled,
    CleanupStarted,
    Disposed,
    Event,
    OperationFinished,
    OperationStarted,
    SessionStarted,
    Terminated,
)
from ._bundle import PLAIN, bundle
from ._html import escape

_LABEL = re.compile(r"\[\d+\]$")


def scope_of(path: tuple[str, ...]) -> tuple[str, ...]:
    """A session's path without session numbers: ("pie", "bake[2]") -> ("pie", "bake")."""
    return tuple(_LABEL.sub("", label) for label in path)


@final
@attrs.frozen
class OperationProgress:
    """How far one operation has got, over every session of its scope.

    Attributes:
        scope: where the operation is: the workflow's name, then the names of the nested
            scopes (or `on_cancel`, ... for cleanup workflows) down to it.
        name: the operation's name.
        started: activations that started (services, maps, delays).
        finished: activations that finished, failed ones included.
        failed: activations that raised.
        disposed: messages it disposed of (S3).
    """

    scope: tuple[str, ...]
    name: str
    started: int = 0
    finished: int = 0
    failed: int = 0
    disposed: int = 0

    @property
    def running(self) -> int:
        """Activations started and not finished yet."""
        return self.started - self.finished

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "scope": list(self.scope),
            "name": self.name,
            "started": self.started,
            "finished": self.finished,
            "failed": self.failed,
            "disposed": self.disposed,
        }


@final
@attrs.frozen
class Progress:
    """A snapshot of how far a run has got: what a progress display shows (API §8).

    Get it with `session.progress()` while a session runs or after, or with
    `Progress.from_events(events)` from any event log (`session.events`,
    `WorkflowCancelled.events`, the events an `on_event` callback collected).

    ```python
    async with wf.start(request) as session:
        session.watch(lambda event: bar.update(session.progress().finished))
        await session.result()
    print(session.progress())   # pie TERMINATED after 3.2 ms: 4 started, 4 finished
    ```

    Attributes:
        workflow: the workflow's name.
        state: the root session's state.
        started_at: the wall-clock time (UTC) the run started, when known.
        elapsed: seconds from the run's first event to its latest one.
        events: how many events the snapshot was made from.
        sessions: sessions opened: the root, nested scopes, cleanup workflows.
        sessions_ended: of those, how many have ended.
        started: activations started, over all operations.
        finished: activations finished.
        failed: activations that raised.
        disposed: messages disposed of.
        operations: per operation that did anything, in the order they first did.
        current: the operation that started most recently, or None.
        cancellation: why the root session was cancelled, once it was.
    """

    workflow: str
    state: SessionState
    started_at: datetime | None = None
    elapsed: float = 0.0
    events: int = 0
    sessions: int = 0
    sessions_ended: int = 0
    started: int = 0
    finished: int = 0
    failed: int = 0
    disposed: int = 0
    operations: tuple[OperationProgress, ...] = ()
    current: str | None = None
    cancellation: Cancellation | None = None

    @property
    def running(self) -> int:
        """Activations started and not finished yet."""
        return self.started - self.finished

    @staticmethod
    def from_events(events: Iterable[Event], *, started_at: datetime | None = None) -> Progress:
        """The progress of the run that recorded `events` (in log order).

        `started_at` defaults to the log's own `started_at` when `events` is a
        `cf.EventLog`.
        """
        tracker = Tracker()
        tracker.feed(events)
        if started_at is None:
            started_at = getattr(events, "started_at", None)
        return tracker.snapshot(started_at=started_at)

    def __str__(self) -> str:
        parts = [f"{self.started} started", f"{self.finished} finished"]
        if self.running:
            parts.append(f"{self.running} running")
        if self.failed:
            parts.append(f"{self.failed} failed")
        if self.disposed:
            parts.append(f"{self.disposed} disposed")
        return (
            f"{self.workflow} {self.state.name} after {seconds_text(self.elapsed)}: "
            + ", ".join(parts)
        )

    def _repr_mimebundle_(
        self, include: Container[str] | None = None, exclude: Container[str] | None = None
    ) -> dict[str, str]:
        """The snapshot in a notebook: its summary and a table per operation."""
        return bundle({PLAIN: lambda: str(self), "text/html": lambda: progress_html(self)},
                      include, exclude)  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "workflow": self.workflow,
            "state": self.state.name,
            "started_at": None if self.started_at is None else self.started_at.isoformat(),
            "elapsed": self.elapsed,
            "events": self.events,
            "sessions": self.sessions,
            "sessions_ended": self.sessions_ended,
            "started": self.started,
            "finished": self.finished,
            "failed": self.failed,
            "disposed": self.disposed,
            "running": self.running,
            "operations": [op.to_dict() for op in self.operations],
            "current": self.current,
            "cancellation": None if self.cancellation is None else self.cancellation.to_dict(),
        }


class Tracker:
    """Counts what the events of a run say, one event at a time, for `Progress`."""

    __slots__ = ("cancellation", "counts", "current", "disposed", "ended", "failed", "finished",
                 "first", "last", "read", "sessions", "started", "state", "workflow")  # fmt: skip

    def __init__(self) -> None:
        self.workflow = ""
        self.state = SessionState.RUNNING
        self.counts: dict[tuple[tuple[str, ...], str], list[int]] = {}
        self.read = 0
        self.sessions = 0
        self.ended = 0
        self.started = 0
        self.finished = 0
        self.failed = 0
        self.disposed = 0
        self.first: float | None = None
        self.last = 0.0
        self.current: str | None = None
        self.cancellation: Cancellation | None = None

    def __repr__(self) -> str:
        return f"<Tracker of {self.workflow!r}: {self.read} events>"

    def _entry(self, path: tuple[str, ...], name: str) -> list[int]:
        key = (scope_of(path), name)
        entry = self.counts.get(key)
        if entry is None:
            entry = self.counts[key] = [0, 0, 0, 0]
        return entry

    def feed(self, events: Iterable[Event]) -> None:
        for event in events:
            self.update(event)

    def update(self, event: Event) -> None:
        """Count one event."""
        self.read += 1
        if self.first is None:
            self.first = event.time
            self.workflow = event.path[0] if event.path else ""
        self.last = event.time
        root = len(event.path) == 1
        if isinstance(event, OperationStarted):
            self._entry(event.path, event.operation)[0] += 1
            self.started += 1
            self.current = event.operation
        elif isinstance(event, OperationFinished):
            entry = self._entry(event.path, event.operation)
            entry[1] += 1
            self.finished += 1
            if event.error is not None:
                entry[2] += 1
                self.failed += 1
        elif isinstance(event, Disposed):
            count = event.disposal.count
            self._entry(event.path, event.disposal.operation)[3] += count
            self.disposed += count
        elif isinstance(event, SessionStarted):
            self.sessions += 1
        elif isinstance(event, Terminated):
            self.ended += 1
            if root:
                self.state = SessionState.TERMINATED
        elif isinstance(event, Cancelled):
            self.ended += 1
            if root:
                self.state = SessionState.CANCELLED
                self.cancellation = event.cancellation
        elif isinstance(event, CleanupStarted) and root and self.state is SessionState.RUNNING:
            self.state = (
                SessionState.TERMINATING if event.cancellation is None else SessionState.CANCELLING
            )

    def snapshot(
        self,
        *,
        workflow: str | None = None,
        state: SessionState | None = None,
        started_at: datetime | None = None,
    ) -> Progress:
        """The `Progress` of everything counted so far."""
        operations = tuple(
            OperationProgress(scope, name, *counts) for (scope, name), counts in self.counts.items()
        )
        return Progress(
            workflow=workflow if workflow is not None else self.workflow,
            state=state if state is not None else self.state,
            started_at=started_at,
            elapsed=0.0 if self.first is None else self.last - self.first,
            events=self.read,
            sessions=self.sessions,
            sessions_ended=self.ended,
            started=self.started,
            finished=self.finished,
            failed=self.failed,
            disposed=self.disposed,
            operations=operations,
            current=self.current,
            cancellation=self.cancellation,
        )


def by_operation(progress: Progress) -> Mapping[tuple[tuple[str, ...], str], OperationProgress]:
    """The operations of a snapshot by (scope, name)."""
    return {(op.scope, op.name): op for op in progress.operations}


def progress_html(progress: Progress) -> str:
    """The progress of a run as a table, one row per operation that did anything."""
    cell = 'style="text-align:right;padding:1px 8px"'
    left = 'style="text-align:left;padding:1px 8px"'
    rows = [
        f"<p>{escape(str(progress))}</p>",
        '<table style="border-collapse:collapse;font-family:monospace;font-size:12px">',
        f"<thead><tr><th {left}>operation</th><th {cell}>started</th><th {cell}>finished</th>"
        f"<th {cell}>running</th><th {cell}>failed</th><th {cell}>disposed</th></tr></thead>"
        "<tbody>",
    ]
    for op in progress.operations[:200]:
        where = "/".join((*op.scope[1:], op.name))
        rows.append(
            f"<tr><td {left}>{escape(where)}</td><td {cell}>{op.started}</td>"
            f"<td {cell}>{op.finished}</td><td {cell}>{op.running}</td>"
            f"<td {cell}>{op.failed}</td><td {cell}>{op.disposed}</td></tr>"
        )
    rows.append("</tbody></table>")
    return "\n".join(rows)
