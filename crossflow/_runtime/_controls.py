"""Per-node controls of activations, and how far cancelling work run elsewhere reached
(S10.2, S10.4).

A node with `max_concurrency`, `timeout` or `retry` runs each activation through
`controlled`: it waits for one of the node's slots (one set of slots per node and run,
handed over first in first out), then makes attempts, each one a fresh call of the
service (`start_call`, from the tasks family), under the node's timeout, until one
succeeds or the retry policy gives up. Nodes without controls never come here: their
activations, and the inline calls of blocking services, run as before.

The activations of a node whose service runs elsewhere (an executor) record their own
`TaskCancelled`: the executor tells, through `Activation.report_cancellation`, whether the
work stopped or runs on, and the event says so. Those of a node with controls do too,
whatever stage the cancellation found them in (waiting for a slot, waiting to try
again). `wrapped` says which nodes these are, so that the rest of the runtime leaves
their cancellations to this module.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
from time import monotonic
from typing import TYPE_CHECKING, Any

import anyio

from .._model import NodeSettings
from .._state import SessionState
from ..events import AttemptFailed, OperationQueued, OperationTimedOut, TaskCancelled

if TYPE_CHECKING:
    from ._engine import Engine
    from ._plan import Plan
    from ._scope_session import ScopeSession
    from ._tasks import Activation

    StartCall = Callable[
        ["Engine", "ScopeSession", int, Any, object, "Attempt | None"], Awaitable[Any] | None
    ]

RUNNING = SessionState.RUNNING


def has_controls(settings: object) -> bool:
    """Whether a node's settings ask for `max_concurrency`, `timeout` or `retry`."""
    return type(settings) is NodeSettings and (
        settings.max_concurrency is not None
        or settings.timeout is not None
        or settings.retry is not None
    )


def wrapped(plan: Plan, op: int) -> bool:
    """Whether the activations of `op` record their own cancellations (see the module)."""
    return plan.executors[op] is not None or has_controls(plan.settings[op])


def log_cancelled(
    engine: Engine,
    session: ScopeSession,
    op: int,
    scope: object,
    stopped: bool,
    reach: str | None,
) -> None:
    """Record a `TaskCancelled` of an activation of `op`; it was not waited for when its
    cancellation policy left it in the background."""
    log = engine.log
    if log is None:
        return
    extra = session.extra
    waited = extra is None or scope is None or scope not in extra.left
    log.append(
        (monotonic(), TaskCancelled, session, (session.plan.names[op], waited, stopped, reach))
    )


class Attempt:
    """One attempt of a controlled activation: its deadline, and the activation that an
    executor runs for it (which reports how far a cancellation reached)."""

    __slots__ = ("activation", "deadline", "number")

    def __init__(self, number: int) -> None:
        self.number = number
        self.deadline: anyio.CancelScope | None = None
        self.activation: Activation | None = None

    def __repr__(self) -> str:
        return f"<Attempt {self.number}>"

    def timed_out(self) -> bool:
        """Whether the attempt's deadline has passed (read on the event loop)."""
        return self.deadline is not None and self.deadline.cancel_called


class Slots:
    """The `max_concurrency` slots of one node in one run, handed over in order."""

    __slots__ = ("free", "limit", "waiting")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.free = limit
        self.waiting: deque[anyio.Event] = deque()

    def __repr__(self) -> str:
        return f"<Slots {self.limit - self.free}/{self.limit} taken, {len(self.waiting)} waiting>"

    async def take(self, engine: Engine, session: ScopeSession, op: int) -> None:
        if self.free and not self.waiting:
            self.free -= 1
            return
        engine.log_event(OperationQueued, session, session.plan.names[op], self.limit)
        turn = anyio.Event()
        self.waiting.append(turn)
        try:
            await turn.wait()
        except BaseException:
            if turn.is_set():
                self.give_back()  # handed a slot while being cancelled: pass it on
            else:
                self.waiting.remove(turn)
            raise

    def give_back(self) -> None:
        if self.waiting:
            self.waiting.popleft().set()  # the slot goes straight to the next in line
        else:
            self.free += 1


def slots_of(engine: Engine, plan: Plan, op: int, limit: int) -> Slots:
    table = engine.limits
    if table is None:
        table = engine.limits = {}
    slots = table.get((plan, op))
    if slots is None:
        slots = table[plan, op] = Slots(limit)
    return slots


def _timeout_error(name: str, seconds: float, attempt: int, attempts: int) -> TimeoutError:
    of = f" (attempt {attempt} of {attempts})" if attempts > 1 else ""
    return TimeoutError(
        f"{name} ran longer than its timeout of {seconds:g} s{of}, and was stopped as far as "
        "it could be"
    )


async def controlled(
    engine: Engine,
    session: ScopeSession,
    op: int,
    msg: Any,
    scope: object,
    start_call: StartCall,
) -> Any:
    """An activation of a node with controls: a slot, then attempts (S10.4)."""
    plan = session.plan
    settings = plan.settings[op]
    assert type(settings) is NodeSettings  # invariant: only nodes have controls
    name = plan.names[op]
    timeout = settings.timeout
    retry = settings.retry
    attempts = 1 if retry is None else retry.attempts
    cancelled = anyio.get_cancelled_exc_class()
    attempt: Attempt | None = None
    slots = None
    stage: str | None = None  # what a cancellation finds it doing, when not its work
    try:
        if settings.max_concurrency is not None:
            stage = (
                "it had not started: it was waiting for a slot "
                f"(max_concurrency={settings.max_concurrency})"
            )
            taking = slots_of(engine, plan, op, settings.max_concurrency)
            await taking.take(engine, session, op)
            slots = taking
            stage = None
        number = 1
        while True:
            attempt = Attempt(number)
            try:
                if timeout is None:
                    call = start_call(engine, session, op, msg, scope, attempt)
                    if call is None:
                        await anyio.lowlevel.checkpoint()
                        return None  # its session ended as it started: nothing to send
                    return await call
                with anyio.CancelScope(deadline=anyio.current_time() + timeout) as deadline:
                    attempt.deadline = deadline
                    call = start_call(engine, session, op, msg, scope, attempt)
                    if call is None:
                        await anyio.lowlevel.checkpoint()
                        return None
                    return await call
                # the deadline passed: the call was cancelled, as far as it could be
                activation = attempt.activation
                stopped, reach = (True, None) if activation is None else activation.reached
                engine.log_event(OperationTimedOut, session, name, timeout, number, stopped, reach)
                raise _timeout_error(name, timeout, number, attempts)
            except Exception as error:
                if retry is None or not retry.retries(error, number):
                    raise
                if session.state is not RUNNING:
                    raise  # its session is ending: no more attempts, the failure counts
                delay = retry.delay(number)
                engine.log_event(AttemptFailed, session, name, number, attempts, error, delay)
                attempt = None
                if delay:
                    stage = f"it was waiting {delay:g} s to try again after attempt {number}"
                    await anyio.sleep(delay)
                    stage = None
                number += 1
    except cancelled:
        # an executor that reported its cancellation has recorded it; anything else is
        # recorded here: the work had not started, or was an async service's
        activation = None if attempt is None else attempt.activation
        if activation is None:
            log_cancelled(engine, session, op, scope, True, stage)
        elif not activation.logged:
            activation.logged = True
            log_cancelled(engine, session, op, scope, *activation.reached)
        raise
    finally:
        if slots is not None:
            slots.give_back()
