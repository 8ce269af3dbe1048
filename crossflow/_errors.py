"""The exception tree of crossflow.

Every exception that crossflow raises derives from `CrossflowError`::

    CrossflowError
    ├── BuildError                 building a workflow went wrong; raised before anything runs
    │   ├── OutputAlreadyConnected an output was connected to a second input slot
    │   ├── IncompatibleLayout     a handle from another workflow or scope, or a bad shape
    │   └── CircularCollectError   two collects lie upstream of each other in one scope
    ├── InvalidArgument            a bad argument (also a `TypeError`)
    ├── UncopyableMessage          a fork or join had to copy a message that cannot be copied
    ├── UnawaitedCoroutine         a plain function returned a coroutine
    └── WorkflowCancelled          a run ended without a response; carries `.cancellation`

    CrossflowWarning (a UserWarning): failures that could not be raised, never dropped
    └── UnreachableWarning         built with parts no message can reach; the build goes on

Cancellation of tasks is never expressed with these classes: crossflow lets the
backend's own cancellation exception travel untouched.
"""

from __future__ import annotations

import pickle
from collections.abc import Container, Sequence
from typing import TYPE_CHECKING, Any

from ._display import renderer

if TYPE_CHECKING:
    from datetime import datetime

    from ._causes import Cancellation
    from ._eventlog import EventLog
    from ._model import Graph
    from .events import Event


class CrossflowError(Exception):
    """Base class of every exception raised by crossflow."""


class BuildError(CrossflowError):
    """A workflow could not be built.

    Raised while the build function runs, before any session starts. The message
    names the operations involved and says how to fix the problem.
    """


class OutputAlreadyConnected(BuildError):
    """An output was connected to a second input slot.

    An output connects to at most one input slot. To send a message to several
    places, fork it first (`chain.fork_clone(...)` or `builder.create_fork_clone()`).
    """


class IncompatibleLayout(BuildError):
    """Handles that do not fit together were used together.

    For example an output of one workflow (or of an enclosing scope) connected to an
    input slot of another, or an operation whose shape does not fit its message.
    """


class CircularCollectError(BuildError):
    """Two collect operations lie upstream of each other in the same scope.

    Each would wait for the other to fall quiet, so neither could ever emit.
    Move one of them into a nested scope (`chain.then_scope(...)`).

    Attributes:
        conflicts: the pairs of collect operation names that depend on each other.
    """

    def __init__(self, message: str, conflicts: tuple[tuple[str, str], ...]) -> None:
        super().__init__(message)
        self.conflicts = conflicts


class CrossflowWarning(UserWarning):
    """Something went wrong that could not be reported as an exception.

    For example a service that raised while its session was cleaning up after
    `terminate`: the response was already decided, so the failure is reported here
    rather than lost.
    """


class UnreachableWarning(CrossflowWarning):
    """A workflow or nested scope was built with parts that no message can reach.

    Issued when the build function returns, pointing at the line that built it: when
    nothing that leaves `scope.start` can reach `scope.terminate` or a cancel
    operation, every session is cancelled at once with `Unreachable` (the warning
    lists the chains that end nowhere); when operations are not connected to
    anything that starts from `scope.start`, they never run. The workflow is built
    anyway, and runs as described.

    It is usually a forgotten `.connect(scope.terminate)` or `builder.connect(...)`.
    A workflow built that way on purpose can silence it with
    `warnings.filterwarnings("ignore", category=cf.UnreachableWarning)`.
    """


class InvalidArgument(CrossflowError, TypeError):
    """A function of crossflow was called with an argument it cannot use.

    Also a `TypeError`, so code that catches bad-argument errors the usual way keeps working.
    """


