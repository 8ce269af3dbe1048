"""The execution plan of a graph: flat arrays the engine reads on its hot path."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anyio

from .._graph import Graph, Kind
from .._policy import CancellationPolicy

if TYPE_CHECKING:
    from ._engine import Engine
    from ._session import Session

Handler = Callable[["Engine", "Session", Any], None]
WAIT = CancellationPolicy.WAIT


def _sleeper(seconds: float) -> Callable[[Any], Any]:
    """The activation of a `delay`: a timer that passes its message on (S2.1)."""

    async def delay(msg: Any) -> Any:
        await anyio.sleep(seconds)
        return msg

    return delay


class Plan:
    """Per-graph arrays built once and cached on the graph."""

    __slots__ = (
        "buffer_settings",
        "cleanup_timeout",
        "cleanups",
        "collect_max",
        "collect_min",
        "collect_rank",
        "collects",
        "collects_of",
        "conditional",
        "deliveries",
        "ends",
        "fns",
        "graph",
        "handlers",
        "join_buffers",
        "kinds",
        "names",
        "policy",
        "readers",
        "rec_handlers",
        "reopeners",
        "scope_fields",
        "scoped",
        "size",
        "start_target",
        "streams",
        "succ",
        "targets",
        "timeout",
        "trim_spans",
        "uninterruptible",
        "useful",
    )

    def __init__(self, graph: Graph) -> None:
        from ._ops import make_handler

        self.size = len(graph.ops)
        self.names = [op.name for op in graph.ops]
        self.targets: list[list[int]] = [
            [-1 if t is None else t for t in op.targets] for op in graph.ops
        ]
        self.useful = list(graph.useful)
        self.collects_of = list(graph.collects_of)
        self.collects = tuple(op.index for op in graph.ops if op.kind is Kind.COLLECT)
        self.collect_rank = dict(graph.collect_rank)
        self.collect_min = {c: graph.ops[c].params["min"] for c in self.collects}
        self.collect_max = {c: graph.ops[c].params["max"] for c in self.collects}
        start = graph.ops[graph.start].targets[0]
        # S2.3: no path from start to terminate or an explicit cancel
        self.start_target = -1 if start is None or not graph.useful[start] else start
        self.fns: list[Callable[..., Any] | None] = [
            _sleeper(op.params["seconds"]) if op.kind is Kind.DELAY else op.fn for op in graph.ops
        ]
        # declared streams of async services, None when there are none
        self.streams: list[tuple[str, ...] | None] = [
            op.provider.streams if op.provider is not None and op.provider.streams else None
            for op in graph.ops
        ]
        # buffers (S7): what wakes what, and what reachability needs when it is conditional
        self.kinds = [op.kind for op in graph.ops]
        self.succ = list(graph.succ)
        self.conditional = graph.conditional
        self.readers = dict(graph.readers)
        self.reopeners = dict(graph.reopeners)
        self.buffer_settings = {
            op.index: op.params["settings"] for op in graph.ops if op.kind is Kind.BUFFER
        }
        self.join_buffers = {
            op.index: op.params["buffers"] for op in graph.ops if op.kind is Kind.JOIN
        }
        self.ends = tuple(op.index for op in graph.ops if op.kind in (Kind.TERMINATE, Kind.CANCEL))
        self.trim_spans = {op.index: op.params["ops"] for op in graph.ops if op.kind is Kind.TRIM}
        self.deliveries = [
            op.provider.delivery
            if op.provider is not None and op.kind in (Kind.TASK, Kind.SCOPE)
            else None
            for op in graph.ops
        ]
        # S6.6: what cleanup does with a running task or child session of each operation
        self.policy: list[CancellationPolicy] = [op.params.get("policy", WAIT) for op in graph.ops]
        trimmable = {i for span in self.trim_spans.values() for i in span}
        # activations that get their own cancel scope: they can be trimmed, supplanted,
        # or left to run on by their cancellation policy
        self.scoped = [
            i in trimmable or self.deliveries[i] is not None or self.policy[i] is not WAIT
            for i in range(self.size)
        ]
        self.cleanups = tuple(graph.cleanups)
        self.uninterruptible = graph.settings.uninterruptible
        timeout = graph.settings.timeout
        self.timeout = None if timeout is None or timeout == float("inf") else float(timeout)
        cleanup = graph.settings.cleanup_timeout
        self.cleanup_timeout = (
            None if cleanup is None or cleanup == float("inf") else float(cleanup)
        )
        self.handlers: list[Handler] = [make_handler(graph, op, self) for op in graph.ops]
        # the same, recording OperationStarted/OperationFinished around inline calls (S9.2)
        # the same, recording the calls (S9.2): built by the first run that records
        self.rec_handlers: list[Handler] | None = None
        self.graph = graph
        self.scope_fields = (graph.name,)  # SessionStarted's, built once


def recording_handlers(plan: Plan) -> list[Handler]:
    """The handlers of `plan` that also record inline calls (S9.2), built once."""
    handlers = plan.rec_handlers
    if handlers is None:
        from ._ops import make_handler

        graph = plan.graph
        handlers = plan.rec_handlers = [
            make_handler(graph, op, plan, record=True) if op.kind is Kind.CALL else h
            for h, op in zip(plan.handlers, graph.ops, strict=True)
        ]
    return handlers


def injecting_handlers(plan: Plan, record: bool) -> list[Handler]:
    """Handlers for a run with injected failures: before each inline call, the engine's
    `inject` says whether the call raises an exception instead of running.

    Built per run that asks for them (testing only): ordinary runs never pay for it.
    """
    base = recording_handlers(plan) if record else plan.handlers
    handlers = list(base)
    for op in plan.graph.ops:
        if op.kind is Kind.CALL:
            handlers[op.index] = _injecting(base[op.index], op.index, op.name)
    return handlers


def _injecting(handler: Handler, index: int, name: str) -> Handler:
    from time import monotonic

    from ..events import OperationStarted

    def call(engine: Engine, s: Session, msg: Any) -> None:
        inject = engine.inject
        error = None if inject is None else inject(name)
        if error is None:
            handler(engine, s, msg)
            return
        if engine.log is not None:
            engine.log.append((monotonic(), OperationStarted, s, (name,)))
        engine.fail(s, index, error)

    return call


def plan_of(graph: Graph) -> Plan:
    plan = graph.plan
    if plan is None:
        plan = graph.plan = Plan(graph)
    assert isinstance(plan, Plan)  # invariant: only the runtime writes graph.plan
    return plan
