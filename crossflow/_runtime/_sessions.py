"""The sessions family: opening, ending and cleaning up sessions (S1, S6).

A session starts with its request (`open`), ends by reaching terminate (`terminate`) or
by a cancellation (`cancel`, `fail`, `interrupt`, `force`), and then goes through its
cleanup (`clean`): operation cleanup first, as each running node's cancellation policy
says (S6.6), then its cleanup workflows; only then is its outcome delivered
(`maybe_finish`). Scope timeouts and cleanup timeouts (S6.5) are this family's timers.
Operations of this family: nested scopes and workflow nodes, terminate, stream outs and
cancel operations.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Coroutine
from functools import partial
from time import monotonic
from typing import TYPE_CHECKING, Any

import anyio

from .._causes import (
    Cancellation,
    CancellationCause,
    Interrupted,
    ScopeCancelled,
    ServiceFailed,
    Supplanted,
    TimedOut,
    Triggered,
    Unreachable,
    UserCancelled,
)
from .._ending import Ending
from .._model import CancelSettings, StreamOutSettings
from .._policy import CancellationPolicy
from .._state import SessionState
from .._text import describe_error, safe_str
from ..events import (
    CancellationRequested,
    ChildAbandoned,
    ChildCancellationFailed,
    ChildCancellationRequested,
    CleanupFailed,
    CleanupStarted,
    OperationFinished,
    SessionStarted,
    TaskAbandoned,
    TaskCancelled,
)
from ._controls import wrapped
from ._exceptions import is_fatal
from ._log import Ended
from ._queues import QUEUED, Ticket, release, submit
from ._scope_session import ScopeSession

if TYPE_CHECKING:
    from anyio import CancelScope

    from .._instructions import Delivery
    from ._engine import Engine
    from ._plan import Handler, Plan

RUNNING = SessionState.RUNNING
TERMINATING = SessionState.TERMINATING
CANCELLING = SessionState.CANCELLING
WAIT = CancellationPolicy.WAIT
TRY_CANCEL = CancellationPolicy.TRY_CANCEL
ABANDON = CancellationPolicy.ABANDON
_NO_CANCELLATION = (None,)  # the fields of CleanupStarted after terminate, built once

# how many nested sessions one call cleans up before it leaves the rest for later (S6.7)
CLEAN_DEPTH = 16


def open_session(
    engine: Engine,
    plan: Plan,
    request: Any,
    parent: ScopeSession | None,
    parent_op: int,
    delivery: Delivery | None = None,
) -> ScopeSession:
    """Open a session of the scope `plan` runs, and send it its request (S1.1, S1.2).

    A root session with `delivery` waits for its turn in the queues (S7.5) first.
    """
    graph = plan.graph
    session = ScopeSession(graph, plan, parent, parent_op)
    if engine.injecting is not None:
        handlers = engine.injecting.get(id(plan))
        if handlers is None:
            handlers = engine.injecting[id(plan)] = plan.injecting_handlers(engine.log is not None)
        session.handlers = handlers
    elif engine.log is not None:
        session.handlers = plan.rec_handlers or plan.recording_handlers()
    if engine.log is not None:
        engine.log.append((monotonic(), SessionStarted, session, plan.scope_fields))
    if plan.timeout is not None:
        engine.start_timeout(session)
    if parent is None:
        engine.root = session
    else:
        if parent.children is None:
            parent.children = {}
        parent.children[session] = None
        if parent_op >= 0:  # a cleanup workflow (-1) is no activity of its parent
            engine.inc(parent, parent_op)
    target = plan.start_target
    if target < 0:
        # S2.3: inherent unreachability, before any operation runs
        engine.cancel(session, Unreachable(graph.name, ()))
    elif delivery is not None:
        engine._open_delivered(session, target, request, delivery)
    else:
        engine.send(session, target, request)
    return session


def _open_delivered(
    engine: Engine, session: ScopeSession, target: int, request: Any, delivery: Delivery
) -> None:
    # waiting for the turn is activity of the start operation
    start = 0
    engine.inc(session, start)

    def on_start(ticket: Ticket | None) -> None:
        if session.state is not RUNNING:
            if ticket is not None:
                release(ticket)
            return
        engine.send(session, target, request)
        engine.dec(session, start)
        engine.flush()

    def on_supplant(ticket: Ticket, running: bool, by: str) -> None:
        # an internal cancellation: uninterruptible or not (S4.5)
        engine.cancel(session, Supplanted(by))
        engine.flush()

    ticket = submit(delivery, f"a run of {session.graph.name!r}", on_start, on_supplant)
    if ticket is None:
        on_start(None)  # a parallel provider: no queue
    else:
        session.extras().ticket = ticket


def terminate(engine: Engine, session: ScopeSession, response: Any) -> None:
    """The first message to reach terminate is the response (S1.3); cleanup starts (S1.4)."""
    if session.state is not RUNNING:
        return
    session.response = response
    session.state = TERMINATING
    engine.clean(session)


def cancel(engine: Engine, session: ScopeSession, cause: CancellationCause) -> None:
    """Cancel a running session with `cause`; cleanup starts (S6.1)."""
    if session.state is not RUNNING:
        return
    session.cancellation = Cancellation(cause)
    session.state = CANCELLING
    engine.clean(session)


def fail(engine: Engine, session: ScopeSession, op: int, error: BaseException) -> None:
    """A service raised: cancel the innermost session running it (S4.3).

    An exception that asks the program to stop (KeyboardInterrupt, SystemExit) also
    cancels the whole run; the driver raises it once everything is cleaned up.
    """
    engine.failures += 1
    name = session.plan.names[op]
    if engine.log is not None:
        engine.log.append((monotonic(), OperationFinished, session, (name, error)))
    engine.cancel(session, ServiceFailed(name, error))
    if is_fatal(error):
        engine.stop_everything(session, op, error)


def stop_everything(engine: Engine, session: ScopeSession, op: int, error: BaseException) -> None:
    """`error` (KeyboardInterrupt, SystemExit, ...) stops the run: everything is
    cancelled as if the caller had been, and the driver raises `error` at the end."""
    if engine.fatal is None:
        engine.fatal = error
        if engine.on_fatal is not None:
            engine.on_fatal()  # a session handle: stop the `async with` block too
    engine.cancel_from_outside(f"{session.plan.names[op]} raised {type(error).__qualname__}")


def interrupt(engine: Engine, session: ScopeSession, cause: CancellationCause) -> None:
    """A cancellation from outside the session: its parent ended, the caller
    cancelled, a trim. An uninterruptible session records it and runs on (S6.4)."""
    if session.state.ended:
        return
    honoured = session.state is RUNNING and not session.plan.uninterruptible
    session.extras().cancel_requested = True
    if engine.log is not None:
        engine.log.append((monotonic(), CancellationRequested, session, (cause, honoured)))
    if honoured:
        engine.cancel(session, cause)


def maybe_idle(engine: Engine) -> None:
    root = engine.root
    if (
        engine.idle is not None
        and root is not None
        and root.state.ended
        and not engine.left
        and not engine.detached
    ):
        engine.idle.set()


def cancel_from_outside(engine: Engine, reason: str) -> None:
    """The run's caller was cancelled: cancel the root session, and the work that
    cancellation policies left in the background, which would otherwise keep the
    caller waiting (S6.6)."""
    root = engine.root
    if root is not None:
        engine.interrupt(root, UserCancelled(reason))
    if engine.closing is None:
        engine.closing = reason
        for scope in list(engine.left):
            scope.cancel()
        for child in list(engine.detached):
            engine.interrupt(child, UserCancelled(reason))


def force(engine: Engine, reason: str | None) -> None:
    """`session.cancel(force=True)`: cancel every session of the run, uninterruptible
    scopes and running cleanup workflows included, and the work left in the
    background (S6.7). Each forced request is recorded as such.

    Cleanup workflows that start after this (once the tasks they wait for have ended)
    are forced as they start: the caller asked to get out, not to wait for them.
    """
    cause = engine.forced = UserCancelled(reason)
    engine._force_all([s for s in (engine.root, *engine.detached) if s is not None], cause)
    if engine.closing is None:
        engine.closing = reason or "the run was cancelled by force"
    for scope in list(engine.left):
        scope.cancel()


def _force_all(engine: Engine, sessions: list[ScopeSession], cause: UserCancelled) -> None:
    """Cancel `sessions` and all their descendants that still run, by force (S6.7)."""
    stack = sessions
    while stack:
        session = stack.pop()
        if session.state is RUNNING:
            session.extras().cancel_requested = True
            if engine.log is not None:
                engine.log.append(
                    (monotonic(), CancellationRequested, session, (cause, True, True))
                )
            engine.cancel(session, cause)
        stack.extend(reversed(list(session.children or ())))


def clean(engine: Engine, session: ScopeSession) -> None:
    """Start the cleanup of `session` (S6.1).

    Cleaning a session cleans its children, which clean theirs: past a few levels the
    rest waits in `deferred` and is done by the outermost call, in order, so that no
    depth of nesting can exhaust the stack (S6.7).
    """
    if engine.depth >= CLEAN_DEPTH:
        if engine.deferred is None:
            engine.deferred = deque()
        engine.deferred.append(session)
        return
    engine.depth += 1
    try:
        engine._clean_one(session)
    finally:
        engine.depth -= 1
    if engine.depth == 0 and engine.deferred:
        deferred = engine.deferred
        while deferred:
            engine.depth += 1
            try:
                engine._clean_one(deferred.popleft())
            finally:
                engine.depth -= 1


def _clean_one(engine: Engine, session: ScopeSession) -> None:
    # S6.1 operation cleanup: queued inputs are dropped lazily (the queue skips
    # sessions that are not running), tasks are cancelled, children are cleaned up.
    if engine.log is not None:
        cancellation = session.cancellation
        fields = _NO_CANCELLATION if cancellation is None else (cancellation,)
        engine.log.append((monotonic(), CleanupStarted, session, fields))
    pending, session.pending = session.pending, None
    for op, msg in pending or ():
        engine.drop_activation(session, op, msg)  # it never started; it never will
    extra = session.extra
    if extra is not None:
        if extra.tickets:
            for tickets in extra.tickets.values():
                for ticket in list(tickets):
                    if ticket.state == QUEUED:
                        release(ticket)
            extra.tickets.clear()
        if extra.timer is not None:
            extra.timer.cancel()  # S6.5: the timeout no longer applies
        if extra.running:
            # S6.6: activations whose policy is not WAIT are not waited for
            plan = session.plan
            for scope, (op, _) in list(extra.running.items()):
                if plan.policy[op] is not WAIT:
                    engine.leave_task(session, scope, op)
    if session.tg is not None:
        session.tg.cancel_scope.cancel()
    if session.alone:
        for scope in list(session.alone):
            scope.cancel()
    if session.children:
        reason = Interrupted(session.graph.name)
        for child in list(session.children):
            # uninterruptible children run on; this session waits for them (S6.4)
            engine.stop_child(session, child, reason)
    engine.maybe_finish(session)


def leave_task(engine: Engine, session: ScopeSession, scope: CancelScope, op: int) -> None:
    """Stop waiting for a running activation (S6.6): `TRY_CANCEL` cancels it,
    `ABANDON` lets it run on. Either way it ends in the background; the run's task
    group still waits for it."""
    extra = session.extras()
    del extra.running[scope]
    extra.left.add(scope)
    engine.left[scope] = None
    if engine.closing is not None:
        scope.cancel()  # the caller wants out: nothing may keep it waiting
    session.ntasks -= 1
    if session.state is RUNNING:
        engine.dec(session, op)  # a trim: the operation lost its activity
    name = session.plan.names[op]
    if session.plan.policy[op] is TRY_CANCEL:
        scope.cancel()
        if not wrapped(session.plan, op):  # those record how far it reached (S10.2)
            engine.log_event(TaskCancelled, session, name, False)
    else:
        engine.log_event(TaskAbandoned, session, name)


def stop_child(
    engine: Engine, session: ScopeSession, child: ScopeSession, cause: CancellationCause
) -> None:
    """Operation cleanup of one child session, as its node's policy says (S6.6)."""
    op = child.parent_op
    plan = session.plan
    policy = plan.policy[op] if op >= 0 else WAIT
    name = plan.names[op] if op >= 0 else child.graph.name
    if policy is ABANDON:
        engine.log_event(ChildAbandoned, session, name, child)
        engine.leave_child(session, child)
        return
    engine.log_event(ChildCancellationRequested, session, name, child, policy is WAIT)
    was_running = child.state is RUNNING
    engine.interrupt(child, cause)
    if child.state is RUNNING:
        engine.log_event(ChildCancellationFailed, session, name, child, "it is uninterruptible")
    elif not was_running:
        engine.log_event(ChildCancellationFailed, session, name, child, "it was already ending")
    if policy is TRY_CANCEL and child in (session.children or ()):
        engine.leave_child(session, child)


