"""Services: functions that nodes call, with their options and declared streams."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Hashable, Mapping
from typing import Any, Generic, Protocol, TypeVar, final, overload

from ._arguments import check_flag, check_name, check_stream_types, shown
from ._callables import callable_name, check_callable, check_step_signature, is_async_callable
from ._errors import InvalidArgument
from ._executor import (
    Executor,
    Retry,
    ThreadExecutor,
    check_max_concurrency,
    check_retry,
    check_timeout,
)
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
        offload: whether a blocking function runs in a worker thread (`executor` is then
            a `cf.ThreadExecutor`).
        executor: where the calls of a blocking function run (API §9), or None to run
            them inline on the event loop.
        max_concurrency: at most this many activations of a node running it at once in
            one run (S10.4), or None.
        timeout: seconds after which an attempt fails with `TimeoutError`, or None.
        retry: how failed activations are tried again, or None.
        is_async: whether `fn` is an `async def` function.
    """

    __slots__ = (
        "_delivery",
        "_queues",
        "executor",
        "fn",
        "is_async",
        "max_concurrency",
        "name",
        "offload",
        "retry",
        "serial",
        "streams",
        "timeout",
    )

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        streams: Mapping[str, type[Any]] | None = None,
        serial: bool = False,
        offload: bool = False,
        executor: Executor | None = None,
        max_concurrency: int | None = None,
        timeout: float | None = None,
        retry: Retry | None = None,
    ) -> None:
        check_callable(fn, "cf.service")
        options = _check_options(
            name=name,
            streams=streams,
            serial=serial,
            offload=offload,
            executor=executor,
            max_concurrency=max_concurrency,
            timeout=timeout,
            retry=retry,
        )
        self.fn = fn
        self.name = options["name"] if options["name"] is not None else callable_name(fn)
        self.streams: dict[str, type[Any]] = options["streams"]
        self.serial: bool = options["serial"]
        self.offload: bool = options["offload"]
        self.is_async = is_async_callable(fn)
        check_step_signature(fn, self.name, tuple(self.streams), "cf.service")
        self._queues = DeliveryQueues(self.serial)
        self._delivery: Delivery | None = Delivery(self._queues) if self.serial else None
        self.executor: Executor | None = options["executor"]
        self.max_concurrency: int | None = options["max_concurrency"]
        self.timeout: float | None = options["timeout"]
        self.retry: Retry | None = options["retry"]
        if self.executor is not None:
            check_executor_fits(self.executor, fn, self.name, tuple(self.streams), "cf.service")

    def __repr__(self) -> str:
        kind = "async" if self.is_async else "blocking"
        streams = f" streams={list(self.streams)}" if self.streams else ""
        serial = " serial" if self.serial else ""
        if self.executor is not None:
            serial += f" executor={self.executor!r}"
        for option in ("max_concurrency", "timeout", "retry"):
            value = getattr(self, option)
            if value is not None:
                serial += f" {option}={value!r}"
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
        copy.executor = self.executor
        copy.max_concurrency = self.max_concurrency
        copy.timeout = self.timeout
        copy.retry = self.retry
        copy.is_async = self.is_async
        copy._queues = self._queues
        copy._delivery = make_delivery(
            self._queues, label, preempt, ensure, f"{self.name}.instruct()"
        )
        return copy


def _check_options(
    *,
    name: object,
    streams: object,
    serial: object,
    offload: object,
    executor: object,
    max_concurrency: object = None,
    timeout: object = None,
    retry: object = None,
) -> dict[str, Any]:
    """The options of `cf.service`, checked where they are given."""
    offloaded = check_flag(offload, "cf.service(offload=...)")
    chosen = check_executor(executor, "cf.service(executor=...)")
    if offloaded and chosen is not None:
        raise InvalidArgument(
            "cf.service(offload=True, executor=...): give one of them; offload=True is "
            "executor=cf.ThreadExecutor()"
        )
    return {
        "name": check_name(name, "cf.service(name=...)"),
        "streams": check_stream_types(streams, "cf.service(streams=...)"),
        "serial": check_flag(serial, "cf.service(serial=...)"),
        "offload": offloaded,
        "executor": ThreadExecutor() if offloaded else chosen,
        "max_concurrency": check_max_concurrency(
            max_concurrency, "cf.service(max_concurrency=...)"
        ),
        "timeout": check_timeout(timeout, "cf.service(timeout=...)"),
        "retry": check_retry(retry, "cf.service(retry=...)"),
    }


def check_executor(executor: object, where: str) -> Executor | None:
    """`executor=` must be a `cf.Executor` (a `cf.ThreadExecutor`, ...) or None."""
    if executor is None or isinstance(executor, Executor):
        return executor
    hint = " (call it: cf.ThreadExecutor())" if executor is ThreadExecutor else ""
    raise InvalidArgument(
        f"{where} takes an executor such as cf.ThreadExecutor(), got {shown(executor)}{hint}"
    )


def check_executor_fits(
    executor: Executor, fn: object, name: str, streams: tuple[str, ...], where: str
) -> None:
    """An executor runs blocking functions: refuse async ones, and what the executor
    itself refuses (`Executor.check`)."""
    if is_async_callable(fn):
        raise InvalidArgument(
            f"{where}: {name!r} is an async function; an executor runs blocking functions "
            "elsewhere, while an async service already runs concurrently on the event loop. "
            "Drop executor= (or offload=), or make the function a plain def."
        )
    assert callable(fn)  # invariant: checked before
    executor.check(name, fn, streams)


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
    executor: Executor | None = None,
    max_concurrency: int | None = None,
    timeout: float | None = None,
    retry: Retry | None = None,
) -> _ServiceDecorator: ...
def service(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    streams: Mapping[str, type[Any]] | None = None,
    name: str | None = None,
    serial: bool = False,
    offload: bool = False,
    executor: Executor | None = None,
    max_concurrency: int | None = None,
    timeout: float | None = None,
    retry: Retry | None = None,
) -> Service[Any, Any] | _ServiceDecorator:
    """Turn a function into a `cf.Service`, optionally with declared streams.

    Works bare (`@cf.service`) and with options
    (`@cf.service(streams={"progress": float}, name="bake")`). A service that declares
    streams receives a keyword argument `streams`: `streams.progress.send(0.5)`.

    A blocking function runs inline on the event loop, unless `offload=True` (a worker
    thread) or `executor=` says where its calls run instead (API §9): each call is then
    an activation that runs concurrently with the others, like an async service's.

    Activations of an async service, or of a blocking one with an executor, can be
    limited, timed and retried (S10.4): `max_concurrency=n` lets at most n of a node's
    activations run at once in one run (the others wait in order); `timeout=seconds`
    fails an attempt that runs longer with `TimeoutError`; `retry=cf.Retry(attempts)`
    tries a failed activation again. A node made from the service can override them.

    Raises:
        InvalidArgument: `fn` is not a function (or is a coroutine object), an option
            has the wrong type, `offload` and `executor` are both given, or an executor
            is given for an async function.
    """
    options: dict[str, Any] = {
        "name": name,
        "streams": streams,
        "serial": serial,
        "offload": offload,
        "executor": executor,
        "max_concurrency": max_concurrency,
        "timeout": timeout,
        "retry": retry,
    }
    if fn is not None:
        return Service(fn, **options)
    return _ServiceDecorator(**options)
