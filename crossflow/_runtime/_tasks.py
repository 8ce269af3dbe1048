"""The tasks family: services and maps, and the activations that run them (S4.3, S8.4).

A blocking service runs inline, in its handler, while the queue is processed: the hot
path of a chain of blocking steps (`call_handler`). An async service, a delay, and
(through its executor) any service that runs elsewhere, is an *activation*: a task of
its own, which holds activity for its session (S2.1) until its result is back in the
engine. An activation runs in the run's task group under a shielded cancel scope that
its session keeps (`run_alone`); those that need a scope the engine can cancel alone
(trims, supplanting requests, cancellation policies) run in a task group of their
session, held by a small shielded host task; a lone activation of the root runs in the
caller's task (see the driver).

Shielded scopes and hosts mean that only the engine cancels a session's tasks: a
cancellation from outside reaches them through the engine, which lets uninterruptible
sessions run on (S6.4).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from time import monotonic
from types import CoroutineType
from typing import TYPE_CHECKING, Any

import anyio

from .._causes import Cancellation, ServiceFailed, UnusedStreams
from .._errors import UnawaitedCoroutine
from .._executor import current_call
from .._model import NodeSettings
from .._policy import CancellationPolicy
from .._state import SessionState
from .._streams import Streams, StreamSender
from .._text import describe_error
from ..events import (
    CleanupFailed,
    OperationFinished,
    OperationStarted,
    TaskCancelled,
    TimerCancelled,
)
from ._controls import Attempt, controlled, has_controls, log_cancelled, wrapped
from ._core import Packed
from ._exceptions import is_fatal, is_phantom_cancel
from ._log import Inline, ObservedLog
from ._queues import release

if TYPE_CHECKING:
    from anyio import CancelScope
    from anyio.abc import TaskGroup

    from .._executor import Executor
    from ._engine import Engine
    from ._entry import EntryQueue
    from ._plan import Handler, Plan
    from ._scope_session import ScopeSession

RUNNING = SessionState.RUNNING
ABANDON = CancellationPolicy.ABANDON


#: How many activations of one session may run alone (`run_alone`) at once; beyond it,
#: the session's activations go through a host (`_host`).
ALONE_LIMIT = 4


def spawn(engine: Engine, session: ScopeSession, op: int, msg: Any) -> None:
    """Ask for an async activation of `op`; it counts as activity until it ends."""
    engine.inc(session, op)
    engine.spawn_packed(session, op, msg)


def spawn_packed(engine: Engine, session: ScopeSession, op: int, msg: Any) -> None:
    session.ntasks += 1
    if engine.tg is None and session.tg is None:
        # no task group yet: the driver decides where this runs
        if engine.pending is None:
            engine.pending = [(session, op, msg)]
        else:
            engine.pending.append((session, op, msg))
    else:
        engine._place(session, op, msg)


def _place(engine: Engine, session: ScopeSession, op: int, msg: Any) -> None:
    """Start an activation: in its session's task group, or alone, or through a host."""
    tg = session.tg
    if tg is not None:
        tg.start_soon(engine._runner(session, op), session, op, msg)
    elif (
        not session.hosted
        and not session.plan.scoped[op]
        and (session.alone is None or len(session.alone) < ALONE_LIMIT)
    ):
        # a task of its own, with a cancel scope for the session's cleanup, costs less
        # than a host and a task group when a session runs few activations (W8); many at
        # once share a host's task group, which costs less per activation (W2)
        assert engine.tg is not None  # invariant: checked by the caller
        alone = session.alone
        if alone is None:
            alone = session.alone = set()
        scope = anyio.CancelScope(shield=True)
        alone.add(scope)  # now, so that the session's cleanup reaches a task not yet started
        engine.tg.start_soon(engine.run_alone, session, op, msg, scope)
    else:
        engine._queue_for_host(session, op, msg)


async def run_alone(
    engine: Engine, session: ScopeSession, op: int, msg: Any, scope: CancelScope
) -> None:
    """An activation in the run's task group rather than in a host's.

    `scope` is shielded like a host: only the session's cleanup cancels it (it is in
    `session.alone` until the activation has ended).
    """
    with scope:
        await engine.run_activation(session, op, msg, scope)


