"""The driver: runs an engine inside the caller's task, opening a task group only when needed."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from time import monotonic
from typing import TYPE_CHECKING, Any

import anyio

from .._causes import Cancellation, ScopeCancelled, ServiceFailed, Unreachable
from .._errors import CrossflowWarning, WorkflowCancelled
from .._state import SessionState
from . import _audit
from ._engine import Engine
from ._log import materialise
from ._plan import plan_of

if TYPE_CHECKING:
    from .._instructions import Delivery
    from .._model import Graph
    from ..events import Event
    from ._scope_session import ScopeSession

TERMINATED = SessionState.TERMINATED
CANCELLED = SessionState.CANCELLED
OUTSIDE = "the task awaiting the run was cancelled"


def _failure(cancellation: Cancellation) -> BaseException | None:
    """The exception of the service whose failure led to `cancellation`, if any: the
    first one found depth-first through nested sessions (a stack, not recursion: S6.7)."""
    stack = [cancellation]
    while stack:
        cause = stack.pop().cause
        if isinstance(cause, ServiceFailed):
            return cause.error
        if isinstance(cause, Unreachable):
            nested = [
                d.cause.cancellation for d in cause.disposals if isinstance(d.cause, ScopeCancelled)
            ]
            stack.extend(reversed(nested))
    return None


def issue_warnings(engine: Engine, propagating: BaseException | None = None) -> None:
    """Issue the run's `CrossflowWarning`s in the caller's frame, now that the run is over.

    Under `-W error` the first one is raised; the others become its notes. While another
    exception propagates (`propagating`), they become notes of that exception instead.
    """
    messages = engine.finish_reports()
    for i, message in enumerate(messages):
        try:
            warnings.warn(message, CrossflowWarning, stacklevel=3)
        except Warning as error:
            target = propagating if propagating is not None else error
            for rest in messages[i + 1 :] if propagating is None else messages[i:]:
                target.add_note(f"CrossflowWarning: {rest}")
            if propagating is None:
                raise
            return


def outcome(engine: Engine, session: ScopeSession, started_at: datetime | None = None) -> Any:
    if session.state is SessionState.TERMINATED:
        return session.response
    assert session.state is SessionState.CANCELLED and session.cancellation is not None
    events = () if engine.log is None else tuple(materialise(engine.log))
    if started_at is None and events:
        # the wall-clock start, worked out only here: a run that is not cancelled never
        # reads the clock for it (its first event has the monotonic start)
        started_at = datetime.now(UTC) - timedelta(seconds=monotonic() - events[0].time)
    raise WorkflowCancelled(session.cancellation, events, session.graph, started_at) from _failure(
        session.cancellation
    )


def new_engine(
    events: bool = True,
    on_event: Callable[[Event], object] | None = None,
    inject: Callable[[str], Exception | None] | None = None,
) -> Engine:
    """The engine of one run: an audited one while the bookkeeping audit is on."""
    if _audit.enabled():
        return _audit.AuditedEngine(events, on_event, inject)
    return Engine(events, on_event, inject)


async def run_workflow(
    graph: Graph,
    request: Any,
    delivery: Delivery | None = None,
    events: bool = True,
    on_event: Callable[[Event], object] | None = None,
    inject: Callable[[str], Exception | None] | None = None,
) -> Any:
    engine = new_engine(events, on_event, inject)
    root = engine.open_session(plan_of(graph), request, None, -1, delivery)
    engine.flush()
    try:
        # A lone async activation of the root runs right here, in the caller's task:
        # while it is the only work of the run, nothing else can cancel or need it, and
        # it cannot start other work (it has no streams). More concurrency, nested
        # sessions, uninterruptible roots and stoppable activations get a task group.
        while True:
            if root.state is TERMINATED or root.state is CANCELLED:
                if engine.left or engine.detached:
                    # S6.6: work left in the background still runs; the run owns it
                    await _drive(engine, root)
                break
            if engine.timers:
                await _drive(engine, root)  # a timeout needs a task of its own (S6.5)
                break
            if engine.yielded and not engine.pending:
                # a long run of blocking operations: let the loop breathe, then go on
                await anyio.lowlevel.checkpoint()
                engine.yielded = False
                engine.flush()
                continue
            pending = engine.pending
            if not pending or engine.yielded:
                # the work waits elsewhere (in a delivery queue), or blocking operations
                # must share the loop with async work: wait for the session
                await _drive(engine, root)
                break
            session, op, msg = pending[0]
            plan = session.plan
            if (
                len(pending) > 1
                or session is not root
                or plan.streams[op] is not None
                or plan.scoped[op]
                or plan.uninterruptible
                or delivery is not None  # a pre-empting request must be able to stop it
                or root.state is not SessionState.RUNNING
            ):
                await _drive(engine, root)
                break
            engine.pending = None
            # the run's only activation runs in the caller's task: no task group (W3)
            await engine.run_activation(session, op, msg)
    except anyio.get_cancelled_exc_class() as cancelled:
        # API §2: the session is cancelled, its cleanup awaited, then the backend's
        # cancellation propagates
        with anyio.CancelScope(shield=True):
            engine.cancel_from_outside(OUTSIDE)
            engine.yielded = False
            engine.flush()
            if not root.state.ended:
                await _drive(engine, root)
        issue_warnings(engine, cancelled)
        raise
    issue_warnings(engine)
    if engine.fatal is not None:
        raise engine.fatal  # KeyboardInterrupt, SystemExit...: after cleanup, as itself
    if root.state is TERMINATED:
        return root.response
    return outcome(engine, root)


async def watch(engine: Engine, reason: str) -> None:
    """Wait until the root session has ended and nothing is left in the background; a
    cancellation of the waiting task cancels the run (`reason`), then propagates."""
    idle = engine.idle = anyio.Event()
    engine.maybe_idle()
    try:
        await idle.wait()
    except anyio.get_cancelled_exc_class():
        engine.cancel_from_outside(reason)
        engine.flush()
        raise


async def _drive(engine: Engine, root: ScopeSession) -> None:
    """Run the rest of the session with a task group for its activations.

    Session task groups are shielded (see `Tasks._host`): a cancellation from outside
    reaches the sessions only through `cancel_from_outside`, and this task group's exit
    waits until every session has ended, uninterruptible ones included (S6.4), and for
    work that cancellation policies left in the background (S6.6).
    """
    if root.state.ended and not engine.left and not engine.detached:
        return
    async with anyio.create_task_group() as tg:
        engine.open_task_group(tg)
        await watch(engine, OUTSIDE)
    # invariant: every activation ran in this task group, so the root session ended
    assert root.state.ended, root
