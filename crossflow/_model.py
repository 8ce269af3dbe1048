"""The graph of a workflow, as users see it: `workflow.graph` (API §10).

A `Graph` is the read-only, immutable view of one scope: its operations, the connections
between their ports, its stream outs, its cleanup workflows and its nested scopes (each
scope operation's `body` is a `Graph` too). It says everything needed to draw the
workflow, to export it, or to check it with your own tools: pictures, diagrams and the
testing tools are built on it.

Operations are named uniquely within their scope; settings that refer to other operations
(the buffers of a join, the span of a trim) refer to them by name, and `graph[name]` finds
the operation.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, Literal, TypeAlias, final

import attrs

from ._buffers import BufferSettings
from ._executor import Executor, Retry
from ._instructions import DeliveryQueues
from ._policy import CancellationPolicy
from ._settings import ScopeSettings

OperationKind: TypeAlias = Literal[
    "start",
    "terminate",
    "stream_out",
    "node",
    "scope",
    "fork_clone",
    "unzip",
    "fork_result",
    "fork_option",
    "filter",
    "cancel",
    "spread",
    "collect",
    "split",
    "buffer",
    "join",
    "listen",
    "access",
    "push",
    "gate",
    "trim",
    "delay",
]
"""The kinds of operation (`Operation.kind`)."""

KINDS: tuple[OperationKind, ...] = OperationKind.__args__  # type: ignore[attr-defined]

FilterMode: TypeAlias = Literal[
    "noop",
    "trigger",
    "cancel_on_none",
    "dispose_on_none",
    "dispose_on_some",
    "cancel_on_err",
    "dispose_on_err",
    "dispose_on_ok",
    "cancellation_filter",
    "disposal_filter",
]
"""What a `filter` operation does with each message (`FilterSettings.mode`)."""

KeyShape: TypeAlias = Literal["one", "tuple", "dict"]
"""How keys or joined items come out: one value, a tuple, or a dict by `keys`."""


# --------------------------------------------------------------------------- settings


def _read_only(mapping: Mapping[str, object]) -> Mapping[str, object]:
    return MappingProxyType(dict(mapping))


def _read_only_operations(mapping: Mapping[str, Operation]) -> Mapping[str, Operation]:
    return MappingProxyType(dict(mapping))


@attrs.frozen
class NodeSettings:
    """Settings of a `node` operation: a service or a map.

    Attributes:
        function: the function the node calls (for a `cf.Service`, its `fn`).
        mode: `"blocking"` (a plain function, run inline) or `"async"` (a task per message).
        streams: the declared streams, name to message type.
        cancellation: the node's cancellation policy (S6.6).
        serial: whether the service runs one request at a time across all sessions (S7.5).
        label: the delivery label of an instructed service, or None.
        preempt: whether a request pre-empts earlier ones with its label.
        ensure: whether a request is protected from pre-emption.
        queues: the identity of the queues the service shares with its instructed copies
            (requests wait in them when the service is serial or has a label), or None.
        executor: where the calls of a blocking service run (a worker thread, a process,
            a Dask cluster), or None to run them inline on the event loop (S10.1).
        max_concurrency: at most this many activations of the node run at once in one
            run, the others wait in order; None for no limit (S10.4).
        timeout: seconds after which an attempt fails with `TimeoutError`, or None.
        retry: how failed activations are tried again (`cf.Retry`), or None.
    """

    function: Callable[..., Any]
    mode: Literal["blocking", "async"]
    streams: Mapping[str, object] = attrs.field(factory=dict, converter=_read_only)
    cancellation: CancellationPolicy = CancellationPolicy.WAIT
    serial: bool = False
    label: Hashable = None
    preempt: bool = False
    ensure: bool = False
    queues: DeliveryQueues | None = attrs.field(default=None, repr=False)
    executor: Executor | None = None
    max_concurrency: int | None = None
    timeout: float | None = None
    retry: Retry | None = None


@attrs.frozen
class NestedScopeSettings:
    """Settings of a `scope` operation: a nested scope, or a workflow used as a node.

    Attributes:
        scope: the nested scope's own settings (uninterruptible, timeouts).
        workflow: the name of the workflow used as a node, or None for a scope built in
            place (`then_scope`, `create_scope`).
        streams: the stream names the nested scope sends out of its sessions.
        cancellation: the node's cancellation policy (S6.6).
        label, preempt, ensure: delivery instructions of an instructed workflow (S7.5).
        queues: the identity of the queues an instructed workflow shares with its copies,
            or None.
    """

    scope: ScopeSettings
    workflow: str | None = None
    streams: tuple[str, ...] = ()
    cancellation: CancellationPolicy = CancellationPolicy.WAIT
    label: Hashable = None
    preempt: bool = False
    ensure: bool = False
    queues: DeliveryQueues | None = attrs.field(default=None, repr=False)


@attrs.frozen
class StreamOutSettings:
    """Settings of a `stream_out` operation: the scope's stream it sends on."""

    stream: str