def _runner(engine: Engine, session: ScopeSession, op: int) -> Any:
    return engine.run_scoped_activation if session.plan.scoped[op] else engine.run_activation


def _queue_for_host(engine: Engine, session: ScopeSession, op: int, msg: Any) -> None:
    if session.pending is None:
        session.pending = []
    session.pending.append((op, msg))
    if not session.hosted:
        session.hosted = True
        assert engine.tg is not None  # invariant: hosts run in the run's task group
        engine.tg.start_soon(engine._host, session)


def open_task_group(engine: Engine, tg: TaskGroup) -> None:
    """The driver opened its task group: start everything that waited for it."""
    engine.tg = tg
    if engine.yielded:
        tg.start_soon(engine.resume)
    timers, engine.timers = engine.timers or [], None
    for timer in timers:
        tg.start_soon(timer)
    pending, engine.pending = engine.pending or [], None
    for session, op, msg in pending:
        engine._place(session, op, msg)


async def _host(engine: Engine, session: ScopeSession) -> None:
    """Hold the task group of a session while the session can still use it."""
    with anyio.CancelScope(shield=True):
        async with anyio.create_task_group() as tg:
            if session.state is not RUNNING:
                tg.cancel_scope.cancel()
            session.tg = tg
            pending, session.pending = session.pending or [], None
            for op, msg in pending:
                tg.start_soon(engine._runner(session, op), session, op, msg)
            # cleanup of the session cancels this task group's scope (see _clean)
            await anyio.sleep_forever()


def activation_call(
    engine: Engine, session: ScopeSession, op: int, msg: Any, scope: object = None
) -> Awaitable[Any] | None:
    """The service call of an activation, or None if its session ended meanwhile."""
    if session.state is not RUNNING:
        return None  # cleaned up before it could start: the service never runs
    if has_controls(session.plan.settings[op]):
        # max_concurrency, timeout, retry (S10.4): see `_controls`
        return controlled(engine, session, op, msg, scope, start_call)
    return start_call(engine, session, op, msg, scope)


def start_call(
    engine: Engine,
    session: ScopeSession,
    op: int,
    msg: Any,
    scope: object = None,
    attempt: Attempt | None = None,
) -> Awaitable[Any] | None:
    """Start one call of the service of `op` (one attempt of a controlled activation)."""
    plan = session.plan
    fn = plan.fns[op]
    assert fn is not None  # invariant: only service operations spawn activations
    log = engine.log
    if log is not None:
        log.append((monotonic(), OperationStarted, session, (plan.names[op],)))
        if type(log) is ObservedLog:
            engine.flush()  # `on_event` sees it now, and may cancel before the call
            if session.state is not RUNNING:
                return None
    inject = engine.inject
    if inject is not None and plan.kinds[op] != "delay":
        error = inject(plan.names[op])
        if error is not None:
            return _raising(error)
    streams = plan.streams[op]
    executor = plan.executors[op]
    if executor is not None:
        # a blocking service run elsewhere: the executor seam (S10.1)
        senders = (
            None if streams is None else threadsafe_senders(engine, session, op, streams, scope)
        )
        activation = Activation(engine, session, op, msg, senders, scope, attempt)
        return run_elsewhere(executor, activation)
    if streams is None:
        call: Awaitable[Any] = fn(msg)
    else:
        call = fn(msg, streams=stream_senders(engine, session, op, streams, scope))
    return call


def activation_cancelled(engine: Engine, session: ScopeSession, op: int) -> None:
    """An activation saw the backend's cancellation."""
    # the engine only cancels sessions that are cleaning up: a cancellation that
    # reaches a running session comes from outside the run
    if session.state is RUNNING:
        engine.cancel_from_outside("the task awaiting the run was cancelled")
    engine.record_cancelled(session, op)


def record_cancelled(engine: Engine, session: ScopeSession, op: int) -> None:
    if engine.log is not None:
        plan = session.plan
        if wrapped(plan, op):
            return  # recorded by the activation itself, with how far it reached (S10.2)
        event = TimerCancelled if plan.kinds[op] == "delay" else TaskCancelled
        engine.log.append((monotonic(), event, session, (plan.names[op],)))


