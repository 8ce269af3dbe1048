"""The trims family: stop a span of the graph for one session, then go on (S3, S6.6).

A trim drops the queued messages of its span, stops its activations (as their
cancellation policies say) and interrupts its child sessions; once nothing of the span
runs any more (`check`), it records `Trimming` and passes its message on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._causes import Interrupted, Trimming
from .._policy import CancellationPolicy
from ._queues import release

if TYPE_CHECKING:
    from ._engine import Engine
    from ._plan import Handler, Plan
    from ._scope_session import ScopeSession

WAIT = CancellationPolicy.WAIT


def trim(engine: Engine, session: ScopeSession, op: int, msg: Any) -> None:
    """Clean up the operations of a trim's span for `session`, then pass `msg` on."""
    plan = session.plan
    span = plan.trim_spans[op]
    inside = set(span)
    # queued messages of the span are dropped
    queue = engine.queue
    kept = [e for e in queue if e[0] is not session or e[1] not in inside]
    if len(kept) < len(queue):
        dropped = [o for s, o, _ in queue if s is session and o in inside]
        queue.clear()
        queue.extend(kept)
        for o in dropped:
            engine.dec(session, o)
    # activations that did not start yet never will
    if session.pending:
        for entry in [e for e in session.pending if e[0] in inside]:
            session.pending.remove(entry)
            engine.drop_activation(session, entry[0], entry[1])
    if engine.pending:
        for e in [e for e in engine.pending if e[0] is session and e[1] in inside]:
            engine.pending.remove(e)
            engine.drop_activation(session, e[1], e[2])
    extra = session.extras()
    for o in span:
        for ticket in list(extra.tickets.pop(o, ())):
            release(ticket)
            engine.dec(session, o)
    for scope, (o, _) in list(extra.running.items()):
        if o in inside:
            if plan.policy[o] is WAIT:
                scope.cancel()
            else:
                engine.leave_task(session, scope, o)  # S6.6
    for child in list(session.children or ()):
        if child.parent_op in inside:
            child.extras().trimmed = True
            engine.stop_child(session, child, Interrupted(plan.names[op]))
    for o in span:
        kind = plan.kinds[o]
        if kind == "buffer" and session.buffers is not None and o in session.buffers:
            session.buffers[o].items.clear()
        elif kind == "collect" and session.collects is not None:
            state = session.collects[o]
            state.items.clear()
            engine._update_holding(session, o, state)
    engine.inc(session, op)
    extra.trims.append((op, msg, span))
    engine.check_trims(session)


def check_trims(engine: Engine, session: ScopeSession) -> None:
    extra = session.extra
    assert extra is not None  # invariant: only called when trims wait
    for entry in list(extra.trims):
        op, msg, span = entry
        inside = set(span)
        busy = any(o in inside for o, _ in extra.running.values()) or any(
            child.parent_op in inside for child in session.children or ()
        )
        if busy:
            continue
        extra.trims.remove(entry)
        engine.dispose(session, op, Trimming(session.plan.names[op]))
        target = session.plan.targets[op][0]
        if target >= 0:
            engine.send(session, target, msg)
        engine.dec(session, op)


def handler(plan: Plan, index: int) -> Handler:
    """The handler of a trim operation."""

    def trim(engine: Engine, s: ScopeSession, msg: Any) -> None:
        engine.trim(s, index, msg)

    return trim
