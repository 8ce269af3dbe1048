"""Turning whatever the user passes as a provider into one description the builder uses."""

from __future__ import annotations

import functools
import typing
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

from ._callables import callable_name, check_callable, check_step_signature, is_async_callable
from ._errors import InvalidArgument
from ._executor import check_max_concurrency, check_retry, check_timeout
from ._services import Service, check_executor, check_executor_fits

if TYPE_CHECKING:
    from ._executor import Executor, Retry
    from ._instructions import Delivery
    from ._model import Graph


@attrs.frozen
class ProviderSpec:
    """What a node runs: a blocking call, an async task, or a nested workflow session."""

    kind: str  # "call" | "task" | "scope"
    name: str
    fn: Callable[..., Any] | None = None
    streams: tuple[str, ...] = ()
    graph: Graph | None = None
    tuple_size: int | None = None  # known length of a tuple response, for unzip
    delivery: Delivery | None = None  # serial queues and instructions (S7.5)
    workflow: bool = False  # a workflow used as a node (not a scope built in place)
    stream_types: tuple[tuple[str, object], ...] = ()  # declared streams with their types
    executor: Executor | None = None  # where a blocking function's calls run (S10.1)
    # per-node controls (S10.4)
    max_concurrency: int | None = None
    timeout: float | None = None
    retry: Retry | None = None


class ScopeProvider:
    """What runs as a nested session when used as a node: `cf.Workflow` derives from it.

    The builder knows workflows through this base class only, so building never depends
    on the module that defines them.
    """

    __slots__ = ()

    def _provider_spec(self) -> ProviderSpec:
        """How a node runs this: its name, graph, streams and delivery instructions."""
        raise NotImplementedError


def tuple_size_of(fn: object) -> int | None:
    """The fixed length of the tuple `fn` is annotated to return, if it says so."""
    try:
        hints = typing.get_type_hints(fn.func if isinstance(fn, functools.partial) else fn)
    except Exception:  # annotations that cannot be resolved simply give no hint
        return None
    ret = hints.get("return")
    if typing.get_origin(ret) is tuple:
        args = typing.get_args(ret)
        if args and args[-1] is not Ellipsis and args != ((),):
            return len(args)
    return None


def classify(provider: object, where: str) -> ProviderSpec:
    """Describe `provider`, or raise `InvalidArgument` saying what was wrong with it."""
    if isinstance(provider, ScopeProvider):
        return provider._provider_spec()
    if isinstance(provider, Service):
        return ProviderSpec(
            kind="task" if provider.is_async else "call",
            name=provider.name,
            fn=provider.fn,
            streams=tuple(provider.streams),
            tuple_size=tuple_size_of(provider.fn),
            delivery=provider._delivery if provider.is_async else None,
            stream_types=tuple(provider.streams.items()),
            executor=provider.executor,
            max_concurrency=provider.max_concurrency,
            timeout=provider.timeout,
            retry=provider.retry,
        )
    check_callable(provider, where)
    assert callable(provider)  # invariant: check_callable rejected everything else
    name = callable_name(provider)
    check_step_signature(provider, name, (), where)
    return ProviderSpec(
        kind="task" if is_async_callable(provider) else "call",
        name=name,
        fn=provider,
        tuple_size=tuple_size_of(provider),
    )


def provider_kind(obj: object) -> str | None:
    """`"cf.Service"` or `"cf.Workflow"` when `obj` is one, else None (for messages that
    tell a provider given where a build function belongs)."""
    if isinstance(obj, Service):
        return "cf.Service"
    if isinstance(obj, ScopeProvider):
        return "cf.Workflow"
    return None


def with_executor(spec: ProviderSpec, executor: object, where: str) -> ProviderSpec:
    """`spec`, running its calls with `executor` when one is given (API §9).

    Raises:
        InvalidArgument: `executor` is not a `cf.Executor`, or the provider is not a
            blocking function (an async service or a workflow).
    """
    chosen = check_executor(executor, f"{where.removesuffix('()')}(executor=...)")
    if chosen is None:
        return spec
    if spec.kind == "scope":
        raise InvalidArgument(
            f"{where}: {spec.name!r} is a workflow; executor= is for blocking services, "
            "whose calls it runs elsewhere"
        )
    check_executor_fits(chosen, spec.fn, spec.name, spec.streams, where)
    return attrs.evolve(spec, executor=chosen)


def with_controls(
    spec: ProviderSpec, max_concurrency: object, timeout: object, retry: object, where: str
) -> ProviderSpec:
    """`spec` with the per-node controls given here (each overrides the service's), checked
    against what the node runs (API §9, S10.4).

    Async services and blocking services with an executor take all three. A blocking
    service that runs inline takes none: it runs one call at a time on the event loop,
    where nothing can interrupt it. A workflow or nested scope takes none either: its
    sessions have `cf.ScopeSettings(timeout=...)`, and a cancelled session is a disposal
    for its parent, not a failure to try again.

    Raises:
        InvalidArgument: a control has the wrong type or value, or does not apply.
    """
    call = where.removesuffix("()")
    limit = check_max_concurrency(max_concurrency, f"{call}(max_concurrency=...)")
    seconds = check_timeout(timeout, f"{call}(timeout=...)")
    policy = check_retry(retry, f"{call}(retry=...)")
    spec = attrs.evolve(
        spec,
        max_concurrency=spec.max_concurrency if limit is None else limit,
        timeout=spec.timeout if seconds is None else seconds,
        retry=spec.retry if policy is None else policy,
    )
    used = [
        name
        for name, value in (
            ("max_concurrency", spec.max_concurrency),
            ("timeout", spec.timeout),
            ("retry", spec.retry),
        )
        if value is not None
    ]
    if used:
        controls = ", ".join(f"{name}=" for name in used)
        if spec.kind == "scope":
            raise InvalidArgument(
                f"{where}: {spec.name!r} is a workflow, and {controls} applies to services. "
                "A workflow's sessions are limited in time by "
                "cf.ScopeSettings(timeout=...), and a cancelled session is a disposal for "
                "the scope that opened it (handle it with a cancellation_filter), not a "
                "failure to try again; limit the services inside it instead."
            )
        if spec.kind == "call" and spec.executor is None:
            raise InvalidArgument(
                f"{where}: {spec.name!r} is a blocking function that runs inline on the event "
                f"loop, one call at a time, where nothing can interrupt it: {controls} "
                "would not apply. Run it elsewhere (offload=True or "
                "executor=cf.ThreadExecutor()), or make it an async function."
            )
    return spec
