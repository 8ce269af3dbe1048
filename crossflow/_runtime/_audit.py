"""The bookkeeping audit: a debug switch that recounts every session's activity.

The engine keeps running counts (`activity`, `useful_activity`, `upstream`, `ntasks`)
instead of looking at the whole state each time: that is what makes it fast, and
what would make a missed `dec` a hang or a premature cancellation. With the audit on,
the engine recounts them from what is really there after every step (each handled
message, each settle, each activation that ends) and raises `BookkeepingError` on
the first mismatch, naming the session, the operation, the count it kept and the one
it should have kept.

Switch it on with the environment variable `CROSSFLOW_AUDIT=1` (read at import) or,
in tests, with `auditing()`. It costs time in proportion to the size of the run's
state at every step: for tests and debugging, never for production.
"""

from __future__ import annotations

import os
import weakref
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from .._errors import CrossflowError
from .._state import SessionState
from ._core import DEFERRED
from ._engine import Engine
from ._queues import QUEUED

if TYPE_CHECKING:
    from anyio import CancelScope

    from ..events import Event
    from ._scope_session import ScopeSession

RUNNING = SessionState.RUNNING

_enabled = os.environ.get("CROSSFLOW_AUDIT", "") not in ("", "0")


class BookkeepingError(CrossflowError):
    """The engine's running counts disagree with what is really there: a defect of
    crossflow, never of the workflow. Please report it with the workflow that shows it."""


def enabled() -> bool:
    """Whether new runs are audited."""
    return _enabled


@contextmanager
def auditing(on: bool = True) -> Iterator[None]:
    """Audit the runs started inside the block (or not, with `on=False`)."""
    global _enabled
    before, _enabled = _enabled, on
    try:
        yield
    finally:
        _enabled = before


class AuditedEngine(Engine):
    """An engine that keeps a ledger of its activations and checks its counts after
    every step (see the module's docstring)."""

    __slots__ = ("__weakref__", "_audit", "ledger")

    def __init__(
        self,
        events: bool = True,
        on_event: Callable[[Event], object] | None = None,
        inject: Callable[[str], Exception | None] | None = None,
    ) -> None:
        super().__init__(events, on_event, inject)
        # activations asked for and not ended or left in the background, per session
        # (by id: the audit keeps no session alive) and operation: counted where they
        # start and end, not where activity is
        self.ledger: dict[int, Counter[int]] = {}
        self.audit = self._audit = _weak_verify(self)

    def spawn_packed(self, session: ScopeSession, op: int, msg: Any) -> None:
        self.ledger.setdefault(id(session), Counter())[op] += 1
        super().spawn_packed(session, op, msg)

    def activation_ended(self, session: ScopeSession, op: int, ok: bool, result: Any) -> None:
        self._ended(session, op, "ended")
        # the step is checked as a whole: the counts are in flux until it is over
        self.audit = None
        try:
            super().activation_ended(session, op, ok, result)
        finally:
            self.audit = self._audit
        self.verify()

    def drop_activation(self, session: ScopeSession, op: int, msg: Any) -> None:
        self._ended(session, op, "was dropped")
        super().drop_activation(session, op, msg)

    def leave_task(self, session: ScopeSession, scope: CancelScope, op: int) -> None:
        self._ended(session, op, "was left in the background")
        super().leave_task(session, scope, op)

    def _ended(self, session: ScopeSession, op: int, how: str) -> None:
        counts = self.ledger.get(id(session))
        if not counts or counts[op] <= 0:
            raise BookkeepingError(
                f"an activation of {session.plan.names[op]!r} in {session.describe()} {how}, "
                "but none was running"
            )
        counts[op] -= 1

    # ------------------------------------------------------------------ the check

    def verify(self) -> None:
        """Recount every session's activity and compare it with the running counts."""
        queued: dict[ScopeSession, Counter[int]] = {}
        for session, op, _ in self.queue:
            if session is DEFERRED:  # type: ignore[comparison-overlap]
                continue  # an action run between operations, not a message
            queued.setdefault(session, Counter())[op] += 1
        for session in self._sessions():
            self._verify_session(session, queued.get(session, Counter()))

    def _sessions(self) -> Iterator[ScopeSession]:
        stack = [s for s in (self.root, *self.detached) if s is not None]
        while stack:
            session = stack.pop()
            yield session
            stack.extend(session.children or ())

    def _verify_session(self, session: ScopeSession, queued: Counter[int]) -> None:
        running = self.ledger.get(id(session), Counter())
        tasks = sum(running.values())
        if session.ntasks != tasks:
            self._mismatch(session, "running activations (ntasks)", session.ntasks, tasks)
        if session.state is not RUNNING:
            return  # the counts of a session that is cleaning up are no longer read
        plan = session.plan
        expected = Counter(queued)
        expected.update(running)
        for child in session.children or ():
            if child.parent_op >= 0:
                expected[child.parent_op] += 1
        extra = session.extra
        if extra is not None:
            for op, tickets in extra.tickets.items():
                expected[op] += len(tickets)  # requests waiting for their turn (S7.5)
            for op, _, _ in extra.trims:
                expected[op] += 1
            ticket = extra.ticket
            if session.parent is None and ticket is not None and ticket.state == QUEUED:
                expected[0] += 1  # the run waits for its turn (S7.5)
        for op in range(plan.size):
            if session.activity[op] != expected[op]:
                self._mismatch(
                    session, f"activity of {plan.names[op]!r}", session.activity[op], expected[op]
                )
        holding = set()
        for c, state in (session.collects or {}).items():
            should_hold = state.armed and len(state.items) >= plan.collect_min[c]
            if state.holding is not should_hold:
                self._mismatch(
                    session, f"whether collect {plan.names[c]!r} holds", state.holding, should_hold
                )
            if state.holding:
                holding.add(c)
        useful = sum(session.activity[op] for op in range(plan.size) if plan.useful[op])
        useful += sum(1 for c in holding if plan.useful[c])
        if session.useful_activity != useful:
            self._mismatch(session, "useful activity", session.useful_activity, useful)
        if session.upstream is not None:
            upstream = [0] * plan.size
            for op in range(plan.size):
                units = session.activity[op] + (1 if op in holding else 0)
                for c in plan.collects_of[op]:
                    upstream[c] += units
            for c in plan.collects:
                if session.upstream[c] != upstream[c]:
                    self._mismatch(
                        session,
                        f"activity upstream of collect {plan.names[c]!r}",
                        session.upstream[c],
                        upstream[c],
                    )

    def _mismatch(self, session: ScopeSession, what: str, kept: object, actual: object) -> None:
        raise BookkeepingError(
            f"{what} in {session.describe()}: the engine counts {kept!r}, the recount finds "
            f"{actual!r}"
        )


def _weak_verify(engine: AuditedEngine) -> Callable[[], None]:
    """`engine.verify`, without the reference cycle a bound method would make."""
    ref = weakref.ref(engine)

    def audit() -> None:
        alive = ref()
        if alive is not None:
            alive.verify()

    return audit
