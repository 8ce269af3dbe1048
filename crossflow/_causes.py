"""Why a session was cancelled, and why a message was disposed of.

All of these are frozen attrs classes: they compare by value, can be `match`ed
positionally, print readably with `str()`, and turn into JSON-ready data with
`to_dict()`.

Cancellations nest: a child session's cancellation is a `ScopeCancelled` disposal of its
parent, which may be cancelled as `Unreachable` in turn, through any number of levels.
`str()` and `repr()` therefore summarise (the first few disposals, a count of the rest, and
the innermost cause of a deep chain), while `to_dict()` keeps everything; none of them
recurse once per level, so no depth of nesting can exhaust the stack. (JSON encoders do
recurse: `Cancellation.to_dict(flat=True)` is the form of bounded depth for them.)
"""

from __future__ import annotations

from collections.abc import Container
from typing import Any, TypeAlias, Union

import attrs

from ._display import renderer
from ._text import describe_error, safe_repr, safe_str

# how much of a nested cancellation str() and repr() show
SHOWN_DISPOSALS = 5
SHOWN_DEPTH = 3


def _error_dict(error: BaseException) -> dict[str, Any]:
    return {"type": type(error).__qualname__, "message": safe_str(error, None)}


# --------------------------------------------------------------------------- disposals


@attrs.frozen(cache_hash=True)
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


@attrs.frozen(cache_hash=True)
class EmptySpread:
    """A spread received an empty iterable, so it sent nothing on."""

    operation: str

    def __str__(self) -> str:
        return f"{self.operation}: spread an empty iterable"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "EmptySpread", "operation": self.operation}


@attrs.frozen(cache_hash=True)
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


@attrs.frozen(cache_hash=True)
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


@attrs.frozen(cache_hash=True)
class ClosedGate:
    """A gate operation closed buffers, so they will not wake their listeners."""

    operation: str

    def __str__(self) -> str:
        return f"{self.operation}: closed a buffer gate"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "ClosedGate", "operation": self.operation}


@attrs.frozen(cache_hash=True)
class Trimming:
    """A trim operation cleaned up activity in part of the graph."""

    operation: str

    def __str__(self) -> str:
        return f"{self.operation}: trimmed"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "Trimming", "operation": self.operation}


@attrs.frozen(cache_hash=True)
class UnusedStreams:
    """A blocking service finished without ever sending on these connected streams."""

    operation: str
    streams: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.operation}: never sent on stream(s) {', '.join(self.streams)}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "UnusedStreams", "operation": self.operation, "streams": list(self.streams)}


@attrs.frozen(cache_hash=True)
class ScopeCancelled:
    """A nested scope or workflow session was cancelled (S1.7).

    For the parent this is a disposal, not a cancellation: the parent goes on as long
    as its own terminate can still be reached.
    """

    cancellation: Cancellation

    def __str__(self) -> str:
        return _render(self, 0)

    def __repr__(self) -> str:
        return _represent(self, 0)

    def to_dict(self) -> dict[str, Any]:
        return _deep_dict(self)


# --------------------------------------------------------------------------- causes


@attrs.frozen(cache_hash=True)
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


@attrs.frozen(cache_hash=True)
class Supplanted:
    """A request was pre-empted by a newer one."""

    by: str

    def __str__(self) -> str:
        return f"supplanted by {self.by}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "Supplanted", "by": self.by}


@attrs.frozen(cache_hash=True)
class Unreachable:
    """The scope's terminate (and every explicit cancel) can no longer be reached.

    Attributes:
        scope: the name of the scope whose session was cancelled.
        disposals: the disposals recorded in that session, in the order they happened
            (empty when nothing could ever reach terminate: inherent unreachability). A
            disposal that repeated (same operation, same cause) appears once, with its
            `count` (S2.4).
        omitted: how many disposals were left out of the middle of a very long list, whose
            causes never repeated: the first and last ones are kept (S2.4).
    """

    scope: str
    disposals: tuple[Disposal, ...] = ()
    omitted: int = 0

    def __str__(self) -> str:
        return _render(self, 0)

    def __repr__(self) -> str:
        return _represent(self, 0)

    def to_dict(self) -> dict[str, Any]:
        return _deep_dict(self)


