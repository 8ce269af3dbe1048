"""The builder: creates the operations of one scope and connects them."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar, final, overload

from ._analysis import analyse
from ._errors import BuildError, IncompatibleLayout, InvalidArgument, OutputAlreadyConnected
from ._graph import Graph, Kind, Op
from ._handles import InputSlot, Node, Output, Scope, StreamInputs, StreamOutputs
from ._providers import ProviderSpec, classify
from ._settings import ScopeSettings

if TYPE_CHECKING:
    from collections.abc import Coroutine

    from ._chain import Chain
    from ._services import Service
    from ._workflow import Workflow

T = TypeVar("T")
U = TypeVar("U")
Req = TypeVar("Req")
Resp = TypeVar("Resp")

BuildFn = Callable[[Scope[Req, Resp], "Builder"], None]


def check_min_max(min: int, max: int | None, where: str) -> None:
    """Validate collect bounds (S5.1); shared by `chain.collect` and `create_collect`."""
    if isinstance(min, bool) or not isinstance(min, int) or min < 0:
        raise InvalidArgument(f"{where}: min must be an int >= 0, got {min!r}")
    if max is not None:
        if isinstance(max, bool) or not isinstance(max, int) or max < 1:
            raise InvalidArgument(f"{where}: max must be an int >= 1 or None, got {max!r}")
        if min > max:
            raise BuildError(
                f"{where}: min={min} is greater than max={max}, so the collect could never "
                f"emit. Use min <= max (collect_n({max}) collects exactly {max} items)."
            )


def check_settings(settings: object, where: str) -> ScopeSettings:
    if settings is None:
        return ScopeSettings()
    if not isinstance(settings, ScopeSettings):
        raise InvalidArgument(
            f"{where}: settings must be a cf.ScopeSettings, got {settings!r} "
            f"of type {type(settings).__name__}"
        )
    if settings.uninterruptible or settings.timeout is not None:
        raise InvalidArgument(
            f"{where}: ScopeSettings(uninterruptible=..., timeout=...) are not available in "
            "this version of crossflow; leave them at their defaults"
        )
    return settings


def check_streams(streams: object, where: str) -> dict[str, type[Any]]:
    if streams is None:
        return {}
    if not isinstance(streams, Mapping):
        raise InvalidArgument(
            f"{where}: streams must be a dict of stream name to message type, got {streams!r}"
        )
    for key in streams:
        if not isinstance(key, str) or not key.isidentifier():
            raise InvalidArgument(f"{where}: stream names must be identifiers, got {key!r}")
    return dict(streams)


@final
class ForkClone(Generic[T]):
    """A fork that sends a copy of each message to every one of its outputs, in order."""

    __slots__ = ("_builder", "_op", "input")

    def __init__(self, builder: Builder, op: int) -> None:
        self._builder = builder
        self._op = op
        self.input: InputSlot[T] = InputSlot(builder, op)

    def clone_output(self) -> Output[T]:
        """Add a branch: a new output that receives a copy of every message."""
        return self._builder._add_port(
            self._op, f"branch{len(self._builder._graph.ops[self._op].ports)}"
        )

    def __repr__(self) -> str:
        return f"<ForkClone {self._builder._graph.ops[self._op].name!r}>"


@final
class Unzip:
    """Sends element `i` of each tuple to `outputs[i]`."""

    __slots__ = ("input", "name", "outputs")

    def __init__(self, name: str, input: InputSlot[Any], outputs: tuple[Output[Any], ...]) -> None:
        self.name = name
        self.input = input
        self.outputs = outputs

    def __repr__(self) -> str:
        return f"<Unzip {self.name!r}: {len(self.outputs)} outputs>"


@final
class ForkResult:
    """Sends `Ok.value` to `ok` and `Err.error` to `err`; the other branch is disposed."""

    __slots__ = ("err", "input", "name", "ok")

    def __init__(self, name: str, input: InputSlot[Any], ok: Output[Any], err: Output[Any]) -> None:
        self.name = name
        self.input = input
        self.ok = ok
        self.err = err

    def __repr__(self) -> str:
        return f"<ForkResult {self.name!r}>"


@final
class ForkOption:
    """Sends `None` to `none` and anything else to `some`; the other branch is disposed."""

    __slots__ = ("input", "name", "none", "some")

    def __init__(
        self, name: str, input: InputSlot[Any], some: Output[Any], none: Output[None]
    ) -> None:
        self.name = name
        self.input = input
        self.some = some
        self.none = none

    def __repr__(self) -> str:
        return f"<ForkOption {self.name!r}>"


@final
class SplitOutputs:
    """The outputs of a split: `.key(k)`, `.seq(i)` and `.remaining`.

    For a list or tuple, an int key matches a position; for a dict, a key matches a dict
    key and its value is sent. Elements not taken by a key go, numbered in order, to the
    `seq` outputs, and the rest to `remaining` (dict entries as `(key, value)` pairs).
    """

    __slots__ = ("_builder", "_keys", "_op", "_sequence", "input", "name", "remaining")

    def __init__(
        self, builder: Builder, op: int, keys: tuple[Hashable, ...], sequence: int
    ) -> None:
        self._builder = builder
        self._op = op
        self._keys = keys
        self._sequence = sequence
        self.name = builder._graph.ops[op].name
        self.input: InputSlot[Any] = InputSlot(builder, op)
        self.remaining: Output[Any] = Output(builder, op, len(keys) + sequence)

    def key(self, key: Hashable) -> Output[Any]:
        """The output for `key` (declared with `keys=`)."""
        try:
            position = self._keys.index(key)
        except ValueError:
            raise InvalidArgument(
                f"split {self.name!r} has no key {key!r}; declared keys: {list(self._keys)}. "
                "Declare it with split_outputs(keys=(...))."
            ) from None
        return Output(self._builder, self._op, position)

    def seq(self, index: int) -> Output[Any]:
        """The output for the `index`-th element not taken by a key (`0 <= index < sequence`)."""
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < self._sequence:
            raise InvalidArgument(
                f"split {self.name!r}: seq({index!r}) is out of range; it was declared with "
                f"sequence={self._sequence}, so 0 <= index < {self._sequence}"
            )
        return Output(self._builder, self._op, len(self._keys) + index)

    def __repr__(self) -> str:
        return f"<SplitOutputs {self.name!r} keys={list(self._keys)} sequence={self._sequence}>"


@final
class Builder:
    """Creates the operations of one scope and connects them.

    A build function receives its scope's `Builder`; it is only usable while that
    build function runs. Handles (outputs, input slots) belong to the scope that made
    them: connecting handles of another workflow or scope raises `IncompatibleLayout`.
    """

    __slots__ = ("_graph", "_name_counts", "_parent", "_used")

    def __init__(self, graph: Graph, parent: Builder | None = None) -> None:
        self._graph = graph
        self._parent = parent
        self._used: set[tuple[int, int]] = set()
        self._name_counts: dict[str, int] = {}

    def __repr__(self) -> str:
        state = "built" if self._graph.frozen else "building"
        return (
            f"<Builder of scope {self._graph.name!r} ({state}, {len(self._graph.ops)} operations)>"
        )

    # ------------------------------------------------------------------ internals

    def describe_port(self, op: int, port: int | None) -> str:
        o = self._graph.ops[op]
        where = f"{o.name!r} in scope {self._graph.name!r}"
        if port is None:
            return f"input of {where}"
        return f"output {o.ports[port]!r} of {where}"

    def _check_open(self) -> None:
        if self._graph.frozen:
            raise BuildError(
                f"the builder of scope {self._graph.name!r} was used after its build function "
                "returned; create and connect every operation inside the build function"
            )

    def _unique(self, name: str) -> str:
        count = self._name_counts.get(name, 0) + 1
        self._name_counts[name] = count
        return name if count == 1 else f"{name}#{count}"

    def _add(
        self,
        kind: Kind,
        name: str | None,
        ports: list[str],
        **fields: Any,
    ) -> int:
        self._check_open()
        index = len(self._graph.ops)
        label = self._unique(name) if name is not None else f"{kind.value}#{index}"
        self._graph.ops.append(
            Op(
                index=index,
                kind=kind,
                name=label,
                ports=ports,
                targets=[None] * len(ports),
                **fields,
            )
        )
        return index

    def _add_port(self, op: int, name: str) -> Output[Any]:
        self._check_open()
        o = self._graph.ops[op]
        o.ports.append(name)
        o.targets.append(None)
        return Output(self, op, len(o.ports) - 1)

    def _own(self, handle: Output[Any] | InputSlot[Any], what: str) -> None:
        if not isinstance(handle, (Output, InputSlot)):
            raise InvalidArgument(
                f"{what} must be a cf.Output or cf.InputSlot, got {handle!r} "
                f"of type {type(handle).__name__}"
            )
        owner = handle._owner
        if owner is self:
            return
        other = owner._graph.name if isinstance(owner, Builder) else "?"
        ancestor = self._parent
        while ancestor is not None:
            if ancestor is owner:
                raise IncompatibleLayout(
                    f"{what} {handle!r} belongs to the enclosing scope {other!r}, but this is "
                    f"the builder of nested scope {self._graph.name!r}. A nested scope only "
                    "sees its own scope.start, scope.terminate and what its builder creates; "
                    "pass data in through the scope's request."
                )
            ancestor = ancestor._parent
        raise IncompatibleLayout(
            f"{what} {handle!r} belongs to scope {other!r}, not to {self._graph.name!r} "
            "which this builder builds. Handles can only be connected inside the workflow "
            "(and scope) that created them."
        )

    def _check_free(self, output: Output[Any]) -> None:
        if (output._op, output._port) in self._used:
            raise OutputAlreadyConnected(
                f"{self.describe_port(output._op, output._port)} is already connected; an "
                "output connects to at most one input slot. To send its messages to several "
                "places, fork them: chain.fork_clone(...) or builder.create_fork_clone()."
            )

    def _link(self, output: Output[Any], target: int) -> None:
        self._check_free(output)
        self._used.add((output._op, output._port))
        self._graph.ops[output._op].targets[output._port] = target

    def _discard(self, output: Output[Any]) -> None:
        # the output is used up, but goes nowhere: its messages are dropped (S2.5)
        self._own(output, "output")
        self._check_free(output)
        self._used.add((output._op, output._port))

    def _node_from_spec(self, spec: ProviderSpec, name: str | None) -> tuple[int, Node[Any, Any]]:
        ports = ["response", *spec.streams]
        if spec.kind == "scope":
            index = self._add(Kind.SCOPE, name or spec.name, ports, graph=spec.graph, provider=spec)
        elif spec.kind == "task":
            index = self._add(Kind.TASK, name or spec.name, ports, fn=spec.fn, provider=spec)
        else:
            index = self._add(Kind.CALL, name or spec.name, ports, fn=spec.fn, provider=spec)
        streams = StreamOutputs({s: Output(self, index, i + 1) for i, s in enumerate(spec.streams)})
        node: Node[Any, Any] = Node(
            self._graph.ops[index].name, InputSlot(self, index), Output(self, index, 0), streams
        )
        return index, node

    def _scope_spec(
        self,
        build_fn: Callable[..., None],
        name: str | None,
        settings: ScopeSettings | None,
        streams: Mapping[str, type[Any]] | None,
        where: str,
    ) -> ProviderSpec:
        if not callable(build_fn):
            raise InvalidArgument(
                f"{where} expects a build function (scope, builder) -> None, got {build_fn!r}"
            )
        scope_name = (
            name if name is not None else f"{self._graph.name}/scope#{len(self._graph.ops)}"
        )
        graph = build_graph(
            build_fn,
            name=scope_name,
            settings=check_settings(settings, where),
            streams=check_streams(streams, where),
            parent=self,
        )
        return ProviderSpec(
            kind="scope", name=scope_name, streams=tuple(graph.stream_outs), graph=graph
        )

    # ------------------------------------------------------------------ public

    def chain(self, output: Output[T]) -> Chain[T]:
        """Start a chain of operations from `output`.

        Raises:
            IncompatibleLayout: `output` belongs to another workflow or scope.
        """
        from ._chain import Chain

        self._own(output, "builder.chain(output)")
        return Chain(self, output)

    def connect(self, output: Output[T], input_slot: InputSlot[T]) -> None:
        """Send every message of `output` to `input_slot`.

        Raises:
            OutputAlreadyConnected: `output` is already connected (fork it instead).
            IncompatibleLayout: a handle belongs to another workflow or scope.
        """
        self._check_open()
        self._own(output, "builder.connect(output, ...)")
        if not isinstance(input_slot, InputSlot):
            raise InvalidArgument(
                f"builder.connect(output, input_slot): input_slot must be a cf.InputSlot "
                f"(for example node.input or scope.terminate), got {input_slot!r}"
            )
        self._own(input_slot, "builder.connect(..., input_slot)")
        self._link(output, input_slot._op)

    @overload
    def create_node(
        self, provider: Workflow[Req, Resp], *, name: str | None = None
    ) -> Node[Req, Resp]: ...
    @overload
    def create_node(
        self, provider: Service[Req, Resp], *, name: str | None = None
    ) -> Node[Req, Resp]: ...
    @overload
    def create_node(
        self, provider: Callable[[Req], Coroutine[Any, Any, Resp]], *, name: str | None = None
    ) -> Node[Req, Resp]: ...
    @overload
    def create_node(
        self, provider: Callable[[Req], Resp], *, name: str | None = None
    ) -> Node[Req, Resp]: ...
    def create_node(self, provider: Any, *, name: str | None = None) -> Node[Any, Any]:
        """Create a node that runs `provider` once per message.

        A plain function runs inline (blocking, keep it quick); an `async def` function
        runs as one task per message, concurrently; a `cf.Workflow` runs as a nested
        session per message; a `cf.Service` brings its declared streams.

        Raises:
            InvalidArgument: `provider` is not callable, or is a coroutine object.
        """
        self._check_open()
        if name is not None and not isinstance(name, str):
            raise InvalidArgument(f"create_node(name=...) takes a str, got {name!r}")
        return self._node_from_spec(classify(provider, "builder.create_node()"), name)[1]

    def create_scope(
        self,
        build_fn: Callable[[Scope[Req, Resp], Builder], None],
        *,
        name: str | None = None,
        settings: ScopeSettings | None = None,
        streams: Mapping[str, type[Any]] | None = None,
    ) -> Node[Req, Resp]:
        """Create a nested scope: every message that enters it opens a new child session.

        The child's response comes out of the node's output; its stream messages come
        out of `node.streams.<name>`. A child session that is cancelled records a
        `ScopeCancelled` disposal here instead of cancelling this scope (S1.7).
        """
        spec = self._scope_spec(build_fn, name, settings, streams, "builder.create_scope()")
        return self._node_from_spec(spec, spec.name)[1]

    def create_fork_clone(self) -> ForkClone[Any]:
        """Create a fork that copies each message to every output made by `clone_output()`."""
        return ForkClone(self, self._add(Kind.FORK_CLONE, None, []))

    def create_unzip(self, n: int) -> Unzip:
        """Create an unzip for tuples of length `n`: element `i` goes to `outputs[i]`."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise InvalidArgument(f"create_unzip(n): n must be an int >= 1, got {n!r}")
        index = self._add(Kind.UNZIP, None, [f"element{i}" for i in range(n)])
        outputs = tuple(Output[Any](self, index, i) for i in range(n))
        return Unzip(self._graph.ops[index].name, InputSlot(self, index), outputs)

    def create_fork_result(self) -> ForkResult:
        """Create a fork that routes `cf.Ok` values to `.ok` and `cf.Err` errors to `.err`."""
        index = self._add(Kind.FORK_RESULT, None, ["ok", "err"])
        return ForkResult(
            self._graph.ops[index].name,
            InputSlot(self, index),
            Output(self, index, 0),
            Output(self, index, 1),
        )

    def create_fork_option(self) -> ForkOption:
        """Create a fork that routes `None` to `.none` and anything else to `.some`."""
        index = self._add(Kind.FORK_OPTION, None, ["some", "none"])
        return ForkOption(
            self._graph.ops[index].name,
            InputSlot(self, index),
            Output(self, index, 0),
            Output(self, index, 1),
        )

    def create_collect(self, min: int = 0, max: int | None = None) -> Node[Any, list[Any]]:
        """Create a collect: it gathers messages into a list (S5).

        It emits when `max` items arrived, or when nothing upstream can send more and it
        holds at least `min` items; below `min` it records `DeficientCollection`.

        Raises:
            InvalidArgument: `min < 0` or `max < 1`.
            BuildError: `min > max`.
        """
        check_min_max(min, max, "create_collect()")
        index = self._add(Kind.COLLECT, None, ["collected"], params={"min": min, "max": max})
        return Node(
            self._graph.ops[index].name,
            InputSlot(self, index),
            Output(self, index, 0),
            StreamOutputs({}),
        )

    def create_split(self, keys: Iterable[Hashable] = (), sequence: int = 0) -> SplitOutputs:
        """Create a split (see `Chain.split_outputs`)."""
        key_tuple = tuple(keys)
        if len(set(key_tuple)) != len(key_tuple):
            raise BuildError(f"create_split(keys={key_tuple!r}): a key is listed twice")
        if isinstance(sequence, bool) or not isinstance(sequence, int) or sequence < 0:
            raise InvalidArgument(f"split: sequence must be an int >= 0, got {sequence!r}")
        ports = (
            [f"key:{k!r}" for k in key_tuple]
            + [f"seq:{i}" for i in range(sequence)]
            + ["remaining"]
        )
        index = self._add(Kind.SPLIT, None, ports, params={"keys": key_tuple, "sequence": sequence})
        return SplitOutputs(self, index, key_tuple, sequence)

    def create_cancel(self) -> InputSlot[object]:
        """Create a cancel operation: a message reaching it cancels the scope (`Triggered`
        with `value=str(message)`). It keeps the scope alive like terminate does (S2.2)."""
        return InputSlot(self, self._add(Kind.CANCEL, None, [], params={"quiet": False}))

    def create_quiet_cancel(self) -> InputSlot[object]:
        """Like `create_cancel`, but the cause carries `value=None`."""
        return InputSlot(self, self._add(Kind.CANCEL, None, [], params={"quiet": True}))


def build_graph(
    build_fn: Callable[..., None],
    *,
    name: str,
    settings: ScopeSettings,
    streams: Mapping[str, type[Any]],
    parent: Builder | None = None,
) -> Graph:
    """Run a build function on a fresh scope and return its analysed, frozen graph."""
    graph = Graph(name=name, settings=settings)
    builder = Builder(graph, parent)
    graph.ops.append(Op(index=0, kind=Kind.START, name="start", ports=["request"], targets=[None]))
    graph.ops.append(Op(index=1, kind=Kind.TERMINATE, name="terminate", ports=[], targets=[]))
    builder._name_counts.update({"start": 1, "terminate": 1})
    slots: dict[str, InputSlot[Any]] = {}
    for stream in streams:
        index = builder._add(Kind.STREAM_OUT, f"stream_out:{stream}", [], params={"stream": stream})
        graph.stream_outs[stream] = index
        slots[stream] = InputSlot(builder, index)
    scope: Scope[Any, Any] = Scope(
        name, Output(builder, 0, 0), InputSlot(builder, 1), StreamInputs(slots)
    )
    build_fn(scope, builder)
    graph.frozen = True
    analyse(graph)
    return graph