class WorkflowCancelled(CrossflowError):
    """A workflow session ended without a response.

    `cancellation.cause` says why (for example `Unreachable` with every disposal that
    led there, or `ServiceFailed` with the exception a service raised). When a service
    raised, that exception is also this exception's `__cause__`.

    This is an ordinary `Exception`: it is never the backend's cancellation exception.

    Attributes:
        cancellation: the `Cancellation` of the workflow's root session.
        events: the run's event log (`crossflow.events`), when `run` recorded one:
            what was started, disposed of and cancelled, and why. Empty when the run
            was started with `events=False`.
        graph: the graph of the workflow that was cancelled (`workflow.graph`), so that
            what happened can be drawn over it; None when raised by hand.
        started_at: the wall-clock time (UTC) the run started, when known (also
            `events.started_at`).

    It pickles, so it can cross to another process (`ProcessPoolExecutor`,
    `multiprocessing`), keeping what can cross: the cancellation, the start, and the
    events. The graph cannot (it is left out: the copy has `graph=None`, and draws its
    cancellation and events but not the picture of the run). An exception held in the
    cancellation or the events that does not pickle itself is replaced by an
    `ErrorCopy` with its type's name and message; an event that still does not pickle
    is left out. As for every exception, `__cause__` and the traceback stay behind.
    """

    def __init__(
        self,
        cancellation: Cancellation,
        events: Sequence[Event] = (),
        graph: Graph | None = None,
        started_at: datetime | None = None,
    ) -> None:
        from ._eventlog import EventLog

        super().__init__(str(cancellation))
        self.cancellation = cancellation
        if started_at is None:
            started_at = getattr(events, "started_at", None)
        self.events: EventLog = EventLog(events, started_at)
        self.graph = graph
        self.started_at = started_at

    def __reduce__(self) -> tuple[Any, ...]:
        """What pickles of it: everything but the graph (see the class). (Libraries that
        take over the pickling of exceptions, such as tblib, call this too.)"""
        cancellation, events = _portable(self.cancellation, self.events)
        extra = {k: v for k, v in self.__dict__.items() if k not in _OWN and _pickles(v)}
        return (
            _unpickle,
            (type(self), self.args, cancellation, events, self.started_at, extra),
        )

    def __copy__(self) -> WorkflowCancelled:
        """A shallow copy, graph included (a copy does not leave the process)."""
        extra = {k: v for k, v in self.__dict__.items() if k not in _OWN}
        error = _unpickle(
            type(self), self.args, self.cancellation, self.events, self.started_at, extra
        )
        error.graph = self.graph
        return error

    # ------------------------------------------------------------------ pictures (API §8)

    def to_svg(self) -> str:
        """The picture of the cancelled workflow with what the run did drawn over it:
        how often each operation ran, what it disposed of, where the cancellation came
        from and what was never reached (as `session.to_svg()`).

        Raises:
            CrossflowError: the exception carries no graph (it was raised by hand).
        """
        if self.graph is None:
            raise CrossflowError(
                "this WorkflowCancelled carries no graph to draw (it was not raised by a "
                "run, or it was pickled, which leaves the graph behind); draw the workflow "
                "with workflow.to_svg() instead"
            )
        svg: str = renderer("run_svg")(
            self.graph, self.events if self.events else None, "CANCELLED"
        )
        return svg

    def _repr_mimebundle_(
        self, include: Container[str] | None = None, exclude: Container[str] | None = None
    ) -> dict[str, str]:
        """The cancelled run in a notebook: the picture of the run, the tree of causes,
        the event log."""
        run = renderer("run")
        name = self.graph.name if self.graph is not None else "a workflow"
        bundle: dict[str, str] = run(
            self.graph,
            self.events if self.events else None,
            plain=f"WorkflowCancelled: {self}",
            heading=f"WorkflowCancelled: the run of {name!r} was cancelled",
            state="CANCELLED",
            started_at=self.started_at,
            cancellation=self.cancellation,
            progress=None,
            include=include,
            exclude=exclude,
        )
        return bundle


class ErrorCopy(CrossflowError):
    """Stands in for an exception that could not be pickled, in a pickled
    `WorkflowCancelled`: the type's name and the message of the original.

    Attributes:
        type_name: the qualified name of the original exception's class.
        message: its `str()`.
    """

    def __init__(self, type_name: str, message: str) -> None:
        super().__init__(type_name, message)
        self.type_name = type_name
        self.message = message

    def __str__(self) -> str:
        return f"{self.type_name}: {self.message}" if self.message else self.type_name

    @staticmethod
    def of(error: BaseException) -> ErrorCopy:
        """The copy of `error`."""
        from ._text import safe_str

        name = getattr(type(error), "__qualname__", "object")
        return ErrorCopy(name if isinstance(name, str) else "object", safe_str(error, None))


# ----------------------------------------------------------------------- pickling


