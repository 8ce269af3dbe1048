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

import warnings
from collections import deque
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

import anyio

from .._causes import (
    Cancellation,
    CancellationCause,
    DeficientCollection,
    Disposal,
    DisposalCause,
    Interrupted,
    ScopeCancelled,
    ServiceFailed,
    Unreachable,
    UserCancelled,
)
from .._errors import CrossflowWarning
from .._state import SessionState
from ._ops import stream_senders
from ._plan import plan_of
from ._session import CollectState, Session

if TYPE_CHECKING:
    from anyio.abc import TaskGroup

    from .._graph import Graph

RUNNING = SessionState.RUNNING

# how many messages one flush handles before it lets the event loop run
FLUSH_LIMIT = 10_000
TERMINATING = SessionState.TERMINATING
CANCELLING = SessionState.CANCELLING


class Engine:
    """Runs the sessions of one `run` call."""

    __slots__ = (
        "checks",
        "collect_checks",
        "done",
        "flushing",
        "pending",
        "queue",
        "root",
        "tg",
        "yielded",
    )

    def __init__(self) -> None:
        self.queue: deque[tuple[Session, int, Any]] = deque()
        self.tg: TaskGroup | None = None
        # created when first needed: a run in flight should hold few objects (W3)
        self.pending: list[tuple[Session, int, Any]] | None = None
        self.checks: list[Session] | None = None
        self.collect_checks: list[tuple[Session, int]] | None = None
        self.flushing = False
        self.root: Session | None = None
        self.done: anyio.Event | None = None
        # a flush stopped at FLUSH_LIMIT and left messages queued
        self.yielded = False

    def __repr__(self) -> str:
        return f"<Engine root={self.root!r} queued={len(self.queue)}>"

    # ------------------------------------------------------------------ sessions

    def open(self, graph: Graph, request: Any, parent: Session | None, parent_op: int) -> Session:
        """Open a session of `graph` and send it its request (S1.1, S1.2)."""
        plan = plan_of(graph)
        session = Session(graph, plan, parent, parent_op)
        if parent is None:
            self.root = session
        else:
            if parent.children is None:
                parent.children = set()
            parent.children.add(session)
            self.inc(parent, parent_op)
        target = plan.start_target
        if target < 0:
            # S2.3: inherent unreachability, before any operation runs
            self.cancel(session, Unreachable(graph.name, ()))
        else:
            self.send(session, target, request)
        return session

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

    def fail(self, session: Session, op: int, error: Exception) -> None:
        """A service raised: cancel the innermost session running it (S4.3)."""
        self.cancel(session, ServiceFailed(session.plan.names[op], error))

    def cancel_from_outside(self, reason: str) -> None:
        root = self.root
        if root is not None:
            self.cancel(root, UserCancelled(reason))

    def _clean(self, session: Session) -> None:
        # S6.1 operation cleanup: queued inputs are dropped lazily (the queue skips
        # sessions that are not running), tasks are cancelled, children are cleaned up.
        session.pending = None  # activations that never started never will
        if session.tg is not None:
            session.tg.cancel_scope.cancel()
        if session.children:
            reason = Interrupted(session.graph.name)
            for child in list(session.children):
                self.cancel(child, reason)
        self._maybe_finish(session)

    def _maybe_finish(self, session: Session) -> None:
        if session.ntasks or session.children:
            return
        if session.state is not TERMINATING and session.state is not CANCELLING:
            return
        # S6.3: only now is the outcome delivered
        if session.cleanup_failures is not None:
            self._report_cleanup_failures(session, session.cleanup_failures)
        session.state = (
            SessionState.TERMINATED if session.state is TERMINATING else SessionState.CANCELLED
        )
        parent = session.parent
        if parent is None:
            if self.done is not None:
                self.done.set()
            return
        assert parent.children is not None  # invariant: a child is registered with its parent
        parent.children.discard(session)
        if parent.state is RUNNING:
            op = session.parent_op
            if session.state is SessionState.TERMINATED:
                target = parent.plan.targets[op][0]
                if target >= 0:
                    self.send(parent, target, session.response)
            else:
                assert session.cancellation is not None
                # S1.7: a cancelled child is a disposal for its parent
                self.dispose(parent, op, ScopeCancelled(session.cancellation))
            self.dec(parent, op)
        else:
            self._maybe_finish(parent)

    def _report_cleanup_failures(self, session: Session, failures: list[ServiceFailed]) -> None:
        # S4.3: never swallowed. A cancelled session carries them in while_cancelling;
        # a terminated one already has its response, so they become warnings.
        if session.state is CANCELLING:
            assert session.cancellation is not None
            session.cancellation = Cancellation(
                session.cancellation.cause,
                session.cancellation.while_cancelling + tuple(Cancellation(f) for f in failures),
            )
            return
        for failure in failures:
            warnings.warn(
                f"{failure.operation} raised {type(failure.error).__qualname__}: {failure.error} "
                f"while session {session.graph.name!r} was cleaning up after terminate; "
                "the response was delivered anyway",
                CrossflowWarning,
                stacklevel=2,
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
        if session.disposals is None:
            session.disposals = [disposal]
        else:
            session.disposals.append(disposal)
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
                    plan.handlers[op](self, session, msg)
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
        for session in checks:
            if session.state is RUNNING and not session.live:
                self.cancel(
                    session, Unreachable(session.graph.name, tuple(session.disposals or ()))
                )

    # ------------------------------------------------------------------ tasks
    #
    # The async activations of a session run in that session's task group: the root
    # session uses the driver's task group; a child session gets its own, opened by a
    # host task the first time it needs one. Cancelling a session's activations is then
    # one `cancel_scope.cancel()`, and an activation costs no cancel scope of its own.

    def spawn(self, session: Session, op: int, msg: Any) -> None:
        """Ask for an async activation of `op`; it counts as activity until it ends."""
        self.inc(session, op)
        session.ntasks += 1
        tg = session.tg
        if tg is not None:
            tg.start_soon(self.run_activation, session, op, msg)
        elif self.tg is None:
            # no task group yet: the driver decides where this runs
            if self.pending is None:
                self.pending = [(session, op, msg)]
            else:
                self.pending.append((session, op, msg))
        else:
            self._queue_for_host(session, op, msg)

    def _queue_for_host(self, session: Session, op: int, msg: Any) -> None:
        if session.pending is None:
            session.pending = []
        session.pending.append((op, msg))
        if not session.hosted:
            session.hosted = True
            assert self.tg is not None  # invariant: hosts run in the root task group
            self.tg.start_soon(self._host, session)

    def open_task_group(self, tg: TaskGroup) -> None:
        """The driver opened its task group: start everything that waited for it."""
        self.tg = tg
        root = self.root
        assert root is not None
        root.tg = tg
        if self.yielded:
            tg.start_soon(self.resume)
        pending, self.pending = self.pending or [], None
        for session, op, msg in pending:
            if session is root:
                tg.start_soon(self.run_activation, session, op, msg)
            else:
                self._queue_for_host(session, op, msg)

    async def _host(self, session: Session) -> None:
        """Hold the task group of a child session while the session can still use it."""
        async with anyio.create_task_group() as tg:
            if session.state is not RUNNING:
                tg.cancel_scope.cancel()
            session.tg = tg
            pending, session.pending = session.pending or [], None
            for op, msg in pending:
                tg.start_soon(self.run_activation, session, op, msg)
            # cleanup of the session cancels this task group's scope (see _clean)
            await anyio.sleep_forever()

    def activation_call(self, session: Session, op: int, msg: Any) -> Awaitable[Any] | None:
        """The service call of an activation, or None if its session ended meanwhile."""
        if session.state is not RUNNING:
            return None  # cleaned up before it could start: the service never runs
        plan = session.plan
        fn = plan.fns[op]
        assert fn is not None  # invariant: only service operations spawn activations
        streams = plan.streams[op]
        if streams is None:
            call: Awaitable[Any] = fn(msg)
        else:
            call = fn(msg, streams=stream_senders(self, session, op, streams))
        return call

    def activation_cancelled(self, session: Session) -> None:
        """An activation saw the backend's cancellation."""
        # the engine only cancels sessions that are cleaning up: a cancellation that
        # reaches a running session comes from outside the run
        if session.state is RUNNING:
            self.cancel_from_outside("the task awaiting the run was cancelled")

    def activation_failed(self, session: Session, op: int, error: Exception) -> None:
        """An activation raised `error`."""
        if session.state is RUNNING:
            self.fail(session, op, error)
            return
        # S4.3: a failure during cleanup is never swallowed
        failure = ServiceFailed(session.plan.names[op], error)
        if session.cleanup_failures is None:
            session.cleanup_failures = []
        session.cleanup_failures.append(failure)

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
        except anyio.get_cancelled_exc_class():
            self.activation_cancelled(session)
            raise
        except Exception as error:
            self.activation_failed(session, op, error)
        finally:
            self.activation_ended(session, op, ok, result)

    def activation_ended(self, session: Session, op: int, ok: bool, result: Any) -> None:
        session.ntasks -= 1
        if session.state is RUNNING:
            if ok:
                target = session.plan.targets[op][0]
                if target >= 0:
                    self.send(session, target, result)
            self.dec(session, op)
        else:
            self._maybe_finish(session)
        self.flush()
