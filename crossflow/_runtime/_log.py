"""Turning the engine's compact event log into `crossflow.events` objects (S9.2).

The engine appends `(time, event class, session, fields)` tuples: cheap enough to be
on by default. Paths are worked out here, in log order: every session's first event
is its `SessionStarted`, so a child's number among the sessions its operation opened
is known by then.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from ..events import (
    Cancelled,
    CleanupFinished,
    Event,
    OperationFinished,
    OperationStarted,
    SessionStarted,
    Terminated,
)
from ._scope_session import ScopeSession

if TYPE_CHECKING:
    # (time, event class, session, fields), or an inline call's (see `Inline`)
    LogEntry = tuple[Any, ...]


class Inline:
    """Marks the log entry of an inline call: `(started, Inline, session, name, finished)`.

    One entry instead of two keeps the log of a chain of blocking calls cheap; it reads
    as an `OperationStarted` and an `OperationFinished`.
    """


class Ended:
    """Marks the log entry of a session's end: `(time, Ended, session, (None,))`, read
    as a `CleanupFinished` and a `Terminated` or `Cancelled` at that time."""


class Paths:
    """The path of every session seen so far, and how many children each op opened."""

    __slots__ = ("counts", "paths")

    def __init__(self) -> None:
        self.paths: dict[int, tuple[str, ...]] = {}
        self.counts: dict[tuple[int, str], int] = {}

    def __repr__(self) -> str:
        return f"<Paths of {len(self.paths)} sessions>"

    def opened(self, session: ScopeSession) -> tuple[str, ...]:
        parent = session.parent
        if parent is None:
            path: tuple[str, ...] = (session.graph.name,)
        else:
            op = session.parent_op
            if op >= 0:
                label = parent.plan.names[op]
                prefix = parent.graph.name + "/"
                if label.startswith(prefix):  # automatic names repeat the scope's name
                    label = label[len(prefix) :]
            else:
                # a cleanup workflow: "pie/on_cancel#3" → "on_cancel"
                label = session.graph.name.rsplit("/", 1)[-1].split("#", 1)[0]
            key = (id(parent), label)
            n = self.counts.get(key, 0)
            self.counts[key] = n + 1
            path = (*self.of(parent), f"{label}[{n}]")
        self.paths[id(session)] = path
        return path

    def of(self, session: ScopeSession) -> tuple[str, ...]:
        path = self.paths.get(id(session))
        return path if path is not None else self.opened(session)


def materialise(
    log: list[LogEntry], paths: Paths | None = None, start: int = 0, stop: int | None = None
) -> Iterator[Event]:
    """The events of `log[start:stop]`, in order."""
    if paths is None:
        paths = Paths()
    for i in range(start, len(log) if stop is None else stop):
        entry = log[i]
        if entry[1] is Inline:
            started, _, session, name, finished = entry
            path = paths.of(session)
            yield OperationStarted(started, path, name)
            yield OperationFinished(finished, path, name)
            continue
        time, cls, session, fields = entry
        if cls is Ended:
            path = paths.of(session)
            yield CleanupFinished(time, path)
            if session.cancellation is None:
                yield Terminated(time, path)
            else:
                yield Cancelled(time, path, session.cancellation)
            continue
        path = paths.opened(session) if cls is SessionStarted else paths.of(session)
        if any(type(f) is ScopeSession for f in fields):
            fields = tuple(paths.of(f) if type(f) is ScopeSession else f for f in fields)
        yield cls(time, path, *fields)


class ObservedLog(list[Any]):
    """An event log that also hands every event to callbacks (`on_event`, `watch`) as the
    run goes.

    Appending stays cheap: the callbacks run at the engine's next safe point (between two
    operations), through `schedule`, never in the middle of an engine step. So a callback
    may cancel the session it watches (`session.cancel()`): the cancellation takes effect
    right after the operation that recorded the event.
    """

    __slots__ = ("callbacks", "failures", "paths", "read", "schedule", "scheduled")

    def __init__(
        self, schedule: Callable[[Callable[[], None]], None], entries: list[Any] | None = None
    ) -> None:
        super().__init__(entries or ())
        self.callbacks: list[Callable[[Event], object]] = []
        self.schedule = schedule
        self.scheduled = False
        self.paths = Paths()
        # how many entries the callbacks have seen; entries already there when observing
        # began are not handed over, but their sessions' paths are worked out
        self.read = len(self)
        for _ in materialise(self, self.paths):
            pass
        self.failures: list[Exception] = []

    def append(self, entry: Any) -> None:
        list.append(self, entry)
        if not self.scheduled and self.callbacks:
            self.scheduled = True
            self.schedule(self.deliver)

    def deliver(self) -> None:
        """Hand the events recorded since the last delivery to the callbacks, in order."""
        self.scheduled = False
        while self.callbacks and self.read < len(self):
            stop = len(self)
            events = list(materialise(self, self.paths, self.read, stop))
            self.read = stop
            for event in events:
                for callback in list(self.callbacks):
                    try:
                        callback(event)
                    except Exception as error:
                        # a broken observer must not break the run: it is called no
                        # more, and the run reports its failure when it ends
                        self.callbacks.remove(callback)
                        self.failures.append(error)