def activation_failed(engine: Engine, session: ScopeSession, op: int, error: BaseException) -> None:
    """An activation raised `error`."""
    if session.state is RUNNING:
        engine.fail(session, op, error)
        return
    if is_fatal(error):
        engine.stop_everything(session, op, error)
    # S4.3: a failure during cleanup is never swallowed
    failure = ServiceFailed(session.plan.names[op], error)
    if session.cleanup_failures is None:
        session.cleanup_failures = []
    session.cleanup_failures.append(failure)
    if engine.log is not None:
        engine.log.append((monotonic(), OperationFinished, session, (failure.operation, error)))
        engine.log.append((monotonic(), CleanupFailed, session, (Cancellation(failure),)))


async def run_activation(
    engine: Engine, session: ScopeSession, op: int, msg: Any, alone: CancelScope | None = None
) -> None:
    """The coroutine of one async activation; always reports back to the engine.

    Every activation runs through it: in a host's task group, alone (`run_alone`, which
    passes its cancel scope as `alone`, let go before the engine hears of the end), or
    in the caller's task (the driver, for a run's lone activation).
    """
    ok = False
    result: Any = None
    try:
        call = engine.activation_call(session, op, msg)
        if call is not None:
            result = await call
            ok = True
    except anyio.get_cancelled_exc_class() as error:
        if not is_phantom_cancel(error):
            engine.activation_cancelled(session, op)
            raise
        engine.activation_failed(session, op, error)  # S4.3: a failure of the service
    except BaseException as error:
        engine.activation_failed(session, op, error)
    finally:
        if alone is not None:
            scopes = session.alone
            assert scopes is not None  # invariant: `_place` made it
            scopes.discard(alone)
        engine.activation_ended(session, op, ok, result)


def activation_ended(engine: Engine, session: ScopeSession, op: int, ok: bool, result: Any) -> None:
    entry = engine.entry
    if entry is not None:
        entry.drain()  # stream messages sent from a worker thread come first (S10.3)
    if ok and engine.log is not None:
        engine.log.append((monotonic(), OperationFinished, session, (session.plan.names[op],)))
    session.ntasks -= 1
    if session.state is RUNNING:
        if ok:
            target = session.plan.targets[op][0]
            if target >= 0:
                engine.send(session, target, result)
        engine.dec(session, op)
        if session.extra is not None and session.extra.trims:
            engine.check_trims(session)
    else:
        engine.maybe_finish(session)
    engine.flush()


async def run_scoped_activation(
    engine: Engine, session: ScopeSession, op: int, packed: Any
) -> None:
    """An activation with its own cancel scope, so that a trim or a pre-empting
    request can stop it alone; it releases its delivery ticket when it ends."""
    if type(packed) is not Packed:
        packed = Packed(packed, None)
    ok = False
    result: Any = None
    extra = session.extras()
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
                    None if supplanted else engine.activation_call(session, op, packed.msg, scope)
                )
                if call is not None:
                    result = await call
                    ok = True
            finally:
                running.pop(scope, None)
    except anyio.get_cancelled_exc_class() as error:
        if not is_phantom_cancel(error):
            if scope not in extra.left:
                engine.activation_cancelled(session, op)
            raise
        engine._failed_scoped(session, op, scope, error)
    except BaseException as error:
        engine._failed_scoped(session, op, scope, error)
    finally:
        if packed.ticket is not None:
            release(packed.ticket)
        if scope in extra.left:
            engine.left.pop(scope, None)  # it ran in the background: nobody waits for it
            engine.maybe_idle()
        else:
            if scope.cancelled_caught:
                engine.record_cancelled(session, op)  # a trim or a pre-empting request
            engine.activation_ended(session, op, ok, result)


def _failed_scoped(
    engine: Engine, session: ScopeSession, op: int, scope: CancelScope, error: BaseException
) -> None:
    if scope in session.extras().left:
        if is_fatal(error):
            engine.stop_everything(session, op, error)
        else:
            _warn_left(engine, session, op, error)
    else:
        engine.activation_failed(session, op, error)


