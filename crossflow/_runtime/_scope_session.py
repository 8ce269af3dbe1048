"""Per-session state: activity counters, collects, tasks, children, the outcome."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from .._errors import StaleBufferKey
from .._state import SessionState

if TYPE_CHECKING:
    from anyio import CancelScope
    from anyio.abc import TaskGroup

    from .._buffers import BufferSettings
    from .._causes import Cancellation, ServiceFailed
    from .._keys import BufferKey, BufferView
    from .._model import Graph
    from ._disposals import Disposals
    from ._engine import Engine
    from ._plan import Plan

RUNNING = SessionState.RUNNING


class CollectState:
    """What one collect holds for one session (S5)."""

    __slots__ = ("armed", "holding", "items")

    def __init__(self) -> None:
        self.items: list[Any] = []
        # armed: upstream activity or an item arrived since the last emission (S5.4)
        self.armed = False
        # holding: armed with at least `min` items, so it will emit: counts as activity
        self.holding = False

    def __repr__(self) -> str:
        return f"<CollectState {len(self.items)} items armed={self.armed}>"


class BufferState:
    """What one buffer holds for one session, and its gate (S7)."""

    __slots__ = ("is_open", "items")

    def __init__(self) -> None:
        self.items: deque[Any] = deque()
        self.is_open = True

    def __repr__(self) -> str:
        return f"<BufferState {len(self.items)} items, gate {'open' if self.is_open else 'closed'}>"


class SessionExtras:
    """Per-session state that most sessions never need: created on first use."""

    __slots__ = (
        "cancel_requested",
        "cleanup_cancellations",
        "cleanup_started",
        "cleanup_timer",
        "detached",
        "left",
        "running",
        "ticket",
        "tickets",
        "timer",
        "trimmed",
        "trims",
    )

    def __init__(self) -> None:
        # someone outside asked the session to cancel (S6.4, S9.1)
        self.cancel_requested = False
        # phase 2 of cleanup (S6.1) started; cancellations of cleanup workflows (S6.4)
        self.cleanup_started = False
        self.cleanup_cancellations: list[Cancellation] = []
        # running activations with their own cancel scope (they can be trimmed or
        # supplanted): scope -> (operation, delivery ticket)
        self.running: dict[CancelScope, tuple[int, Any]] = {}
        # delivery tickets of this session still queued or running, per operation
        self.tickets: dict[int, set[Any]] = {}
        # trims waiting for their span to be cleaned up: (trim op, message, span)
        self.trims: list[tuple[int, Any, tuple[int, ...]]] = []
        # this session was interrupted by a trim: its end records no disposal
        self.trimmed = False
        # the delivery ticket of this (child) session, released when it ends
        self.ticket: Any = None
        # the cancel scope of this session's timeout (S6.5)
        self.timer: CancelScope | None = None
        # the cancel scope of the timer of its cleanup workflows (S6.5 cleanup_timeout)
        self.cleanup_timer: CancelScope | None = None
        # this child session was left to end in the background (S6.6): its end is
        # nobody's business
        self.detached = False
        # scopes of this session's activations left running in the background (S6.6)
        self.left: set[CancelScope] = set()


class ScopeSession:
    """One session of one scope: the root session of a run, a child session of a nested
    scope, or a cleanup workflow's session.

    It is also what its buffer keys talk to (`BufferPort`).
    """

    __slots__ = (
        "activity",
        "alone",
        "buffers",
        "cancellation",
        "children",
        "cleanup_failures",
        "collects",
        "disposals",
        "engine",
        "extra",
        "graph",
        "handlers",
        "hosted",
        "ntasks",
        "parent",
        "parent_op",
        "pending",
        "plan",
        "response",
        "state",
        "tg",
        "upstream",
        "useful_activity",
    )

    def __init__(
        self, graph: Graph, plan: Plan, parent: ScopeSession | None, parent_op: int
    ) -> None:
        # set while the session has keys out (a reference cycle only then)
        self.engine: Engine | None = None
        self.graph = graph
        self.plan = plan
        # the plan's handlers, or those that record events (S9.2)
        self.handlers = plan.handlers
        self.parent = parent
        self.parent_op = parent_op
        self.state = RUNNING
        # activity[i]: units of operation i (queued inputs, tasks, child sessions)
        self.activity = [0] * plan.size
        # live: activity units on operations that can reach terminate or a cancel (S2.2)
        self.useful_activity = 0
        self.upstream: list[int] | None = [0] * plan.size if plan.collects else None
        self.collects: dict[int, CollectState] | None = (
            {c: CollectState() for c in plan.collects} if plan.collects else None
        )
        self.disposals: Disposals | None = None  # what it keeps of its disposals (S2.4)
        # async activations: how many run, those waiting for a task group, the group
        self.ntasks = 0
        self.pending: list[tuple[int, Any]] | None = None
        self.tg: TaskGroup | None = None
        self.hosted = False
        # the cancel scopes of activations that run without a host (`run_alone`)
        self.alone: set[CancelScope] | None = None
        # child sessions in the order they were opened (a dict: cleanup visits them in
        # that order, so traces are deterministic)
        self.children: dict[ScopeSession, None] | None = None
        self.response: Any = None
        self.cancellation: Cancellation | None = None
        # failures of services while the session was being cleaned up (S4.3)
        self.cleanup_failures: list[ServiceFailed] | None = None
        self.buffers: dict[int, BufferState] | None = None
        self.extra: SessionExtras | None = None

    def extras(self) -> SessionExtras:
        extra = self.extra
        if extra is None:
            extra = self.extra = SessionExtras()
        return extra

    def buffer(self, op: int) -> BufferState:
        buffers = self.buffers
        if buffers is None:
            buffers = self.buffers = {}
        state = buffers.get(op)
        if state is None:
            state = buffers[op] = BufferState()
        return state

    # ------------------------------------------------------------------ BufferPort

    def open_view(self, key: BufferKey[Any]) -> tuple[deque[Any], BufferSettings, BufferState]:
        if self.state.ended:
            raise StaleBufferKey(
                f"key to buffer {key.buffer!r} used after its session of scope "
                f"{self.graph.name!r} ended ({self.state.value}); its buffers are gone. "
                "Use a key only while the workflow that issued it runs."
            )
        return self.buffer(key._op).items, self.plan.buffer_settings[key._op], self.buffer(key._op)

    def close_view(self, key: BufferKey[Any], view: BufferView[Any]) -> None:
        engine = self.engine
        if engine is not None:
            engine.view_closed(self, key, view)

    def describe(self) -> str:
        return f"session of scope {self.graph.name!r} ({self.state.value})"

    def __repr__(self) -> str:
        tasks = self.ntasks
        children = len(self.children) if self.children else 0
        return (
            f"<Session {self.graph.name!r} {self.state.value}: {self.useful_activity} live, "
            f"{tasks} tasks, {children} child sessions, {len(self.disposals or ())} disposals>"
        )
