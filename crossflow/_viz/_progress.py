"""`cf.Progress`: how far a run has got, as a progress display reads it (API §8).

A `Progress` is a frozen snapshot worked out from the run's events alone: per operation,
how many activations started, finished, failed and were cancelled and how many messages
it disposed of; for the run, its state, how long it has run and how many sessions it
opened. Get
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
    AttemptFailed,
    Cancelled,
    CleanupStarted,
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
from ._bundle import PLAIN, bundle
from ._html import escape

_LABEL = re.compile(r"\[\d+\]$")


def scope_of(path: tuple[str, ...]) -> tuple[str, ...]:
    """A session's path without session numbers: ("pie", "bake[2]") -> ("pie", "bake")."""
    return tuple(_LABEL.sub("", label) for label in path)


STOPPED = (TaskCancelled, TaskAbandoned, TimerCancelled)
"""The events that end an activation without it finishing: it was cancelled, or left
to run on in the background (policy `ABANDON`)."""

ACTIVITY = (
    OperationStarted, OperationFinished, AttemptFailed, TaskCancelled, TaskAbandoned,
    TimerCancelled,
)  # fmt: skip
"""The events that `Counts` reads about the activations of an operation."""


class Counts:
    """The activations of one operation, counted from its events (for `Progress` and the
    picture of a run).

    The events do not say which activation they are about, so the counts follow these
    rules, which keep `running` between 0 and `started`:

    * an attempt that failed and is tried again (`AttemptFailed`) leaves its activation
      running: the next `OperationStarted` of the operation is that activation's next
      attempt, not a new activation;
    * a cancellation (`TaskCancelled`, `TimerCancelled`) or an abandoned task
      (`TaskAbandoned`) counts only while an activation is running: an activation still
      waiting for a `max_concurrency` slot never started, and is not counted;
    * work that could not be interrupted (a thread) or was abandoned may still log its
      `OperationFinished` after it was counted as cancelled: it then counts as finished
      too, and `running` stays at 0 rather than going below.
    """

    __slots__ = ("cancelled", "failed", "finished", "started", "waiting")

    def __init__(self) -> None:
        self.started = 0
        self.finished = 0
        self.failed = 0
        self.cancelled = 0
        self.waiting = 0  # running activations between two attempts

    def __repr__(self) -> str:
        return (
            f"<Counts: {self.started} started, {self.finished} finished, "
            f"{self.cancelled} cancelled>"
        )

    @property
    def running(self) -> int:
        """Activations started and neither finished nor cancelled."""
        return max(self.started - self.finished - self.cancelled, 0)

    def count(self, event: Event) -> None:
        """Count `event`, an event about this operation's activations."""
        if isinstance(event, OperationStarted):
            if self.waiting:
                self.waiting -= 1  # the next attempt of an activation already counted
            else:
                self.started += 1
        elif isinstance(event, OperationFinished):
            self.finished += 1
            if event.error is not None:
                self.failed += 1
        elif isinstance(event, AttemptFailed):
            if self.waiting < self.running:
                self.waiting += 1
        elif isinstance(event, STOPPED) and self.running:
            self.cancelled += 1
        self.waiting = min(self.waiting, self.running)


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
        cancelled: activations stopped, or left running in the background, when their
            session ended or a trim or a newer request cut them short (`TaskCancelled`,
            `TimerCancelled`, `TaskAbandoned`). Work that cannot be interrupted (a
            thread) may still finish afterwards: it then counts as finished too.
    """

    scope: tuple[str, ...]
    name: str
    started: int = 0
    finished: int = 0
    failed: int = 0
    disposed: int = 0
    cancelled: int = 0

    @property
    def running(self) -> int:
        """Activations started and neither finished nor cancelled; never below 0."""
        return max(self.started - self.finished - self.cancelled, 0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "scope": list(self.scope),
            "name": self.name,
            "started": self.started,
            "finished": self.finished,
            "failed": self.failed,
            "disposed": self.disposed,
            "cancelled": self.cancelled,
            "running": self.running,
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

    An activation is running from its start until it finishes or is cancelled: once a
    session has ended, nothing of it is counted as running, and what its cleanup stopped
    or left in the background is counted as `cancelled`.

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
        cancelled: activations stopped, or left running in the background, when their
            session ended (or a trim or a newer request cut them short); see
            `OperationProgress.cancelled`.
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
    cancelled: int = 0

    @property
    def running(self) -> int:
        """Activations started and neither finished nor cancelled; never below 0.

        Counted per operation when the snapshot has its operations, so a late finish
        of cancelled work at one operation hides nothing running at another.
        """
        if self.operations:
            return sum(op.running for op in self.operations)
        return max(self.started - self.finished - self.cancelled, 0)

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
        if self.cancelled:
            parts.append(f"{self.cancelled} cancelled")
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
            "cancelled": self.cancelled,
            "running": self.running,
            "operations": [op.to_dict() for op in self.operations],
            "current": self.current,
            "cancellation": None if self.cancellation is None else self.cancellation.to_dict(),
        }


class Entry(Counts):
    """The counts of one operation for `Progress`: its activations and its disposals."""

    __slots__ = ("disposed",)

    def __init__(self) -> None:
        super().__init__()
        self.disposed = 0


class Tracker:
    """Counts what the events of a run say, one event at a time, for `Progress`."""

    __slots__ = ("cancellation", "counts", "current", "ended", "first", "last", "read",
                 "sessions", "state", "workflow")  # fmt: skip

    def __init__(self) -> None:
        self.workflow = ""
        self.state = SessionState.RUNNING
        self.counts: dict[tuple[tuple[str, ...], str], Entry] = {}
        self.read = 0
        self.sessions = 0
        self.ended = 0
        self.first: float | None = None
        self.last = 0.0
        self.current: str | None = None
        self.cancellation: Cancellation | None = None

    def __repr__(self) -> str:
        return f"<Tracker of {self.workflow!r}: {self.read} events>"

    def _entry(self, path: tuple[str, ...], name: str) -> Entry:
        key = (scope_of(path), name)
        entry = self.counts.get(key)
        if entry is None:
            entry = self.counts[key] = Entry()
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
        if isinstance(event, ACTIVITY):
            self._entry(event.path, event.operation).count(event)
            if isinstance(event, OperationStarted):
                self.current = event.operation
        elif isinstance(event, Disposed):
            self._entry(event.path, event.disposal.operation).disposed += event.disposal.count
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
            OperationProgress(scope, name, c.started, c.finished, c.failed, c.disposed, c.cancelled)
            for (scope, name), c in self.counts.items()
        )
        return Progress(
            workflow=workflow if workflow is not None else self.workflow,
            state=state if state is not None else self.state,
            started_at=started_at,
            elapsed=0.0 if self.first is None else self.last - self.first,
            events=self.read,
            sessions=self.sessions,
            sessions_ended=self.ended,
            started=sum(op.started for op in operations),
            finished=sum(op.finished for op in operations),
            failed=sum(op.failed for op in operations),
            disposed=sum(op.disposed for op in operations),
            operations=operations,
            current=self.current,
            cancellation=self.cancellation,
            cancelled=sum(op.cancelled for op in operations),
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
        f"<th {cell}>running</th><th {cell}>cancelled</th><th {cell}>failed</th>"
        f"<th {cell}>disposed</th></tr></thead>"
        "<tbody>",
    ]
    for op in progress.operations[:200]:
        where = "/".join((*op.scope[1:], op.name))
        rows.append(
            f"<tr><td {left}>{escape(where)}</td><td {cell}>{op.started}</td>"
            f"<td {cell}>{op.finished}</td><td {cell}>{op.running}</td>"
            f"<td {cell}>{op.cancelled}</td><td {cell}>{op.failed}</td>"
            f"<td {cell}>{op.disposed}</td></tr>"
        )
    rows.append("</tbody></table>")
    return "\n".join(rows)