# ------------------------------------------------------------------ delivery (S7.5)


def _warn_left(engine: Engine, session: ScopeSession, op: int, error: BaseException) -> None:
    # S4.3: never swallowed, even from work nobody waits for any more
    engine.warn(
        f"{session.plan.names[op]} raised {describe_error(error)} while it ran in the "
        f"background after its session of scope {session.graph.name!r} stopped waiting for "
        f"it (cancellation policy {session.plan.policy[op]!r})"
    )


async def _raising(error: Exception) -> Any:
    raise error


# --------------------------------------------------------------------------- handlers


def is_inline_call(plan: Plan, index: int) -> bool:
    """Whether operation `index` is a blocking service or map, called inline (a blocking
    service with an executor runs as an activation instead)."""
    settings = plan.settings[index]
    return (
        isinstance(settings, NodeSettings)
        and settings.mode == "blocking"
        and settings.executor is None
    )


def task_handler(plan: Plan, index: int) -> Handler:
    """The handler of an async service or a delay: an activation per message."""

    def task(engine: Engine, s: ScopeSession, msg: Any) -> None:
        engine.spawn(s, index, msg)

    return task


def call_handler(plan: Plan, index: int, record: bool) -> Handler:
    """The handler of a blocking service or map: it runs inline; with `record`, it also
    records the call (S9.2)."""
    name = plan.names[index]
    targets = plan.targets[index]
    target = targets[0] if targets else -1
    fn = plan.fns[index]
    assert fn is not None  # invariant: a node has a function
    streams = plan.streams[index]
    if streams:
        handler = _call_with_streams(index, name, fn, streams, targets)
        return recording(handler, name) if record else handler

    if target < 0:
        if record:
            return recording(call_handler(plan, index, False), name)

        def call_to_nowhere(engine: Engine, s: ScopeSession, msg: Any) -> None:
            try:
                result = fn(msg)
                if result.__class__ is CoroutineType:
                    raise unawaited(name, result)
            except BaseException as error:
                engine.fail(s, index, error)

        return call_to_nowhere

    # the hot path of a chain of blocking operations: `engine.send`, inlined
    useful = plan.useful[target]
    collects = plan.collects_of[target]

    # Handlers take their constants as default arguments rather than closure cells:
    # fewer objects to touch per message, which matters for large graphs (W5).
    if record:
        # the same, recording the call as one log entry (S9.2): cheap enough to be
        # on by default
        def call_recorded(
            engine: Engine,
            s: ScopeSession,
            msg: Any,
            fn: Callable[[Any], Any] = fn,
            target: int = target,
            useful: bool = useful,
            collects: tuple[int, ...] = collects,
            index: int = index,
            name: str = name,
            clock: Callable[[], float] = monotonic,
            inline: type = Inline,
            coroutine: type = CoroutineType,
        ) -> None:
            started = clock()
            try:
                result = fn(msg)
                if result.__class__ is coroutine:
                    raise unawaited(name, result)
            except BaseException as error:
                log = engine.log
                assert log is not None  # invariant: recording handlers run when recording
                log.append((started, OperationStarted, s, (name,)))
                engine.fail(s, index, error)
                return
            log = engine.log
            assert log is not None  # invariant: recording handlers run when recording
            log.append((started, inline, s, name, clock()))
            engine.queue.append((s, target, result))
            s.activity[target] += 1
            if useful:
                s.useful_activity += 1
            if collects:
                engine._up(s, collects)

        return call_recorded

    def call(
        engine: Engine,
        s: ScopeSession,
        msg: Any,
        fn: Callable[[Any], Any] = fn,
        target: int = target,
        useful: bool = useful,
        collects: tuple[int, ...] = collects,
        index: int = index,
        coroutine: type = CoroutineType,
    ) -> None:
        try:
            result = fn(msg)
            if result.__class__ is coroutine:
                raise unawaited(name, result)
        except BaseException as error:
            engine.fail(s, index, error)
            return
        engine.queue.append((s, target, result))
        s.activity[target] += 1
        if useful:
            s.useful_activity += 1
        if collects:
            engine._up(s, collects)

    return call


