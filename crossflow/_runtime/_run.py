"""The driver: runs an engine inside the caller's task, opening a task group only when needed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anyio

from .._causes import Cancellation, ScopeCancelled, ServiceFailed, Unreachable
from .._errors import WorkflowCancelled
from .._state import SessionState

TERMINATED = SessionState.TERMINATED
CANCELLED = SessionState.CANCELLED
from ._engine import Engine

if TYPE_CHECKING:
    from .._graph import Graph
    from ._session import Session


def _failure(cancellation: Cancellation) -> BaseException | None:
    """The exception of the service whose failure led to `cancellation`, if any."""
    cause = cancellation.cause
    if isinstance(cause, ServiceFailed):
        return cause.error
    if isinstance(cause, Unreachable):
        for disposal in cause.disposals:
            if isinstance(disposal.cause, ScopeCancelled):
                found = _failure(disposal.cause.cancellation)
                if found is not None:
                    return found
    return None


def outcome(session: Session) -> Any:
    if session.state is SessionState.TERMINATED:
        return session.response
    assert session.state is SessionState.CANCELLED and session.cancellation is not None
    raise WorkflowCancelled(session.cancellation) from _failure(session.cancellation)


async def run_workflow(graph: Graph, request: Any) -> Any:
    engine = Engine()
    root = engine.open(graph, request, None, -1)
    engine.flush()
    if root.state is not TERMINATED and root.state is not CANCELLED:
        try:
            await _drive(engine, root)
        except anyio.get_cancelled_exc_class():
            # API §2: the session is cancelled, its cleanup awaited, then the backend's
            # cancellation propagates
            with anyio.CancelScope(shield=True):
                engine.cancel_from_outside("the task awaiting the run was cancelled")
                engine.flush()
                if not root.state.ended:
                    await _drive(engine, root)
            raise
    return outcome(root)


async def _drive(engine: Engine, root: Session) -> None:
    # A lone async activation runs right here, in the caller's task: while it is the
    # only work of the run, nothing else can cancel or need it, and it cannot start
    # other work (it has no streams). Anything more concurrent gets a task group.
    pending = engine.pending
    while len(pending) == 1 and engine.tg is None and not root.state.ended:
        session, op, msg = pending[0]
        if session.plan.streams[op] is not None:
            break
        pending.clear()
        await engine.run_activation(session, op, msg)
        pending = engine.pending
    if root.state.ended:
        return
    done = engine.done = anyio.Event()
    async with anyio.create_task_group() as tg:
        engine.open_task_group(tg)
        try:
            if not root.state.ended:
                await done.wait()
        finally:
            engine.tg = root.tg = None
    # invariant: every activation ran in this task group, so the root session ended
    assert root.state.ended, root
