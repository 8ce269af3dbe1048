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
    if not root.state.ended:
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
    # A lone async activation runs right here, in the caller's task: no task group is
    # needed while it is the only work of the run (it cannot start others: it has no
    # streams). Anything more concurrent gets a task group.
    while len(engine.pending) == 1 and engine.tg is None and not root.state.ended:
        activation = engine.pending[0]
        op = activation.session.graph.ops[activation.op]
        if op.provider is not None and op.provider.streams:
            break
        engine.pending.clear()
        await engine.run_activation(activation)
    if root.state.ended:
        return
    done = engine.done = anyio.Event()
    async with anyio.create_task_group() as tg:
        engine.tg = tg
        try:
            pending, engine.pending = engine.pending, []
            for activation in pending:
                tg.start_soon(engine.run_activation, activation)
            if not root.state.ended:
                await done.wait()
        finally:
            engine.tg = None
