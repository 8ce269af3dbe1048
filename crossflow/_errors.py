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

from collections.abc import Container, Sequence
from typing import TYPE_CHECKING

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
                "run); draw the workflow with workflow.to_svg() instead"
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
