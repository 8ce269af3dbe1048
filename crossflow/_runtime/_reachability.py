"""Reachability: is a session's terminate (or an explicit cancel) still reachable? (S2)

The engine keeps a live count per session (activity on operations that can reach
terminate or a cancel), so the answer is usually immediate. Where joins or closed gates
decide (S2.2, S7.4), the count over-approximates and the graph is walked from the
operations with activity. A session that can no longer reach its end is cancelled with
`Unreachable`, carrying its disposals (S2.4).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._causes import Unreachable
from .._state import SessionState

if TYPE_CHECKING:
    from ._engine import Engine
    from ._scope_session import ScopeSession

RUNNING = SessionState.RUNNING


def check_reachability(engine: Engine) -> None:
    """Check the sessions whose activity dropped, now that the queue is empty."""
    checks, engine.checks = engine.checks or [], None
    seen: set[int] = set()
    for session in checks:
        if session.state is not RUNNING:
            continue
        if session.useful_activity:
            # the counter over-approximates when joins or closed gates decide
            # (S2.2, S7.4); only then is the graph walked
            if id(session) in seen or not (session.plan.conditional or _has_closed_gate(session)):
                continue
            seen.add(id(session))
            if engine._reachable(session):
                continue
        disposals = session.disposals
        engine.cancel(
            session,
            Unreachable(session.graph.name)
            if disposals is None
            else disposals.unreachable(session.graph.name),
        )


def _reachable(engine: Engine, session: ScopeSession) -> bool:
    """Whether terminate or an explicit cancel can still be reached (S2.2, S7.4).

    Forward from every operation with activity, along connections and buffer
    edges; a join passes only when each of its buffers holds an item or can be fed,
    and a closed buffer only when something that could reopen it can run.
    """
    plan = session.plan
    activity = session.activity
    kinds = plan.kinds
    succ = plan.succ
    buffers = session.buffers or {}
    fired = {i for i in range(plan.size) if activity[i]}
    if session.collects:
        fired.update(c for c, state in session.collects.items() if state.holding)

    def holds(b: int) -> bool:
        state = buffers.get(b)
        return state is not None and bool(state.items)

    def passes(t: int) -> bool:
        kind = kinds[t]
        if kind == "join":
            return all(b in fired or holds(b) for b in plan.joins[t].buffers)
        if kind == "buffer":
            state = buffers.get(t)
            if state is not None and not state.is_open:
                return any(r in fired for r in plan.reopeners.get(t, ()))
        return True

    stack = list(fired)
    blocked: set[int] = set()
    while True:
        while stack:
            for t in succ[stack.pop()]:
                if t in fired:
                    continue
                if passes(t):
                    fired.add(t)
                    blocked.discard(t)
                    stack.append(t)
                else:
                    blocked.add(t)
        for t in list(blocked):
            if passes(t):
                blocked.discard(t)
                fired.add(t)
                stack.append(t)
        if not stack:
            return any(e in fired for e in plan.ends)


# ------------------------------------------------------------------ tasks
#
# The async activations of a session run in that session's own task group, opened
# by a host task in the run's task group the first time the session needs one.
# Cancelling a session's activations is then one `cancel_scope.cancel()`, and an
# activation costs no cancel scope of its own (except those that can be trimmed or
# supplanted). Hosts are shielded: only the engine cancels a session's tasks, so a
# cancellation from outside reaches them through the engine, which lets
# uninterruptible sessions run on (S6.4).


def _has_closed_gate(session: ScopeSession) -> bool:
    buffers = session.buffers
    return buffers is not None and any(not state.is_open for state in buffers.values())