def leave_child(engine: Engine, session: ScopeSession, child: ScopeSession) -> None:
    assert session.children is not None  # invariant: child is registered
    del session.children[child]
    child.extras().detached = True
    engine.detached[child] = None
    if engine.closing is not None:
        engine.interrupt(child, UserCancelled(engine.closing))
    if session.state is RUNNING:
        engine.dec(session, child.parent_op)  # a trim: the operation lost its activity


def maybe_finish(engine: Engine, session: ScopeSession) -> None:
    """Deliver the outcome of `session` if its cleanup is over; a parent waiting for
    it may then finish too, and so on up (a loop, not recursion: S6.7)."""
    next_: ScopeSession | None = session
    while next_ is not None:
        next_ = engine._finish_one(next_)


def _finish_one(engine: Engine, session: ScopeSession) -> ScopeSession | None:
    """Finish `session` if it can; return its parent when that must be checked next."""
    if session.ntasks or session.children:
        return None
    if session.state is not TERMINATING and session.state is not CANCELLING:
        return None
    if session.plan.cleanups:
        more = session.extras()
        if not more.cleanup_started:
            # S6.1 phase 2: the cleanup workflows that apply start together
            more.cleanup_started = True
            if engine._start_cleanups(session):
                return None
    # S6.3: only now is the outcome delivered
    extra = session.extra
    if session.cleanup_failures is not None or (extra is not None and extra.cleanup_cancellations):
        engine._report_cleanup(session)
    if session.state is TERMINATING:
        session.state = SessionState.TERMINATED
    else:
        session.state = SessionState.CANCELLED
    log = engine.log
    if log is not None:
        # CleanupFinished and the outcome happen at the same instant: one entry
        log.append((monotonic(), Ended, session, _NO_CANCELLATION))
    session.buffers = None  # S6.3: the session's buffers are emptied
    session.engine = None
    if extra is not None and extra.cleanup_timer is not None:
        extra.cleanup_timer.cancel()
    if extra is not None and extra.ticket is not None:
        release(extra.ticket)
    parent = session.parent
    if parent is None:
        if engine.done is not None:
            engine.done.set()
        if engine.sink is not None:
            engine.sink(None, None)  # the streams end with the session
        engine.maybe_idle()
        return None
    if extra is not None and extra.detached:
        engine.detached.pop(session, None)
        engine.maybe_idle()
        return None  # S6.6: left to end in the background; nobody waits for it
    assert parent.children is not None  # invariant: a child is registered with its parent
    del parent.children[session]
    op = session.parent_op
    if op < 0:
        # a cleanup workflow ended: its cancellation is kept for its parent (S4.4)
        if session.cancellation is not None:
            parent.extras().cleanup_cancellations.append(session.cancellation)
            engine.log_event(CleanupFailed, parent, session.cancellation)
        return parent
    if parent.state is RUNNING:
        if extra is None or not extra.trimmed:
            if session.state is SessionState.TERMINATED:
                target = parent.plan.targets[op][0]
                if target >= 0:
                    engine.send(parent, target, session.response)
            else:
                assert session.cancellation is not None
                # S1.7: a cancelled child is a disposal for its parent
                engine.dispose(parent, op, ScopeCancelled(session.cancellation))
        engine.dec(parent, op)
        if parent.extra is not None and parent.extra.trims:
            engine.check_trims(parent)
        return None
    return parent


