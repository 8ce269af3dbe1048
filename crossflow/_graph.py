"""The graph of a scope: operations, their ports and connections.

This is the intermediate form that the builder produces and the runtime executes.
Every operation has exactly one input slot and numbered output ports; each output
port is connected to at most one operation's input (or to nothing).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from ._providers import ProviderSpec
    from ._settings import ScopeSettings


class Kind(enum.Enum):
    """What an operation does. The runtime has one handler per kind."""

    START = "start"
    TERMINATE = "terminate"
    STREAM_OUT = "stream_out"
    CALL = "call"  # a blocking function, inline
    TASK = "task"  # an async function, one task per activation
    SCOPE = "scope"  # a nested scope or a workflow used as a node
    FORK_CLONE = "fork_clone"
    UNZIP = "unzip"
    FORK_RESULT = "fork_result"
    FORK_OPTION = "fork_option"
    FILTER = "filter"  # pass, dispose or cancel, decided per message
    CANCEL = "cancel"  # an explicit cancel: keeps the scope alive
    SPREAD = "spread"
    COLLECT = "collect"
    SPLIT = "split"
    BUFFER = "buffer"  # stores messages per session; no outputs
    JOIN = "join"  # woken by its buffers' changes
    LISTEN = "listen"  # woken by its buffers' changes; emits keys
    ACCESS = "access"  # with_access / then_access: emits keys with each message
    PUSH = "push"  # pushes each message into a buffer, emits None
    GATE = "gate"  # opens or closes the gates of buffers
    TRIM = "trim"  # cleans up a span of the graph, then passes the message on
    DELAY = "delay"  # a timer per message, then passes the message on


@attrs.define(eq=False)
class Op:
    """One operation of a scope graph."""

    index: int
    kind: Kind
    name: str
    ports: list[str]
    targets: list[int | None]
    fn: Callable[..., Any] | None = None
    provider: ProviderSpec | None = None
    graph: Graph | None = None  # nested scope body
    params: dict[str, Any] = attrs.field(factory=dict)

    def __repr__(self) -> str:
        return f"<Op {self.index} {self.kind.value} {self.name!r}>"


@attrs.frozen
class Cleanup:
    """A cleanup workflow of a scope (S6.1): when it runs, the keys it gets, its graph.

    `ending` says what its request is: the keys alone (False), or a `cf.Ending` holding
    the keys and the session's cancellation, `None` after terminate (True: always for a
    cleanup given as a service, opted into with `ending=True` for a build function).
    """

    when: str  # "cancel" | "terminate" | "cleanup"
    shape: str  # "one" | "tuple" | "dict"
    names: tuple[str, ...]
    buffers: tuple[int, ...]
    graph: Graph
    ending: bool = False


@attrs.define(eq=False)
class Graph:
    """The operations of one scope, plus what the build-time analysis found out."""

    name: str
    settings: ScopeSettings
    ops: list[Op] = attrs.field(factory=list)
    start: int = 0
    terminate: int = 1
    stream_outs: dict[str, int] = attrs.field(factory=dict)
    # filled by analyse()
    useful: list[bool] = attrs.field(factory=list)
    collects_of: list[tuple[int, ...]] = attrs.field(factory=list)
    collect_rank: dict[int, int] = attrs.field(factory=dict)
    # buffer -> the joins and listeners it wakes; buffer -> what may reopen its gate
    readers: dict[int, tuple[int, ...]] = attrs.field(factory=dict)
    reopeners: dict[int, tuple[int, ...]] = attrs.field(factory=dict)
    # successors for reachability: connections plus the edges buffers add (see _analysis)
    succ: list[tuple[int, ...]] = attrs.field(factory=list)
    # joins or gates make reachability conditional on buffer contents (S2.2, S7.4)
    conditional: bool = False
    cleanups: list[Cleanup] = attrs.field(factory=list)
    frozen: bool = False
    # the runtime caches its execution plan here; the builder never reads it
    plan: object = None
    # the public view of this graph (`workflow.graph`), built when first asked for
    view: object = None

    def __repr__(self) -> str:
        return f"<Graph {self.name!r}: {len(self.ops)} operations>"
