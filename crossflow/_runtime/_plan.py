"""The execution plan of a graph: flat arrays the engine reads on its hot path.

A plan is compiled once per `Graph` (from the graph and its `Analysis`) and kept apart
from it: the graph stays a plain description. Each operation gets a handler, made by the
family its kind belongs to.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anyio

from .._analysis import analyse
from .._buffers import BufferSettings
from .._executor import Executor
from .._instructions import Delivery
from .._model import (
    AccessSettings,
    CollectSettings,
    DelaySettings,
    GateSettings,
    Graph,
    JoinSettings,
    KeyShape,
    NestedScopeSettings,
    NodeSettings,
    PushSettings,
    TrimSettings,
)
from .._policy import CancellationPolicy
from . import _buffers, _collect, _delivered, _forks, _sessions, _tasks, _trim

if TYPE_CHECKING:
    from ._engine import Engine
    from ._scope_session import ScopeSession

Handler = Callable[["Engine", "ScopeSession", Any], None]
WAIT = CancellationPolicy.WAIT


def _sleeper(seconds: float) -> Callable[[Any], Any]:
    """The activation of a `delay`: a timer that passes its message on (S2.1)."""

    async def delay(msg: Any) -> Any:
        await anyio.sleep(seconds)
        return msg

    return delay


class JoinPlan:
    """What a join reads: its buffers (positions), which it clones, how it shapes items."""

    __slots__ = ("buffers", "clones", "into", "keys", "shape")

    def __init__(self, plan: Plan, settings: JoinSettings) -> None:
        self.buffers = tuple(plan.position[b] for b in settings.buffers)
        self.clones = settings.cloned
        self.shape: KeyShape = settings.shape
        self.keys = settings.keys
        self.into = settings.into

    def __repr__(self) -> str:
        return f"<JoinPlan buffers={self.buffers}>"


class KeysPlan:
    """What a listener, an access or a cleanup workflow gets keys to, and in what shape."""

    __slots__ = ("buffers", "keys", "shape", "with_message")

    def __init__(
        self, buffers: tuple[int, ...], shape: KeyShape, keys: tuple[str, ...], with_message: bool
    ) -> None:
        self.buffers = buffers
        self.shape = shape
        self.keys = keys
        self.with_message = with_message

    def __repr__(self) -> str:
        return f"<KeysPlan buffers={self.buffers} {self.shape}>"


class CleanupPlan:
    """A cleanup workflow of a scope (S6.1): when it runs, its keys, its request, its plan."""

    __slots__ = ("_plan", "ending", "graph", "keys", "when")

    def __init__(self, when: str, keys: KeysPlan, ending: bool, graph: Graph) -> None:
        self.when = when
        self.keys = keys
        self.ending = ending
        self.graph = graph
        self._plan: Plan | None = None

    @property
    def plan(self) -> Plan:
        if self._plan is None:
            self._plan = plan_of(self.graph)
        return self._plan

    def __repr__(self) -> str:
        return f"<CleanupPlan on_{self.when} {self.graph.name!r}>"


class Plan:
    """Per-graph arrays built once; operations are numbered by their position."""

    __slots__ = (
        "__weakref__",
        "_bodies",
        "access",
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
        "executors",
        "fns",
        "gates",
        "graph",
        "handlers",
        "joins",
        "kinds",
        "names",
        "policy",
        "position",
        "push",
        "readers",
        "rec_handlers",
        "reopeners",
        "scope_fields",
        "scoped",
        "settings",
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
        analysis = analyse(graph)
        skeleton = analysis.skeleton
        self.graph = graph
        self.size = len(skeleton.names)
        self.names = list(skeleton.names)
        self.position = dict(skeleton.positions)
        self.kinds = list(skeleton.kinds)
        self.settings = list(skeleton.settings)
        self.targets: list[list[int]] = [list(t) for t in skeleton.targets]
        self.useful = list(analysis.useful)
        self.collects_of = list(analysis.collects_of)
        self.collects = tuple(i for i, k in enumerate(self.kinds) if k == "collect")
        self.collect_rank = dict(analysis.collect_rank)
        self.collect_min: dict[int, int] = {}
        self.collect_max: dict[int, int | None] = {}
        self.buffer_settings: dict[int, BufferSettings] = {}
        self.joins: dict[int, JoinPlan] = {}
        self.access: dict[int, KeysPlan] = {}
        self.push: dict[int, int] = {}
        self.gates: dict[int, tuple[tuple[int, ...], bool]] = {}
        self.trim_spans: dict[int, tuple[int, ...]] = {}
        # the function an activation calls (services, and a delay's timer), per operation
        self.fns: list[Callable[..., Any] | None] = [None] * self.size
        # declared streams of services, None when there are none
        self.streams: list[tuple[str, ...] | None] = [None] * self.size
        # S6.6: what cleanup does with a running task or child session of each operation
        self.policy: list[CancellationPolicy] = [WAIT] * self.size
        self.deliveries: list[Delivery | None] = [None] * self.size
        # where the calls of a blocking service run, when not inline (S10.1)
        self.executors: list[Executor | None] = [None] * self.size
        for i, s in enumerate(self.settings):
            if isinstance(s, NodeSettings):
                self.fns[i] = s.function
                self.executors[i] = s.executor
                self.streams[i] = tuple(s.streams) or None
                self.policy[i] = s.cancellation
                if s.queues is not None and s.mode == "async":
                    self.deliveries[i] = Delivery(s.queues, s.label, s.preempt, s.ensure)
            elif isinstance(s, NestedScopeSettings):
                self.policy[i] = s.cancellation
                if s.queues is not None:
                    self.deliveries[i] = Delivery(s.queues, s.label, s.preempt, s.ensure)
            elif isinstance(s, DelaySettings):
                self.fns[i] = _sleeper(s.seconds)
            elif isinstance(s, CollectSettings):
                self.collect_min[i] = s.min
                self.collect_max[i] = s.max
            elif isinstance(s, BufferSettings):
                self.buffer_settings[i] = s
            elif isinstance(s, JoinSettings):
                self.joins[i] = JoinPlan(self, s)
            elif isinstance(s, AccessSettings):
                buffers = tuple(self.position[b] for b in s.buffers)
                self.access[i] = KeysPlan(buffers, s.shape, s.keys, s.with_message)
            elif isinstance(s, PushSettings):
                self.push[i] = self.position[s.buffer]
            elif isinstance(s, GateSettings):
                self.gates[i] = (tuple(self.position[b] for b in s.buffers), s.open)
            elif isinstance(s, TrimSettings):
                self.trim_spans[i] = tuple(self.position[n] for n in s.span)
        start = self.targets[0][0]
        # S2.3: no path from start to terminate or an explicit cancel
        self.start_target = -1 if start < 0 or not self.useful[start] else start
        # buffers (S7): what wakes what, and what reachability needs when it is conditional
        edges = analysis.edges
        self.succ = edges.succ
        self.conditional = analysis.conditional
        self.readers = edges.readers
        self.reopeners = edges.reopeners
        self.ends = tuple(i for i, k in enumerate(self.kinds) if k in ("terminate", "cancel"))
        trimmable = {i for span in self.trim_spans.values() for i in span}
        # activations that get their own cancel scope: they can be trimmed, supplanted,
        # or left to run on by their cancellation policy
        self.scoped = [
            i in trimmable or self.deliveries[i] is not None or self.policy[i] is not WAIT
            for i in range(self.size)
        ]
        self.cleanups = tuple(
            CleanupPlan(
                c.when,
                KeysPlan(tuple(self.position[b] for b in c.buffers), c.shape, c.keys, False),
                c.ending,
                c.body,
            )
            for c in graph.cleanups
        )
        self.uninterruptible = graph.settings.uninterruptible
        self.timeout = _seconds(graph.settings.timeout)
        self.cleanup_timeout = _seconds(graph.settings.cleanup_timeout)
        self._bodies: dict[int, Plan] = {}
        self.handlers: list[Handler] = [handler(self, i, False) for i in range(self.size)]
        # the same, recording the calls (S9.2): built by the first run that records
        self.rec_handlers: list[Handler] | None = None
        self.scope_fields = (graph.name,)  # SessionStarted's, built once

    def body(self, op: int) -> Plan:
        """The plan of the nested scope or workflow that operation `op` runs."""
        plan = self._bodies.get(op)
        if plan is None:
            graph = self.graph.operations[op].body
            assert graph is not None  # invariant: only scope operations have a body
            plan = self._bodies[op] = plan_of(graph)
        return plan

    def recording_handlers(self) -> list[Handler]:
        """The handlers that also record inline calls (S9.2), built once."""
        handlers = self.rec_handlers
        if handlers is None:
            handlers = self.rec_handlers = [
                handler(self, i, True) if _tasks.is_inline_call(self, i) else h
                for i, h in enumerate(self.handlers)
            ]
        return handlers

    def injecting_handlers(self, record: bool) -> list[Handler]:
        """Handlers for a run with injected failures (testing only): before each inline
        call, the engine's `inject` says whether the call raises instead of running."""
        base = self.recording_handlers() if record else self.handlers
        return [
            _tasks.injecting(base[i], i, self.names[i]) if _tasks.is_inline_call(self, i) else h
            for i, h in enumerate(base)
        ]

    def __repr__(self) -> str:
        return f"<Plan of {self.graph.name!r}: {self.size} operations>"