def recording(handler: Handler, name: str) -> Handler:
    """`handler` of an inline call, recording OperationStarted/OperationFinished (S9.2).

    A call that raised has its OperationFinished recorded by `Engine.fail`, before the
    cancellation that follows.
    """

    def recorded(
        engine: Engine,
        s: ScopeSession,
        msg: Any,
        handler: Handler = handler,
        name: str = name,
        started: type = OperationStarted,
        finished: type = OperationFinished,
        clock: Callable[[], float] = monotonic,
    ) -> None:
        log = engine.log
        assert log is not None  # invariant: recording handlers run only when recording
        log.append((clock(), started, s, (name,)))
        failures = engine.failures
        handler(engine, s, msg)
        if engine.failures == failures:
            log.append((clock(), finished, s, (name,)))

    return recorded


def _call_with_streams(
    index: int, name: str, fn: Any, streams: tuple[str, ...], targets: list[int]
) -> Handler:
    target = targets[0]
    stream_targets = {stream: targets[i + 1] for i, stream in enumerate(streams)}

    def call(engine: Engine, s: ScopeSession, msg: Any) -> None:
        senders = {
            stream: StreamSender(stream, partial(_stream_send, engine, s, t, False))
            for stream, t in stream_targets.items()
        }
        try:
            result = fn(msg, streams=Streams(senders))
            if result.__class__ is CoroutineType:
                raise unawaited(name, result)
        except BaseException as error:
            engine.fail(s, index, error)
            return
        unused = tuple(
            stream
            for stream, sender in senders.items()
            if not sender.sent and stream_targets[stream] >= 0
        )
        if unused:
            engine.dispose(s, index, UnusedStreams(name, unused))
        if target >= 0:
            engine.send(s, target, result)

    return call


def _stream_send(engine: Engine, s: ScopeSession, target: int, flush: bool, msg: Any) -> None:
    # S8.3: after cleanup starts, nothing new enters the session
    if s.state is not RUNNING or target < 0:
        return
    engine.send(s, target, msg)
    if flush:
        engine.flush()


def _stream_send_unless_left(
    engine: Engine, s: ScopeSession, target: int, scope: object, msg: Any
) -> None:
    # S6.6: work left to run in the background sends nothing more into its session
    extra = s.extra
    if extra is not None and scope in extra.left:
        return
    _stream_send(engine, s, target, True, msg)


def stream_senders(
    engine: Engine, s: ScopeSession, op: int, streams: tuple[str, ...], scope: object = None
) -> Streams:
    """The `streams` argument of an async activation: each send is delivered at once.

    `scope` is the activation's own cancel scope, when it has one: once a cancellation
    policy leaves the activation in the background, its sends are dropped.
    """
    targets = s.plan.targets[op]

    def send_to(target: int) -> Callable[[Any], None]:
        if scope is None:
            return partial(_stream_send, engine, s, target, True)
        return partial(_stream_send_unless_left, engine, s, target, scope)

    return Streams(
        {stream: StreamSender(stream, send_to(targets[i + 1])) for i, stream in enumerate(streams)}
    )


def _threadsafe_send(engine: Engine, s: ScopeSession, target: int, scope: object, msg: Any) -> None:
    entry = engine.entry
    assert entry is not None  # invariant: made before any executor activation starts
    if entry.on_loop():
        _stream_send_unless_left(engine, s, target, scope, msg)
    else:
        # from a worker thread: handed to the event loop, in the order sent (S10.3)
        entry.put(partial(_stream_send_unless_left, engine, s, target, scope, msg))


def threadsafe_senders(
    engine: Engine, s: ScopeSession, op: int, streams: tuple[str, ...], scope: object
) -> Streams:
    """The `streams` argument of a call that an executor may run in another thread."""
    engine.entry_queue()  # made here, on the event loop
    targets = s.plan.targets[op]
    return Streams(
        {
            stream: StreamSender(
                stream, partial(_threadsafe_send, engine, s, targets[i + 1], scope)
            )
            for i, stream in enumerate(streams)
        }
    )