def _start_cleanups(engine: Engine, session: ScopeSession) -> bool:
    terminated = session.state is TERMINATING
    started = False
    forced: list[ScopeSession] = []
    for cleanup in session.plan.cleanups:
        if cleanup.when == "cleanup" or (cleanup.when == "terminate") is terminated:
            keys = engine.make_keys(session, cleanup.keys, -1)
            # a one-line cleanup (or `ending=True`) also sees how the session ended
            request = Ending(keys, session.cancellation) if cleanup.ending else keys
            child = engine.open_session(cleanup.plan, request, session, -1)
            if engine.forced is not None:
                forced.append(child)
            started = True
    if forced:
        # S6.7: after a forced cancel, cleanup workflows are cut short as they start
        assert engine.forced is not None  # invariant: forced is only filled then
        engine._force_all(forced[::-1], engine.forced)
    if started:
        if session.plan.cleanup_timeout is not None:
            engine.start_timer(partial(engine._cleanup_timeout, session))
        engine.flush()
    return started


def _report_cleanup(engine: Engine, session: ScopeSession) -> None:
    # S4.3, S4.4: never swallowed. A cancelled session carries them in
    # while_cancelling; a terminated one already has its response: warnings.
    failures = [Cancellation(f) for f in session.cleanup_failures or ()]
    extra = session.extra
    cancellations = list(extra.cleanup_cancellations) if extra is not None else []
    if session.state is CANCELLING:
        assert session.cancellation is not None
        session.cancellation = Cancellation(
            session.cancellation.cause,
            session.cancellation.while_cancelling + tuple(failures) + tuple(cancellations),
        )
        return
    for failure in session.cleanup_failures or ():
        engine.warn(
            f"{failure.operation} raised {describe_error(failure.error)} while session "
            f"{session.graph.name!r} was cleaning up after terminate; the response was "
            "delivered anyway"
        )
    for cancellation in cancellations:
        engine.warn(
            f"a cleanup workflow of session {session.graph.name!r} was cancelled after "
            f"terminate ({cancellation}); the response was delivered anyway"
        )


