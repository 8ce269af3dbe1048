"""One handler per operation kind: what happens when a message reaches an operation."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from time import monotonic
from types import CoroutineType
from typing import TYPE_CHECKING, Any

from .._causes import (
    Branching,
    Disposal,
    EmptySpread,
    Filtered,
    IncompleteSplit,
    Triggered,
    UnusedStreams,
)
from .._errors import UnawaitedCoroutine, UncopyableMessage
from .._graph import Graph, Kind, Op
from .._results import Err, Ok
from .._services import Streams, StreamSender
from .._state import SessionState
from .._text import describe_error, safe_repr, safe_str
from ..events import OperationFinished, OperationStarted
from ._events import Inline

if TYPE_CHECKING:
    from ._engine import Engine
    from ._plan import Handler, Plan
    from ._session import Session

RUNNING = SessionState.RUNNING

# messages of these types are immutable: a fork can share them instead of copying
_SHARED = frozenset({int, float, complex, str, bytes, bool, type(None), frozenset, range})


def _clone(msg: Any) -> Any:
    if type(msg) in _SHARED:
        return msg
    if type(msg) is tuple and all(type(x) in _SHARED for x in msg):
        return msg
    return copy.deepcopy(msg)


def clone_or_error(msg: Any, name: str, what: str, fix: str) -> tuple[Any, Exception | None]:
    """A copy of `msg`, or the error that says why it cannot be copied, and how to fix it."""
    try:
        return _clone(msg), None
    except Exception as error:
        failure = UncopyableMessage(
            f"{name} could not copy {safe_repr(msg, 80)} for {what}: copy.deepcopy raised "
            f"{describe_error(error)}. Make the message copyable (give its class a "
            f"__deepcopy__, or keep the part that cannot be copied, such as a lock, a socket "
            f"or a connection, out of the message), or {fix}."
        )
        failure.__cause__ = error
        return None, failure


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


def _type_error(name: str, expected: str, msg: Any) -> TypeError:
    return TypeError(
        f"{name} expects {expected}, got {safe_repr(msg)} of type {type(msg).__name__}"
    )


def make_handler(graph: Graph, op: Op, plan: Plan, record: bool = False) -> Handler:
    """The handler of `op`; with `record`, one that also records the events of S9.2."""
    index = op.index
    name = op.name
    targets = plan.targets[index]
    kind = op.kind
    target = targets[0] if targets else -1

    if kind is Kind.CALL:
        fn = op.fn
        assert fn is not None
        streams = op.provider.streams if op.provider is not None else ()
        if streams:
            handler = _call_with_streams(index, name, fn, streams, targets)
            return recording(handler, name) if record else handler

        if target < 0:
            if record:
                return recording(make_handler(graph, op, plan), name)

            def call_to_nowhere(engine: Engine, s: Session, msg: Any) -> None:
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
                s: Session,
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
                s.act[target] += 1
                if useful:
                    s.live += 1
                if collects:
                    engine._up(s, collects)

            return call_recorded

        def call(
            engine: Engine,
            s: Session,
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
            s.act[target] += 1
            if useful:
                s.live += 1
            if collects:
                engine._up(s, collects)

        return call

    delivery = plan.deliveries[index]
    if delivery is not None:

        def delivered(engine: Engine, s: Session, msg: Any) -> None:
            engine.deliver(s, index, msg, delivery)

        return delivered

    if kind is Kind.TASK or kind is Kind.DELAY:

        def task(engine: Engine, s: Session, msg: Any) -> None:
            engine.spawn(s, index, msg)

        return task

    if kind is Kind.SCOPE:
        child_graph = op.graph
        assert child_graph is not None

        def scope(engine: Engine, s: Session, msg: Any) -> None:
            engine.open(child_graph, msg, s, index)

        return scope

    if kind is Kind.BUFFER:

        def buffer(engine: Engine, s: Session, msg: Any) -> None:
            engine.buffer_arrival(s, index, msg)

        return buffer

    if kind is Kind.PUSH:
        pushed_into = op.params["buffer"]

        def push(engine: Engine, s: Session, msg: Any) -> None:
            engine.buffer_arrival(s, pushed_into, msg)
            if target >= 0:
                engine.send(s, target, None)

        return push

    if kind is Kind.JOIN:

        def join(engine: Engine, s: Session, msg: Any) -> None:
            engine.join_wake(s, index, msg)

        return join

    if kind in (Kind.LISTEN, Kind.ACCESS):
        shape = op.params["shape"]
        names = op.params["names"]
        bufs = op.params["buffers"]
        with_msg = op.params.get("with_msg", False)

        def access(engine: Engine, s: Session, msg: Any) -> None:
            keys = engine.make_keys(s, shape, names, bufs, index)
            if target >= 0:
                engine.send(s, target, (msg, keys) if with_msg else keys)

        return access

    if kind is Kind.GATE:
        gate_bufs = op.params["buffers"]
        opens = op.params["open"]

        def gate(engine: Engine, s: Session, msg: Any) -> None:
            engine.gate(s, index, gate_bufs, opens)
            if target >= 0:
                engine.send(s, target, msg)

        return gate

    if kind is Kind.TRIM:

        def trim(engine: Engine, s: Session, msg: Any) -> None:
            engine.trim(s, index, msg)

        return trim

    if kind is Kind.TERMINATE:

        def terminate(engine: Engine, s: Session, msg: Any) -> None:
            engine.terminate(s, msg)

        return terminate

    if kind is Kind.STREAM_OUT:
        stream = op.params["stream"]

        def stream_out(engine: Engine, s: Session, msg: Any) -> None:
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
            scope_op = parent.graph.ops[s.parent_op]
            port = scope_op.ports.index(stream)
            t = parent.plan.targets[s.parent_op][port]
            if t >= 0:
                engine.send(parent, t, msg)

        return stream_out

    if kind is Kind.FORK_CLONE:
        # which branch receives the message itself; the others get copies
        original = op.params.get("original", 0)
        branches = tuple((t, port == original) for port, t in enumerate(targets) if t >= 0)

        def fork_clone(
            engine: Engine,
            s: Session,
            msg: Any,
            branches: tuple[tuple[int, bool], ...] = branches,
        ) -> None:
            if type(msg) in _SHARED:  # immutable: every branch gets the message itself
                for t, _ in branches:
                    engine.send(s, t, msg)
                return
            # every copy is made before anything is sent: a message that cannot be copied
            # fails the fork as a whole (S4.3)
            out = []
            for position, (t, is_original) in enumerate(branches):
                if is_original:
                    out.append((t, msg))
                    continue
                copied, error = clone_or_error(
                    msg,
                    name,
                    f"its branch {position}",
                    "send the same object down every branch without copying it: "
                    ".map(lambda m: (m, m)).unzip()",
                )
                if error is not None:
                    engine.fail(s, index, error)
                    return
                out.append((t, copied))
            for t, value in out:
                engine.send(s, t, value)

        return fork_clone

    if kind is Kind.UNZIP:
        size = len(targets)

        def unzip(engine: Engine, s: Session, msg: Any) -> None:
            if not isinstance(msg, (tuple, list)) or len(msg) != size:
                engine.fail(s, index, _type_error(name, f"a tuple of {size} elements", msg))
                return
            for t, element in zip(targets, msg, strict=True):
                if t >= 0:
                    engine.send(s, t, element)

        return unzip

    if kind is Kind.FORK_RESULT:
        ok_t, err_t = targets
        err_not_taken = Disposal(name, Branching(name, "err"))
        ok_not_taken = Disposal(name, Branching(name, "ok"))

        def fork_result(
            engine: Engine,
            s: Session,
            msg: Any,
            ok_t: int = ok_t,
            err_t: int = err_t,
            ok_not_taken: Disposal = ok_not_taken,
            err_not_taken: Disposal = err_not_taken,
        ) -> None:
            if isinstance(msg, Ok):
                engine.record(s, err_not_taken)
                if ok_t >= 0:
                    engine.send(s, ok_t, msg.value)
            elif isinstance(msg, Err):
                engine.record(s, ok_not_taken)
                if err_t >= 0:
                    engine.send(s, err_t, msg.error)
            else:
                engine.fail(s, index, _type_error(name, "cf.Ok or cf.Err", msg))

        return fork_result

    if kind is Kind.FORK_OPTION:
        some_t, none_t = targets

        some_not_taken = Disposal(name, Branching(name, "some"))
        none_not_taken = Disposal(name, Branching(name, "none"))

        def fork_option(
            engine: Engine,
            s: Session,
            msg: Any,
            some_t: int = some_t,
            none_t: int = none_t,
            some_not_taken: Disposal = some_not_taken,
            none_not_taken: Disposal = none_not_taken,
        ) -> None:
            if msg is None:
                engine.record(s, some_not_taken)
                if none_t >= 0:
                    engine.send(s, none_t, None)
            else:
                engine.record(s, none_not_taken)
                if some_t >= 0:
                    engine.send(s, some_t, msg)

        return fork_option

    if kind is Kind.FILTER:
        return _filter(op.params["mode"], index, name, op.fn, target)

    if kind is Kind.CANCEL:
        quiet = op.params["quiet"]

        def cancel(engine: Engine, s: Session, msg: Any) -> None:
            # a message whose __str__ fails is still shown (its repr, or its type)
            value = None if quiet else safe_str(msg, None)
            engine.cancel(s, Triggered(name, value))

        return cancel

    if kind is Kind.SPREAD:
        empty = Disposal(name, EmptySpread(name))

        def spread(engine: Engine, s: Session, msg: Any) -> None:
            try:
                items = list(msg)
            except Exception:
                engine.fail(s, index, _type_error(name, "an iterable", msg))
                return
            if not items:
                engine.record(s, empty)
                return
            if target >= 0:
                for item in items:
                    engine.send(s, target, item)

        return spread

    if kind is Kind.COLLECT:

        def collect(engine: Engine, s: Session, msg: Any) -> None:
            engine.collect_arrival(s, index, msg)

        return collect

    if kind is Kind.SPLIT:
        return _split(index, name, op.params["keys"], op.params["sequence"], targets)

    assert kind is Kind.START, kind  # invariant: start never receives messages

    def start(engine: Engine, s: Session, msg: Any) -> None:  # pragma: no cover (unreachable)
        raise AssertionError("start received a message")

    return start


def recording(handler: Handler, name: str) -> Handler:
    """`handler` of an inline call, recording OperationStarted/OperationFinished (S9.2).

    A call that raised has its OperationFinished recorded by `Engine.fail`, before the
    cancellation that follows.
    """

    def rec(
        engine: Engine,
        s: Session,
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

    return rec


def _call_with_streams(
    index: int, name: str, fn: Any, streams: tuple[str, ...], targets: list[int]
) -> Handler:
    target = targets[0]
    stream_targets = {stream: targets[i + 1] for i, stream in enumerate(streams)}

    def call(engine: Engine, s: Session, msg: Any) -> None:
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


def _stream_send(engine: Engine, s: Session, target: int, flush: bool, msg: Any) -> None:
    # S8.3: after cleanup starts, nothing new enters the session
    if s.state is not RUNNING or target < 0:
        return
    engine.send(s, target, msg)
    if flush:
        engine.flush()


def _stream_send_unless_left(
    engine: Engine, s: Session, target: int, scope: object, msg: Any
) -> None:
    # S6.6: work left to run in the background sends nothing more into its session
    extra = s.extra
    if extra is not None and scope in extra.left:
        return
    _stream_send(engine, s, target, True, msg)


def stream_senders(
    engine: Engine, s: Session, op: int, streams: tuple[str, ...], scope: object = None
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


def _filter(mode: str, index: int, name: str, fn: Any, target: int) -> Handler:
    def passed(engine: Engine, s: Session, value: Any) -> None:
        if target >= 0:
            engine.send(s, target, value)

    if mode == "noop":
        return passed

    if mode == "trigger":

        def trigger(engine: Engine, s: Session, msg: Any) -> None:
            passed(engine, s, None)

        return trigger

    if mode in ("cancel_on_none", "dispose_on_none", "dispose_on_some"):
        cancels = mode == "cancel_on_none"
        none_filtered = Disposal(name, Filtered(name, "dispose_on_none received None"))

        def on_none(engine: Engine, s: Session, msg: Any) -> None:
            if mode == "dispose_on_some":
                if msg is None:
                    passed(engine, s, None)
                else:
                    engine.dispose(
                        s, index, Filtered(name, f"dispose_on_some received {safe_repr(msg)}")
                    )
            elif msg is not None:
                passed(engine, s, msg)
            elif cancels:
                engine.cancel(s, Filtered(name, "cancel_on_none received None"))
            else:
                engine.record(s, none_filtered)

        return on_none

    if mode in ("cancel_on_err", "dispose_on_err", "dispose_on_ok"):

        def on_result(engine: Engine, s: Session, msg: Any) -> None:
            if isinstance(msg, Ok):
                if mode == "dispose_on_ok":
                    engine.dispose(
                        s, index, Filtered(name, f"dispose_on_ok received {safe_repr(msg)}")
                    )
                else:
                    passed(engine, s, msg.value)
            elif isinstance(msg, Err):
                if mode == "dispose_on_ok":
                    passed(engine, s, msg.error)
                elif mode == "cancel_on_err":
                    engine.cancel(s, Filtered(name, f"cancel_on_err received {safe_repr(msg)}"))
                else:
                    engine.dispose(
                        s, index, Filtered(name, f"dispose_on_err received {safe_repr(msg)}")
                    )
            else:
                engine.fail(s, index, _type_error(name, "cf.Ok or cf.Err", msg))

        return on_result

    assert mode in ("cancellation_filter", "disposal_filter"), mode
    assert fn is not None
    cancels = mode == "cancellation_filter"

    def user_filter(engine: Engine, s: Session, msg: Any) -> None:
        try:
            value = fn(msg)
        except BaseException as error:
            engine.fail(s, index, error)
            return
        if value is not None:
            passed(engine, s, value)
        elif cancels:
            engine.cancel(
                s, Filtered(name, f"the cancellation filter returned None for {safe_repr(msg)}")
            )
        else:
            engine.dispose(
                s, index, Filtered(name, f"the disposal filter returned None for {safe_repr(msg)}")
            )

    return user_filter


def _split(
    index: int, name: str, keys: tuple[Any, ...], sequence: int, targets: list[int]
) -> Handler:
    key_port = {k: i for i, k in enumerate(keys)}
    n_keys = len(keys)
    remaining = n_keys + sequence
    labels = [f"key:{k!r}" for k in keys] + [f"seq:{i}" for i in range(sequence)] + ["remaining"]

    def split(engine: Engine, s: Session, msg: Any) -> None:
        if isinstance(msg, Mapping):
            entries: list[tuple[int, Any]] = []
            numbered = 0
            for k, v in msg.items():
                if k in key_port:
                    entries.append((key_port[k], v))
                else:
                    port = n_keys + numbered if numbered < sequence else remaining
                    numbered += 1
                    entries.append((port, (k, v)))
        elif isinstance(msg, Sequence) and not isinstance(msg, (str, bytes)):
            entries = []
            numbered = 0
            for position, v in enumerate(msg):
                if position in key_port and not isinstance(position, bool):
                    entries.append((key_port[position], v))
                else:
                    port = n_keys + numbered if numbered < sequence else remaining
                    numbered += 1
                    entries.append((port, v))
        else:
            engine.fail(s, index, _type_error(name, "a list, tuple or dict", msg))
            return
        got = [False] * len(targets)
        for port, value in entries:
            got[port] = True
            t = targets[port]
            if t >= 0:
                engine.send(s, t, value)
        missing = tuple(labels[p] for p, t in enumerate(targets) if t >= 0 and not got[p])
        if missing:
            engine.dispose(s, index, IncompleteSplit(name, missing))

    return split