@attrs.frozen(cache_hash=True)
class Triggered:
    """A cancel operation fired (`then_cancel`, or `then_quiet_cancel` with `value=None`)."""

    operation: str
    value: str | None = None

    def __str__(self) -> str:
        shown = "no value" if self.value is None else f"value {self.value!r}"
        return f"{self.operation} cancelled the scope with {shown}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "Triggered", "operation": self.operation, "value": self.value}


@attrs.frozen(cache_hash=True)
class CircularCollect:
    """Two collects depend on each other (also reported at build time)."""

    conflicts: tuple[tuple[str, str], ...]

    def __str__(self) -> str:
        pairs = ", ".join(f"{a} <-> {b}" for a, b in self.conflicts)
        return f"collects depend on each other: {pairs}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "CircularCollect", "conflicts": [list(c) for c in self.conflicts]}


@attrs.frozen(cache_hash=True)
class UserCancelled:
    """The session was cancelled from outside (the awaiting task was cancelled, ...)."""

    reason: str | None = None

    def __str__(self) -> str:
        return f"cancelled from outside: {self.reason or 'no reason given'}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "UserCancelled", "reason": self.reason}


@attrs.frozen(cache_hash=True)
class ServiceFailed:
    """A service raised an exception; it cancels the innermost session running it (S4.3)."""

    operation: str
    error: BaseException = attrs.field(eq=False)

    def __str__(self) -> str:
        return f"{self.operation} raised {describe_error(self.error, None)}"

    def __repr__(self) -> str:
        # the error is the user's: its repr may raise
        return f"ServiceFailed(operation={self.operation!r}, error={safe_repr(self.error)})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "ServiceFailed",
            "operation": self.operation,
            "error": _error_dict(self.error),
        }


@attrs.frozen(cache_hash=True)
class TimedOut:
    """The scope ran longer than its `ScopeSettings(timeout=...)`."""

    scope: str
    seconds: float

    def __str__(self) -> str:
        return f"{self.scope!r} timed out after {self.seconds} s"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "TimedOut", "scope": self.scope, "seconds": self.seconds}


@attrs.frozen(cache_hash=True)
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


@attrs.frozen(cache_hash=True)
class Disposal:
    """An operation was activated for a session but will not emit on one of its outputs.

    Attributes:
        operation: the name of the operation that recorded it.
        cause: why.
        count: how many times this same disposal (same operation, same cause) happened in
            the session; a loop that turns a million times keeps one entry (S2.4).
    """

    operation: str
    cause: DisposalCause
    count: int = 1

    def __str__(self) -> str:
        return _render(self, 0)

    def __repr__(self) -> str:
        return _represent(self, 0)

    def to_dict(self) -> dict[str, Any]:
        return _deep_dict(self)


@attrs.frozen(cache_hash=True)
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
        return _render(self, 0)

    def __repr__(self) -> str:
        return _represent(self, 0)

    def to_dict(self, *, flat: bool = False) -> dict[str, Any]:
        """JSON-ready data: `{"cause": ..., "while_cancelling": [...]}`, everything kept.

        It is built without recursion, so a cancellation nested to any depth converts.
        Nested, the data is as deep as the cancellation, and JSON encoders and decoders
        have depth limits of their own: Python's `json` gives up at about 200 nested
        sessions (`RecursionError`). With `flat=True` the depth is bounded, whatever
        the nesting: `{"cancellations": [...]}` lists this cancellation first, then
        every cancellation nested in it (each once, outermost first), and a nested
        cancellation (the `cancellation` of a `ScopeCancelled`, an entry of
        `while_cancelling`) is its index in that list rather than its data.

        Args:
            flat: give the bounded form, with nested cancellations as indexes.
        """
        return _flat_dict(self) if flat else _deep_dict(self)

    def root_cause(self) -> CancellationCause:
        """The innermost cause: follows `ScopeCancelled` disposals down nested sessions.

        For `Unreachable` caused by a cancelled nested session, this is what cancelled that
        session (and so on down); otherwise it is `cause` itself.
        """
        return _innermost(self)[0]

    # ------------------------------------------------------------------ notebooks (API §8)

    def _repr_mimebundle_(
        self, include: Container[str] | None = None, exclude: Container[str] | None = None
    ) -> dict[str, str]:
        """The cancellation in a notebook: a tree of its causes and disposals (bounded
        like `str()`), as HTML, SVG and Mermaid, and `str()` as text."""
        bundle: dict[str, str] = renderer("cancellation")(self, include, exclude)
        return bundle


