"""The engine: one per run; a FIFO of ready messages and the sessions they belong to.

Everything here is synchronous except the coroutine that runs an async activation.
The engine never starts a task on its own: it asks for one (`spawn`), and the driver
(`_run.py`) decides where it runs. A chain of blocking operations therefore runs
without any task at all.

Ordering (S8): messages are processed one at a time in the order they were queued,
shared by the root session and all its nested sessions (breadth-first). When the
queue is empty, collects that fell quiet react (upstream ones first) and then the
sessions whose activity dropped to nothing are checked for reachability (S2, S5.2).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from functools import partial
from time import monotonic
from typing import TYPE_CHECKING, Any

import anyio

from .._buffers import push_item
from .._causes import (
    Cancellation,
    CancellationCause,
    ClosedGate,
    DeficientCollection,
    Disposal,
    DisposalCause,
    Interrupted,
    ScopeCancelled,
    ServiceFailed,
    Supplanted,
    TimedOut,
    Trimming,
    Unreachable,
    UserCancelled,
)
from .._ending import Ending
from .._graph import Kind
from .._keys import BufferKey
from .._policy import CancellationPolicy
from .._state import SessionState
from .._text import describe_error, safe_repr
from ..events import (
    CancellationRequested,
    ChildAbandoned,
    ChildCancellationFailed,
    ChildCancellationRequested,
    CleanupFailed,
    CleanupStarted,
    Disposed,
    OperationFinished,
    OperationStarted,
    SessionStarted,
    TaskAbandoned,
    TaskCancelled,
    TimerCancelled,
)
from ._delivery import QUEUED, Ticket, release, submit
from ._disposals import Disposals
from ._events import Ended, ObservedLog
from ._exceptions import is_fatal, is_phantom_cancel
from ._ops import clone_or_error, stream_senders
from ._plan import injecting_handlers, plan_of, recording_handlers
from ._session import CollectState, Session

if TYPE_CHECKING:
    from anyio import CancelScope
    from anyio.abc import TaskGroup

    from .._graph import Graph
    from .._keys import BufferView
    from .._services import Delivery
    from ..events import Event

RUNNING = SessionState.RUNNING

# how many messages one flush handles before it lets the event loop run
FLUSH_LIMIT = 10_000
# how many nested sessions one call cleans up before it leaves the rest for later
CLEAN_DEPTH = 16
TERMINATING = SessionState.TERMINATING
CANCELLING = SessionState.CANCELLING
WAIT = CancellationPolicy.WAIT
_NO_CANCELLATION = (None,)  # the fields of CleanupStarted after terminate, built once
TRY_CANCEL = CancellationPolicy.TRY_CANCEL
ABANDON = CancellationPolicy.ABANDON


class Packed:
    """The message of an activation that has its own cancel scope (trims, delivery)."""

    __slots__ = ("msg", "ticket")

    def __init__(self, msg: Any, ticket: Ticket | None) -> None:
        self.msg = msg
        self.ticket = ticket

    def __repr__(self) -> str:
        return f"<Packed {safe_repr(self.msg)} {self.ticket!r}>"


class Engine:
    """Runs the sessions of one `run` call."""

    __slots__ = (
        "checks",
        "closing",
        "collect_checks",
        "deferred",
        "depth",
        "detached",
        "done",
        "failures",
        "fatal",
        "flushing",
        "idle",
        "inject",
        "injecting",
        "left",
        "log",
        "notes",
        "on_fatal",
        "pending",
        "queue",
        "root",
        "sink",
        "tg",
        "timers",
        "yielded",
    )

    def __init__(
        self,
        events: bool = True,
        on_event: Callable[[Event], object] | None = None,
        inject: Callable[[str], Exception | None] | None = None,
    ) -> None:
        self.queue: deque[tuple[Session, int, Any]] = deque()
        self.tg: TaskGroup | None = None
        # created when first needed: a run in flight should hold few objects (W3)
        self.pending: list[tuple[Session, int, Any]] | None = None
        self.checks: list[Session] | None = None
        self.collect_checks: list[tuple[Session, int]] | None = None
        self.flushing = False
        # how deep the cleanup cascade is, and the sessions it left for later (S6.7)
        self.depth = 0
        self.deferred: deque[Session] | None = None
        self.root: Session | None = None
        self.done: anyio.Event | None = None
        # a flush stopped at FLUSH_LIMIT and left messages queued
        self.yielded = False
        # the event log (S9.2): (time, event class, session, fields), or None when off
        self.log: list[tuple[Any, ...]] | None = [] if events else None
        if on_event is not None:
            self.observe(on_event)
        # testing: called before every service activation with the operation's name; an
        # exception it returns is raised in place of the call (`crossflow.testing`)
        self.inject = inject
        self.injecting: dict[int, list[Any]] | None = {} if inject is not None else None
        # warnings for the caller: raised from inside the engine, a warning turned into
        # an error (`-W error`) would break the run, so they wait for its end
        self.notes: list[str] | None = None
        # how many operations raised: recording handlers compare it around a call
        self.failures = 0
        # a KeyboardInterrupt, SystemExit, ... that a service raised: the driver raises it
        # once the run is cleaned up
        self.fatal: BaseException | None = None
        self.on_fatal: Callable[[], None] | None = None
        # where a root session's stream messages go (`start`), or None (`run`)
        self.sink: Callable[[str | None, Any], None] | None = None
        # sessions whose timeout waits for the run's task group (S6.5)
        self.timers: list[Callable[[], Coroutine[Any, Any, None]]] | None = None
        # work that cancellation policies left running in the background (S6.6), and
        # whether the run's caller wants out: then that work is cancelled too
        self.left: dict[CancelScope, None] = {}
        self.detached: dict[Session, None] = {}
        self.closing: str | None = None
        # set once the root session has ended and no work is left in the background
        self.idle: anyio.Event | None = None

    def __repr__(self) -> str:
        return f"<Engine root={self.root!r} queued={len(self.queue)}>"

    def soon(self, action: Callable[[], None]) -> None:
        """Run `action` now, or, when called from inside an operation (a blocking
        service that cancels its own session), right after that operation returns."""
        if not self.flushing:
            action()
            return
        self.soon_after(action)

    def soon_after(self, action: Callable[[], None]) -> None:
        """Run `action` as the next queued item: right after the operation being handled,
        or at the next flush."""
        _DEFERRED.act[0] += 1
        self.queue.appendleft((_DEFERRED, 0, action))  # type: ignore[arg-type]

    def warn(self, message: str) -> None:
        """Keep a `CrossflowWarning` for the caller, issued when the run ends."""
        if self.notes is None:
            self.notes = [message]
        else:
            self.notes.append(message)

    def finish_reports(self) -> list[str]:
        """At the end of a run: the last events go to `on_event`; the warnings to issue."""
        log = self.log
        notes = self.notes or []
        self.notes = None
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

    def observe(self, callback: Callable[[Event], object]) -> None:
        """Hand every event recorded from now on to `callback` (see `ObservedLog`)."""
        log = self.log
        assert log is not None  # invariant: callers check that the run records events
        if type(log) is not ObservedLog:
            # the log becomes observed: the same entries, handed over from here on
            log = self.log = ObservedLog(self.soon_after, log)
        else:
            log.deliver()  # the others first: the new one starts from here
        log.callbacks.append(callback)

    def rec(self, event: type, session: Session, *fields: Any) -> None:
        """Record an event of `session` (S9.2), when recording."""
        log = self.log
        if log is not None:
            log.append((monotonic(), event, session, fields))

    # ------------------------------------------------------------------ sessions

    def open(
        self,
        graph: Graph,
        request: Any,
        parent: Session | None,
        parent_op: int,
        delivery: Delivery | None = None,
    ) -> Session:
        """Open a session of `graph` and send it its request (S1.1, S1.2).

        A root session with `delivery` waits for its turn in the queues (S7.5) first.
        """
        plan = plan_of(graph)
        session = Session(graph, plan, parent, parent_op)
        if self.injecting is not None:
            handlers = self.injecting.get(id(plan))
            if handlers is None:
                handlers = self.injecting[id(plan)] = injecting_handlers(plan, self.log is not None)
            session.handlers = handlers
        elif self.log is not None:
            session.handlers = plan.rec_handlers or recording_handlers(plan)
        if self.log is not None:
            self.log.append((monotonic(), SessionStarted, session, plan.scope_fields))
        if plan.timeout is not None:
            self._start_timeout(session)
        if parent is None:
            self.root = session
        else:
            if parent.children is None:
                parent.children = {}
            parent.children[session] = None
            if parent_op >= 0:  # a cleanup workflow (-1) is no activity of its parent
                self.inc(parent, parent_op)
        target = plan.start_target
        if target < 0:
            # S2.3: inherent unreachability, before any operation runs
            self.cancel(session, Unreachable(graph.name, ()))
        elif delivery is not None:
            self._open_delivered(session, target, request, delivery)
        else:
            self.send(session, target, request)
        return session

    def _open_delivered(
        self, session: Session, target: int, request: Any, delivery: Delivery
    ) -> None:
        # waiting for the turn is activity of the start operation
        start = session.graph.start
        self.inc(session, start)

        def on_start(ticket: Ticket | None) -> None:
            if session.state is not RUNNING:
                if ticket is not None:
                    release(ticket)
                return
            self.send(session, target, request)
            self.dec(session, start)
            self.flush()

        def on_supplant(ticket: Ticket, running: bool, by: str) -> None:
            # an internal cancellation: uninterruptible or not (S4.5)
            self.cancel(session, Supplanted(by))
            self.flush()

        ticket = submit(delivery, f"a run of {session.graph.name!r}", on_start, on_supplant)
        if ticket is None:
            on_start(None)  # a parallel provider: no queue
        else:
            session.more().ticket = ticket

    def terminate(self, session: Session, response: Any) -> None:
        """The first message to reach terminate is the response (S1.3); cleanup starts (S1.4)."""
        if session.state is not RUNNING:
            return
        session.response = response
        session.state = TERMINATING
        self._clean(session)

    def cancel(self, session: Session, cause: CancellationCause) -> None:
        """Cancel a running session with `cause`; cleanup starts (S6.1)."""
        if session.state is not RUNNING:
            return
        session.cancellation = Cancellation(cause)
        session.state = CANCELLING
        self._clean(session)

    def fail(self, session: Session, op: int, error: BaseException) -> None:
        """A service raised: cancel the innermost session running it (S4.3).

        An exception that asks the program to stop (KeyboardInterrupt, SystemExit) also
        cancels the whole run; the driver raises it once everything is cleaned up.
        """
        self.failures += 1
        name = session.plan.names[op]
        if self.log is not None:
            self.log.append((monotonic(), OperationFinished, session, (name, error)))
        self.cancel(session, ServiceFailed(name, error))
        if is_fatal(error):
            self.stop_everything(session, op, error)

    def stop_everything(self, session: Session, op: int, error: BaseException) -> None:
        """`error` (KeyboardInterrupt, SystemExit, ...) stops the run: everything is
        cancelled as if the caller had been, and the driver raises `error` at the end."""
        if self.fatal is None:
            self.fatal = error
            if self.on_fatal is not None:
                self.on_fatal()  # a session handle: stop the `async with` block too
        self.cancel_from_outside(f"{session.plan.names[op]} raised {type(error).__qualname__}")

    def interrupt(self, session: Session, cause: CancellationCause) -> None:
        """A cancellation from outside the session: its parent ended, the caller
        cancelled, a trim. An uninterruptible session records it and runs on (S6.4)."""
        if session.state.ended:
            return
        honoured = session.state is RUNNING and not session.plan.uninterruptible
        session.more().cancel_requested = True
        if self.log is not None:
            self.log.append((monotonic(), CancellationRequested, session, (cause, honoured)))
        if honoured:
            self.cancel(session, cause)

    def _maybe_idle(self) -> None:
        root = self.root
        if (
            self.idle is not None
            and root is not None
            and root.state.ended
            and not self.left
            and not self.detached
        ):
            self.idle.set()

    def cancel_from_outside(self, reason: str) -> None:
        """The run's caller was cancelled: cancel the root session, and the work that
        cancellation policies left in the background, which would otherwise keep the
        caller waiting (S6.6)."""
        root = self.root
        if root is not None:
            self.interrupt(root, UserCancelled(reason))
        if self.closing is None:
            self.closing = reason
            for scope in list(self.left):
                scope.cancel()
            for child in list(self.detached):
                self.interrupt(child, UserCancelled(reason))

    def force(self, reason: str | None) -> None:
        """`session.cancel(force=True)`: cancel every session of the run, uninterruptible
        scopes and running cleanup workflows included, and the work left in the
        background (S6.7). Each forced request is recorded as such."""
        cause = UserCancelled(reason)
        stack = [s for s in (self.root, *self.detached) if s is not None]
        while stack:
            session = stack.pop()
            if session.state is RUNNING:
                session.more().cancel_requested = True
                if self.log is not None:
                    self.log.append(
                        (monotonic(), CancellationRequested, session, (cause, True, True))
                    )
                self.cancel(session, cause)
            stack.extend(reversed(list(session.children or ())))
        if self.closing is None:
            self.closing = reason or "the run was cancelled by force"
        for scope in list(self.left):
            scope.cancel()

    def _clean(self, session: Session) -> None:
        """Start the cleanup of `session` (S6.1).

        Cleaning a session cleans its children, which clean theirs: past a few levels the
        rest waits in `deferred` and is done by the outermost call, in order, so that no
        depth of nesting can exhaust the stack (S6.7).
        """
        if self.depth >= CLEAN_DEPTH:
            if self.deferred is None:
                self.deferred = deque()
            self.deferred.append(session)
            return
        self.depth += 1
        try:
            self._clean_one(session)
        finally:
            self.depth -= 1
        if self.depth == 0 and self.deferred:
            deferred = self.deferred
            while deferred:
                self.depth += 1
                try:
                    self._clean_one(deferred.popleft())
                finally:
                    self.depth -= 1

    def _clean_one(self, session: Session) -> None:
        # S6.1 operation cleanup: queued inputs are dropped lazily (the queue skips
        # sessions that are not running), tasks are cancelled, children are cleaned up.
        if self.log is not None:
            cancellation = session.cancellation
            fields = _NO_CANCELLATION if cancellation is None else (cancellation,)
            self.log.append((monotonic(), CleanupStarted, session, fields))
        pending, session.pending = session.pending, None
        for op, msg in pending or ():
            self._drop_activation(session, op, msg)  # it never started; it never will
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
                        self._leave_task(session, scope, op)
        if session.tg is not None:
            session.tg.cancel_scope.cancel()
        if session.children:
            reason = Interrupted(session.graph.name)
            for child in list(session.children):
                # uninterruptible children run on; this session waits for them (S6.4)
                self._stop_child(session, child, reason)
        self._maybe_finish(session)

    def _leave_task(self, session: Session, scope: CancelScope, op: int) -> None:
        """Stop waiting for a running activation (S6.6): `TRY_CANCEL` cancels it,
        `ABANDON` lets it run on. Either way it ends in the background; the run's task
        group still waits for it."""
        extra = session.more()
        del extra.running[scope]
        extra.left.add(scope)
        self.left[scope] = None
        if self.closing is not None:
            scope.cancel()  # the caller wants out: nothing may keep it waiting
        session.ntasks -= 1
        if session.state is RUNNING:
            self.dec(session, op)  # a trim: the operation lost its activity
        name = session.plan.names[op]
        if session.plan.policy[op] is TRY_CANCEL:
            scope.cancel()
            self.rec(TaskCancelled, session, name, False)
        else:
            self.rec(TaskAbandoned, session, name)

    def _stop_child(self, session: Session, child: Session, cause: CancellationCause) -> None:
        """Operation cleanup of one child session, as its node's policy says (S6.6)."""
        op = child.parent_op
        plan = session.plan
        policy = plan.policy[op] if op >= 0 else WAIT
        name = plan.names[op] if op >= 0 else child.graph.name
        if policy is ABANDON:
            self.rec(ChildAbandoned, session, name, child)
            self._leave_child(session, child)
            return
        self.rec(ChildCancellationRequested, session, name, child, policy is WAIT)
        was_running = child.state is RUNNING
        self.interrupt(child, cause)
        if child.state is RUNNING:
            self.rec(ChildCancellationFailed, session, name, child, "it is uninterruptible")
        elif not was_running:
            self.rec(ChildCancellationFailed, session, name, child, "it was already ending")
        if policy is TRY_CANCEL and child in (session.children or ()):
            self._leave_child(session, child)

    def _leave_child(self, session: Session, child: Session) -> None:
        assert session.children is not None  # invariant: child is registered
        del session.children[child]
        child.more().detached = True
        self.detached[child] = None
        if self.closing is not None:
            self.interrupt(child, UserCancelled(self.closing))
        if session.state is RUNNING:
            self.dec(session, child.parent_op)  # a trim: the operation lost its activity

    def _maybe_finish(self, session: Session) -> None:
        """Deliver the outcome of `session` if its cleanup is over; a parent waiting for
        it may then finish too, and so on up (a loop, not recursion: S6.7)."""
        next_: Session | None = session
        while next_ is not None:
            next_ = self._finish_one(next_)

    def _finish_one(self, session: Session) -> Session | None:
        """Finish `session` if it can; return its parent when that must be checked next."""
        if session.ntasks or session.children:
            return None
        if session.state is not TERMINATING and session.state is not CANCELLING:
            return None
        if session.plan.cleanups:
            more = session.more()
            if not more.cleanup_started:
                # S6.1 phase 2: the cleanup workflows that apply start together
                more.cleanup_started = True
                if self._start_cleanups(session):
                    return None
        # S6.3: only now is the outcome delivered
        extra = session.extra
        if session.cleanup_failures is not None or (
            extra is not None and extra.cleanup_cancellations
        ):
            self._report_cleanup(session)
        if session.state is TERMINATING:
            session.state = SessionState.TERMINATED
        else:
            session.state = SessionState.CANCELLED
        log = self.log
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
            if self.done is not None:
                self.done.set()
            if self.sink is not None:
                self.sink(None, None)  # the streams end with the session
            self._maybe_idle()
            return None
        if extra is not None and extra.detached:
            self.detached.pop(session, None)
            self._maybe_idle()
            return None  # S6.6: left to end in the background; nobody waits for it
        assert parent.children is not None  # invariant: a child is registered with its parent
        del parent.children[session]
        op = session.parent_op
        if op < 0:
            # a cleanup workflow ended: its cancellation is kept for its parent (S4.4)
            if session.cancellation is not None:
                parent.more().cleanup_cancellations.append(session.cancellation)
                self.rec(CleanupFailed, parent, session.cancellation)
            return parent
        if parent.state is RUNNING:
            if extra is None or not extra.trimmed:
                if session.state is SessionState.TERMINATED:
                    target = parent.plan.targets[op][0]
                    if target >= 0:
                        self.send(parent, target, session.response)
                else:
                    assert session.cancellation is not None
                    # S1.7: a cancelled child is a disposal for its parent
                    self.dispose(parent, op, ScopeCancelled(session.cancellation))
            self.dec(parent, op)
            if parent.extra is not None and parent.extra.trims:
                self._check_trims(parent)
            return None
        return parent

    def _start_cleanups(self, session: Session) -> bool:
        terminated = session.state is TERMINATING
        started = False
        for cleanup in session.plan.cleanups:
            if cleanup.when == "cleanup" or (cleanup.when == "terminate") is terminated:
                keys = self.make_keys(session, cleanup.shape, cleanup.names, cleanup.buffers, -1)
                # a one-line cleanup (or `ending=True`) also sees how the session ended
                request = Ending(keys, session.cancellation) if cleanup.ending else keys
                self.open(cleanup.graph, request, session, -1)
                started = True
        if started:
            if session.plan.cleanup_timeout is not None:
                self._start_timer(partial(self._cleanup_timeout, session))
            self.flush()
        return started

    def _report_cleanup(self, session: Session) -> None:
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
            self.warn(
                f"{failure.operation} raised {describe_error(failure.error)} while session "
                f"{session.graph.name!r} was cleaning up after terminate; the response was "
                "delivered anyway"
            )
        for cancellation in cancellations:
            self.warn(
                f"a cleanup workflow of session {session.graph.name!r} was cancelled after "
                f"terminate ({cancellation}); the response was delivered anyway"
            )

    # ------------------------------------------------------------------ activity

    def send(self, session: Session, target: int, msg: Any) -> None:
        """Queue `msg` for operation `target` of `session` (`target >= 0`)."""
        self.queue.append((session, target, msg))
        session.act[target] += 1
        plan = session.plan
        if plan.useful[target]:
            session.live += 1
        cs = plan.collects_of[target]
        if cs:
            self._up(session, cs)

    def inc(self, session: Session, op: int) -> None:
        """Operation `op` gained an activity unit (a task, a child session)."""
        session.act[op] += 1
        plan = session.plan
        if plan.useful[op]:
            session.live += 1
        cs = plan.collects_of[op]
        if cs:
            self._up(session, cs)

    def dec(self, session: Session, op: int) -> None:
        """Operation `op` lost an activity unit."""
        session.act[op] -= 1
        plan = session.plan
        if plan.useful[op]:
            session.live -= 1
            if not session.live:
                self._check(session)
        cs = plan.collects_of[op]
        if cs:
            self._down(session, cs)

    def dispose(self, session: Session, op: int, cause: DisposalCause) -> None:
        """Record a disposal; reachability is checked once the queue is empty (S2.4)."""
        self.record(session, Disposal(session.plan.names[op], cause))

    def record(self, session: Session, disposal: Disposal) -> None:
        """Record a disposal built in advance (disposals are values: they can be shared)."""
        if self.log is not None:
            self.log.append((monotonic(), Disposed, session, (disposal,)))
        disposals = session.disposals
        if disposals is None:
            disposals = session.disposals = Disposals()
        disposals.add(disposal)
        self._check(session)

    def _check(self, session: Session) -> None:
        """Check `session` for reachability once the queue is empty (S2.4)."""
        if self.checks is None:
            self.checks = [session]
        else:
            self.checks.append(session)

    def _check_collect(self, session: Session, c: int) -> None:
        if self.collect_checks is None:
            self.collect_checks = [(session, c)]
        else:
            self.collect_checks.append((session, c))

    # ------------------------------------------------------------------ collects

    def _up(self, session: Session, collects: tuple[int, ...]) -> None:
        up = session.up
        states = session.collects
        assert up is not None and states is not None
        for c in collects:
            up[c] += 1
            state = states[c]
            if not state.armed:
                state.armed = True
                self._update_holding(session, c, state)

    def _down(self, session: Session, collects: tuple[int, ...]) -> None:
        up = session.up
        states = session.collects
        assert up is not None and states is not None
        for c in collects:
            up[c] -= 1
            if not up[c] and states[c].armed:
                self._check_collect(session, c)

    def _update_holding(self, session: Session, c: int, state: CollectState) -> None:
        holding = state.armed and len(state.items) >= session.plan.collect_min[c]
        if holding is state.holding:
            return
        state.holding = holding
        # a collect that will emit counts as activity, for reachability and for the
        # collects downstream of it (S5.2)
        plan = session.plan
        if plan.useful[c]:
            session.live += 1 if holding else -1
            if not session.live:
                self._check(session)
        cs = plan.collects_of[c]
        if cs:
            if holding:
                self._up(session, cs)
            else:
                self._down(session, cs)

    def collect_arrival(self, session: Session, c: int, msg: Any) -> None:
        """An item reached collect `c` (S5.1, S5.2)."""
        states = session.collects
        up = session.up
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
            self._update_holding(session, c, state)
            target = plan.targets[c][0]
            if target >= 0:
                self.send(session, target, out)
            return
        self._update_holding(session, c, state)
        # the message being handled still counts in act[c]
        if not up[c] and session.act[c] == 1:
            self._fire(session, c, state)

    def _fire(self, session: Session, c: int, state: CollectState) -> None:
        """Upstream of collect `c` fell quiet: emit, or record a deficient collection."""
        state.armed = False
        self._update_holding(session, c, state)
        plan = session.plan
        minimum = plan.collect_min[c]
        if len(state.items) >= minimum:
            out, state.items = state.items, []
            target = plan.targets[c][0]
            if target >= 0:
                self.send(session, target, out)
        else:
            self.dispose(session, c, DeficientCollection(plan.names[c], minimum, len(state.items)))

    # ------------------------------------------------------------------ the loop

    def flush(self) -> None:
        """Process queued messages until nothing is left to do synchronously.

        After `FLUSH_LIMIT` messages it stops and lets the event loop run (see
        `yielded`): a cycle of blocking operations then shares the loop with other
        tasks, and can be cancelled from outside.
        """
        if self.flushing:
            return
        self.flushing = True
        try:
            queue = self.queue
            popleft = queue.popleft
            budget = FLUSH_LIMIT
            while True:
                while queue:
                    session, op, msg = popleft()
                    if session.state is not RUNNING:
                        continue  # S6.1: queued inputs of a cleaned-up session are dropped
                    budget -= 1
                    if not budget:
                        queue.appendleft((session, op, msg))
                        self._yield()
                        return
                    plan = session.plan
                    session.handlers[op](self, session, msg)
                    # the message counted as activity until it was handled
                    session.act[op] -= 1
                    if plan.useful[op]:
                        session.live -= 1
                        if not session.live and session.state is RUNNING:
                            self._check(session)
                    if plan.collects:
                        cs = plan.collects_of[op]
                        if cs:
                            self._down(session, cs)
                if not self.collect_checks and not self.checks:
                    return
                self._settle()
        finally:
            self.flushing = False

    def _yield(self) -> None:
        # the driver (no task group yet) checks `yielded`; with a task group, a task
        # resumes the flush after a checkpoint
        if self.yielded:
            return
        self.yielded = True
        if self.tg is not None:
            self.tg.start_soon(self.resume)

    async def resume(self) -> None:
        """Let the event loop run, then go on with the queued messages."""
        with anyio.CancelScope(shield=True):  # the queue must drain even when cancelled
            await anyio.lowlevel.checkpoint()
        self.yielded = False
        self.flush()

    def _settle(self) -> None:
        if self.collect_checks:
            pending = sorted(self.collect_checks, key=lambda e: e[0].plan.collect_rank[e[1]])
            self.collect_checks = None
            for position, (session, c) in enumerate(pending):
                if session.state is not RUNNING:
                    continue
                assert session.collects is not None and session.up is not None
                state = session.collects[c]
                if state.armed and not session.up[c] and not session.act[c]:
                    self._fire(session, c, state)
                    if self.queue:
                        # upstream collects first: let what it emitted move on (S5.2)
                        for entry in pending[position + 1 :]:
                            self._check_collect(*entry)
                        return
            if self.collect_checks:
                return
        checks, self.checks = self.checks or [], None
        seen: set[int] = set()
        for session in checks:
            if session.state is not RUNNING:
                continue
            if session.live:
                # the counter over-approximates when joins or closed gates decide
                # (S2.2, S7.4); only then is the graph walked
                if id(session) in seen or not (
                    session.plan.conditional or _has_closed_gate(session)
                ):
                    continue
                seen.add(id(session))
                if self._reachable(session):
                    continue
            disposals = session.disposals
            self.cancel(
                session,
                Unreachable(session.graph.name)
                if disposals is None
                else disposals.unreachable(session.graph.name),
            )

    def _reachable(self, session: Session) -> bool:
        """Whether terminate or an explicit cancel can still be reached (S2.2, S7.4).

        Forward from every operation with activity, along connections and buffer
        edges; a join passes only when each of its buffers holds an item or can be fed,
        and a closed buffer only when something that could reopen it can run.
        """
        plan = session.plan
        act = session.act
        kinds = plan.kinds
        succ = plan.succ
        buffers = session.buffers or {}
        fired = {i for i in range(plan.size) if act[i]}
        if session.collects:
            fired.update(c for c, state in session.collects.items() if state.holding)

        def holds(b: int) -> bool:
            state = buffers.get(b)
            return state is not None and bool(state.items)

        def passes(t: int) -> bool:
            kind = kinds[t]
            if kind is Kind.JOIN:
                return all(b in fired or holds(b) for b in plan.join_buffers[t])
            if kind is Kind.BUFFER:
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

    def spawn(self, session: Session, op: int, msg: Any) -> None:
        """Ask for an async activation of `op`; it counts as activity until it ends."""
        self.inc(session, op)
        self._spawn(session, op, msg)

    def _spawn(self, session: Session, op: int, msg: Any) -> None:
        session.ntasks += 1
        tg = session.tg
        if tg is not None:
            tg.start_soon(self._runner(session, op), session, op, msg)
        elif self.tg is None:
            # no task group yet: the driver decides where this runs
            if self.pending is None:
                self.pending = [(session, op, msg)]
            else:
                self.pending.append((session, op, msg))
        else:
            self._queue_for_host(session, op, msg)

    def _runner(self, session: Session, op: int) -> Any:
        return self.run_scoped_activation if session.plan.scoped[op] else self.run_activation

    def _queue_for_host(self, session: Session, op: int, msg: Any) -> None:
        if session.pending is None:
            session.pending = []
        session.pending.append((op, msg))
        if not session.hosted:
            session.hosted = True
            assert self.tg is not None  # invariant: hosts run in the run's task group
            self.tg.start_soon(self._host, session)

    def open_task_group(self, tg: TaskGroup) -> None:
        """The driver opened its task group: start everything that waited for it."""
        self.tg = tg
        if self.yielded:
            tg.start_soon(self.resume)
        timers, self.timers = self.timers or [], None
        for timer in timers:
            tg.start_soon(timer)
        pending, self.pending = self.pending or [], None
        for session, op, msg in pending:
            self._queue_for_host(session, op, msg)

    # ------------------------------------------------------------------ timeouts (S6.5)

    def _start_timeout(self, session: Session) -> None:
        self._start_timer(partial(self._timeout, session))

    def _start_timer(self, timer: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run `timer` in the run's task group, once there is one."""
        if self.tg is not None:
            self.tg.start_soon(timer)
        elif self.timers is None:
            self.timers = [timer]
        else:
            self.timers.append(timer)

    async def _cleanup_timeout(self, session: Session) -> None:
        """Cancel the cleanup workflows of `session` still running when its
        `cleanup_timeout` is up (S6.5); their cancellations are kept as cleanup failures."""
        seconds = session.plan.cleanup_timeout
        assert seconds is not None  # invariant: only scopes with one get this timer
        with anyio.CancelScope(shield=True) as scope:
            if session.state.ended:
                return
            session.more().cleanup_timer = scope
            await anyio.sleep(seconds)
            for child in list(session.children or ()):
                if child.parent_op < 0 and child.state is RUNNING:
                    self.cancel(child, TimedOut(child.graph.name, seconds))
            self.flush()

    async def _timeout(self, session: Session) -> None:
        """Cancel `session` with `TimedOut` when its time is up, uninterruptible or not.

        Shielded like the hosts: only the session's cleanup stops it.
        """
        seconds = session.plan.timeout
        assert seconds is not None  # invariant: only scopes with a timeout get one
        with anyio.CancelScope(shield=True) as scope:
            if session.state is not RUNNING:
                return
            session.more().timer = scope
            await anyio.sleep(seconds)
            self.cancel(session, TimedOut(session.graph.name, seconds))
            self.flush()

    async def _host(self, session: Session) -> None:
        """Hold the task group of a session while the session can still use it."""
        with anyio.CancelScope(shield=True):
            async with anyio.create_task_group() as tg:
                if session.state is not RUNNING:
                    tg.cancel_scope.cancel()
                session.tg = tg
                pending, session.pending = session.pending or [], None
                for op, msg in pending:
                    tg.start_soon(self._runner(session, op), session, op, msg)
                # cleanup of the session cancels this task group's scope (see _clean)
                await anyio.sleep_forever()

    def activation_call(
        self, session: Session, op: int, msg: Any, scope: object = None
    ) -> Awaitable[Any] | None:
        """The service call of an activation, or None if its session ended meanwhile."""
        if session.state is not RUNNING:
            return None  # cleaned up before it could start: the service never runs
        plan = session.plan
        fn = plan.fns[op]
        assert fn is not None  # invariant: only service operations spawn activations
        log = self.log
        if log is not None:
            log.append((monotonic(), OperationStarted, session, (plan.names[op],)))
            if type(log) is ObservedLog:
                self.flush()  # `on_event` sees it now, and may cancel before the call
                if session.state is not RUNNING:
                    return None
        inject = self.inject
        if inject is not None and plan.kinds[op] is not Kind.DELAY:
            error = inject(plan.names[op])
            if error is not None:
                return _raising(error)
        streams = plan.streams[op]
        if streams is None:
            call: Awaitable[Any] = fn(msg)
        else:
            call = fn(msg, streams=stream_senders(self, session, op, streams, scope))
        return call

    def activation_cancelled(self, session: Session, op: int) -> None:
        """An activation saw the backend's cancellation."""
        # the engine only cancels sessions that are cleaning up: a cancellation that
        # reaches a running session comes from outside the run
        if session.state is RUNNING:
            self.cancel_from_outside("the task awaiting the run was cancelled")
        self._record_cancelled(session, op)

    def _record_cancelled(self, session: Session, op: int) -> None:
        if self.log is not None:
            plan = session.plan
            event = TimerCancelled if plan.kinds[op] is Kind.DELAY else TaskCancelled
            self.log.append((monotonic(), event, session, (plan.names[op],)))

    def activation_failed(self, session: Session, op: int, error: BaseException) -> None:
        """An activation raised `error`."""
        if session.state is RUNNING:
            self.fail(session, op, error)
            return
        if is_fatal(error):
            self.stop_everything(session, op, error)
        # S4.3: a failure during cleanup is never swallowed
        failure = ServiceFailed(session.plan.names[op], error)
        if session.cleanup_failures is None:
            session.cleanup_failures = []
        session.cleanup_failures.append(failure)
        if self.log is not None:
            self.log.append((monotonic(), OperationFinished, session, (failure.operation, error)))
            self.log.append((monotonic(), CleanupFailed, session, (Cancellation(failure),)))

    async def run_activation(self, session: Session, op: int, msg: Any) -> None:
        """The coroutine of one async activation; always reports back to the engine.

        `run_workflow` has an inlined copy of this for a lone activation.
        """
        ok = False
        result: Any = None
        try:
            call = self.activation_call(session, op, msg)
            if call is not None:
                result = await call
                ok = True
        except anyio.get_cancelled_exc_class() as error:
            if not is_phantom_cancel(error):
                self.activation_cancelled(session, op)
                raise
            self.activation_failed(session, op, error)  # S4.3: a failure of the service
        except BaseException as error:
            self.activation_failed(session, op, error)
        finally:
            self.activation_ended(session, op, ok, result)

    def activation_ended(self, session: Session, op: int, ok: bool, result: Any) -> None:
        if ok and self.log is not None:
            self.log.append((monotonic(), OperationFinished, session, (session.plan.names[op],)))
        session.ntasks -= 1
        if session.state is RUNNING:
            if ok:
                target = session.plan.targets[op][0]
                if target >= 0:
                    self.send(session, target, result)
            self.dec(session, op)
            if session.extra is not None and session.extra.trims:
                self._check_trims(session)
        else:
            self._maybe_finish(session)
        self.flush()

    async def run_scoped_activation(self, session: Session, op: int, packed: Any) -> None:
        """An activation with its own cancel scope, so that a trim or a pre-empting
        request can stop it alone; it releases its delivery ticket when it ends."""
        if type(packed) is not Packed:
            packed = Packed(packed, None)
        ok = False
        result: Any = None
        extra = session.more()
        running = extra.running
        # S6.6: an abandoned activation must not see its session's cleanup
        scope = anyio.CancelScope(shield=session.plan.policy[op] is ABANDON)
        try:
            with scope:
                running[scope] = (op, packed.ticket)
                try:
                    ticket = packed.ticket
                    supplanted = ticket is not None and ticket.supplanted
                    call = (
                        None if supplanted else self.activation_call(session, op, packed.msg, scope)
                    )
                    if call is not None:
                        result = await call
                        ok = True
                finally:
                    running.pop(scope, None)
        except anyio.get_cancelled_exc_class() as error:
            if not is_phantom_cancel(error):
                if scope not in extra.left:
                    self.activation_cancelled(session, op)
                raise
            self._failed_scoped(session, op, scope, error)
        except BaseException as error:
            self._failed_scoped(session, op, scope, error)
        finally:
            if packed.ticket is not None:
                release(packed.ticket)
            if scope in extra.left:
                self.left.pop(scope, None)  # it ran in the background: nobody waits for it
                self._maybe_idle()
            else:
                if scope.cancelled_caught:
                    self._record_cancelled(session, op)  # a trim or a pre-empting request
                self.activation_ended(session, op, ok, result)

    def _failed_scoped(
        self, session: Session, op: int, scope: CancelScope, error: BaseException
    ) -> None:
        if scope in session.more().left:
            if is_fatal(error):
                self.stop_everything(session, op, error)
            else:
                _warn_left(self, session, op, error)
        else:
            self.activation_failed(session, op, error)

    # ------------------------------------------------------------------ delivery (S7.5)

    def deliver(self, session: Session, op: int, msg: Any, delivery: Delivery) -> None:
        """A request to a provider with delivery settings: queue it, or start it."""
        self.inc(session, op)  # queued or running, the request is activity of `op`
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
            self._start_delivered(session, op, msg, ticket)

        def on_supplant(ticket: Ticket, running: bool, by: str) -> None:
            self._supplant(session, op, ticket, running, by)

        ticket = submit(delivery, by, on_start, on_supplant)
        if ticket is None:
            self._start_delivered(session, op, msg, None)
        elif ticket.state == QUEUED:
            session.more().tickets.setdefault(op, set()).add(ticket)

    def _start_delivered(self, session: Session, op: int, msg: Any, ticket: Ticket | None) -> None:
        if session.plan.kinds[op] is Kind.SCOPE:
            graph = session.graph.ops[op].graph
            assert graph is not None  # invariant: a scope operation has a body
            child = self.open(graph, msg, session, op)
            if ticket is not None:
                child.more().ticket = ticket
            self.dec(session, op)  # the child session is the activity now
            self.flush()
            return
        self._spawn(session, op, Packed(msg, ticket))

    def _supplant(self, session: Session, op: int, ticket: Ticket, running: bool, by: str) -> None:
        if session.state is not RUNNING:
            return
        cause = Supplanted(by)
        if not running:
            # a queued request never starts
            extra = session.extra
            if extra is not None and op in extra.tickets:
                extra.tickets[op].discard(ticket)
            self.dispose(session, op, cause)
            self.dec(session, op)
        elif session.plan.kinds[op] is Kind.SCOPE:
            for child in list(session.children or ()):
                if child.extra is not None and child.extra.ticket is ticket:
                    # an internal cancellation: uninterruptible or not (S4.5)
                    self.cancel(child, cause)
        else:
            self.dispose(session, op, cause)
            extra = session.extra
            if extra is not None:
                for scope, (_, held) in list(extra.running.items()):
                    if held is ticket:
                        scope.cancel()
        self.flush()

    # ------------------------------------------------------------------ buffers (S7)

    def buffer_arrival(self, session: Session, b: int, msg: Any) -> None:
        """A message reached buffer `b` through its input slot (S7.1)."""
        state = session.buffer(b)
        stored, _ = push_item(state.items, session.plan.buffer_settings[b], msg)
        if stored and state.is_open:
            self._notify(session, b, -1)

    def _notify(self, session: Session, b: int, exclude: int) -> None:
        """Wake the joins and listeners of buffer `b`: a pending notification is
        activity (S2.1); `exclude` is a listener whose own key made the change (S7.3)."""
        for reader in session.plan.readers.get(b, ()):
            if reader != exclude:
                self.send(session, reader, None)

    def make_keys(
        self,
        session: Session,
        shape: str,
        names: tuple[str, ...],
        bufs: tuple[int, ...],
        issuer: int,
    ) -> Any:
        """Keys to `bufs` in the shape they were given (one, tuple or dict)."""
        plan = session.plan
        session.engine = self
        keys: list[BufferKey[Any]] = []
        for b in bufs:
            session.buffer(b)  # issuing keys creates the session's storage
            keys.append(BufferKey(session, b, plan.names[b], issuer))
        if shape == "one":
            return keys[0]
        if shape == "tuple":
            return tuple(keys)
        return dict(zip(names, keys, strict=True))

    def view_closed(self, session: Session, key: BufferKey[Any], view: BufferView[Any]) -> None:
        """A `with key.access()` block ended: one notification per change (S7.3)."""
        if session.state is not RUNNING:
            return  # a session that is cleaning up wakes nothing
        b = key._op
        if view._closed:
            name = session.plan.names[b]
            disposal = Disposal(name, ClosedGate(name))
            if self.flushing:
                # inside a blocking operation, whose events are recorded when it returns:
                # the disposal it caused follows them, so the log stays in order (S9.2)
                self.soon_after(lambda: self.record(session, disposal))
            else:
                self.record(session, disposal)
        state = session.buffer(b)
        if view._opened or (view._modified and state.is_open):
            self._notify(session, b, -1 if key._loops else key._issuer)
        self.flush()

    def join_wake(self, session: Session, op: int, msg: Any) -> None:
        """A buffer of join `op` changed: fire while every buffer holds an item (S7.2)."""
        plan = session.plan
        params = session.graph.ops[op].params
        bufs: tuple[int, ...] = params["buffers"]
        clones: tuple[bool, ...] = params["clone"]
        states = [session.buffer(b) for b in bufs]
        target = plan.targets[op][0]
        all_cloned = all(clones)
        pulled = False
        while all(state.items for state in states):
            values = []
            for b, state, clone in zip(bufs, states, clones, strict=True):
                if clone:
                    copied, error = clone_or_error(
                        state.items[0],
                        session.plan.names[op],
                        f"buffer {session.plan.names[b]!r}, joined by cloning",
                        "join that buffer without cloning (its oldest item is then taken)",
                    )
                    if error is not None:
                        self.fail(session, op, error)
                        return
                    values.append(copied)
                else:
                    values.append(state.items.popleft())
                    pulled = True
            try:
                joined = _shape_joined(params, values)
            except BaseException as error:
                self.fail(session, op, error)
                return
            if target >= 0:
                self.send(session, target, joined)
            if all_cloned:
                break  # a join of clones only would never run dry: once per wake
        if pulled:
            # a join's pull is a change the buffer's other readers see (S7.3)
            for b, clone in zip(bufs, clones, strict=True):
                if not clone:
                    self._notify(session, b, op)

    def gate(self, session: Session, op: int, bufs: tuple[int, ...], open: bool) -> None:
        """Open or close the gates of `bufs` (S7.3, S7.4)."""
        closed = False
        for b in bufs:
            state = session.buffer(b)
            if open and not state.is_open:
                state.is_open = True
                self._notify(session, b, -1)  # opening wakes, even without new data
            elif not open and state.is_open:
                state.is_open = False
                closed = True
        if closed:
            self.dispose(session, op, ClosedGate(session.plan.names[op]))

    # ------------------------------------------------------------------ trims

    def trim(self, session: Session, op: int, msg: Any) -> None:
        """Clean up the operations of a trim's span for `session`, then pass `msg` on."""
        plan = session.plan
        span = plan.trim_spans[op]
        inside = set(span)
        # queued messages of the span are dropped
        queue = self.queue
        kept = [e for e in queue if e[0] is not session or e[1] not in inside]
        if len(kept) < len(queue):
            dropped = [o for s, o, _ in queue if s is session and o in inside]
            queue.clear()
            queue.extend(kept)
            for o in dropped:
                self.dec(session, o)
        # activations that did not start yet never will
        if session.pending:
            for entry in [e for e in session.pending if e[0] in inside]:
                session.pending.remove(entry)
                self._drop_activation(session, entry[0], entry[1])
        if self.pending:
            for e in [e for e in self.pending if e[0] is session and e[1] in inside]:
                self.pending.remove(e)
                self._drop_activation(session, e[1], e[2])
        extra = session.more()
        for o in span:
            for ticket in list(extra.tickets.pop(o, ())):
                release(ticket)
                self.dec(session, o)
        for scope, (o, _) in list(extra.running.items()):
            if o in inside:
                if plan.policy[o] is WAIT:
                    scope.cancel()
                else:
                    self._leave_task(session, scope, o)  # S6.6
        for child in list(session.children or ()):
            if child.parent_op in inside:
                child.more().trimmed = True
                self._stop_child(session, child, Interrupted(plan.names[op]))
        for o in span:
            kind = plan.kinds[o]
            if kind is Kind.BUFFER and session.buffers is not None and o in session.buffers:
                session.buffers[o].items.clear()
            elif kind is Kind.COLLECT and session.collects is not None:
                state = session.collects[o]
                state.items.clear()
                self._update_holding(session, o, state)
        self.inc(session, op)
        extra.trims.append((op, msg, span))
        self._check_trims(session)

    def _drop_activation(self, session: Session, op: int, msg: Any) -> None:
        """An activation waiting for its task group will not run."""
        session.ntasks -= 1
        if type(msg) is Packed and msg.ticket is not None:
            release(msg.ticket)
        self.dec(session, op)

    def _check_trims(self, session: Session) -> None:
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
            self.dispose(session, op, Trimming(session.plan.names[op]))
            target = session.plan.targets[op][0]
            if target >= 0:
                self.send(session, target, msg)
            self.dec(session, op)


class _Deferred:
    """Stands in for a session in the ready queue, so that an action requested from
    inside an operation runs as the next queued item (see `Engine.soon`), at no cost to
    the loop."""

    class _Plan:
        useful = (False,)
        collects = ()

    __slots__ = ("act", "handlers", "plan", "state")

    def __init__(self) -> None:
        self.state = RUNNING
        self.plan = self._Plan()
        self.act = [0]  # the loop counts activity down after each item
        self.handlers = (_run_deferred,)

    def __repr__(self) -> str:
        return "<deferred action>"


def _run_deferred(engine: Engine, session: Any, action: Callable[[], None]) -> None:
    action()


_DEFERRED = _Deferred()


def _warn_left(engine: Engine, session: Session, op: int, error: BaseException) -> None:
    # S4.3: never swallowed, even from work nobody waits for any more
    engine.warn(
        f"{session.plan.names[op]} raised {describe_error(error)} while it ran in the "
        f"background after its session of scope {session.graph.name!r} stopped waiting for "
        f"it (cancellation policy {session.plan.policy[op]!r})"
    )


def _nothing(action: Callable[[], None]) -> None:
    """Where an observed log hands its deliveries once the run is over."""


async def _raising(error: Exception) -> Any:
    raise error


def _has_closed_gate(session: Session) -> bool:
    buffers = session.buffers
    return buffers is not None and any(not state.is_open for state in buffers.values())


def _shape_joined(params: dict[str, Any], values: list[Any]) -> Any:
    shape = params["shape"]
    if shape == "one":
        return values[0]
    if shape == "tuple":
        return tuple(values)
    joined = dict(zip(params["names"], values, strict=True))
    into = params["into"]
    return joined if into is None else into(**joined)
