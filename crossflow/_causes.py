"""Why a session was cancelled, and why a message was disposed of.

All of these are frozen attrs classes: they compare by value, can be `match`ed
positionally, print readably with `str()`, and turn into JSON-ready data with
`to_dict()`.
"""

from __future__ import annotations

from typing import Any, TypeAlias, Union

import attrs


def _error_dict(error: BaseException) -> dict[str, Any]:
    return {"type": type(error).__qualname__, "message": str(error)}


# --------------------------------------------------------------------------- disposals


@attrs.frozen
class Branching:
    """A conditional branch was not taken (`fork_result`, `fork_option`, `branch_for_*`).

    Attributes:
        operation: the fork that chose the other branch.
        branch: the branch that was not taken: `"ok"`, `"err"`, `"some"` or `"none"`.
    """

    operation: str
    branch: str = ""

    def __str__(self) -> str:
        return f"{self.operation}: the {self.branch or 'other'} branch was not taken"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "Branching", "operation": self.operation, "branch": self.branch}


@attrs.frozen
class EmptySpread:
    """A spread received an empty iterable, so it sent nothing on."""

    operation: str

    def __str__(self) -> str:
        return f"{self.operation}: spread an empty iterable"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "EmptySpread", "operation": self.operation}


@attrs.frozen
class DeficientCollection:
    """A collect could no longer reach its `min` (it needed `needed`, it got `got`)."""

    operation: str
    needed: int
    got: int

    def __str__(self) -> str:
        return (
            f"{self.operation}: collected {self.got} item(s) but needed at least {self.needed}, "
            "and nothing upstream can send more"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "DeficientCollection",
            "operation": self.operation,
            "needed": self.needed,
            "got": self.got,
        }


@attrs.frozen
class IncompleteSplit:
    """A split sent nothing down some of its connected outputs.

    Attributes:
        operation: the split.
        missing: the outputs that received nothing (`"key:K"`, `"seq:I"` or `"remaining"`).
    """

    operation: str
    missing: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.operation}: nothing was sent to {', '.join(self.missing) or 'some outputs'}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "IncompleteSplit",
            "operation": self.operation,
            "missing": list(self.missing),
        }


@attrs.frozen
class ClosedGate:
    """A gate operation closed buffers, so they will not wake their listeners."""

    operation: str

    def __str__(self) -> str:
        return f"{self.operation}: closed a buffer gate"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "ClosedGate", "operation": self.operation}


@attrs.frozen
class Trimming:
    """A trim operation cleaned up activity in part of the graph."""

    operation: str

    def __str__(self) -> str:
        return f"{self.operation}: trimmed"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "Trimming", "operation": self.operation}


@attrs.frozen
class UnusedStreams:
    """A blocking service finished without ever sending on these connected streams."""

    operation: str
    streams: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.operation}: never sent on stream(s) {', '.join(self.streams)}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "UnusedStreams", "operation": self.operation, "streams": list(self.streams)}


@attrs.frozen
class ScopeCancelled:
    """A nested scope or workflow session was cancelled (S1.7).

    For the parent this is a disposal, not a cancellation: the parent goes on as long
    as its own terminate can still be reached.
    """

    cancellation: Cancellation

    def __str__(self) -> str:
        return f"a nested session was cancelled: {self.cancellation}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "ScopeCancelled", "cancellation": self.cancellation.to_dict()}


# --------------------------------------------------------------------------- causes


@attrs.frozen
class Filtered:
    """A filter rejected a message.

    As a cancellation cause: `cancel_on_none`, `cancel_on_err` or `cancellation_filter`
    cancelled the scope. As a disposal cause: `dispose_on_*` or `disposal_filter`
    discarded the message.
    """

    operation: str
    reason: str | None = None

    def __str__(self) -> str:
        return f"{self.operation} filtered the message out: {self.reason or 'no reason given'}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "Filtered", "operation": self.operation, "reason": self.reason}


@attrs.frozen
class Supplanted:
    """A request was pre-empted by a newer one."""

    by: str

    def __str__(self) -> str:
        return f"supplanted by {self.by}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "Supplanted", "by": self.by}