# --------------------------------------------------------------------------- rendering


def _nested(cause: object) -> Cancellation | None:
    """The first nested cancellation an `Unreachable` leads to, if any."""
    if isinstance(cause, Unreachable):
        for disposal in cause.disposals:
            if isinstance(disposal.cause, ScopeCancelled):
                return disposal.cause.cancellation
    return None


def _innermost(cancellation: Cancellation) -> tuple[CancellationCause, int]:
    """The innermost cause of a chain of nested cancellations, and how many levels down."""
    levels = 0
    current = cancellation
    while True:
        nested = _nested(current.cause)
        if nested is None:
            return current.cause, levels
        current = nested
        levels += 1


def _render(obj: object, depth: int) -> str:
    """`str()` of a cause, a disposal or a cancellation, bounded in depth and length."""
    if isinstance(obj, Cancellation):
        text = _render(obj.cause, depth)
        if obj.while_cancelling:
            shown = [_render(c, depth + 1) for c in obj.while_cancelling[:SHOWN_DISPOSALS]]
            more = len(obj.while_cancelling) - len(shown)
            text += "; while cancelling: " + "; ".join(shown)
            if more:
                text += f"; and {more} more"
        return text
    if isinstance(obj, Disposal):
        text = _render(obj.cause, depth)
        return text if obj.count == 1 else f"{text} ({obj.count} times)"
    if isinstance(obj, ScopeCancelled):
        if depth >= SHOWN_DEPTH:
            cause, levels = _innermost(obj.cancellation)
            below = f" {levels} level(s) further down" if levels else ""
            return f"a nested session was cancelled{below}: {_render(cause, SHOWN_DEPTH)}"
        return f"a nested session was cancelled: {_render(obj.cancellation, depth + 1)}"
    if isinstance(obj, Unreachable):
        if not obj.disposals:
            return (
                f"terminate of {obj.scope!r} cannot be reached from its start: no path leads "
                "from scope.start to scope.terminate or to a cancel operation"
            )
        total = sum(d.count for d in obj.disposals) + obj.omitted
        shown = [_render(d, depth) for d in obj.disposals[:SHOWN_DISPOSALS]]
        more = len(obj.disposals) - len(shown) + obj.omitted
        lines = "; ".join(shown) + (f"; and {more} more" if more else "")
        return (
            f"terminate of {obj.scope!r} can no longer be reached after {total} "
            f"disposal(s): {lines}"
        )
    return str(obj)


def _represent(obj: object, depth: int) -> str:
    """`repr()` of the nesting classes, bounded like `_render`."""
    if depth > SHOWN_DEPTH:
        return f"{type(obj).__name__}(...)"
    if isinstance(obj, Cancellation):
        parts = [_represent(obj.cause, depth + 1)]
        if obj.while_cancelling:
            items = [_represent(c, depth + 1) for c in obj.while_cancelling[:SHOWN_DISPOSALS]]
            more = len(obj.while_cancelling) - len(items)
            parts.append(f"while_cancelling=({', '.join(items)}{_more(more)})")
        return f"Cancellation({', '.join(parts)})"
    if isinstance(obj, Disposal):
        count = "" if obj.count == 1 else f", count={obj.count}"
        return f"Disposal({obj.operation!r}, {_represent(obj.cause, depth + 1)}{count})"
    if isinstance(obj, ScopeCancelled):
        return f"ScopeCancelled({_represent(obj.cancellation, depth + 1)})"
    if isinstance(obj, Unreachable):
        items = [_represent(d, depth + 1) for d in obj.disposals[:SHOWN_DISPOSALS]]
        more = len(obj.disposals) - len(items) + obj.omitted
        omitted = f", omitted={obj.omitted}" if obj.omitted else ""
        return f"Unreachable({obj.scope!r}, ({', '.join(items)}{_more(more)}){omitted})"
    return repr(obj)


