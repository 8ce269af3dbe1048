"""The deliveries family: requests that wait for their turn in delivery queues (S7.5).

A request to a serial service, or to an instructed service or workflow, gets a ticket
in the provider's queues (`_queues.py`); it starts when its lane is free, and a
pre-empting request supplants the queued and running ones of its label.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._causes import Supplanted
from .._state import SessionState
from ._core import Packed
from ._queues import QUEUED, Ticket, release, submit

if TYPE_CHECKING:
    from .._instructions import Delivery
    from ._engine import Engine
    from ._plan import Handler, Plan
    from ._scope_session import ScopeSession

RUNNING = SessionState.RUNNING


def deliver(engine: Engine, session: ScopeSession, op: int, msg: Any, delivery: Delivery) -> None:
    """A request to a provider with delivery settings: queue it, or start it."""
    engine.inc(session, op)  # queued or running, the request is activity of `op`
    name = session.plan.names[op]
    label = "" if delivery.label is None else f" (label {delivery.label!r})"
    by = f"{name}{label} in session of scope {session.graph.name!r}"

    def on_start(ticket: Ticket) -> None:
        extra = session.extra
        if extra is not None and op in extra.tickets:
            extra.tickets[op].discard(ticket)
        if session.state is not RUNNING:
            release(ticket)
            return
        engine._start_delivered(session, op, msg, ticket)

    def on_supplant(ticket: Ticket, running: bool, by: str) -> None:
        engine._supplant(session, op, ticket, running, by)

    ticket = submit(delivery, by, on_start, on_supplant)
    if ticket is None:
        engine._start_delivered(session, op, msg, None)
    elif ticket.state == QUEUED:
        session.extras().tickets.setdefault(op, set()).add(ticket)


def _start_delivered(
    engine: Engine, session: ScopeSession, op: int, msg: Any, ticket: Ticket | None
) -> None:
    if session.plan.kinds[op] == "scope":
        child = engine.open_session(session.plan.body(op), msg, session, op)
        if ticket is not None:
            child.extras().ticket = ticket
        engine.dec(session, op)  # the child session is the activity now
        engine.flush()
        return
    engine.spawn_packed(session, op, Packed(msg, ticket))


def _supplant(
    engine: Engine, session: ScopeSession, op: int, ticket: Ticket, running: bool, by: str
) -> None:
    if session.state is not RUNNING:
        return
    cause = Supplanted(by)
    if not running:
        # a queued request never starts
        extra = session.extra
        if extra is not None and op in extra.tickets:
            extra.tickets[op].discard(ticket)
        engine.dispose(session, op, cause)
        engine.dec(session, op)
    elif session.plan.kinds[op] == "scope":
        for child in list(session.children or ()):
            if child.extra is not None and child.extra.ticket is ticket:
                # an internal cancellation: uninterruptible or not (S4.5)
                engine.cancel(child, cause)
    else:
        engine.dispose(session, op, cause)
        extra = session.extra
        if extra is not None:
            for scope, (_, held) in list(extra.running.items()):
                if held is ticket:
                    scope.cancel()
    engine.flush()


# ------------------------------------------------------------------ buffers (S7)


def handler(plan: Plan, index: int) -> Handler:
    """The handler of a service or workflow node whose requests are queued."""
    delivery = plan.deliveries[index]
    assert delivery is not None  # invariant: only operations with delivery get this

    def delivered(engine: Engine, s: ScopeSession, msg: Any) -> None:
        engine.deliver(s, index, msg, delivery)

    return delivered
