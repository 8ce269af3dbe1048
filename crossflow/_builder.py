"""The builder: creates the operations of one scope and connects them."""

from __future__ import annotations

import dataclasses
import inspect
import os
import sys
import warnings
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeAlias, TypeVar, final, overload

import attrs

from ._analysis import analyse, reach_problems
from ._arguments import check_flag, check_name, check_stream_types, shown
from ._buffers import BufferSettings
from ._callables import build_fn_name, check_build_fn, cleanup_form
from ._errors import (
    BuildError,
    IncompatibleLayout,
    InvalidArgument,
    OutputAlreadyConnected,
    UnreachableWarning,
)
from ._graph import Cleanup, Graph, Kind, Op
from ._handles import (
    Buffer,
    InputSlot,
    Node,
    Output,
    Scope,
    StreamInputs,
    StreamOutputs,
    TrimBranch,
)
from ._policy import CancellationPolicy
from ._providers import ProviderSpec, classify, provider_kind
from ._settings import ScopeSettings
from ._text import safe_repr

if TYPE_CHECKING:
    from collections.abc import Coroutine

    from ._chain import Chain
    from ._ending import Ending
    from ._keys import BufferKey
    from ._services import Service
    from ._workflow import Workflow

    # what the cleanup methods take: a build function, or a service called with a cf.Ending
    CleanupFn: TypeAlias = (
        Callable[[Scope[Any, Any], "Builder"], None]
        | Callable[[Ending[Any]], object]
        | Service[Ending[Any], Any]
        | Workflow[Ending[Any], Any]
    )

T = TypeVar("T")
U = TypeVar("U")
A = TypeVar("A")
B = TypeVar("B")
C = TypeVar("C")
D = TypeVar("D")
Req = TypeVar("Req")
Resp = TypeVar("Resp")

BuildFn = Callable[[Scope[Req, Resp], "Builder"], None]


def check_min_max(min: int, max: int | None, where: str) -> None:
    """Validate collect bounds (S5.1); shared by `chain.collect` and `create_collect`."""
    if isinstance(min, bool) or not isinstance(min, int) or min < 0:
        raise InvalidArgument(f"{where}: min must be an int >= 0, got {shown(min)}")
    if max is not None:
        if isinstance(max, bool) or not isinstance(max, int) or max < 1:
            raise InvalidArgument(f"{where}: max must be an int >= 1 or None, got {shown(max)}")
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
            f"{where}: settings must be a cf.ScopeSettings, for example "
            f"cf.ScopeSettings(timeout=5), got {shown(settings)}"
        )
    return settings


def check_policy(policy: object, kind: Kind, name: str, where: str) -> CancellationPolicy:
    """Validate a node's cancellation policy (S6.6)."""
    if not isinstance(policy, CancellationPolicy):
        raise InvalidArgument(
            f"{where}: cancellation must be a cf.CancellationPolicy (WAIT, TRY_CANCEL or "
            f"ABANDON), got {shown(policy)}"
        )
    if policy is not CancellationPolicy.WAIT and kind is Kind.CALL:
        raise InvalidArgument(
            f"{where}: {name!r} is a blocking service: it runs to its end inline and is never "
            f"cancelled, so cancellation={policy!r} would change nothing. Cancellation "
            "policies apply to async services, nested scopes and workflows."
        )
    return policy


def _handle_hint(value: object) -> str:
    """What the user probably meant, for a handle given where another kind is needed."""
    if isinstance(value, Node):
        return "; a node has an input and an output: use node.input or node.output"
    if isinstance(value, Scope):
        return "; use scope.start (an output) or scope.terminate (an input slot)"
    if isinstance(getattr(value, "_output", None), Output):  # a cf.Chain
        return "; this is a chain: continue it directly, or take its output with chain.output()"
    return ""


def _not_an_output(value: object, where: str) -> InvalidArgument:
    """The error for something given where a `cf.Output` is needed."""
    if isinstance(value, InputSlot):
        hint = (
            "; an input slot is where messages go in (node.input, scope.terminate): start from "
            "an output, such as scope.start or node.output, and connect it to this slot"
        )
    elif isinstance(value, Buffer):
        hint = (
            f"; a buffer stores messages and has no output: read buffer {value.name!r} with "
            "builder.join(buffer) or builder.listen(buffer)"
        )
    else:
        hint = _handle_hint(value)
    return InvalidArgument(
        f"{where} needs a cf.Output (where an operation's messages come out, such as "
        f"scope.start or node.output), got {shown(value)}{hint}"
    )


