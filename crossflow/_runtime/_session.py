"""Per-session state: activity counters, collects, tasks, children, the outcome."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._state import SessionState

if TYPE_CHECKING:
    from anyio.abc import TaskGroup

    from .._causes import Cancellation, Disposal, ServiceFailed
    from .._graph import Graph
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


class Session:
    """One run of one scope: the root session of a run, or a child of a nested scope."""

    __slots__ = (
        "act",
        "cancellation",
        "children",
        "cleanup_failures",
        "collects",
        "disposals",
        "graph",
        "hosted",
        "live",
        "ntasks",
        "parent",
        "parent_op",
        "pending",
        "plan",
        "response",
        "state",
        "tg",
        "up",
    )

    def __init__(self, graph: Graph, plan: Plan, parent: Session | None, parent_op: int) -> None:
        self.graph = graph
        self.plan = plan
        self.parent = parent
        self.parent_op = parent_op
        self.state = RUNNING
        # act[i]: activity units of operation i (queued inputs, tasks, child sessions)
        self.act = [0] * plan.size
        # live: activity units on operations that can reach terminate or a cancel (S2.2)
        self.live = 0
        self.up: list[int] | None = [0] * plan.size if plan.collects else None
        self.collects: dict[int, CollectState] | None = (
            {c: CollectState() for c in plan.collects} if plan.collects else None
        )
        self.disposals: list[Disposal] | None = None  # every disposal, in order (S2.4)
        # async activations: how many run, those waiting for a task group, the group
        self.ntasks = 0
        self.pending: list[tuple[int, Any]] | None = None
        self.tg: TaskGroup | None = None
        self.hosted = False
        self.children: set[Session] | None = None
        self.response: Any = None
        self.cancellation: Cancellation | None = None
        # failures of services while the session was being cleaned up (S4.3)
        self.cleanup_failures: list[ServiceFailed] | None = None

    def __repr__(self) -> str:
        tasks = self.ntasks
        children = len(self.children) if self.children else 0
        return (
            f"<Session {self.graph.name!r} {self.state.value}: {self.live} live, "
            f"{tasks} tasks, {children} child sessions, {len(self.disposals or ())} disposals>"
        )