def _more(n: int) -> str:
    return f", ... {n} more" if n else ""


def _deep_dict(root: object) -> dict[str, Any]:
    """`to_dict()` of a nested cancellation, built bottom-up with a stack, not recursion."""
    done: dict[int, dict[str, Any]] = {}
    stack: list[tuple[object, bool]] = [(root, False)]
    while stack:
        obj, ready = stack.pop()
        if id(obj) in done:
            continue
        children = _children(obj)
        if not ready:
            stack.append((obj, True))
            stack.extend((c, False) for c in children if id(c) not in done)
            continue
        done[id(obj)] = _shallow_dict(obj, done)
    return done[id(root)]


def _flat_dict(root: Cancellation) -> dict[str, Any]:
    """`to_dict(flat=True)`: every cancellation once, nested ones as indexes."""
    index: dict[int, int] = {id(root): 0}
    order = [root]

    def ref(cancellation: Cancellation) -> int:
        found = index.get(id(cancellation))
        if found is None:
            found = index[id(cancellation)] = len(order)
            order.append(cancellation)
        return found

    def disposal(d: Disposal) -> dict[str, Any]:
        cause = d.cause
        data = (
            {"kind": "ScopeCancelled", "cancellation": ref(cause.cancellation)}
            if isinstance(cause, ScopeCancelled)
            else cause.to_dict()
        )
        return {"operation": d.operation, "cause": data, "count": d.count}

    out: list[dict[str, Any]] = []
    for cancellation in order:  # grows as nested cancellations are met
        cause = cancellation.cause
        data = (
            {
                "kind": "Unreachable",
                "scope": cause.scope,
                "disposals": [disposal(d) for d in cause.disposals],
                "omitted": cause.omitted,
            }
            if isinstance(cause, Unreachable)
            else cause.to_dict()
        )
        out.append(
            {"cause": data, "while_cancelling": [ref(c) for c in cancellation.while_cancelling]}
        )
    return {"cancellations": out}


def _children(obj: object) -> tuple[object, ...]:
    if isinstance(obj, Cancellation):
        return (obj.cause, *obj.while_cancelling)
    if isinstance(obj, Disposal):
        return (obj.cause,)
    if isinstance(obj, ScopeCancelled):
        return (obj.cancellation,)
    if isinstance(obj, Unreachable):
        return obj.disposals
    return ()


def _shallow_dict(obj: object, done: dict[int, dict[str, Any]]) -> dict[str, Any]:
    if isinstance(obj, Cancellation):
        return {
            "cause": done[id(obj.cause)],
            "while_cancelling": [done[id(c)] for c in obj.while_cancelling],
        }
    if isinstance(obj, Disposal):
        return {"operation": obj.operation, "cause": done[id(obj.cause)], "count": obj.count}
    if isinstance(obj, ScopeCancelled):
        return {"kind": "ScopeCancelled", "cancellation": done[id(obj.cancellation)]}
    if isinstance(obj, Unreachable):
        return {
            "kind": "Unreachable",
            "scope": obj.scope,
            "disposals": [done[id(d)] for d in obj.disposals],
            "omitted": obj.omitted,
        }
    to_dict = getattr(obj, "to_dict", None)
    assert to_dict is not None, obj  # invariant: every cause has to_dict
    result: dict[str, Any] = to_dict()
    return result
