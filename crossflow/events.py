"""The event log of a session: what happened, when, and in which session (S9.2).

Every event is a frozen attrs class with two fields first:

* `time`: seconds from `time.monotonic()` when it happened;
* `path`: the session it happened in, from the root: `("pie",)` for the root session,
  `("pie", "bake[0]")` for the first child session opened by operation `bake`, and so
  on. Cleanup workflows appear as `on_cancel[0]`, `on_terminate[0]`, `on_cleanup[0]`.

Events are recorded by default and read from `session.events` (or from
`WorkflowCancelled.events` after `run`); `wf.start(x, events=False)` and
`wf.run(x, events=False)` switch recording off for that run.

Like cancellation causes, events compare by value, can be `match`ed, print readably
with `str()` and turn into JSON-ready data with `to_dict()`.
"""

from __future__ import annotations

from typing import Any

import attrs

from ._causes import Cancellation, CancellationCause, Disposal
from ._text import describe_error, safe_repr, safe_str

__all__ = (
    "CancellationRequested",
    "Cancelled",
    "ChildAbandoned",
    "ChildCancellationFailed",
    "ChildCancellationRequested",
    "CleanupFailed",
    "CleanupFinished",
    "CleanupStarted",
    "Disposed",
    "Event",
    "OperationFinished",
    "OperationStarted",
    "SessionStarted",
    "TaskAbandoned",
    "TaskCancelled",
    "Terminated",
    "TimerCancelled",
)


def _path(path: tuple[str, ...]) -> str:
    return "/".join(path)


@attrs.frozen
class Event:
    """Base class of every event.

    Attributes:
        time: `time.monotonic()` when it happened, in seconds.
        path: the session it happened in, from the root session down.
    """

    time: float
    path: tuple[str, ...]

    def __str__(self) -> str:
        return f"[{self.time:.6f}] {self.describe()}"

    def describe(self) -> str:
        """The event without its time: `"pie/bake[0]: TaskCancelled: bake"`.

        Handy for printing or comparing traces that must not depend on the clock.
        """
        detail = self._detail()
        text = f"{_path(self.path)}: {type(self).__name__}"
        return f"{text}: {detail}" if detail else text

    def _detail(self) -> str:
        return ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data: `kind`, `time`, `path` and the event's own fields."""
        return {"kind": type(self).__name__, "time": self.time, "path": list(self.path)}


@attrs.frozen
class SessionStarted(Event):
    """A session opened: a run, a nested scope's child session or a cleanup workflow.

    Attributes:
        scope: the name of the scope it runs.
    """

    scope: str

    def _detail(self) -> str:
        return f"scope {self.scope!r}"

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "scope": self.scope}


@attrs.frozen
class _OperationEvent(Event):
    """An event about one operation of the session, named by `operation`."""

    operation: str

    def _detail(self) -> str:
        return self.operation

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "operation": self.operation}


@attrs.frozen
class OperationStarted(_OperationEvent):
    """A service, a map or a delay started working on one message."""


@attrs.frozen
class OperationFinished(_OperationEvent):
    """A service, a map or a delay finished with one message.

    Attributes:
        operation: its name.
        error: the exception it raised, or None when it returned.
    """

    error: BaseException | None = attrs.field(default=None, eq=False)

    def __repr__(self) -> str:
        # the error is the user's: its repr may raise
        return (
            f"OperationFinished(time={self.time!r}, path={self.path!r}, "
            f"operation={self.operation!r}, error={safe_repr(self.error)})"
        )

    def _detail(self) -> str:
        if self.error is None:
            return self.operation
        return f"{self.operation} raised {describe_error(self.error, None)}"

    def to_dict(self) -> dict[str, Any]:
        error = self.error
        return {
            **super().to_dict(),
            "error": None
            if error is None
            else {"type": type(error).__qualname__, "message": safe_str(error, None)},
        }


@attrs.frozen
class Disposed(Event):
    """A disposal was recorded (S3); reachability is checked next (S2.4)."""

    disposal: Disposal

    def _detail(self) -> str:
        return str(self.disposal)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "disposal": self.disposal.to_dict()}


