"""Services: functions that nodes call, with their options and declared streams."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Hashable, Mapping
from typing import Any, Generic, Protocol, TypeVar, final, overload

from ._arguments import check_flag, check_name, check_stream_types
from ._callables import callable_name, check_callable, check_step_signature, is_async_callable
from ._errors import InvalidArgument
from ._instructions import Delivery, DeliveryQueues, make_delivery
from ._streams import Streams

Req = TypeVar("Req")
Resp = TypeVar("Resp")
Req_contra = TypeVar("Req_contra", contravariant=True)
Resp_co = TypeVar("Resp_co", covariant=True)


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
        options = _check_options(name=name, streams=streams, serial=serial, offload=offload)
        self.fn = fn
        self.name = options["name"] if options["name"] is not None else callable_name(fn)
        self.streams: dict[str, type[Any]] = options["streams"]
        self.serial: bool = options["serial"]
        self.offload: bool = options["offload"]
        self.is_async = is_async_callable(fn)
        check_step_signature(fn, self.name, tuple(self.streams), "cf.service")
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


def _check_options(
    *, name: object, streams: object, serial: object, offload: object
) -> dict[str, Any]:
    """The options of `cf.service`, checked where they are given."""
    return {
        "name": check_name(name, "cf.service(name=...)"),
        "streams": check_stream_types(streams, "cf.service(streams=...)"),
        "serial": check_flag(serial, "cf.service(serial=...)"),
        "offload": check_flag(offload, "cf.service(offload=...)"),
    }


class _ServiceDecorator:
    def __init__(self, **options: Any) -> None:
        _check_options(**options)  # at `cf.service(...)`, before anything is decorated
        self._options = options

    def __repr__(self) -> str:
        given = ", ".join(f"{k}={v!r}" for k, v in self._options.items() if v not in (None, False))
        return f"<cf.service({given}) decorator>"

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
