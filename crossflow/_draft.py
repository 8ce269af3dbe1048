"""The graph of one scope while its build function runs, and how it becomes a `Graph`.

A `Draft` holds the operations created so far, their ports and connections, and checks
every addition where it is made (handles of another scope, an output connected twice,
a builder used after its build function returned). `Builder` and `Chain` are the user's
views of it. When the build function returns, `freeze()` turns the draft into the
immutable `Graph` that the runtime and every tool read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import attrs

from ._analysis import Edges, Skeleton, trim_span
from ._arguments import check_flag, check_name, check_stream_types, shown
from ._buffers import BufferSettings
from ._callables import build_fn_name, check_build_fn, cleanup_form
from ._checks import (
    check_into,
    check_min_max,
    check_policy,
    check_settings,
    check_split_keys,
    handle_hint,
    not_an_input,
    not_an_output,
)
from ._errors import BuildError, IncompatibleLayout, InvalidArgument, OutputAlreadyConnected
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
from ._model import (
    AccessSettings,
    CancelSettings,
    CleanupWhen,
    CleanupWorkflow,
    CollectSettings,
    Connection,
    DelaySettings,
    FilterMode,
    FilterSettings,
    ForkCloneSettings,
    GateSettings,
    Graph,
    JoinSettings,
    KeyShape,
    NestedScopeSettings,
    NodeSettings,
    Operation,
    OperationKind,
    OperationSettings,
    PushSettings,
    SplitSettings,
    StreamOutSettings,
    TrimBranchSettings,
    TrimSettings,
)
from ._operation_handles import SplitOutputs
from ._policy import CancellationPolicy
from ._providers import ProviderSpec, classify, provider_kind
from ._settings import ScopeSettings
from ._text import safe_repr


class NestedBuilder(Protocol):
    """Builds the graph of a nested scope or cleanup workflow (the scope driver)."""

    def __call__(
        self,
        build_fn: Callable[..., object],
        *,
        name: str,
        settings: ScopeSettings,
        streams: Mapping[str, object],
        parent: Draft | None = None,
        what: str = "workflow",
    ) -> Graph: ...


class DraftOperation:
    """One operation of a draft: what becomes an `Operation`, plus its targets by port."""

    __slots__ = ("body", "kind", "name", "ports", "settings", "targets")

    def __init__(
        self,
        kind: OperationKind,
        name: str,
        ports: list[str],
        settings: OperationSettings,
        body: Graph | None,
    ) -> None:
        self.kind = kind
        self.name = name
        self.ports = ports
        self.targets: list[int | None] = [None] * len(ports)
        self.settings = settings
        self.body = body

    def __repr__(self) -> str:
        return f"<DraftOperation {self.name!r} {self.kind}>"


@attrs.frozen
class DraftCleanup:
    when: CleanupWhen
    shape: KeyShape
    keys: tuple[str, ...]
    buffers: tuple[int, ...]
    ending: bool
    body: Graph


class Draft:
    """The operations of one scope while its build function runs."""

    __slots__ = (
        "cleanups",
        "disposed",
        "name",
        "names",
        "nested",
        "open",
        "ops",
        "parent",
        "settings",
        "stream_outs",
        "used",
    )

    def __init__(
        self,
        name: str,
        settings: ScopeSettings,
        streams: Mapping[str, object],
        parent: Draft | None,
        nested: NestedBuilder,
    ) -> None:
        self.name = name
        self.settings = settings
        self.parent = parent
        self.nested = nested
        self.open = True
        self.ops: list[DraftOperation] = []
        # name -> the highest number given to it (`name#2`, ...): names are unique
        self.names: dict[str, int] = {}
        self.used: set[tuple[int, int]] = set()  # outputs connected (or disposed)
        self.disposed: set[tuple[int, int]] = set()  # outputs ended with chain.dispose()
        self.cleanups: list[DraftCleanup] = []
        self.stream_outs: dict[str, int] = {}
        self.add("start", "start", ["out"])
        self.add("terminate", "terminate", [])
        for stream in streams:
            self.stream_outs[stream] = self.add(
                "stream_out", f"stream_out:{stream}", [], StreamOutSettings(stream)
            )

    def __repr__(self) -> str:
        state = "building" if self.open else "built"
        return f"<Draft {self.name!r} ({state}, {len(self.ops)} operations)>"

    def scope_handle(self) -> Scope[Any, Any]:
        """The `cf.Scope` the build function receives."""
        slots = {stream: InputSlot[Any](self, op) for stream, op in self.stream_outs.items()}
        return Scope(self.name, Output(self, 0, 0), InputSlot(self, 1), StreamInputs(slots))

    # ------------------------------------------------------------------ basics

    def name_of(self, op: int) -> str:
        return self.ops[op].name

    def describe_port(self, op: int, port: int | None) -> str:
        o = self.ops[op]
        where = f"{o.name!r} in scope {self.name!r}"
        if port is None:
            return f"input of {where}"
        return f"output {o.ports[port]!r} of {where}"

    def check_open(self) -> None:
        if not self.open:
            raise BuildError(
                f"the builder of scope {self.name!r} was used after its build function "
                "returned; create and connect every operation inside the build function"
            )

    def unique(self, name: str) -> str:
        """`name`, or `name#2`, `name#3`, ...: the first one no operation of the scope has."""
        names = self.names
        if name not in names:
            names[name] = 1
            return name
        n = names[name]
        while True:
            n += 1
            candidate = f"{name}#{n}"
            if candidate not in names:
                names[name] = n
                names[candidate] = 1
                return candidate

    def add(
        self,
        kind: OperationKind,
        name: str | None,
        ports: list[str],
        settings: OperationSettings = None,
        body: Graph | None = None,
        *,
        reserved: bool = False,
    ) -> int:
        """Add an operation; `name` None gives an automatic one (`kind#position`).

        `reserved`: `name` was already made unique with `unique` (nested scopes reserve
        theirs before building their body, whose graph carries the same name).
        """
        self.check_open()
        index = len(self.ops)
        if name is None:
            label = self.unique(f"{kind}#{index}")
        else:
            label = name if reserved else self.unique(name)
        self.ops.append(DraftOperation(kind, label, ports, settings, body))
        return index

    def add_port(self, op: int) -> Output[Any]:
        """A new numbered output of a fork."""
        self.check_open()
        o = self.ops[op]
        o.ports.append(str(len(o.ports)))
        o.targets.append(None)
        return Output(self, op, len(o.ports) - 1)

    def single(self, op: int) -> Node[Any, Any]:
        """The `Node` of a one-input, one-output operation."""
        return Node(self.ops[op].name, InputSlot(self, op), Output(self, op, 0), StreamOutputs({}))

    # ------------------------------------------------------------------ connections

    def own(self, handle: Output[Any] | InputSlot[Any] | Buffer[Any], what: str) -> None:
        """`handle` (whose type the caller checked) must belong to this scope."""
        owner = handle._owner
        if owner is self:
            return
        other = owner.name if isinstance(owner, Draft) else "?"
        ancestor = self.parent
        while ancestor is not None:
            if ancestor is owner:
                raise IncompatibleLayout(
                    f"{what} {handle!r} belongs to the enclosing scope {other!r}, but this is "
                    f"the builder of nested scope {self.name!r}. A nested scope only "
                    "sees its own scope.start, scope.terminate and what its builder creates; "
                    "pass data in through the scope's request."
                )
            ancestor = ancestor.parent
        raise IncompatibleLayout(
            f"{what} {handle!r} belongs to scope {other!r}, not to {self.name!r} "
            "which this builder builds. Handles can only be connected inside the workflow "
            "(and scope) that created them."
        )

    def output_arg(self, output: object, where: str) -> Output[Any]:
        """`output` must be a `cf.Output` of this scope."""
        if not isinstance(output, Output):
            raise not_an_output(output, where)
        self.own(output, where)
        return output

    def input_arg(self, input_slot: object, where: str) -> InputSlot[Any] | Buffer[Any]:
        """`input_slot` must be a `cf.InputSlot` or a `cf.Buffer` of this scope."""
        if not isinstance(input_slot, (InputSlot, Buffer)):
            raise not_an_input(input_slot, where)
        self.own(input_slot, where)
        return input_slot

    def check_free(self, output: Output[Any]) -> None:
        if (output._op, output._port) in self.used:
            raise OutputAlreadyConnected(
                f"{self.describe_port(output._op, output._port)} is already connected; an "
                "output connects to at most one input slot. To send its messages to several "
                "places, fork them: chain.fork_clone(...) or builder.create_fork_clone()."
            )

    def link(self, output: Output[Any], target: int) -> None:
        self.check_free(output)
        self.used.add((output._op, output._port))
        self.ops[output._op].targets[output._port] = target

    def connect(self, output: object, input_slot: object, where: str) -> None:
        self.check_open()
        checked = self.output_arg(output, where)
        slot = self.input_arg(input_slot, where)
        self.link(checked, slot._op)

    def discard(self, output: Output[Any]) -> None:
        """The output is used up, but goes nowhere: its messages are dropped (S2.5)."""
        self.output_arg(output, "chain.dispose()")
        self.check_free(output)
        self.used.add((output._op, output._port))
        self.disposed.add((output._op, output._port))

    # ------------------------------------------------------------------ nodes and scopes

    def add_node(
        self,
        spec: ProviderSpec,
        name: str | None,
        cancellation: object = CancellationPolicy.WAIT,
        where: str = "builder.create_node()",
        *,
        reserved: bool = False,
    ) -> tuple[int, Node[Any, Any]]:
        """A node running `spec`: a service, a map, a nested scope or a workflow."""
        ports = ["out", *spec.streams]
        label = name or spec.name
        inline = spec.kind == "call" and spec.executor is None
        policy = check_policy(cancellation, inline, label, where)
        delivery = spec.delivery
        instructed: dict[str, Any] = (
            {}
            if delivery is None
            else {
                "label": delivery.label,
                "preempt": delivery.preempt,
                "ensure": delivery.ensure,
                "queues": delivery.queues,
            }
        )
        if spec.kind == "scope":
            body = spec.graph
            assert body is not None  # invariant: a scope provider has a graph
            settings: OperationSettings = NestedScopeSettings(
                scope=body.settings,
                workflow=body.name if spec.workflow else None,
                streams=tuple(body.streams),
                cancellation=policy,
                **instructed,
            )
            index = self.add("scope", label, ports, settings, body, reserved=reserved)
        else:
            assert spec.fn is not None  # invariant: a service has a function
            settings = NodeSettings(
                function=spec.fn,
                mode="blocking" if spec.kind == "call" else "async",
                streams=dict(spec.stream_types) or dict.fromkeys(spec.streams),
                cancellation=policy,
                serial=delivery is not None and delivery.queues.serial,
                executor=spec.executor,
                max_concurrency=spec.max_concurrency,
                timeout=spec.timeout,
                retry=spec.retry,
                **instructed,
            )
            index = self.add("node", label, ports, settings)
        streams = StreamOutputs({s: Output(self, index, i + 1) for i, s in enumerate(spec.streams)})
        node: Node[Any, Any] = Node(
            self.ops[index].name, InputSlot(self, index), Output(self, index, 0), streams
        )
        return index, node

    def nested_scope(
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
        self.check_open()
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
        label = self.unique(given if given is not None else build_fn_name(build_fn))
        graph = self.nested(
            build_fn,
            name=label,
            settings=settings_,
            streams=stream_types,
            parent=self,
            what="nested scope",
        )
        return ProviderSpec(kind="scope", name=label, streams=tuple(graph.streams), graph=graph)

    # ------------------------------------------------------------------ other operations

    def add_filter(
        self, mode: FilterMode, fn: Callable[[Any], Any] | None = None, name: str | None = None
    ) -> int:
        return self.add("filter", name, ["out"], FilterSettings(mode, fn))

    def add_cancel(self, quiet: bool, name: str | None = None) -> int:
        return self.add("cancel", name, [], CancelSettings(quiet))

    def add_fork_clone(self, branches: int, original: int = 0, name: str | None = None) -> int:
        """A fork of `branches` numbered outputs; `original` gets the message itself."""
        return self.add(
            "fork_clone", name, [str(i) for i in range(branches)], ForkCloneSettings(original)
        )

    def add_unzip(self, size: int, name: str | None = None) -> int:
        return self.add("unzip", name, [str(i) for i in range(size)])

    def add_fork_result(self, name: str | None = None) -> int:
        return self.add("fork_result", name, ["ok", "err"])

    def add_fork_option(self, name: str | None = None) -> int:
        return self.add("fork_option", name, ["some", "none"])

    def add_spread(self, name: str | None = None) -> int:
        return self.add("spread", name, ["out"])

    def add_delay(self, seconds: float, name: str | None) -> int:
        return self.add("delay", name, ["out"], DelaySettings(float(seconds)))

    def add_collect(self, min: int, max: int | None, where: str, name: str | None = None) -> int:
        check_min_max(min, max, where)
        return self.add("collect", name, ["out"], CollectSettings(min, max))

    def add_split(
        self, keys: object, sequence: object, where: str, name: str | None = None
    ) -> SplitOutputs:
        self.check_open()
        key_tuple = check_split_keys(keys, where)
        if isinstance(sequence, bool) or not isinstance(sequence, int) or sequence < 0:
            raise InvalidArgument(f"{where}: sequence must be an int >= 0, got {shown(sequence)}")
        ports = (
            [f"key:{k!r}" for k in key_tuple]
            + [f"seq:{i}" for i in range(sequence)]
            + ["remaining"]
        )
        index = self.add("split", name, ports, SplitSettings(key_tuple, sequence))
        return SplitOutputs(self, index, key_tuple, sequence)

    # ------------------------------------------------------------------ buffers

    def add_buffer(self, settings: BufferSettings, name: str | None) -> Buffer[Any]:
        index = self.add("buffer", name or "buffer", [], settings)
        return Buffer(self, index, self.ops[index].name)

    def buffer_op(self, item: object, where: str, outputs: bool) -> tuple[int, bool]:
        """One buffer of a buffers argument (an `Output`, with `outputs`, gets a buffer)."""
        if isinstance(item, Buffer):
            self.own(item, where)
            return item._op, item._clone
        if outputs and isinstance(item, Output):
            self.own(item, where)
            buffer = self.add_buffer(BufferSettings.keep_last(1), None)
            self.connect(item, buffer, where)
            return buffer._op, False
        expected = "cf.Buffer or cf.Output" if outputs else "cf.Buffer"
        hint = handle_hint(item)
        if isinstance(item, Output):
            hint = (
                "; an output holds nothing: connect it into a buffer "
                "(builder.create_buffer()) and give the buffer here"
            )
        raise InvalidArgument(
            f"{where} takes a {expected}, a tuple of them or a dict of them, got "
            f"{shown(item)}{hint}"
        )

    def buffer_set(
        self, buffers: object, where: str, outputs: bool = False, allow_empty: bool = False
    ) -> tuple[KeyShape, tuple[str, ...], tuple[int, ...], tuple[bool, ...]]:
        """Validate a buffers argument: one buffer, a tuple (or list), or a dict."""
        self.check_open()
        shape: KeyShape
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
            self.buffer_op(buffers, where, outputs)  # raises with a precise message
            raise AssertionError("unreachable")  # pragma: no cover
        if not items and not allow_empty:
            raise BuildError(
                f"{where} got no buffers; give at least one buffer (a join or listener of "
                "nothing could never fire)"
            )
        ops: list[int] = []
        clones: list[bool] = []
        for item in items:
            op, clone = self.buffer_op(item, where, outputs)
            if op in ops:
                raise BuildError(
                    f"{where}: buffer {self.ops[op].name!r} is listed twice in scope "
                    f"{self.name!r}; each buffer may appear once. To use its items twice, "
                    "fork them into two buffers."
                )
            ops.append(op)
            clones.append(clone)
        return shape, names, tuple(ops), tuple(clones)

    def _names(self, ops: Sequence[int]) -> tuple[str, ...]:
        return tuple(self.ops[b].name for b in ops)

    def add_join(self, buffers: object, into: Callable[..., Any] | None, name: str | None) -> int:
        if into is not None and not callable(into):
            raise InvalidArgument(
                "builder.join(into=...) takes a class or callable that receives the keys as "
                f"keyword arguments, got {shown(into)}"
            )
        shape, keys, ops, clones = self.buffer_set(buffers, "builder.join()", outputs=True)
        if into is not None:
            if shape != "dict":
                raise BuildError(
                    "builder.join(..., into=...) needs a dict of buffers, whose keys name the "
                    f"arguments of {getattr(into, '__qualname__', into)!r}"
                )
            check_into(into, keys)
        settings = JoinSettings(self._names(ops), clones, shape, keys, into)
        return self.add("join", name or "join", ["out"], settings)

    def add_listen(self, buffers: object, name: str | None) -> int:
        shape, keys, ops, _ = self.buffer_set(buffers, "builder.listen()")
        return self.add(
            "listen", name or "listen", ["out"], AccessSettings(self._names(ops), shape, keys)
        )

    def add_access(
        self, buffers: object, with_message: bool, where: str, name: str | None = None
    ) -> int:
        shape, keys, ops, _ = self.buffer_set(buffers, where)
        settings = AccessSettings(self._names(ops), shape, keys, with_message)
        return self.add("access", name or "access", ["out"], settings)

    def add_push(self, buffer: object, where: str, name: str | None = None) -> int:
        self.check_open()
        op, _ = self.buffer_op(buffer, where, False)
        return self.add("push", name, ["out"], PushSettings(self.ops[op].name))

    def add_gate(
        self, buffers: object, open: bool, where: str, name: str | None = None
    ) -> Node[Any, Any]:
        _shape, _keys, ops, _ = self.buffer_set(buffers, where)
        index = self.add(
            "gate",
            name or ("gate_open" if open else "gate_close"),
            ["out"],
            GateSettings(self._names(ops), open),
        )
        return self.single(index)

    def add_trim(
        self, branches: Sequence[TrimBranch], where: str, name: str | None = None
    ) -> Node[Any, Any]:
        if not branches:
            raise BuildError(f"{where} needs at least one cf.TrimBranch")
        spans: list[TrimBranchSettings] = []
        for branch in branches:
            if not isinstance(branch, TrimBranch):
                raise InvalidArgument(
                    "a trim takes cf.TrimBranch values, such as "
                    f"cf.TrimBranch.downstream(node), got {shown(branch)}"
                )
            a = self._point(branch.start)
            b = self._point(branch.end) if branch.how == "between" else None
            spans.append(TrimBranchSettings(branch.how, a, b))  # type: ignore[arg-type]
        index = self.add("trim", name or "trim", ["out"], TrimSettings(tuple(spans)))
        return self.single(index)

    def _point(self, point: object) -> str:
        if isinstance(point, Node):
            point = point.input
        return self.ops[self.input_arg(point, "cf.TrimBranch point")._op].name

    # ------------------------------------------------------------------ cleanups

    def add_cleanup(
        self, when: CleanupWhen, buffers: object, build_fn: object, ending: object
    ) -> None:
        where = f"builder.on_{when}()"
        self.check_open()
        shape, keys, ops, _ = self.buffer_set(buffers, where, allow_empty=True)
        wants_ending = check_flag(ending, f"{where}: ending=")
        is_provider = provider_kind(build_fn) is not None
        form = "service" if is_provider else cleanup_form(build_fn, where)
        count = sum(1 for c in self.cleanups if c.when == when) + 1
        name = f"{self.name}/on_{when}#{count}"
        if form == "service":
            # the one-line form: the cleanup workflow calls the service once, with the
            # cf.Ending as its request
            spec = classify(build_fn, where)

            def build(scope: Scope[Any, Any], builder: object) -> None:
                draft = scope.start._owner
                assert isinstance(draft, Draft)  # invariant: scopes are made by drafts
                node = draft.add_node(spec, None, CancellationPolicy.WAIT, where)[1]
                draft.connect(scope.start, node.input, where)
                draft.connect(node.output, scope.terminate, where)

            body = self.nested(
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
            body = self.nested(
                build_fn,
                name=name,
                settings=ScopeSettings(),
                streams={},
                parent=self,
                what="cleanup workflow",
            )
        self.cleanups.append(DraftCleanup(when, shape, keys, ops, wants_ending, body))

    # ------------------------------------------------------------------ freezing

    def skeleton(self) -> Skeleton:
        return Skeleton(
            self.name,
            [op.name for op in self.ops],
            [op.kind for op in self.ops],
            [op.settings for op in self.ops],
            [[-1 if t is None else t for t in op.targets] for op in self.ops],
        )

    def freeze(self) -> Graph:
        """The finished, immutable graph; the draft can no longer change."""
        self.open = False
        ops = self.ops
        if any(op.kind == "trim" for op in ops):
            skeleton = self.skeleton()
            edges = Edges(skeleton)
            for i, op in enumerate(ops):
                if isinstance(op.settings, TrimSettings):
                    op.settings = attrs.evolve(
                        op.settings, span=trim_span(skeleton, edges, i, op.settings)
                    )
        operations = [
            Operation(op.name, op.kind, op.settings, tuple(op.ports), op.body) for op in ops
        ]
        at = {op.name: operations[i] for i, op in enumerate(ops)}
        connections: list[Connection] = []
        for op, view in zip(ops, operations, strict=True):
            for port, target in zip(view.ports, op.targets, strict=True):
                if target is not None:
                    connections.append(Connection(view, port, operations[target]))
            settings = view.settings
            if isinstance(settings, JoinSettings):
                for buffer, cloned in zip(settings.buffers, settings.cloned, strict=True):
                    port = "cloned" if cloned else "items"
                    connections.append(Connection(at[buffer], port, view, "buffer"))
            elif isinstance(settings, AccessSettings):
                port = "changes" if view.kind == "listen" else "keys"
                for buffer in settings.buffers:
                    connections.append(Connection(at[buffer], port, view, "buffer"))
            elif isinstance(settings, PushSettings):
                connections.append(Connection(view, "push", at[settings.buffer], "buffer"))
            elif isinstance(settings, GateSettings):
                port = "open" if settings.open else "close"
                for buffer in settings.buffers:
                    connections.append(Connection(view, port, at[buffer], "buffer"))
        cleanups = tuple(
            CleanupWorkflow(
                when=c.when,
                buffers=self._names(c.buffers),
                shape=c.shape,
                keys=c.keys,
                ending=c.ending,
                body=c.body,
            )
            for c in self.cleanups
        )
        return Graph(
            name=self.name,
            settings=self.settings,
            operations=tuple(operations),
            connections=tuple(connections),
            streams={stream: operations[i] for stream, i in self.stream_outs.items()},
            cleanups=cleanups,
        )

    def disposed_ports(self) -> set[tuple[str, str]]:
        """The outputs ended with `chain.dispose()`, as (operation, port) names."""
        return {(self.ops[op].name, self.ops[op].ports[port]) for op, port in self.disposed}
