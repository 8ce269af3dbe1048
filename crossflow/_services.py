"""Services: functions that nodes call, with their options and declared streams."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Coroutine, Hashable, Mapping
from typing import Any, Generic, Protocol, TypeVar, final, overload

from ._errors import InvalidArgument

Req = TypeVar("Req")
Resp = TypeVar("Resp")
Req_contra = TypeVar("Req_contra", contravariant=True)
Resp_co = TypeVar("Resp_co", covariant=True)


def callable_name(fn: object) -> str:
    """The name a node gets by default: the function's `__qualname__`."""
    if isinstance(fn, functools.partial):
        return callable_name(fn.func)
    name = getattr(fn, "__qualname__", None)
    if isinstance(name, str):
        return name
    return type(fn).__qualname__


def is_async_callable(fn: object) -> bool:
    """True for `async def` functions, partials of them and objects with an async `__call__`."""
    if inspect.iscoroutinefunction(fn):
        return True
    if isinstance(fn, functools.partial):
        return is_async_callable(fn.func)
    # an object whose class defines `async def __call__`
    return inspect.iscoroutinefunction(getattr(type(fn), "__call__", None))  # noqa: B004


def check_callable(fn: object, where: str) -> None:
    """Reject what cannot be a service, with a message that says what to pass instead."""
    if inspect.iscoroutine(fn):
        name = getattr(fn, "__qualname__", "the function")
        fn.close()  # it will never run; closing it avoids a "never awaited" warning
        raise InvalidArgument(
            f"{where} got a coroutine object ({name}(...) was called): pass the async "
            f"function itself, for example `.then({name})`, not `.then({name}(...))`"
        )
    if inspect.isasyncgenfunction(fn) or inspect.isgeneratorfunction(fn):
        raise InvalidArgument(
            f"{where} got the generator function {callable_name(fn)!r}: a service returns one "
            "response per request. To send several messages, declare streams with "
            "`@cf.service(streams={...})` and call `streams.<name>.send(...)`, or return a "
            "list and use `.spread()`"
        )
    if not callable(fn):
        raise InvalidArgument(
            f"{where} expects a function, a cf.Service or a cf.Workflow, "
            f"got {fn!r} of type {type(fn).__name__}"
        )


class StreamSender:
    """Sends messages on one declared stream of a running service activation."""

    __slots__ = ("_name", "_send", "sent")

    def __init__(self, name: str, send: Callable[[Any], None]) -> None:
        self._name = name
        self._send = send
        self.sent = 0

    def send(self, message: Any) -> None:
        """Send `message` on this stream; it reaches its target before the final response."""
        self.sent += 1
        self._send(message)

    def __repr__(self) -> str:
        return f"<StreamSender {self._name!r}: {self.sent} sent>"


@final
class Streams:
    """The `streams` keyword argument of a service that declares streams.

    Each declared stream is an attribute with a `send(message)` method:
    `streams.progress.send(0.5)`.
    """

    __slots__ = ("_senders",)

    def __init__(self, senders: Mapping[str, StreamSender]) -> None:
        self._senders = dict(senders)

    def __getattr__(self, name: str) -> StreamSender:
        try:
            return self._senders[name]
        except KeyError:
            declared = ", ".join(self._senders) or "none"
            raise AttributeError(
                f"no stream named {name!r}; the service declared: {declared}"
            ) from None

    def __repr__(self) -> str:
        return f"<Streams {', '.join(self._senders)}>"


class DeliveryQueues:
    """The queues of one provider, shared by its instructed copies (S7.5).

    The runtime keeps its scheduling state here; `serial` says whether every request
    waits for the previous one, whatever its label.
    """

    __slots__ = ("serial", "state")

    def __init__(self, serial: bool) -> None:
        self.serial = serial
        self.state: Any = None  # owned by the runtime

    def __repr__(self) -> str:
        return f"<DeliveryQueues serial={self.serial}>"


class Delivery:
    """How requests of one provider are delivered: its queues and the instructions."""

    __slots__ = ("ensure", "label", "preempt", "queues")

    def __init__(
        self,
        queues: DeliveryQueues,
        label: Hashable = None,
        preempt: bool = False,
        ensure: bool = False,
    ) -> None:
        self.queues = queues
        self.label = label
        self.preempt = preempt
        self.ensure = ensure

    def __repr__(self) -> str:
        return (
            f"<Delivery label={self.label!r} preempt={self.preempt} ensure={self.ensure} "
            f"serial={self.queues.serial}>"
        )


def make_delivery(
    queues: DeliveryQueues, label: object, preempt: object, ensure: object, where: str
) -> Delivery:
    """Validate `instruct(...)` arguments."""
    try:
        hash(label)
    except TypeError:
        raise InvalidArgument(f"{where}: label must be hashable, got {label!r}") from None
    for flag, value in (("preempt", preempt), ("ensure", ensure)):
        if not isinstance(value, bool):
            raise InvalidArgument(f"{where}: {flag} must be a bool, got {value!r}")
    if preempt and label is None and not queues.serial:
        raise InvalidArgument(
            f"{where}: preempt=True needs a label (requests pre-empt earlier requests with the "
            "same label), or a serial service"
        )
    assert isinstance(preempt, bool) and isinstance(ensure, bool)
    return Delivery(queues, label, preempt, ensure)


class _StreamingCallable(Protocol[Req_contra, Resp_co]):
    def __call__(self, request: Req_contra, /, *, streams: Streams) -> Resp_co: ...