_OWN = frozenset({"cancellation", "events", "graph", "started_at"})


def _pickles(value: object) -> bool:
    try:
        pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
    except Exception:
        return False
    return True


def _unpickle(
    cls: type[WorkflowCancelled],
    args: tuple[Any, ...],
    cancellation: Cancellation,
    events: EventLog,
    started_at: datetime | None,
    extra: dict[str, Any],
) -> WorkflowCancelled:
    """A `WorkflowCancelled` back from its pickle (without running a subclass's
    `__init__`, whatever its signature)."""
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(extra)
    error.cancellation = cancellation
    error.events = events
    error.graph = None
    error.started_at = started_at
    return error


def _portable(cancellation: Cancellation, events: EventLog) -> tuple[Cancellation, EventLog]:
    """The cancellation and the events of a `WorkflowCancelled`, made to pickle: as they
    are when they do, else with `ErrorCopy`s for the exceptions that do not, and without
    the events that still do not."""
    if _pickles((cancellation, events)):
        return cancellation, events
    import attrs

    from ._eventlog import EventLog

    copies: dict[int, object] = {}
    cancellation = _portable_value(cancellation, copies)
    kept: list[Event] = []
    for event in events:
        if not _pickles(event):
            changes = {
                field.name: _portable_value(getattr(event, field.name), copies)
                for field in attrs.fields(type(event))
            }
            event = attrs.evolve(event, **changes)
            if not _pickles(event):
                continue
        kept.append(event)
    return cancellation, EventLog(kept, events.started_at)


def _portable_value(value: Any, copies: dict[int, Any]) -> Any:
    """`value` (an exception, or data of `_causes` that may hold one) with every exception
    that does not pickle replaced by its `ErrorCopy`; built bottom-up without recursion."""
    import attrs

    from ._causes import Cancellation, Disposal, ScopeCancelled, ServiceFailed, Unreachable
    from ._causes import _children as children

    if isinstance(value, BaseException):
        return value if _pickles(value) else ErrorCopy.of(value)
    stack: list[tuple[Any, bool]] = [(value, False)]
    while stack:
        obj, ready = stack.pop()
        key = id(obj)
        if key in copies:
            continue
        if not ready:
            stack.append((obj, True))
            stack.extend((c, False) for c in children(obj) if id(c) not in copies)
            continue
        if isinstance(obj, ServiceFailed) and not _pickles(obj.error):
            obj = attrs.evolve(obj, error=ErrorCopy.of(obj.error))
        elif isinstance(obj, Cancellation):
            obj = Cancellation(
                copies[id(obj.cause)], tuple(copies[id(c)] for c in obj.while_cancelling)
            )
        elif isinstance(obj, Disposal):
            obj = attrs.evolve(obj, cause=copies[id(obj.cause)])
        elif isinstance(obj, ScopeCancelled):
            obj = ScopeCancelled(copies[id(obj.cancellation)])
        elif isinstance(obj, Unreachable):
            obj = attrs.evolve(obj, disposals=tuple(copies[id(d)] for d in obj.disposals))
        copies[key] = obj
    return copies[id(value)]


class UncopyableMessage(CrossflowError, TypeError):
    """A message had to be copied and could not be.

    Each branch of a `fork_clone` (but one) gets its own deep copy of the message, and so
    does a join of a buffer marked `join_by_cloning()`. A message holding a lock, a
    socket, an open file or a database connection cannot be deep-copied: the operation
    fails (a `ServiceFailed` cancellation naming it) instead of passing a broken copy on.
    The original error of `copy.deepcopy` is the `__cause__`.
    """


class UnawaitedCoroutine(CrossflowError, TypeError):
    """A plain (blocking) function returned a coroutine instead of its response.

    It called an async function without awaiting it. The step fails (a `ServiceFailed`
    cancellation naming it) rather than passing the coroutine on as its response. Make
    the step an `async def` that awaits, or pass the async function itself.
    """


class StaleBufferKey(CrossflowError):
    """A buffer key (or a view from it) was used when it no longer gives access.

    A `cf.BufferKey` belongs to one session: it works until that session has ended,
    and a `BufferView` works only inside its `with key.access()` block. Using either
    afterwards raises this error instead of touching data that is gone.
    """