@attrs.frozen
class CancellationRequested(Event):
    """Someone outside the session asked it to cancel (S6.4, S9.1).

    Recorded for every request: `session.cancel()`, the `async with` block left early,
    the caller's task cancelled, the parent session ended, a trim.

    Attributes:
        cause: what the session is cancelled with if it honours the request.
        honoured: False when the session runs on: it is uninterruptible, or it had
            already reached terminate or started cancelling.
        forced: True for `session.cancel(force=True)`, which cancels uninterruptible
            sessions and running cleanup workflows too (S6.7).
    """

    cause: CancellationCause
    honoured: bool
    forced: bool = False

    def _detail(self) -> str:
        if self.forced:
            return f"{self.cause} (forced)"
        return f"{self.cause}{'' if self.honoured else ' (the session runs on)'}"

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "cause": self.cause.to_dict(),
            "honoured": self.honoured,
            "forced": self.forced,
        }


@attrs.frozen
class ChildCancellationRequested(Event):
    """A session's cleanup asked one of its child sessions to cancel.

    Attributes:
        operation: the scope operation that opened the child.
        child: the child session's path.
        waited: whether this session's cleanup waits for the child (cancellation
            policy `WAIT`) or goes on without it (`TRY_CANCEL`).
    """

    operation: str
    child: tuple[str, ...]
    waited: bool = True

    def _detail(self) -> str:
        wait = "" if self.waited else " (not waited for)"
        return f"{self.operation} -> {_path(self.child)}{wait}"

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "operation": self.operation,
            "child": list(self.child),
            "waited": self.waited,
        }


@attrs.frozen
class ChildCancellationFailed(Event):
    """A child session did not cancel when asked: it is uninterruptible, or it was
    already ending. Its parent's cleanup waits for it to end on its own (S6.4).

    Attributes:
        operation: the scope operation that opened the child.
        child: the child session's path.
        reason: why it did not cancel.
    """

    operation: str
    child: tuple[str, ...]
    reason: str

    def _detail(self) -> str:
        return f"{self.operation} -> {_path(self.child)}: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "operation": self.operation,
            "child": list(self.child),
            "reason": self.reason,
        }


@attrs.frozen
class ChildAbandoned(Event):
    """A child session of a node with policy `ABANDON` was left to run on unasked."""

    operation: str
    child: tuple[str, ...]

    def _detail(self) -> str:
        return f"{self.operation} -> {_path(self.child)}"

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "operation": self.operation, "child": list(self.child)}


@attrs.frozen
class CleanupStarted(Event):
    """The session's cleanup begins (S6.1), before its operation cleanup.

    Attributes:
        cancellation: why the session is cancelled, or None when it reached terminate.
    """

    cancellation: Cancellation | None

    def _detail(self) -> str:
        return "after terminate" if self.cancellation is None else f"cancelled: {self.cancellation}"

    def to_dict(self) -> dict[str, Any]:
        c = self.cancellation
        return {**super().to_dict(), "cancellation": None if c is None else c.to_dict()}


@attrs.frozen
class TaskCancelled(_OperationEvent):
    """Operation cleanup cancelled a running task of this operation.

    Attributes:
        operation: the async service or map.
        waited: True when the cleanup waits for the task to end (policy `WAIT`);
            False for `TRY_CANCEL`: the task ends in the background.
    """

    waited: bool = True

    def _detail(self) -> str:
        return self.operation if self.waited else f"{self.operation} (not waited for)"

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "waited": self.waited}


@attrs.frozen
class TaskAbandoned(_OperationEvent):
    """A task of a node with policy `ABANDON` was left to run on; its result is dropped."""


@attrs.frozen
class TimerCancelled(_OperationEvent):
    """Operation cleanup cancelled a pending `delay` timer."""


@attrs.frozen
class CleanupFinished(Event):
    """The session's cleanup is over, cleanup workflows included; the outcome follows."""


@attrs.frozen
class CleanupFailed(Event):
    """Something failed during cleanup: a service raised, or a cleanup workflow was
    cancelled. A cancelled session also lists it in `while_cancelling` (S4.3).

    Attributes:
        cancellation: `Cancellation(ServiceFailed(...))` for a service that raised, or
            the cancellation of the cleanup workflow.
    """

    cancellation: Cancellation

    def _detail(self) -> str:
        return str(self.cancellation)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "cancellation": self.cancellation.to_dict()}


@attrs.frozen
class Terminated(Event):
    """The session delivered its response."""


@attrs.frozen
class Cancelled(Event):
    """The session ended without a response."""

    cancellation: Cancellation

    def _detail(self) -> str:
        return str(self.cancellation)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "cancellation": self.cancellation.to_dict()}