# ------------------------------------------------------------------ activity


def start_timeout(engine: Engine, session: ScopeSession) -> None:
    engine.start_timer(partial(engine._timeout, session))


def start_timer(engine: Engine, timer: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run `timer` in the run's task group, once there is one."""
    if engine.tg is not None:
        engine.tg.start_soon(timer)
    elif engine.timers is None:
        engine.timers = [timer]
    else:
        engine.timers.append(timer)


async def _cleanup_timeout(engine: Engine, session: ScopeSession) -> None:
    """Cancel the cleanup workflows of `session` still running when its
    `cleanup_timeout` is up (S6.5); their cancellations are kept as cleanup failures."""
    seconds = session.plan.cleanup_timeout
    assert seconds is not None  # invariant: only scopes with one get this timer
    with anyio.CancelScope(shield=True) as scope:
        if session.state.ended:
            return
        session.extras().cleanup_timer = scope
        await anyio.sleep(seconds)
        for child in list(session.children or ()):
            if child.parent_op < 0 and child.state is RUNNING:
                engine.cancel(child, TimedOut(child.graph.name, seconds))
        engine.flush()


async def _timeout(engine: Engine, session: ScopeSession) -> None:
    """Cancel `session` with `TimedOut` when its time is up, uninterruptible or not.

    Shielded like the hosts: only the session's cleanup stops it.
    """
    seconds = session.plan.timeout
    assert seconds is not None  # invariant: only scopes with a timeout get one
    with anyio.CancelScope(shield=True) as scope:
        if session.state is not RUNNING:
            return
        session.extras().timer = scope
        await anyio.sleep(seconds)
        engine.cancel(session, TimedOut(session.graph.name, seconds))
        engine.flush()


# --------------------------------------------------------------------------- handlers


def handler(plan: Plan, index: int) -> Handler:
    """The handler of a scope, terminate, stream out or cancel operation."""
    kind = plan.kinds[index]
    if kind == "scope":

        def scope(engine: Engine, s: ScopeSession, msg: Any) -> None:
            engine.open_session(plan.body(index), msg, s, index)

        return scope

    if kind == "terminate":

        def terminate(engine: Engine, s: ScopeSession, msg: Any) -> None:
            engine.terminate(s, msg)

        return terminate

    if kind == "cancel":
        settings = plan.settings[index]
        assert isinstance(settings, CancelSettings)
        quiet = settings.quiet
        name = plan.names[index]

        def cancel(engine: Engine, s: ScopeSession, msg: Any) -> None:
            # a message whose __str__ fails is still shown (its repr, or its type)
            value = None if quiet else safe_str(msg, None)
            engine.cancel(s, Triggered(name, value))

        return cancel

    if kind == "stream_out":
        settings_ = plan.settings[index]
        assert isinstance(settings_, StreamOutSettings)
        stream = settings_.stream

        def stream_out(engine: Engine, s: ScopeSession, msg: Any) -> None:
            parent = s.parent
            if parent is None:
                sink = engine.sink
                if sink is not None:  # a session started with `start` (API §3)
                    sink(stream, msg)
                return  # `run` does not capture a root session's streams
            if parent.state is not RUNNING:
                return
            if s.extra is not None and s.extra.detached:
                return  # S6.6: a child left in the background sends nothing more
            parent_plan = parent.plan
            scope_op = parent_plan.graph.operations[s.parent_op]
            t = parent_plan.targets[s.parent_op][scope_op.ports.index(stream)]
            if t >= 0:
                engine.send(parent, t, msg)

        return stream_out

    assert kind == "start", kind  # invariant: start never receives messages

    def start(engine: Engine, s: ScopeSession, msg: Any) -> None:  # pragma: no cover
        raise AssertionError("start received a message")

    return start