async def run_elsewhere(executor: Executor, activation: Activation) -> Any:
    """Run `activation` with its executor; record its cancellation if the executor did
    not say how far it reached (S10.2)."""
    try:
        return await executor.run(activation)
    except anyio.get_cancelled_exc_class():
        activation.stop_requested = True
        attempt = activation.attempt
        if not activation.logged and (attempt is None or not attempt.timed_out()):
            activation.logged = True
            log_cancelled(
                activation.engine,
                activation.session,
                activation.op,
                activation.scope,
                *activation.reached,
            )
        raise


class Activation:
    """One call of a blocking service, handed to its executor (`crossflow.Call`)."""

    __slots__ = (
        "attempt",
        "engine",
        "entry",
        "function",
        "logged",
        "message",
        "op",
        "operation",
        "policy",
        "reached",
        "scope",
        "session",
        "stop_requested",
        "streams",
    )

    def __init__(
        self,
        engine: Engine,
        session: ScopeSession,
        op: int,
        msg: Any,
        streams: Streams | None,
        scope: object,
        attempt: Attempt | None = None,
    ) -> None:
        plan = session.plan
        fn = plan.fns[op]
        assert fn is not None  # invariant: a node has a function
        self.function = fn
        self.message = msg
        self.operation = plan.names[op]
        self.policy = plan.policy[op]
        self.streams = streams
        self.engine = engine
        self.session = session
        self.op = op
        self.scope = scope
        self.attempt = attempt
        if attempt is not None:
            attempt.activation = self
        # made here, on the event loop: the way back for other threads
        self.entry: EntryQueue = engine.entry_queue()
        # set on the event loop when the executor is asked to stop; read from its threads
        self.stop_requested = False
        # how far a cancellation reached (`report_cancellation`), and whether it is logged
        self.reached: tuple[bool, str | None] = (True, None)
        self.logged = False

    def __repr__(self) -> str:
        return f"<Activation of {self.operation!r}>"

    @property
    def cancel_requested(self) -> bool:
        # read from worker threads: plain attribute reads only. The session leaves RUNNING
        # when its cleanup starts (an ABANDON node is not asked to stop then); a trim, a
        # pre-empting request, a timeout or the run's cancellation reach the executor,
        # which reports it.
        if self.stop_requested:
            return True
        return self.policy is not ABANDON and self.session.state is not RUNNING

    def invoke(self) -> Any:
        token = current_call().set(self)
        try:
            if self.streams is None:
                result = self.function(self.message)
            else:
                result = self.function(self.message, streams=self.streams)
        finally:
            current_call().reset(token)
        if result.__class__ is CoroutineType:
            raise unawaited(self.operation, result)
        return result

    def on_loop(self, action: Callable[[], object]) -> None:
        self.entry.put(action)  # type: ignore[arg-type]

    def report_cancellation(self, stopped: bool, reach: str) -> None:
        self.stop_requested = True
        self.reached = (bool(stopped), str(reach))
        attempt = self.attempt
        if self.logged or (attempt is not None and attempt.timed_out()):
            return  # a timeout records it on OperationTimedOut
        self.logged = True
        log_cancelled(self.engine, self.session, self.op, self.scope, *self.reached)


def unawaited(name: str, result: Any = None) -> UnawaitedCoroutine:
    """The error of a plain function that returned a coroutine instead of a response."""
    if result is not None:
        result.close()  # it will never run; closing it avoids a "never awaited" warning
    return UnawaitedCoroutine(
        f"{name} is a plain function but returned a coroutine: it called an async function "
        "without awaiting it, so the coroutine would have been passed on as the response. "
        f"Make {name} an `async def` that awaits it, or pass the async function itself as "
        "the step."
    )


def injecting(handler: Handler, index: int, name: str) -> Handler:
    """`handler` of an inline call, for a run with injected failures (testing only)."""

    def call(engine: Engine, s: ScopeSession, msg: Any) -> None:
        inject = engine.inject
        error = None if inject is None else inject(name)
        if error is None:
            handler(engine, s, msg)
            return
        if engine.log is not None:
            engine.log.append((monotonic(), OperationStarted, s, (name,)))
        engine.fail(s, index, error)

    return call