@attrs.frozen
class ForkCloneSettings:
    """Settings of a `fork_clone` operation: which output receives each message itself
    (`original`, a position in `ports`); every other output receives a copy."""

    original: int = 0


@attrs.frozen
class FilterSettings:
    """Settings of a `filter` operation.

    Attributes:
        mode: what it does with each message (`noop`, `trigger`, `cancel_on_none`, ...).
        function: the user function of `cancellation_filter` / `disposal_filter`, else None.
    """

    mode: FilterMode
    function: Callable[..., Any] | None = None


@attrs.frozen
class CancelSettings:
    """Settings of a `cancel` operation: `quiet` cancels with `Triggered(value=None)`."""

    quiet: bool = False


@attrs.frozen
class CollectSettings:
    """Settings of a `collect` operation (S5)."""

    min: int = 0
    max: int | None = None


@attrs.frozen
class SplitSettings:
    """Settings of a `split` operation: its declared keys and how many `seq` outputs."""

    keys: tuple[Hashable, ...] = ()
    sequence: int = 0


@attrs.frozen
class JoinSettings:
    """Settings of a `join` operation (S7.2).

    Attributes:
        buffers: the names of the buffers joined, in order.
        cloned: for each buffer, whether it is joined by cloning (copied, not pulled).
        shape: `"one"`, `"tuple"` or `"dict"`.
        keys: the dict keys, for a dict join.
        into: the class or callable each joined dict is passed to, or None.
    """

    buffers: tuple[str, ...]
    cloned: tuple[bool, ...]
    shape: KeyShape = "tuple"
    keys: tuple[str, ...] = ()
    into: Callable[..., Any] | None = None


@attrs.frozen
class AccessSettings:
    """Settings of a `listen` or `access` operation: which buffers' keys it emits (S7.3).

    Attributes:
        buffers: the names of the buffers, in order.
        shape: `"one"`, `"tuple"` or `"dict"`.
        keys: the dict keys, for a dict of buffers.
        with_message: `with_access` (each message paired with the keys) rather than
            `then_access` (the keys alone); always False for `listen`.
    """

    buffers: tuple[str, ...]
    shape: KeyShape = "one"
    keys: tuple[str, ...] = ()
    with_message: bool = False


@attrs.frozen
class PushSettings:
    """Settings of a `push` operation: the buffer each message is pushed into."""

    buffer: str


@attrs.frozen
class GateSettings:
    """Settings of a `gate` operation: the buffers whose gates it opens or closes."""

    buffers: tuple[str, ...]
    open: bool


@attrs.frozen
class TrimBranchSettings:
    """One branch of a trim: `how` (`single_point`, `downstream`, `between`) and its points."""

    how: Literal["single_point", "downstream", "between"]
    start: str
    end: str | None = None


@attrs.frozen
class TrimSettings:
    """Settings of a `trim` operation.

    Attributes:
        branches: the branches as given.
        span: the names of every operation the trim cleans up, worked out at build time.
    """

    branches: tuple[TrimBranchSettings, ...]
    span: tuple[str, ...] = ()


@attrs.frozen
class DelaySettings:
    """Settings of a `delay` operation: how long each message waits."""

    seconds: float


OperationSettings: TypeAlias = (
    NodeSettings
    | NestedScopeSettings
    | StreamOutSettings
    | ForkCloneSettings
    | FilterSettings
    | CancelSettings
    | CollectSettings
    | SplitSettings
    | BufferSettings
    | JoinSettings
    | AccessSettings
    | PushSettings
    | GateSettings
    | TrimSettings
    | DelaySettings
    | None
)
"""The settings of an operation: one class per kind; None for kinds without options
(`start`, `terminate`, `unzip`, `fork_result`, `fork_option`, `spread`)."""


# --------------------------------------------------------------------------- the graph


@final
@attrs.frozen(eq=False, repr=False)
class Operation:
    """One operation of a scope.

    Attributes:
        name: its name, unique in its scope; it appears in events, disposals and causes.
        kind: what it does (see the list of kinds in the reference).
        settings: its options, typed per kind (`NodeSettings`, `JoinSettings`, ...), or
            None for kinds without options.
        ports: its output ports, in order: `"out"` for a single output, `"ok"`/`"err"`,
            `"some"`/`"none"`, `"0"`, `"1"`, ... for forks and unzips, `"key:..."`,
            `"seq:..."` and `"remaining"` for a split, stream names for streams.
        body: the graph of a nested scope or of a workflow used as a node, else None.
    """

    name: str
    kind: OperationKind
    settings: OperationSettings = None
    ports: tuple[str, ...] = ()
    body: Graph | None = None

    def __repr__(self) -> str:
        return f"<Operation {self.name!r} {self.kind}>"


