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
    "AttemptFailed",
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
    "OperationQueued",
    "OperationStarted",
    "OperationTimedOut",
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
    """Operation cleanup cancelled a running task of this operation; or a trim, a
    pre-empting request or the run's cancellation did.

    For work that an executor runs elsewhere (S10.2), the event also says how far the
    cancellation reached: a worker process is stopped, a Dask future cancelled, but a
    thread, or a Dask task already running on a worker, cannot be interrupted and runs on
    to its end (the run waits for it, S10.5).

    Attributes:
        operation: the service or map.
        waited: True when the cleanup waits for the task to end (policy `WAIT`);
            False for `TRY_CANCEL`: the task ends in the background.
        stopped: True when nothing of the work is left running: an async task was
            cancelled, a process killed, a Dask task cancelled before it started (or the
            work had not started, or had just ended). False when the work could not be
            interrupted and runs on to its end: a thread, a Dask task already running.
        reach: for work run by an executor, what the cancellation did, in words (the
            executor's account); None for async services.
    """

    waited: bool = True
    stopped: bool = True
    reach: str | None = None

    def _detail(self) -> str:
        text = self.operation if self.waited else f"{self.operation} (not waited for)"
        if self.reach is not None:
            text += f": {self.reach}"
        elif not self.stopped:
            text += ": it runs on"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "waited": self.waited,
            "stopped": self.stopped,
            "reach": self.reach,
        }


@attrs.frozen
class TaskAbandoned(_OperationEvent):
    """A task of a node with policy `ABANDON` was left to run on; its result is dropped."""


@attrs.frozen
class TimerCancelled(_OperationEvent):
    """Operation cleanup cancelled a pending `delay` timer."""


@attrs.frozen
class OperationQueued(_OperationEvent):
    """An activation of a node with `max_concurrency` waits for a slot (S10.4): `limit`
    activations of the node already run in this run. It starts, with an
    `OperationStarted`, when one of them ends; activations waiting start in order.

    Attributes:
        operation: the node.
        limit: its `max_concurrency`.
    """

    limit: int

    def _detail(self) -> str:
        return f"{self.operation} waits for a slot (max_concurrency={self.limit})"

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "limit": self.limit}


@attrs.frozen
class OperationTimedOut(_OperationEvent):
    """An attempt of a node with `timeout` ran longer than that (S10.4): it is cancelled,
    and fails with `TimeoutError`, which a `cf.Retry` may try again.

    For work run by an executor, it also says how far stopping it reached, as
    `TaskCancelled` does: a worker process is killed at once, while a thread cannot be
    interrupted, so its attempt fails only once its function has returned.

    Attributes:
        operation: the node.
        timeout: its `timeout`, in seconds.
        attempt: which attempt timed out, from 1.
        stopped: False when the work could not be interrupted and ran on to its end.
        reach: for work run by an executor, what stopping it did, in words; else None.
    """

    timeout: float
    attempt: int = 1
    stopped: bool = True
    reach: str | None = None

    def _detail(self) -> str:
        text = (
            f"{self.operation} ran longer than its timeout of {self.timeout:g} s "
            f"(attempt {self.attempt})"
        )
        return text if self.reach is None else f"{text}: {self.reach}"

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "timeout": self.timeout,
            "attempt": self.attempt,
            "stopped": self.stopped,
            "reach": self.reach,
        }


@attrs.frozen
class AttemptFailed(_OperationEvent):
    """An attempt of a node with `retry=cf.Retry(...)` failed, and the node tries again
    after `delay` seconds (S10.4). The last attempt's failure is not one of these: it is
    the node's failure (`OperationFinished` with its error, then S4.3).

    Attributes:
        operation: the node.
        attempt: the attempt that failed, from 1.
        attempts: the number of attempts in all (`Retry.attempts`).
        error: what it raised.
        delay: seconds before the next attempt.
    """

    attempt: int
    attempts: int
    error: BaseException = attrs.field(eq=False)
    delay: float = 0.0

    def _detail(self) -> str:
        return (
            f"{self.operation} attempt {self.attempt} of {self.attempts} raised "
            f"{describe_error(self.error, None)}; next attempt in {self.delay:g} s"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "attempt": self.attempt,
            "attempts": self.attempts,
            "error": {"type": type(self.error).__qualname__, "message": safe_str(self.error, None)},
            "delay": self.delay,
        }


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
