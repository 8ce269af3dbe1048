"""`cf.EventLog`: a run's events, placed in time (S9.2, API §8).

Event times are `time.monotonic()` readings: good for durations, meaningless as dates.
An `EventLog` is the tuple of a run's events together with the wall-clock time the run
started (`started_at`, UTC), so each event can be placed in time (`at(event)`) and
printed relative to the start (`elapsed(event)`, `str(log)`).
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ._display import renderer
from ._text import counted, seconds_text

if TYPE_CHECKING:
    from .events import Event


class EventLog(tuple["Event", ...]):
    """The ordered events of a run and of its nested sessions (S9.2), with when it started.

    It is a tuple of `cf.Event`s, so everything that reads a tuple reads it: indexing,
    slicing, `len`, iteration, comparison with a tuple. `session.events` and
    `WorkflowCancelled.events` return one.

    `str(log)` is a table with each event's time from the run's start and its session
    path; in a notebook a log shows as that table and a timeline.

    Attributes:
        started_at: the wall-clock time (a UTC `datetime`) the run started, or None when
            it is not known (a log made by hand, a run that recorded no events).
    """

    started_at: datetime | None

    def __new__(cls, events: Iterable[Event] = (), started_at: datetime | None = None) -> EventLog:
        log = super().__new__(cls, events)
        log.started_at = started_at
        return log

    @property
    def start(self) -> float | None:
        """The monotonic time of the run's first event, or None for an empty log."""
        return self[0].time if self else None

    @property
    def duration(self) -> float:
        """Seconds from the first event to the last."""
        return self[-1].time - self[0].time if self else 0.0

    def elapsed(self, event: Event) -> float:
        """Seconds from the run's first event to `event`."""
        start = self.start
        return 0.0 if start is None else event.time - start

    def at(self, event: Event) -> datetime | None:
        """The wall-clock time (UTC) of `event`, or None when `started_at` is not known."""
        if self.started_at is None:
            return None
        return self.started_at + timedelta(seconds=self.elapsed(event))

    def __repr__(self) -> str:
        started = "" if self.started_at is None else f", started {self.started_at.isoformat()}"
        count = len(self)
        return f"<EventLog: {counted(count, 'event')} over {seconds_text(self.duration)}{started}>"

    def __str__(self) -> str:
        text: str = renderer("events_text")(self, self.started_at)
        return text

    def _repr_mimebundle_(
        self, include: Container[str] | None = None, exclude: Container[str] | None = None
    ) -> dict[str, str]:
        """The log for notebooks: a table with relative times, a timeline, Mermaid."""
        bundle: dict[str, str] = renderer("event_log")(self, self.started_at, include, exclude)
        return bundle
