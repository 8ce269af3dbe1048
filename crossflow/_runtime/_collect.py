"""The collects family: lists of messages, emitted when upstream falls quiet (S5).

A collect keeps, per session, the items that arrived (`arrival`); it emits `max` items
at once, or what it holds when nothing upstream can send more (`settle`, when the queue
is empty), or records `DeficientCollection` below `min`. Whether anything upstream can
still send is the engine's count of activity upstream of each collect (`Engine._up`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._causes import DeficientCollection
from .._state import SessionState

if TYPE_CHECKING:
    from ._engine import Engine
    from ._plan import Handler, Plan
    from ._scope_session import CollectState, ScopeSession

RUNNING = SessionState.RUNNING


def collect_arrival(engine: Engine, session: ScopeSession, c: int, msg: Any) -> None:
    """An item reached collect `c` (S5.1, S5.2)."""
    states = session.collects
    up = session.upstream
    assert states is not None and up is not None
    state = states[c]
    state.items.append(msg)
    state.armed = True
    plan = session.plan
    maximum = plan.collect_max[c]
    if maximum is not None and len(state.items) >= maximum:
        out = state.items[:maximum]
        del state.items[:maximum]
        # an emission: the next one needs new upstream activity (S5.4)
        state.armed = False
        engine._update_holding(session, c, state)
        target = plan.targets[c][0]
        if target >= 0:
            engine.send(session, target, out)
        return
    engine._update_holding(session, c, state)
    # the message being handled still counts in activity[c]
    if not up[c] and session.activity[c] == 1:
        engine._fire(session, c, state)


def _fire(engine: Engine, session: ScopeSession, c: int, state: CollectState) -> None:
    """Upstream of collect `c` fell quiet: emit, or record a deficient collection."""
    state.armed = False
    engine._update_holding(session, c, state)
    plan = session.plan
    minimum = plan.collect_min[c]
    if len(state.items) >= minimum:
        out, state.items = state.items, []
        target = plan.targets[c][0]
        if target >= 0:
            engine.send(session, target, out)
    else:
        engine.dispose(session, c, DeficientCollection(plan.names[c], minimum, len(state.items)))


# ------------------------------------------------------------------ the loop


def settle_collects(engine: Engine) -> bool:
    """Fire the collects whose upstream fell quiet, upstream ones first (S5.2).

    Returns False when one emitted while others wait: what it emitted moves on first,
    and the rest are checked again once the queue is empty.
    """
    pending = sorted(engine.collect_checks or (), key=lambda e: e[0].plan.collect_rank[e[1]])
    engine.collect_checks = None
    for position, (session, c) in enumerate(pending):
        if session.state is not RUNNING:
            continue
        assert session.collects is not None and session.upstream is not None
        state = session.collects[c]
        if state.armed and not session.upstream[c] and not session.activity[c]:
            engine._fire(session, c, state)
            if engine.queue:
                # upstream collects first: let what it emitted move on (S5.2)
                for entry in pending[position + 1 :]:
                    engine._check_collect(*entry)
                return False
    return not engine.collect_checks


def handler(plan: Plan, index: int) -> Handler:
    """The handler of a collect operation."""

    def collect(engine: Engine, s: ScopeSession, msg: Any) -> None:
        engine.collect_arrival(s, index, msg)

    return collect