@final
class Service(Generic[Req, Resp]):
    """A function with options, made by the `cf.service` decorator.

    Use it wherever a provider is expected (`chain.then(svc)`, `builder.create_node(svc)`).

    Attributes:
        fn: the decorated function.
        name: the node name it gets by default.
        streams: the declared streams, name to message type.
        serial: run one request at a time across all sessions and workflows.
        offload: run a blocking function in a worker thread.
        is_async: whether `fn` is an `async def` function.
    """

    __slots__ = ("_delivery", "_queues", "fn", "is_async", "name", "offload", "serial", "streams")

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        streams: Mapping[str, type[Any]] | None = None,
        serial: bool = False,
        offload: bool = False,
    ) -> None:
        check_callable(fn, "cf.service")
        if streams is not None and not isinstance(streams, Mapping):
            raise InvalidArgument(
                f"cf.service(streams=...) takes a dict of stream name to message type, "
                f"got {streams!r}"
            )
        for key in streams or {}:
            if not isinstance(key, str) or not key.isidentifier():
                raise InvalidArgument(
                    f"cf.service(streams=...): stream names must be identifiers, got {key!r}"
                )
        if name is not None and not isinstance(name, str):
            raise InvalidArgument(f"cf.service(name=...) takes a str, got {name!r}")
        self.fn = fn
        self.name = name if name is not None else callable_name(fn)
        self.streams: dict[str, type[Any]] = dict(streams or {})
        self.serial = bool(serial)
        self.offload = bool(offload)
        self.is_async = is_async_callable(fn)
        self._queues = DeliveryQueues(self.serial)
        self._delivery: Delivery | None = Delivery(self._queues) if self.serial else None
        if self.offload:
            raise InvalidArgument(
                f"cf.service(offload=True) on {self.name!r}: running blocking services in "
                "worker threads is not available in this version of crossflow"
            )

    def __repr__(self) -> str:
        kind = "async" if self.is_async else "blocking"
        streams = f" streams={list(self.streams)}" if self.streams else ""
        serial = " serial" if self.serial else ""
        d = self._delivery
        instructed = ""
        if d is not None and (d.label is not None or d.preempt or d.ensure):
            instructed = f" label={d.label!r} preempt={d.preempt} ensure={d.ensure}"
        return f"<Service {self.name!r} {kind}{serial}{streams}{instructed}>"

    def instruct(
        self, *, label: Hashable = None, preempt: bool = False, ensure: bool = False
    ) -> Service[Req, Resp]:
        """This service with delivery instructions; it shares this service's queues (S7.5).

        Requests with the same `label` run one at a time, in arrival order; different
        labels run concurrently (in a serial service, everything runs one at a time).
        A `preempt` request supplants the queued and running requests of its label that
        were not given `ensure=True`: they record a `Supplanted` disposal, and a running
        one is cancelled. Instructions apply to async services; a blocking service runs
        inline, one call at a time, and is never queued.

        Raises:
            InvalidArgument: an unhashable label, or `preempt=True` without a label on
                a service that is not serial.
        """
        copy: Service[Req, Resp] = Service.__new__(Service)
        copy.fn = self.fn
        copy.name = self.name
        copy.streams = self.streams
        copy.serial = self.serial
        copy.offload = self.offload
        copy.is_async = self.is_async
        copy._queues = self._queues
        copy._delivery = make_delivery(
            self._queues, label, preempt, ensure, f"{self.name}.instruct()"
        )
        return copy


class _ServiceDecorator:
    def __init__(self, **options: Any) -> None:
        self._options = options

    @overload
    def __call__(self, fn: Callable[[Req], Coroutine[Any, Any, Resp]], /) -> Service[Req, Resp]: ...
    @overload
    def __call__(
        self, fn: _StreamingCallable[Req, Coroutine[Any, Any, Resp]], /
    ) -> Service[Req, Resp]: ...
    @overload
    def __call__(self, fn: Callable[[Req], Resp], /) -> Service[Req, Resp]: ...
    @overload
    def __call__(self, fn: _StreamingCallable[Req, Resp], /) -> Service[Req, Resp]: ...
    def __call__(self, fn: Callable[..., Any], /) -> Service[Any, Any]:
        return Service(fn, **self._options)


@overload
def service(fn: Callable[[Req], Coroutine[Any, Any, Resp]], /) -> Service[Req, Resp]: ...
@overload
def service(fn: Callable[[Req], Resp], /) -> Service[Req, Resp]: ...
@overload
def service(
    *,
    streams: Mapping[str, type[Any]] | None = None,
    name: str | None = None,
    serial: bool = False,
    offload: bool = False,
) -> _ServiceDecorator: ...
def service(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    streams: Mapping[str, type[Any]] | None = None,
    name: str | None = None,
    serial: bool = False,
    offload: bool = False,
) -> Service[Any, Any] | _ServiceDecorator:
    """Turn a function into a `cf.Service`, optionally with declared streams.

    Works bare (`@cf.service`) and with options
    (`@cf.service(streams={"progress": float}, name="bake")`). A service that declares
    streams receives a keyword argument `streams`: `streams.progress.send(0.5)`.

    Raises:
        InvalidArgument: `fn` is not a function (or is a coroutine object), or an
            option has the wrong type.
    """
    if fn is not None:
        return Service(fn, name=name, streams=streams, serial=serial, offload=offload)
    return _ServiceDecorator(name=name, streams=streams, serial=serial, offload=offload)