def _not_an_input(value: object, where: str) -> InvalidArgument:
    """The error for something given where a `cf.InputSlot` (or buffer) is needed."""
    if isinstance(value, Output):
        hint = (
            "; an output is where messages come out: connect an output *to* an input slot, "
            "such as node.input or scope.terminate"
        )
    elif callable(value) and not isinstance(value, type):
        hint = (
            "; to send the messages to a function, make it a node: chain.then(fn), or "
            "builder.create_node(fn).input"
        )
    else:
        hint = _handle_hint(value)
    return InvalidArgument(
        f"{where} needs a cf.InputSlot (where messages go in, such as node.input or "
        f"scope.terminate) or a cf.Buffer, got {shown(value)}{hint}"
    )


def _check_split_keys(keys: object, where: str) -> tuple[Hashable, ...]:
    if isinstance(keys, (str, bytes)):
        raise InvalidArgument(
            f"{where}: keys takes a list or tuple of keys, got the string {keys!r}, which would "
            f"be split into its characters; for one key write keys=({keys!r},)"
        )
    if isinstance(keys, Mapping) or not isinstance(keys, Iterable):
        raise InvalidArgument(
            f"{where}: keys takes a list or tuple of keys (dict keys or positions), got "
            f"{shown(keys)}"
        )
    key_tuple = tuple(keys)
    for key in key_tuple:
        try:
            hash(key)
        except TypeError:
            raise InvalidArgument(
                f"{where}: a split key must be hashable (a str, an int, a tuple, ...), got "
                f"{shown(key)}"
            ) from None
    if len(set(key_tuple)) != len(key_tuple):
        raise BuildError(
            f"{where}: a key is listed twice in keys={key_tuple!r}; list each key once"
        )
    return key_tuple


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
        if isinstance(index, bool) or not isinstance(index, int):
            raise InvalidArgument(
                f"split {self.name!r}: seq(index) takes an int, got {shown(index)}"
            )
        if not 0 <= index < self._sequence:
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

    __slots__ = ("_disposed", "_graph", "_name_counts", "_parent", "_used")

    def __init__(self, graph: Graph, parent: Builder | None = None) -> None:
        self._graph = graph
        self._parent = parent
        self._used: set[tuple[int, int]] = set()
        self._disposed: set[tuple[int, int]] = set()  # outputs ended with chain.dispose()
        self._name_counts: dict[str, int] = {}

    def __repr__(self) -> str:
        state = "built" if self._graph.frozen else "building"
        return (
            f"<Builder of scope {self._graph.name!r} ({state}, {len(self._graph.ops)} operations)>"
        )

    # ------------------------------------------------------------------ internals

    def _describe_port(self, op: int, port: int | None) -> str:
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
        """`name`, or `name#2`, `name#3`, ...: the first one no operation of the scope has."""
        counts = self._name_counts
        if name not in counts:
            counts[name] = 1
            return name
        n = counts[name]
        while True:
            n += 1
            candidate = f"{name}#{n}"
            if candidate not in counts:
                counts[name] = n
                counts[candidate] = 1
                return candidate

    def _add(
        self,
        kind: Kind,
        name: str | None,
        ports: list[str],
        *,
        reserved: bool = False,
        **fields: Any,
    ) -> int:
        # `reserved`: `name` was already made unique with `_unique` (nested scopes reserve
        # theirs before building their body, whose graph carries the same name)
        self._check_open()
        index = len(self._graph.ops)
        if name is None:
            label = self._unique(f"{kind.value}#{index}")
        else:
            label = name if reserved else self._unique(name)
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

    def _own(self, handle: Output[Any] | InputSlot[Any] | Buffer[Any], what: str) -> None:
        """`handle` (whose type the caller checked) must belong to this builder."""
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
                f"{self._describe_port(output._op, output._port)} is already connected; an "
                "output connects to at most one input slot. To send its messages to several "
                "places, fork them: chain.fork_clone(...) or builder.create_fork_clone()."
            )

    def _link(self, output: Output[Any], target: int) -> None:
        self._check_free(output)
        self._used.add((output._op, output._port))
        self._graph.ops[output._op].targets[output._port] = target

    def _discard(self, output: Output[Any]) -> None:
        # the output is used up, but goes nowhere: its messages are dropped (S2.5)
        self._output_arg(output, "chain.dispose()")
        self._check_free(output)
        self._used.add((output._op, output._port))
        self._disposed.add((output._op, output._port))

    def _output_arg(self, output: object, where: str) -> Output[Any]:
        """`output` must be a `cf.Output` of this scope."""
        if not isinstance(output, Output):
            raise _not_an_output(output, where)
        self._own(output, where)
        return output

    def _input_arg(self, input_slot: object, where: str) -> InputSlot[Any] | Buffer[Any]:
        """`input_slot` must be a `cf.InputSlot` or a `cf.Buffer` of this scope."""
        if not isinstance(input_slot, (InputSlot, Buffer)):
            raise _not_an_input(input_slot, where)
        self._own(input_slot, where)
        return input_slot

    def _connect(self, output: object, input_slot: object, where: str) -> None:
        self._check_open()
        checked = self._output_arg(output, where)
        slot = self._input_arg(input_slot, where)
        self._link(checked, slot._op)

    def _node_from_spec(
        self,
        spec: ProviderSpec,
        name: str | None,
        cancellation: object = CancellationPolicy.WAIT,
        where: str = "builder.create_node()",
        *,
        reserved: bool = False,
    ) -> tuple[int, Node[Any, Any]]:
        ports = ["response", *spec.streams]
        kind = {"scope": Kind.SCOPE, "task": Kind.TASK}.get(spec.kind, Kind.CALL)
        label = name or spec.name
        policy = check_policy(cancellation, kind, label, where)
        params = {"policy": policy}
        if kind is Kind.SCOPE:
            index = self._add(
                kind,
                label,
                ports,
                reserved=reserved,
                graph=spec.graph,
                provider=spec,
                params=params,
            )
        else:
            index = self._add(kind, label, ports, fn=spec.fn, provider=spec, params=params)
        streams = StreamOutputs({s: Output(self, index, i + 1) for i, s in enumerate(spec.streams)})
        node: Node[Any, Any] = Node(
            self._graph.ops[index].name, InputSlot(self, index), Output(self, index, 0), streams
        )
        return index, node

    def _scope_spec(
        self,
        build_fn: object,
        name: object,
        settings: object,
        streams: object,
        where: str,
        step_hint: str,
    ) -> ProviderSpec:
        """Check the arguments of a nested scope, reserve its name and build its body.

        The scope is named `name`, or after its build function (`pricing`; a lambda after
        where it was written); a name repeated in this scope gets `#2`, `#3`, ...
        """
        self._check_open()
        given = check_name(name, f"{where.removesuffix('()')}(name=...)")
        kind = provider_kind(build_fn)
        if kind is not None:
            label = getattr(build_fn, "name", "provider")
            raise InvalidArgument(
                f"{where} expects a build function `def build(scope, builder) -> None`, got "
                f"the {kind} {safe_repr(build_fn)}. {step_hint.format(name=label)}"
            )
        check_build_fn(build_fn, where, step_hint)
        assert callable(build_fn)  # invariant: check_build_fn rejected everything else
        settings_ = check_settings(settings, where)
        stream_types = check_stream_types(streams, where)
        label = self._unique(given if given is not None else build_fn_name(build_fn))
        graph = build_graph(
            build_fn,
            name=label,
            settings=settings_,
            streams=stream_types,
            parent=self,
            what="nested scope",
        )
        return ProviderSpec(kind="scope", name=label, streams=tuple(graph.stream_outs), graph=graph)

    # ------------------------------------------------------------------ public

    def chain(self, output: Output[T]) -> Chain[T]:
        """Start a chain of operations from `output`.

        Raises:
            IncompatibleLayout: `output` belongs to another workflow or scope.
        """
        from ._chain import Chain

        self._check_open()
        return Chain(self, self._output_arg(output, "builder.chain(output)"))

    def connect(self, output: Output[T], input_slot: InputSlot[T] | Buffer[T]) -> None:
        """Send every message of `output` to `input_slot` (or into a buffer).

        Raises:
            OutputAlreadyConnected: `output` is already connected (fork it instead).
            IncompatibleLayout: a handle belongs to another workflow or scope.
        """
        self._connect(output, input_slot, "builder.connect(output, input_slot)")

    @overload
    def create_node(
        self,
        provider: Workflow[Req, Resp],
        *,
        name: str | None = None,
        cancellation: CancellationPolicy = CancellationPolicy.WAIT,
    ) -> Node[Req, Resp]: ...
    @overload
    def create_node(
        self,
        provider: Service[Req, Resp],
        *,
        name: str | None = None,
        cancellation: CancellationPolicy = CancellationPolicy.WAIT,
    ) -> Node[Req, Resp]: ...
    @overload
    def create_node(
        self,
        provider: Callable[[Req], Coroutine[Any, Any, Resp]],
        *,
        name: str | None = None,
        cancellation: CancellationPolicy = CancellationPolicy.WAIT,
    ) -> Node[Req, Resp]: ...
    @overload
    def create_node(
        self,
        provider: Callable[[Req], Resp],
        *,
        name: str | None = None,
        cancellation: CancellationPolicy = CancellationPolicy.WAIT,
    ) -> Node[Req, Resp]: ...
    def create_node(
        self,
        provider: Any,
        *,
        name: str | None = None,
        cancellation: CancellationPolicy = CancellationPolicy.WAIT,
    ) -> Node[Any, Any]:
        """Create a node that runs `provider` once per message.

        A plain function runs inline (blocking, keep it quick); an `async def` function
        runs as one task per message, concurrently; a `cf.Workflow` runs as a nested
        session per message; a `cf.Service` brings its declared streams.

        `cancellation` says what the scope's cleanup does with the node's running task
        or nested session (S6.6): `WAIT` (default) cancels it and waits for its own
        cleanup, `TRY_CANCEL` cancels it without waiting, `ABANDON` lets it run on.

        Raises:
            InvalidArgument: `provider` is not callable, or is a coroutine object; a
                `cancellation` that is not a `cf.CancellationPolicy`, or other than
                `WAIT` for a blocking service.
        """
        self._check_open()
        given = check_name(name, "builder.create_node(name=...)")
        spec = classify(provider, "builder.create_node()")
        return self._node_from_spec(spec, given, cancellation, "builder.create_node()")[1]

    def create_scope(
        self,
        build_fn: Callable[[Scope[Req, Resp], Builder], None],
        *,
        name: str | None = None,
        settings: ScopeSettings | None = None,
        streams: Mapping[str, type[Any]] | None = None,
        cancellation: CancellationPolicy = CancellationPolicy.WAIT,
    ) -> Node[Req, Resp]:
        """Create a nested scope: every message that enters it opens a new child session.

        The child's response comes out of the node's output; its stream messages come
        out of `node.streams.<name>`. A child session that is cancelled records a
        `ScopeCancelled` disposal here instead of cancelling this scope (S1.7).
        `cancellation` is the node's cancellation policy (S6.6), as for `create_node`.
        """
        where = "builder.create_scope()"
        hint = "To run it on every message, use builder.create_node({name})."
        spec = self._scope_spec(build_fn, name, settings, streams, where, hint)
        return self._node_from_spec(spec, spec.name, cancellation, where, reserved=True)[1]

    def create_fork_clone(self) -> ForkClone[Any]:
        """Create a fork that copies each message to every output made by `clone_output()`."""
        return ForkClone(self, self._add(Kind.FORK_CLONE, None, []))

    def create_unzip(self, n: int) -> Unzip:
        """Create an unzip for tuples of length `n`: element `i` goes to `outputs[i]`."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise InvalidArgument(f"create_unzip(n): n must be an int >= 1, got {shown(n)}")
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
        """Create a split (see `Chain.split_outputs`).

        Raises:
            InvalidArgument: `keys` is not a list or tuple of hashable keys (a `str` is
                refused: it is not a list of its characters), or `sequence` is not an
                int >= 0.
            BuildError: a key is listed twice.
        """
        self._check_open()
        key_tuple = _check_split_keys(keys, "create_split()")
        if isinstance(sequence, bool) or not isinstance(sequence, int) or sequence < 0:
            raise InvalidArgument(
                f"create_split(): sequence must be an int >= 0, got {shown(sequence)}"
            )
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

    # ------------------------------------------------------------------ buffers [sync]

    def _buffer_op(self, item: object, where: str, outputs: bool) -> tuple[int, bool]:
        if isinstance(item, Buffer):
            self._own(item, where)
            return item._op, item._clone
        if outputs and isinstance(item, Output):
            self._own(item, where)
            buffer = self.create_buffer()
            self._connect(item, buffer, where)
            return buffer._op, False
        expected = "cf.Buffer or cf.Output" if outputs else "cf.Buffer"
        hint = _handle_hint(item)
        if isinstance(item, Output):
            hint = (
                "; an output holds nothing: connect it into a buffer "
                "(builder.create_buffer()) and give the buffer here"
            )
        raise InvalidArgument(
            f"{where} takes a {expected}, a tuple of them or a dict of them, got "
            f"{shown(item)}{hint}"
        )

    def _buffer_set(
        self, buffers: object, where: str, outputs: bool = False, allow_empty: bool = False
    ) -> tuple[str, tuple[str, ...], tuple[int, ...], tuple[bool, ...]]:
        """Validate a buffers argument: one buffer, a tuple (or list), or a dict."""
        self._check_open()
        if isinstance(buffers, (Buffer, Output)):
            shape, names, items = "one", (), [buffers]
        elif isinstance(buffers, (tuple, list)):
            shape, names, items = "tuple", (), list(buffers)
        elif isinstance(buffers, Mapping):
            for key in buffers:
                if not isinstance(key, str):
                    raise InvalidArgument(f"{where}: dict keys must be str, got {shown(key)}")
            shape, names, items = "dict", tuple(buffers), list(buffers.values())
        else:
            self._buffer_op(buffers, where, outputs)  # raises with a precise message
            raise AssertionError("unreachable")  # pragma: no cover
        if not items and not allow_empty:
            raise BuildError(
                f"{where} got no buffers; give at least one buffer (a join or listener of "
                "nothing could never fire)"
            )
        ops: list[int] = []
        clones: list[bool] = []
        for item in items:
            op, clone = self._buffer_op(item, where, outputs)
            if op in ops:
                raise BuildError(
                    f"{where}: buffer {self._graph.ops[op].name!r} is listed twice in scope "
                    f"{self._graph.name!r}; each buffer may appear once. To use its items twice, "
                    "fork them into two buffers."
                )
            ops.append(op)
            clones.append(clone)
        return shape, names, tuple(ops), tuple(clones)

    def create_buffer(
        self, settings: BufferSettings | None = None, *, name: str | None = None
    ) -> Buffer[Any]:
        """Create a buffer: it stores, per session, the messages sent into it (S7.1).

        `settings` defaults to `BufferSettings.keep_last(1)`. Annotate the result to type
        it: `pans: cf.Buffer[Pan] = builder.create_buffer(cf.BufferSettings.keep_all())`.
        """
        if settings is None:
            settings = BufferSettings.keep_last(1)
        if not isinstance(settings, BufferSettings):
            raise InvalidArgument(
                "create_buffer(settings=...) takes a cf.BufferSettings, such as "
                f"cf.BufferSettings.keep_all(), got {shown(settings)}"
            )
        given = check_name(name, "create_buffer(name=...)")
        index = self._add(Kind.BUFFER, given or "buffer", [], params={"settings": settings})
        return Buffer(self, index, self._graph.ops[index].name)

    @overload
    def join(self, buffers: Buffer[A] | Output[A], *, name: str | None = None) -> Chain[A]: ...
    @overload
    def join(
        self, buffers: tuple[Buffer[A] | Output[A]], *, name: str | None = None
    ) -> Chain[tuple[A]]: ...
    @overload
    def join(
        self,
        buffers: tuple[Buffer[A] | Output[A], Buffer[B] | Output[B]],
        *,
        name: str | None = None,
    ) -> Chain[tuple[A, B]]: ...
    @overload
    def join(
        self,
        buffers: tuple[Buffer[A] | Output[A], Buffer[B] | Output[B], Buffer[C] | Output[C]],
        *,
        name: str | None = None,
    ) -> Chain[tuple[A, B, C]]: ...
    @overload
    def join(
        self,
        buffers: tuple[
            Buffer[A] | Output[A],
            Buffer[B] | Output[B],
            Buffer[C] | Output[C],
            Buffer[D] | Output[D],
        ],
        *,
        name: str | None = None,
    ) -> Chain[tuple[A, B, C, D]]: ...
    @overload
    def join(
        self,
        buffers: Mapping[str, Buffer[Any] | Output[Any]],
        *,
        into: Callable[..., U],
        name: str | None = None,
    ) -> Chain[U]: ...
    @overload
    def join(
        self, buffers: Mapping[str, Buffer[Any] | Output[Any]], *, name: str | None = None
    ) -> Chain[dict[str, Any]]: ...
    @overload
    def join(
        self, buffers: tuple[Buffer[Any] | Output[Any], ...], *, name: str | None = None
    ) -> Chain[tuple[Any, ...]]: ...
    def join(
        self, buffers: Any, *, into: Callable[..., Any] | None = None, name: str | None = None
    ) -> Chain[Any]:
        """Join buffers: while every one holds an item, take the oldest of each and emit
        them together (S7.2).

        A tuple of buffers gives tuples, a dict gives dicts, and `into=` a class (an
        attrs class, a dataclass or any callable taking the keys as keyword arguments)
        builds one object per firing. Plain outputs get an implicit `keep_last(1)`
        buffer. A buffer marked with `buffer.join_by_cloning()` is copied, not pulled.

        Raises:
            BuildError: no buffers, a buffer listed twice, or keys that do not match the
                fields of `into`.
            IncompatibleLayout: a buffer of another workflow or scope.
        """
        from ._chain import Chain

        given = check_name(name, "builder.join(name=...)")
        if into is not None and not callable(into):
            raise InvalidArgument(
                "builder.join(into=...) takes a class or callable that receives the keys as "
                f"keyword arguments, got {shown(into)}"
            )
        shape, names, ops, clones = self._buffer_set(buffers, "builder.join()", outputs=True)
        if into is not None:
            if shape != "dict":
                raise BuildError(
                    "builder.join(..., into=...) needs a dict of buffers, whose keys name the "
                    f"arguments of {getattr(into, '__qualname__', into)!r}"
                )
            _check_into(into, names)
        index = self._add(
            Kind.JOIN,
            given or "join",
            ["joined"],
            params={"buffers": ops, "clone": clones, "shape": shape, "names": names, "into": into},
        )
        return Chain(self, Output(self, index, 0))

    @overload
    def listen(self, buffers: Buffer[A], *, name: str | None = None) -> Chain[BufferKey[A]]: ...
    @overload
    def listen(
        self, buffers: tuple[Buffer[A], Buffer[B]], *, name: str | None = None
    ) -> Chain[tuple[BufferKey[A], BufferKey[B]]]: ...
    @overload
    def listen(
        self, buffers: Mapping[str, Buffer[Any]], *, name: str | None = None
    ) -> Chain[dict[str, BufferKey[Any]]]: ...
    @overload
    def listen(
        self, buffers: tuple[Buffer[Any], ...], *, name: str | None = None
    ) -> Chain[tuple[BufferKey[Any], ...]]: ...
    def listen(self, buffers: Any, *, name: str | None = None) -> Chain[Any]:
        """Emit keys to `buffers` once per change of any of them (S7.3).

        The keys come in the shape of `buffers`: one key, a tuple or a dict of keys.
        Changes made through the keys it emitted do not wake it again, unless the
        service uses `key.allow_closed_loops()`.
        """
        from ._chain import Chain

        given = check_name(name, "builder.listen(name=...)")
        shape, names, ops, _ = self._buffer_set(buffers, "builder.listen()")
        index = self._add(
            Kind.LISTEN,
            given or "listen",
            ["keys"],
            params={"buffers": ops, "shape": shape, "names": names},
        )
        return Chain(self, Output(self, index, 0))

    def _gate(self, buffers: object, open: bool, where: str) -> Node[Any, Any]:
        _shape, _names, ops, _ = self._buffer_set(buffers, where)
        index = self._add(
            Kind.GATE,
            "gate_open" if open else "gate_close",
            ["passed"],
            params={"buffers": ops, "open": open},
        )
        return Node(
            self._graph.ops[index].name,
            InputSlot(self, index),
            Output(self, index, 0),
            StreamOutputs({}),
        )

    def create_gate_open(self, buffers: Any) -> Node[Any, Any]:
        """Create an operation that opens the gates of `buffers` and passes each message on.

        Opening a closed gate wakes the buffer's listeners and joins (S7.3).
        """
        return self._gate(buffers, True, "builder.create_gate_open()")

    def create_gate_close(self, buffers: Any) -> Node[Any, Any]:
        """Create an operation that closes the gates of `buffers` and passes each message on.

        A closed buffer still stores items but wakes no listener or join (S7.4); closing
        records a `ClosedGate` disposal.
        """
        return self._gate(buffers, False, "builder.create_gate_close()")

    def create_trim(self, *branches: TrimBranch) -> Node[Any, Any]:
        """Create a trim: each message cleans up the operations of `branches` for its
        session (their queued messages are dropped, tasks cancelled, nested sessions
        interrupted), then records a `Trimming` disposal and passes the message on."""
        if not branches:
            raise BuildError("create_trim() needs at least one cf.TrimBranch")
        spans: list[tuple[str, int, int]] = []
        for branch in branches:
            if not isinstance(branch, TrimBranch):
                raise InvalidArgument(
                    "a trim takes cf.TrimBranch values, such as "
                    f"cf.TrimBranch.downstream(node), got {shown(branch)}"
                )
            a = self._point(branch.start)
            b = self._point(branch.end) if branch.how == "between" else -1
            spans.append((branch.how, a, b))
        index = self._add(Kind.TRIM, "trim", ["passed"], params={"branches": tuple(spans)})
        return Node(
            self._graph.ops[index].name,
            InputSlot(self, index),
            Output(self, index, 0),
            StreamOutputs({}),
        )

    def _point(self, point: object) -> int:
        if isinstance(point, Node):
            point = point.input
        return self._input_arg(point, "cf.TrimBranch point")._op

    def _cleanup(self, when: str, buffers: object, build_fn: object, ending: object) -> None:
        where = f"builder.on_{when}()"
        self._check_open()
        shape, names, ops, _ = self._buffer_set(buffers, where, allow_empty=True)
        wants_ending = check_flag(ending, f"{where}: ending=")
        is_provider = provider_kind(build_fn) is not None
        form = "service" if is_provider else cleanup_form(build_fn, where)
        count = sum(1 for c in self._graph.cleanups if c.when == when) + 1
        name = f"{self._graph.name}/on_{when}#{count}"
        if form == "service":
            # the one-line form: the cleanup workflow calls the service once, with the
            # cf.Ending as its request
            spec = classify(build_fn, where)

            def build(scope: Scope[Any, Any], builder: Builder) -> None:
                node = builder._node_from_spec(spec, None, CancellationPolicy.WAIT, where)[1]
                builder._connect(scope.start, node.input, where)
                builder._connect(node.output, scope.terminate, where)

            graph = build_graph(
                build,
                name=name,
                settings=ScopeSettings(),
                streams={},
                parent=self,
                what="cleanup workflow",
            )
            wants_ending = True
        else:
            check_build_fn(build_fn, where)
            assert callable(build_fn)  # invariant: check_build_fn rejected everything else
            graph = build_graph(
                build_fn,
                name=name,
                settings=ScopeSettings(),
                streams={},
                parent=self,
                what="cleanup workflow",
            )
        self._graph.cleanups.append(Cleanup(when, shape, names, ops, graph, ending=wants_ending))

    def on_cancel(self, buffers: Any, build_fn: CleanupFn, *, ending: bool = False) -> None:
        """Add a cleanup workflow that runs after the scope is cancelled or interrupted.

        It starts once the scope's operations are cleaned up; its response is ignored.
        The scope's cancellation is delivered only when it has ended (S6.1-S6.3).
        `buffers` are the buffers it gets keys to: one buffer, a tuple or a dict of
        them (`()` for none); the keys come in the same shape.

        `build_fn` takes one of two forms:

        * a build function `def build(scope, builder)`, which builds the cleanup
          workflow. Its request is the keys, or, with `ending=True`, a `cf.Ending`
          holding the keys and how the session ended.
        * the one-line form: a service called once, whose request is a `cf.Ending`
          (`ending.keys`, `ending.cancellation`): a function of one argument (plain or
          async), a `cf.Service` or a `cf.Workflow`.
          `builder.on_cancel(pans, undo)` is the same as a build function that
          connects `scope.start` to `undo` and `undo` to `scope.terminate`.

        A function with two required positional parameters is a build function, one
        that takes one argument is the one-line form; a callable whose signature cannot
        be read is taken as a build function.

        Raises:
            InvalidArgument: `build_fn` is neither form (the message explains both),
                an async build function, or `ending` is not a bool.
        """
        self._cleanup("cancel", buffers, build_fn, ending)

    def on_terminate(self, buffers: Any, build_fn: CleanupFn, *, ending: bool = False) -> None:
        """Add a cleanup workflow that runs after the scope reached terminate.

        Both forms and `ending=` are as for `on_cancel`; the `cf.Ending` it gets says
        the session terminated (`ending.cancellation is None`).
        """
        self._cleanup("terminate", buffers, build_fn, ending)

    def on_cleanup(self, buffers: Any, build_fn: CleanupFn, *, ending: bool = False) -> None:
        """Add a cleanup workflow that runs whenever the scope ends (see `on_cancel`).

        Its `cf.Ending` (one-line form, or `ending=True`) tells a cancellation from a
        terminate.
        """
        self._cleanup("cleanup", buffers, build_fn, ending)


def _check_into(into: Callable[..., Any], names: tuple[str, ...]) -> None:
    """A keyed join into a class: its keys must be exactly the required/allowed fields."""
    label = getattr(into, "__qualname__", repr(into))
    if not callable(into):
        raise InvalidArgument(
            f"builder.join(into=...) takes a class or callable, got {shown(into)}"
        )
    required: set[str]
    allowed: set[str] | None
    if isinstance(into, type) and attrs.has(into):
        fields = [f for f in attrs.fields(into) if f.init]
        allowed = {f.alias or f.name for f in fields}
        required = {f.alias or f.name for f in fields if f.default is attrs.NOTHING}
    elif isinstance(into, type) and dataclasses.is_dataclass(into):
        fields_ = [f for f in dataclasses.fields(into) if f.init]
        allowed = {f.name for f in fields_}
        required = {
            f.name
            for f in fields_
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        }
    else:
        try:
            signature = inspect.signature(into)
        except (TypeError, ValueError):
            return  # nothing to check against
        allowed, required = set(), set()
        for p in signature.parameters.values():
            if p.kind is p.VAR_KEYWORD:
                allowed = None
                break
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
                allowed.add(p.name)
                if p.default is p.empty:
                    required.add(p.name)
    given = set(names)
    missing = sorted(required - given)
    unknown = sorted(given - allowed) if allowed is not None else []
    if missing or unknown:
        parts = []
        if missing:
            parts.append(f"no buffer for {', '.join(missing)}")
        if unknown:
            parts.append(f"{label} has no field {', '.join(unknown)}")
        raise BuildError(
            f"builder.join(..., into={label}): the keys {sorted(given)} do not match the "
            f"fields of {label}: {'; '.join(parts)}. Use one key per field."
        )


def build_graph(
    build_fn: Callable[..., object],
    *,
    name: str,
    settings: ScopeSettings,
    streams: Mapping[str, type[Any]],
    parent: Builder | None = None,
    what: str = "workflow",
) -> Graph:
    """Run a build function on a fresh scope and return its analysed, frozen graph.

    Warns `UnreachableWarning` (API §10) when the graph has parts no message can reach;
    `what` names the graph in that warning.
    """
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
    result = build_fn(scope, builder)
    if inspect.isawaitable(result):  # an object whose __call__ returns a coroutine
        if inspect.iscoroutine(result):
            result.close()  # it will never run
        raise InvalidArgument(
            f"the build function of {what} {name!r} returned an awaitable: build functions "
            "run synchronously, once, while the workflow is built; make it a plain function"
        )
    graph.frozen = True
    analyse(graph)
    problems = reach_problems(graph, builder._disposed, what)
    if problems is not None:
        warn_at_user_code(problems, UnreachableWarning)
    return graph


def warn_at_user_code(message: str, category: type[Warning]) -> None:
    """Issue a warning that points at the first caller outside crossflow: the line that
    built the workflow or scope, however deep the build functions nest."""
    level = 2  # the caller of this function
    frame = sys._getframe(1)
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)


_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep
