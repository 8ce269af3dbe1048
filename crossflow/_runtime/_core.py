"""The engine core: a FIFO of ready messages and the activity they hold.

The core does three things: it queues messages for operations (`send`), keeps count of
every session's activity (`inc`, `dec`, and the collects' upstream counters), and
processes the queue (`flush`). What each kind of operation does lives with its family
(see `_engine.py`, which composes the engine from the core and the families).

Everything here is synchronous except the coroutine that runs an async activation.
The engine never starts a task on its own: it asks for one, and the driver
(`_driver.py`) decides where it runs. A chain of blocking operations therefore runs
without any task at all.

Ordering (S8): messages are processed one at a time in the order they were queued,
shared by the root session and all its nested sessions (breadth-first). When the
queue is empty, collects that fell quiet react (upstream ones first) and then the
sessions whose activity dropped to nothing are checked for reachability (S2, S5.2).
"""

from __future__ import annotations

from collections.abc import Callable
from time import monotonic
from typing import TYPE_CHECKING, Any

import anyio

from .._causes import Disposal, DisposalCause
from .._state import SessionState
from .._text import describe_error, safe_repr
from ..events import Disposed
from ._disposals import Disposals
from ._entry import EntryQueue
from ._log import ObservedLog
from ._queues import Ticket, release
from ._scope_session import CollectState, ScopeSession

if TYPE_CHECKING:
    from ..events import Event
    from ._engine import Engine

RUNNING = SessionState.RUNNING

# how many messages one flush handles before it lets the event loop run
FLUSH_LIMIT = 10_000


class Packed:
    """The message of an activation that has its own cancel scope (trims, delivery)."""

    __slots__ = ("msg", "ticket")

    def __init__(self, msg: Any, ticket: Ticket | None) -> None:
        self.msg = msg
        self.ticket = ticket

    def __repr__(self) -> str:
        return f"<Packed {safe_repr(self.msg)} {self.ticket!r}>"


def between_operations(engine: Engine, action: Callable[[], None]) -> None:
    """Run `action` now, or, when called from inside an operation (a blocking
    service that cancels its own session), right after that operation returns."""
    if not engine.flushing:
        action()
        return
    engine.queue_next(action)


def entry_queue(engine: Engine) -> EntryQueue:
    """The run's entry queue for other threads, made on first use (on the event loop)."""
    entry = engine.entry
    if entry is None:
        entry = engine.entry = EntryQueue()
    return entry


def queue_next(engine: Engine, action: Callable[[], None]) -> None:
    """Run `action` as the next queued item: right after the operation being handled,
    or at the next flush."""
    DEFERRED.activity[0] += 1
    engine.queue.appendleft((DEFERRED, 0, action))  # type: ignore[arg-type]


def warn(engine: Engine, message: str) -> None:
    """Keep a `CrossflowWarning` for the caller, issued when the run ends."""
    if engine.notes is None:
        engine.notes = [message]
    else:
        engine.notes.append(message)


def finish_reports(engine: Engine) -> list[str]:
    """At the end of a run: the last events go to `on_event`; the warnings to issue."""
    log = engine.log
    notes = engine.notes or []
    engine.notes = None
    if type(log) is ObservedLog:
        log.deliver()
        log.schedule = _nothing  # nothing more is recorded: no cycle through the engine
        for error in log.failures:
            notes.append(
                f"an event callback (on_event or session.watch) raised "
                f"{describe_error(error)}; it was not called for the rest of the run"
            )
        log.failures.clear()
    return notes


def observe(engine: Engine, callback: Callable[[Event], object]) -> None:
    """Hand every event recorded from now on to `callback` (see `ObservedLog`)."""
    log = engine.log
    assert log is not None  # invariant: callers check that the run records events
    if type(log) is not ObservedLog:
        # the log becomes observed: the same entries, handed over from here on
        log = engine.log = ObservedLog(engine.queue_next, log)
    else:
        log.deliver()  # the others first: the new one starts from here
    log.callbacks.append(callback)


def log_event(engine: Engine, event: type, session: ScopeSession, *fields: Any) -> None:
    """Record an event of `session` (S9.2), when recording."""
    log = engine.log
    if log is not None:
        log.append((monotonic(), event, session, fields))


# ------------------------------------------------------------------ sessions


def send(engine: Engine, session: ScopeSession, target: int, msg: Any) -> None:
    """Queue `msg` for operation `target` of `session` (`target >= 0`).

    The accounting is `inc`'s, written out: this runs for every message (W1).
    """
    engine.queue.append((session, target, msg))
    session.activity[target] += 1
    plan = session.plan
    if plan.useful[target]:
        session.useful_activity += 1
    collects = plan.collects_of[target]
    if collects:
        engine._up(session, collects)


def inc(engine: Engine, session: ScopeSession, op: int) -> None:
    """Operation `op` gained an activity unit (a task, a child session)."""
    session.activity[op] += 1
    plan = session.plan
    if plan.useful[op]:
        session.useful_activity += 1
    collects = plan.collects_of[op]
    if collects:
        engine._up(session, collects)


def dec(engine: Engine, session: ScopeSession, op: int) -> None:
    """Operation `op` lost an activity unit."""
    session.activity[op] -= 1
    plan = session.plan
    if plan.useful[op]:
        session.useful_activity -= 1
        if not session.useful_activity:
            engine._check(session)
    collects = plan.collects_of[op]
    if collects:
        engine._down(session, collects)


def dispose(engine: Engine, session: ScopeSession, op: int, cause: DisposalCause) -> None:
    """Record a disposal; reachability is checked once the queue is empty (S2.4)."""
    engine.record_disposal(session, Disposal(session.plan.names[op], cause))


def record_disposal(engine: Engine, session: ScopeSession, disposal: Disposal) -> None:
    """Record a disposal built in advance (disposals are values: they can be shared)."""
    if engine.log is not None:
        engine.log.append((monotonic(), Disposed, session, (disposal,)))
    disposals = session.disposals
    if disposals is None:
        disposals = session.disposals = Disposals()
    disposals.add(disposal)
    engine._check(session)


def _check(engine: Engine, session: ScopeSession) -> None:
    """Check `session` for reachability once the queue is empty (S2.4)."""
    if engine.checks is None:
        engine.checks = [session]
    else:
        engine.checks.append(session)


def _check_collect(engine: Engine, session: ScopeSession, c: int) -> None:
    if engine.collect_checks is None:
        engine.collect_checks = [(session, c)]
    else:
        engine.collect_checks.append((session, c))


# ------------------------------------------------------------------ collects


def _up(engine: Engine, session: ScopeSession, collects: tuple[int, ...]) -> None:
    up = session.upstream
    states = session.collects
    assert up is not None and states is not None
    for c in collects:
        up[c] += 1
        state = states[c]
        if not state.armed:
            state.armed = True
            engine._update_holding(session, c, state)


def _down(engine: Engine, session: ScopeSession, collects: tuple[int, ...]) -> None:
    up = session.upstream
    states = session.collects
    assert up is not None and states is not None
    for c in collects:
        up[c] -= 1
        if not up[c] and states[c].armed:
            engine._check_collect(session, c)


def _update_holding(engine: Engine, session: ScopeSession, c: int, state: CollectState) -> None:
    holding = state.armed and len(state.items) >= session.plan.collect_min[c]
    if holding is state.holding:
        return
    state.holding = holding
    # a collect that will emit counts as activity, for reachability and for the
    # collects downstream of it (S5.2)
    plan = session.plan
    if plan.useful[c]:
        session.useful_activity += 1 if holding else -1
        if not session.useful_activity:
            engine._check(session)
    collects = plan.collects_of[c]
    if collects:
        if holding:
            engine._up(session, collects)
        else:
            engine._down(session, collects)


def flush(engine: Engine) -> None:
    """Process queued messages until nothing is left to do synchronously.

    After `FLUSH_LIMIT` messages it stops and lets the event loop run (see
    `yielded`): a cycle of blocking operations then shares the loop with other
    tasks, and can be cancelled from outside.
    """
    if engine.flushing:
        return
    engine.flushing = True
    try:
        queue = engine.queue
        popleft = queue.popleft
        budget = FLUSH_LIMIT
        audit = engine.audit  # None unless the bookkeeping is audited (`_audit.py`)
        while True:
            while queue:
                session, op, msg = popleft()
                if session.state is not RUNNING:
                    continue  # S6.1: queued inputs of a cleaned-up session are dropped
                budget -= 1
                if not budget:
                    queue.appendleft((session, op, msg))
                    engine._yield()
                    return
                plan = session.plan
                session.handlers[op](engine, session, msg)
                # the message counted as activity until it was handled
                session.activity[op] -= 1
                if plan.useful[op]:
                    session.useful_activity -= 1
                    if not session.useful_activity and session.state is RUNNING:
                        engine._check(session)
                if plan.collects:
                    collects = plan.collects_of[op]
                    if collects:
                        engine._down(session, collects)
                if audit is not None:
                    audit()
            if not engine.collect_checks and not engine.checks:
                return
            engine._settle()
            if audit is not None:
                audit()
    finally:
        engine.flushing = False


def _yield(engine: Engine) -> None:
    # the driver (no task group yet) checks `yielded`; with a task group, a task
    # resumes the flush after a checkpoint
    if engine.yielded:
        return
    engine.yielded = True
    if engine.tg is not None:
        engine.tg.start_soon(engine.resume)


async def resume(engine: Engine) -> None:
    """Let the event loop run, then go on with the queued messages."""
    with anyio.CancelScope(shield=True):  # the queue must drain even when cancelled
        await anyio.lowlevel.checkpoint()
    engine.yielded = False
    engine.flush()


def _settle(engine: Engine) -> None:
    """The queue is empty: collects that fell quiet react, upstream ones first (S5.2);
    then the sessions whose activity dropped are checked for reachability (S2.4)."""
    if engine.collect_checks and not engine.settle_collects():
        return  # what a collect emitted moves on first
    if engine.checks:
        engine.check_reachability()


def drop_activation(engine: Engine, session: ScopeSession, op: int, msg: Any) -> None:
    """An activation waiting for its task group will not run."""
    session.ntasks -= 1
    if type(msg) is Packed and msg.ticket is not None:
        release(msg.ticket)
    engine.dec(session, op)


class _Deferred:
    """Stands in for a session in the ready queue, so that an action requested from
    inside an operation runs as the next queued item (see `Engine.between_operations`),
    at no cost to the loop."""

    class _Plan:
        useful = (False,)
        collects = ()

    __slots__ = ("activity", "handlers", "plan", "state")

    def __init__(self) -> None:
        self.state = RUNNING
        self.plan = self._Plan()
        self.activity = [0]  # the loop counts activity down after each item
        self.handlers = (_run_deferred,)

    def __repr__(self) -> str:
        return "<deferred action>"


def _run_deferred(engine: Engine, session: Any, action: Callable[[], None]) -> None:
    action()


DEFERRED = _Deferred()


def _nothing(action: Callable[[], None]) -> None:
    """Where an observed log hands its deliveries once the run is over."""
