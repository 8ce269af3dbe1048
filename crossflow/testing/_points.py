"""Points: where a run can be interrupted (cancel points) or a service made to fail
(failure points), found in the event log of a plain run and named readably."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import attrs

import crossflow as cf
from crossflow import events as ev

PointKind = Literal["cancel", "fail"]
KINDS: tuple[PointKind, ...] = ("cancel", "fail")


class InjectedFailure(cf.CrossflowError):
    """What a service activation raises at a failure point, in place of running.

    `explore` and `run_at` raise it unless told otherwise with `fail_with=`.

    Attributes:
        point: the failure point it was injected at.
    """

    def __init__(self, point: Point) -> None:
        super().__init__(point.injected())
        self.point = point


def event_key(event: cf.Event) -> tuple[type, tuple[str, ...], str | None]:
    """What identifies an event across runs: its kind, its session and its operation."""
    operation = getattr(event, "operation", None)
    return type(event), event.path, operation if isinstance(operation, str) else None


def ordinal(n: int) -> str:
    """1 -> "1st", 2 -> "2nd", 11 -> "11th", 22 -> "22nd"."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _path(path: tuple[str, ...]) -> str:
    return "/".join(path)


@attrs.frozen
class Point:
    """A point where `explore` interrupts a run: a cancel point or a failure point.

    `str(point)` says where, readably: "cancelled right after `open_session` finished, in
    session scheduling", or "`close_session` raised an injected failure, in session
    scheduling/close[0]".

    Points come from the event log of a plain run of the workflow (`explore`,
    `cancellation_points`, `failure_points`) and name what happened, not when: a run
    reaches a point when it records the same event (its kind, session and operation) as
    often as the plain run had by then.

    Attributes:
        kind: `"cancel"`: the session is cancelled from outside (`session.cancel()`) right
            after `event` was recorded; it takes effect right after the operation that
            recorded it. `"fail"`: the service activation that recorded `event` (an
            `OperationStarted`) raises an exception instead of running.
        index: the point's place among the points of its kind, from 0 (the plain run's
            event or activation number).
        event: the event of the plain run where the point is, with its time set to 0.
            The session of a failure point is unknown (`path` is `()`) when operations
            of several kinds share its name.
        repeat: how many times the same event had been recorded before it in the plain
            run (0: the first time), e.g. a service called in a loop.
        nth: how a run finds the point again: for a cancel point the same as `repeat`;
            for a failure point, how many activations of an operation with this name the
            plain run had made before it, in any session.
    """

    kind: PointKind
    index: int
    event: cf.Event
    repeat: int = 0
    nth: int = 0

    def __str__(self) -> str:
        event = self.event
        if self.kind == "fail":
            again = "" if self.repeat == 0 else f" on its {ordinal(self.repeat + 1)} activation"
            return f"`{self.operation}` raised an injected failure{again}{self._where()}"
        again = "" if self.repeat == 0 else f" for the {ordinal(self.repeat + 1)} time"
        return f"cancelled right after {_happened(event)}{again}{self._where()}"

    def _where(self) -> str:
        if self.event.path:
            return f", in session {_path(self.event.path)}"
        return ", in one of its sessions"

    def injected(self) -> str:
        """The message of the exception injected at a failure point."""
        which = f"`{self.operation}`"
        if self.repeat:
            which = f"the {ordinal(self.repeat + 1)} activation of {which}"
        return f"injected in place of {which}{self._where()}"

    @property
    def operation(self) -> str | None:
        """The operation named by the point's event, if any."""
        operation = getattr(self.event, "operation", None)
        return operation if isinstance(operation, str) else None

    @property
    def path(self) -> tuple[str, ...]:
        """The session of the point's event, from the root session down."""
        return self.event.path


def _happened(event: cf.Event) -> str:
    """What `event` says happened, as the end of "cancelled right after ..."."""
    match event:
        case ev.SessionStarted():
            return "the session started"
        case ev.OperationStarted(operation=op):
            return f"`{op}` started"
        case ev.OperationFinished(operation=op, error=None):
            return f"`{op}` finished"
        case ev.OperationFinished(operation=op, error=error):
            return f"`{op}` raised {type(error).__qualname__}"
        case ev.Disposed(disposal=disposal):
            return f"a disposal ({disposal})"
        case ev.CancellationRequested(cause=cause):
            return f"a cancellation was requested ({cause})"
        case ev.ChildCancellationRequested(child=child):
            return f"the session asked {_path(child)} to cancel"
        case ev.ChildCancellationFailed(child=child):
            return f"{_path(child)} did not cancel when asked"
        case ev.ChildAbandoned(child=child):
            return f"{_path(child)} was abandoned"
        case ev.CleanupStarted():
            return "its cleanup started"
        case ev.TaskCancelled(operation=op):
            return f"the task of `{op}` was cancelled"
        case ev.TaskAbandoned(operation=op):
            return f"the task of `{op}` was abandoned"
        case ev.TimerCancelled(operation=op):
            return f"the timer of `{op}` was cancelled"
        case ev.CleanupFinished():
            return "its cleanup finished"
        case ev.CleanupFailed(cancellation=cancellation):
            return f"its cleanup failed ({cancellation})"
        case ev.Terminated():
            return "the session terminated"
        case ev.Cancelled():
            return "the session was cancelled"
    return event.describe()


def _untimed(event: cf.Event) -> cf.Event:
    return attrs.evolve(event, time=0.0)


def cancel_points(events: Sequence[cf.Event]) -> list[Point]:
    """A cancel point after each event of a plain run, in order."""
    seen: dict[tuple[type, tuple[str, ...], str | None], int] = {}
    points: list[Point] = []
    for i, event in enumerate(events):
        key = event_key(event)
        n = seen.get(key, 0)
        seen[key] = n + 1
        points.append(Point("cancel", i, _untimed(event), n, n))
    return points


def failure_points(events: Sequence[cf.Event], activations: Sequence[str]) -> list[Point]:
    """A failure point for each service activation of a plain run, in order.

    `activations` are the names of the operations activated, in the order of their
    activations; each is matched to the `OperationStarted` events of its name.
    """
    started: dict[str, list[ev.OperationStarted]] = {}
    for recorded in events:
        if isinstance(recorded, ev.OperationStarted):
            started.setdefault(recorded.operation, []).append(recorded)
    counts: dict[str, int] = {}
    for name in activations:
        counts[name] = counts.get(name, 0) + 1
    repeats: dict[tuple[tuple[str, ...], str], int] = {}
    seen: dict[str, int] = {}
    points: list[Point] = []
    for index, name in enumerate(activations):
        nth = seen.get(name, 0)
        seen[name] = nth + 1
        candidates = started.get(name, [])
        event: cf.Event
        if len(candidates) == counts[name]:
            found = candidates[nth]
            event = _untimed(found)
            key = (found.path, name)
            repeat = repeats.get(key, 0)
            repeats[key] = repeat + 1
        else:
            # a delay (which records events but is no service activation) shares the
            # name: the session cannot be told from the log
            event = ev.OperationStarted(0.0, (), name)
            repeat = nth
        points.append(Point("fail", index, event, repeat, nth))
    return points