@attrs.frozen
class Unreachable:
    """The scope's terminate (and every explicit cancel) can no longer be reached.

    Attributes:
        scope: the name of the scope whose session was cancelled.
        disposals: every disposal recorded in that session, in the order they happened
            (empty when nothing could ever reach terminate: inherent unreachability).
    """

    scope: str
    disposals: tuple[Disposal, ...] = ()

    def __str__(self) -> str:
        if not self.disposals:
            return (
                f"terminate of {self.scope!r} cannot be reached from its start: no path leads "
                "from scope.start to scope.terminate or to a cancel operation"
            )
        lines = "; ".join(str(d) for d in self.disposals)
        return (
            f"terminate of {self.scope!r} can no longer be reached "
            f"after {len(self.disposals)} disposal(s): {lines}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "Unreachable",
            "scope": self.scope,
            "disposals": [d.to_dict() for d in self.disposals],
        }


@attrs.frozen
class Triggered:
    """A cancel operation fired (`then_cancel`, or `then_quiet_cancel` with `value=None`)."""

    operation: str
    value: str | None = None

    def __str__(self) -> str:
        shown = "no value" if self.value is None else f"value {self.value!r}"
        return f"{self.operation} cancelled the scope with {shown}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "Triggered", "operation": self.operation, "value": self.value}


@attrs.frozen
class CircularCollect:
    """Two collects depend on each other (also reported at build time)."""

    conflicts: tuple[tuple[str, str], ...]

    def __str__(self) -> str:
        pairs = ", ".join(f"{a} <-> {b}" for a, b in self.conflicts)
        return f"collects depend on each other: {pairs}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "CircularCollect", "conflicts": [list(c) for c in self.conflicts]}


@attrs.frozen
class UserCancelled:
    """The session was cancelled from outside (the awaiting task was cancelled, ...)."""

    reason: str | None = None

    def __str__(self) -> str:
        return f"cancelled from outside: {self.reason or 'no reason given'}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "UserCancelled", "reason": self.reason}


@attrs.frozen
class ServiceFailed:
    """A service raised an exception; it cancels the innermost session running it (S4.3)."""

    operation: str
    error: BaseException = attrs.field(eq=False)

    def __str__(self) -> str:
        return f"{self.operation} raised {type(self.error).__qualname__}: {self.error}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "ServiceFailed",
            "operation": self.operation,
            "error": _error_dict(self.error),
        }


@attrs.frozen
class TimedOut:
    """The scope ran longer than its `ScopeSettings(timeout=...)`."""

    scope: str
    seconds: float

    def __str__(self) -> str:
        return f"{self.scope!r} timed out after {self.seconds} s"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "TimedOut", "scope": self.scope, "seconds": self.seconds}


@attrs.frozen
class Interrupted:
    """The session's parent session began its own cleanup while this one still ran (or a
    trim stopped it), so it was cleaned up early.

    Such a cancellation is never delivered to anyone: the parent no longer listens.
    It shows in traces and decides which cleanup runs.
    """

    scope: str

    def __str__(self) -> str:
        return f"interrupted because its parent session of {self.scope!r} is ending"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "Interrupted", "scope": self.scope}


CancellationCause: TypeAlias = Union[  # noqa: UP007 (a run-time union, usable with isinstance)
    Unreachable,
    Triggered,
    Filtered,
    Supplanted,
    CircularCollect,
    UserCancelled,
    ServiceFailed,
    TimedOut,
    Interrupted,
]
"""Any of the reasons a session can be cancelled."""

DisposalCause: TypeAlias = Union[  # noqa: UP007
    Branching,
    ScopeCancelled,
    EmptySpread,
    DeficientCollection,
    IncompleteSplit,
    ClosedGate,
    Trimming,
    UnusedStreams,
    Filtered,
    Supplanted,
]
"""Any of the reasons a message can be disposed of."""


@attrs.frozen
class Disposal:
    """An operation was activated for a session but will not emit on one of its outputs.

    Attributes:
        operation: the name of the operation that recorded it.
        cause: why.
    """

    operation: str
    cause: DisposalCause

    def __str__(self) -> str:
        return str(self.cause)

    def to_dict(self) -> dict[str, Any]:
        return {"operation": self.operation, "cause": self.cause.to_dict()}


@attrs.frozen
class Cancellation:
    """Why a session ended without a response.

    Attributes:
        cause: the reason, one of the `CancellationCause` classes.
        while_cancelling: cancellations of cleanup workflows that ran because this
            session was cancelled.
    """

    cause: CancellationCause
    while_cancelling: tuple[Cancellation, ...] = ()

    def __str__(self) -> str:
        text = str(self.cause)
        if self.while_cancelling:
            text += "; while cancelling: " + "; ".join(str(c) for c in self.while_cancelling)
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "cause": self.cause.to_dict(),
            "while_cancelling": [c.to_dict() for c in self.while_cancelling],
        }
