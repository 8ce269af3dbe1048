"""The driver: runs an engine inside the caller's task, opening a task group only when needed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anyio

from .._causes import Cancellation, ScopeCancelled, ServiceFailed, Unreachable
from .._errors import WorkflowCancelled
from .._state import SessionState
from ._engine import Engine

if TYPE_CHECKING:
    from .._graph import Graph
    from ._session import Session

TERMINATED = SessionState.TERMINATED
CANCELLED = SessionState.CANCELLED


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
    try:
        # A lone async activation runs right here, in the caller's task: while it is
        # the only work of the run, nothing else can cancel or need it, and it cannot
        # start other work (it has no streams). More concurrency gets a task group.
        while True:
            if root.state is TERMINATED or root.state is CANCELLED:
                break
            if engine.yielded:
                # a long run of blocking operations: let the loop breathe, then go on
                await anyio.lowlevel.checkpoint()
                engine.yielded = False
                engine.flush()
                continue
            pending = engine.pending
            assert pending, root  # invariant: a running session has work somewhere
            session, op, msg = pending[0]
            if len(pending) > 1 or session.plan.streams[op] is not None:
                await _drive(engine, root)
                break
            engine.pending = None
            # engine.run_activation, inlined: one coroutine less per run in flight (W3)
            ok = False
            result: Any = None
            try:
                call = engine.activation_call(session, op, msg)
                if call is not None:
                    result = await call
                    ok = True
            except anyio.get_cancelled_exc_class():
                engine.activation_cancelled(session)
                raise
            except Exception as error:
                engine.activation_failed(session, op, error)
            finally:
                engine.activation_ended(session, op, ok, result)
    except anyio.get_cancelled_exc_class():
        # API §2: the session is cancelled, its cleanup awaited, then the backend's
        # cancellation propagates
        with anyio.CancelScope(shield=True):
            engine.cancel_from_outside("the task awaiting the run was cancelled")
            engine.yielded = False
            engine.flush()
            if not root.state.ended:
                await _drive(engine, root)
        raise
    if root.state is TERMINATED:
        return root.response
    return outcome(root)


async def _drive(engine: Engine, root: Session) -> None:
    """Run the rest of the session with a task group for its activations."""
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
