"""The probe: a recorder that the services of a drawn workflow share.

Every service of a workflow drawn by `crossflow.testing.strategies.workflows` reports
to one `Probe` what it does: when it starts, when it finishes, when it is cancelled,
when it fails on purpose, and when a message is about to reach `terminate` or a
cancel operation. Tests read the trace afterwards to check what the runtime did.

A run is told apart from other runs of the same workflow by a run number, carried in
a context variable: `DrawnWorkflow.run(request, run=n)` sets it for the task that
awaits the run, and every task the runtime starts for that run inherits it.
"""

from __future__ import annotations

import contextvars
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal, final

import attrs

from .._text import counted

__all__ = ("EventKind", "Probe", "ProbeEvent", "current_run", "running_as")

EventKind = Literal["started", "finished", "cancelled", "failed", "reached"]
"""What a `ProbeEvent` reports.

* `started` / `finished`: a service began / returned normally;
* `cancelled`: an async service was interrupted by cancellation;
* `failed`: a service raised on purpose (`DeliberateFailure`);
* `reached`: a message is about to reach `terminate` or a cancel operation (the
  operation is then named `"terminate"` or `"cancel"`).
"""

_RUN: contextvars.ContextVar[int] = contextvars.ContextVar("crossflow_testing_run", default=0)


def current_run() -> int:
    """The run number of the calling task (0 unless set with `running_as`)."""
    return _RUN.get()


@contextmanager
def running_as(run: int) -> Iterator[None]:
    """Attribute everything the current task (and the tasks it starts) records to `run`."""
    token = _RUN.set(run)
    try:
        yield
    finally:
        _RUN.reset(token)


@attrs.frozen
class ProbeEvent:
    """One thing a service of a drawn workflow did.

    Attributes:
        run: the run number (see `running_as`), telling concurrent runs apart.
        scope: the path of the scope the operation belongs to: `"root"` for the
            workflow's own scope, `"root/scope#3"` for a nested scope, and so on.
        operation: the operation's name, as shown in the drawn workflow's description.
        event: what happened (`started`, `finished`, `cancelled`, `failed`, `reached`).
        value: the message the operation received.
        activation: a number unique to one call of the service: the `started` event
            and the event that ends it carry the same number.
        is_async: True for async services.
    """

    run: int
    scope: str
    operation: str
    event: EventKind
    value: Any
    activation: int
    is_async: bool

    def in_scope(self, scope: str) -> bool:
        """True if this event happened in `scope` or in a scope nested inside it."""
        return self.scope == scope or self.scope.startswith(scope + "/")

    def __str__(self) -> str:
        kind = "async " if self.is_async else ""
        return (
            f"run {self.run} {self.scope} {kind}{self.operation} {self.event} "
            f"({self.value!r}) #{self.activation}"
        )


@final
class Probe:
    """Records what the services of one drawn workflow do, in order.

    The probe is shared by every service of the workflow and by every run of it;
    filter the events by `run` to look at one run, or call `clear()` between runs.

    Attributes:
        events: every event recorded so far, oldest first.
    """

    __slots__ = ("_counter", "events")

    def __init__(self) -> None:
        self.events: list[ProbeEvent] = []
        self._counter = itertools.count(1)

    def __repr__(self) -> str:
        return (
            f"<Probe: {counted(len(self.events), 'event')}, {len(self.open_activations())} running>"
        )

    def new_activation(self) -> int:
        """A fresh activation number, for a service call that is about to start."""
        return next(self._counter)

    def record(
        self,
        scope: str,
        operation: str,
        event: EventKind,
        value: Any,
        *,
        activation: int = 0,
        is_async: bool = False,
    ) -> None:
        """Append an event for the run of the calling task."""
        self.events.append(
            ProbeEvent(current_run(), scope, operation, event, value, activation, is_async)
        )

    def clear(self) -> None:
        """Forget every event recorded so far."""
        self.events.clear()

    def of_run(self, run: int) -> list[ProbeEvent]:
        """The events of one run, in order."""
        return [e for e in self.events if e.run == run]

    def open_activations(self, run: int | None = None) -> list[ProbeEvent]:
        """The `started` events whose service has not finished, failed or been cancelled.

        Args:
            run: only look at this run; every run when None.
        """
        open_: dict[int, ProbeEvent] = {}
        for e in self.events:
            if run is not None and e.run != run:
                continue
            if e.event == "started":
                open_[e.activation] = e
            elif e.event in ("finished", "cancelled", "failed"):
                open_.pop(e.activation, None)
        return list(open_.values())