def _seconds(value: float | None) -> float | None:
    return None if value is None or value == float("inf") else float(value)


def handler(plan: Plan, i: int, record: bool) -> Handler:
    """The handler of operation `i`, made by the family of its kind."""
    kind = plan.kinds[i]
    if plan.deliveries[i] is not None:
        return _delivered.handler(plan, i)
    if kind == "node":
        if _tasks.is_inline_call(plan, i):
            return _tasks.call_handler(plan, i, record)
        return _tasks.task_handler(plan, i)
    if kind == "delay":
        return _tasks.task_handler(plan, i)
    if kind in ("scope", "terminate", "stream_out", "cancel", "start"):
        return _sessions.handler(plan, i)
    if kind in ("buffer", "push", "join", "listen", "access", "gate"):
        return _buffers.handler(plan, i)
    if kind == "collect":
        return _collect.handler(plan, i)
    if kind == "trim":
        return _trim.handler(plan, i)
    return _forks.handler(plan, i)


_PLANS: weakref.WeakKeyDictionary[Graph, Plan] = weakref.WeakKeyDictionary()


def plan_of(graph: Graph) -> Plan:
    """The plan of `graph`, compiled the first time it runs."""
    plan = _PLANS.get(graph)
    if plan is None:
        plan = _PLANS[graph] = Plan(graph)
    return plan