ConnectionKind: TypeAlias = Literal["message", "buffer"]
"""`"message"`: messages travel from a port to an operation's input. `"buffer"`: a
buffer and an operation that uses it (a push or gate acting on it; a join, listener or
access reading it)."""


@final
@attrs.frozen(eq=False, repr=False)
class Connection:
    """A connection from an output port of `source` to `target`.

    Attributes:
        source: where it comes from.
        port: which output of `source`: a message port (see `Operation.ports`), or for
            buffer connections: `"items"` (a join takes items), `"cloned"` (a join copies
            them), `"changes"` (a listener is woken), `"keys"` (an access hands out keys)
            from the buffer; `"push"`, `"open"`, `"close"` towards the buffer.
        target: where it goes.
        kind: `"message"` or `"buffer"`.
    """

    source: Operation
    port: str
    target: Operation
    kind: ConnectionKind = "message"

    def __repr__(self) -> str:
        arrow = "->" if self.kind == "message" else "~>"
        return f"<Connection {self.source.name}.{self.port} {arrow} {self.target.name}>"


CleanupWhen: TypeAlias = Literal["cancel", "terminate", "cleanup"]


@final
@attrs.frozen(eq=False, repr=False)
class CleanupWorkflow:
    """A cleanup workflow of a scope (S6.1, S6.2).

    Attributes:
        when: `"cancel"`, `"terminate"` or `"cleanup"` (always).
        buffers: the names of the buffers it gets keys to.
        shape: how the keys come: `"one"`, `"tuple"` or `"dict"`.
        keys: the dict keys, for a dict of buffers.
        ending: whether its request is a `cf.Ending` (keys and how the session ended)
            rather than the keys alone.
        body: its graph.
    """

    when: CleanupWhen
    buffers: tuple[str, ...]
    shape: KeyShape
    keys: tuple[str, ...]
    ending: bool
    body: Graph

    def __repr__(self) -> str:
        return f"<CleanupWorkflow on_{self.when} {self.body.name!r}>"


@final
@attrs.frozen(eq=False, repr=False)
class Graph:
    """The read-only graph of one scope: `workflow.graph` (API §10).

    Attributes:
        name: the scope's name.
        settings: the scope's `cf.ScopeSettings`.
        operations: every operation, in the order they were created; `start` and
            `terminate` come first.
        connections: every connection between them.
        streams: the scope's stream outs, by stream name.
        cleanups: the scope's cleanup workflows.
    """

    name: str
    settings: ScopeSettings
    operations: tuple[Operation, ...]
    connections: tuple[Connection, ...]
    streams: Mapping[str, Operation] = attrs.field(converter=_read_only_operations)
    cleanups: tuple[CleanupWorkflow, ...] = ()
    _by_name: Mapping[str, Operation] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(
            self, "_by_name", MappingProxyType({op.name: op for op in self.operations})
        )

    @property
    def start(self) -> Operation:
        """The scope's start: it emits the request once per session (S1.2)."""
        return self.operations[0]

    @property
    def terminate(self) -> Operation:
        """The scope's terminate: the first message that reaches it is the response."""
        return self.operations[1]

    def __getitem__(self, name: str) -> Operation:
        """The operation called `name`.

        Raises:
            KeyError: no operation of this scope has that name.
        """
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(
                f"scope {self.name!r} has no operation {name!r}; it has: "
                f"{', '.join(repr(n) for n in self._by_name)}"
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[Operation]:
        return iter(self.operations)

    def __len__(self) -> int:
        return len(self.operations)

    def outgoing(self, operation: Operation) -> tuple[Connection, ...]:
        """The connections that leave `operation`, in port order."""
        return tuple(c for c in self.connections if c.source is operation)

    def incoming(self, operation: Operation) -> tuple[Connection, ...]:
        """The connections that reach `operation`."""
        return tuple(c for c in self.connections if c.target is operation)

    def walk(self) -> Iterator[tuple[tuple[str, ...], Graph]]:
        """This graph and every graph nested in it (scope bodies, cleanup workflows), each
        with its path of scope names, parents first."""
        stack: list[tuple[tuple[str, ...], Graph]] = [((self.name,), self)]
        seen: set[int] = set()
        while stack:
            path, graph = stack.pop()
            yield path, graph
            if id(graph) in seen:
                continue  # a workflow used as a node in several places: walked once
            seen.add(id(graph))
            nested: list[tuple[tuple[str, ...], Graph]] = []
            for op in graph.operations:
                if op.body is not None:
                    nested.append(((*path, op.name), op.body))
            for cleanup in graph.cleanups:
                nested.append(((*path, f"on_{cleanup.when}"), cleanup.body))
            stack.extend(reversed(nested))

    def __repr__(self) -> str:
        return (
            f"<Graph {self.name!r}: {len(self.operations)} operations, "
            f"{len(self.connections)} connections>"
        )
