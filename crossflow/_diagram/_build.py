"""A resolved diagram built into a `crossflow.Workflow`, with the public builder API only.

Each scope is built in three passes: every operation that has an input is created
(node and section builders run here), then the joins, listeners and buffer accesses
that read the buffers, then every output is connected to what its target resolved to.

Conversions are added only where a link needs one (S11.3): a message entering a node
that declared its request type is converted from JSON first; a value of a declared
class leaving for a JSON consumer (an undeclared node, the workflow's response or
streams, a serializing buffer) is converted to JSON. Each fallible step is a map whose
`cf.Err` goes to the scope's implicit-error handler, as crossflow does it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

from .._buffers import BufferSettings
from .._builder import Builder
from .._errors import CrossflowError, OutputAlreadyConnected
from .._handles import Buffer, InputSlot, Node, Output, Scope
from .._results import Err, Ok
from .._settings import ScopeSettings
from .._workflow import Workflow
from . import _records as r
from ._layout import (
    DISPOSE,
    BufferRef,
    BuiltinTarget,
    OpInput,
    Placed,
    ScopeLayout,
    StreamTarget,
    Target,
)
from ._problems import Problems, error_text, shown
from ._types import ConversionError, is_json_type, json_text, to_json, type_name

JSON: Any = object()  # what a source carries when its values are JSON data


class _Abort(Exception):
    """Problems were found while building; the workflow is not returned."""


def build_workflow(layout: ScopeLayout, name: str, problems: Problems) -> Workflow[Any, Any] | None:
    """Build the workflow; `None` (with `problems` filled in) when it cannot be built."""
    streams: dict[str, type[Any]] = dict.fromkeys(layout.streams, object)

    def build_fn(scope: Scope[Any, Any], builder: Builder) -> None:
        _ScopeBuild(layout, scope, builder, problems, root=True).build()
        if problems:
            raise _Abort

    try:
        return Workflow.build(build_fn, name=name, streams=streams)
    except _Abort:
        return None
    except CrossflowError as error:
        problems.add("", "", f"the workflow cannot be built: {error}", error)
        return None


def _identity(message: Any) -> Any:
    return message


def _never(message: Any) -> None:
    return None


def _is_json_source(source: Any) -> bool:
    return source is JSON or source is str or (source is not None and is_json_type(source))


def _structured(source: Any) -> bool:
    return source is not None and not _is_json_source(source)


class _ScopeBuild:
    def __init__(
        self,
        layout: ScopeLayout,
        scope: Scope[Any, Any],
        builder: Builder,
        problems: Problems,
        root: bool,
    ) -> None:
        self.layout = layout
        self.scope = scope
        self.builder = builder
        self.problems = problems
        self.root = root
        self.inputs: dict[str, dict[str | None, InputSlot[Any] | Buffer[Any]]] = {}
        self.outputs: list[tuple[Placed, str, Output[Any], Any]] = []
        self.buffers: dict[BufferRef, Buffer[Any]] = {}
        self.entries: dict[Hashable, InputSlot[Any] | Buffer[Any] | None] = {}
        self.pending: list[tuple[Placed, Node[Any, Any] | None]] = []

    def problem(self, placed: Placed, message: str, error: BaseException | None = None) -> None:
        self.problems.add(placed.op.name, placed.op.pointer, message, error)

    # ---------------------------------------------------------------- passes

    def build(self) -> None:
        for placed in self.layout.placed:
            try:
                self.create(placed)
            except CrossflowError as error:
                self.problem(placed, f"cannot be built: {error}", error)
        for placed, node in self.pending:
            try:
                self.create_reader(placed, node)
            except CrossflowError as error:
                self.problem(placed, f"cannot be built: {error}", error)
        for placed, port, output, source in self.outputs:
            target = self.layout.handler if port == "@handler" else self.target_of(placed, port)
            if target is None:
                continue
            try:
                slot = self.entry(target, source)
                if slot is not None:
                    self.builder.connect(output, slot)
            except OutputAlreadyConnected as error:
                self.problem(
                    placed,
                    f"its builder returned ports that are already connected inside the "
                    f"builder; return ports that are free: {error}",
                    error,
                )
            except CrossflowError as error:
                self.problem(placed, f"cannot be connected: {error}", error)
        if self.layout.start is not None:
            slot = self.entry(self.layout.start, None)
            if slot is not None:
                self.builder.connect(self.scope.start, slot)

    @staticmethod
    def target_of(placed: Placed, port: str) -> Target | None:
        for name, target in placed.targets:
            if name == port:
                return target
        return None

    # ---------------------------------------------------------------- operations

    def out(self, placed: Placed, port: str, output: Output[Any], source: Any) -> None:
        self.outputs.append((placed, port, output, source))

    def node(self, fn: Callable[[Any], Any], name: str) -> Node[Any, Any]:
        return self.builder.create_node(fn, name=name)

    def create(self, placed: Placed) -> None:
        op = placed.op
        uid = placed.uid
        if isinstance(op, r.NodeOp):
            self.create_node(placed)
        elif isinstance(op, r.SectionOp):
            self.create_section(placed)
        elif isinstance(op, r.ScopeOp):
            self.create_scope(placed)
        elif isinstance(op, r.ForkCloneOp):
            clone = self.builder.create_fork_clone()
            self.inputs[uid] = {None: clone.input}
            for port, _ in placed.targets:
                self.out(placed, port, clone.clone_output(), None)
        elif isinstance(op, r.UnzipOp):
            size = len(op.next)
            entry = self.node(_unzipper(uid, size), uid)
            self.inputs[uid] = {None: entry.input}
            if size:
                unzip = self.builder.create_unzip(size)
                self.builder.connect(entry.output, unzip.input)
                for i, output in enumerate(unzip.outputs):
                    self.out(placed, f"next:{i}", output, None)
        elif isinstance(op, r.ForkResultOp):
            entry = self.node(_resulter(uid), uid)
            fork = self.builder.create_fork_result()
            self.builder.connect(entry.output, fork.input)
            self.inputs[uid] = {None: entry.input}
            self.out(placed, "ok", fork.ok, None)
            self.out(placed, "err", fork.err, None)
        elif isinstance(op, r.SplitOp):
            self.create_split(placed, op)
        elif isinstance(op, r.TransformOp):
            if placed.program is None:
                return
            entry = self.node(_transformer(uid, placed.program), uid)
            fork = self.builder.create_fork_result()
            self.builder.connect(entry.output, fork.input)
            self.inputs[uid] = {None: entry.input}
            self.out(placed, "next", fork.ok, JSON)
            self.out(placed, "on_error" if op.on_error is not None else "@handler", fork.err, str)
        elif isinstance(op, r.BufferOp):
            settings = {
                "keep_last": BufferSettings.keep_last,
                "keep_first": BufferSettings.keep_first,
            }
            made = (
                BufferSettings.keep_all()
                if op.retention == "keep_all"
                else settings[op.retention](op.n if op.n is not None else 1)
            )
            buffer: Buffer[Any] = self.builder.create_buffer(made, name=uid)
            self.buffers[BufferRef(uid)] = buffer
            self.inputs[uid] = {None: buffer}
            if op.serialize:
                self.inputs[uid] = {None: self.fallible(f"{uid}:to_json", _encoder(uid), buffer)}
        elif isinstance(op, r.BufferAccessOp):
            entry = self.node(_identity, uid)
            self.inputs[uid] = {None: entry.input}
            self.pending.append((placed, entry))
        elif isinstance(op, (r.JoinOp, r.ListenOp)):
            self.pending.append((placed, None))

    def create_node(self, placed: Placed) -> None:
        info = placed.node
        if info is None or not placed.config_ok:
            return  # a problem was reported while checking
        try:
            node = info.build(self.builder, placed.config)
        except Exception as error:
            self.problem(placed, f"node builder {info.name!r} raised {error_text(error)}", error)
            return
        if not isinstance(node, Node):
            self.problem(
                placed,
                f"node builder {info.name!r} returned {shown(node)}; a node builder returns "
                "the cf.Node it created (return builder.create_node(...))",
            )
            return
        self.inputs[placed.uid] = {None: node.input}
        self.out(placed, "next", node.output, info.response)
        streams = list(node.streams)
        for port, _ in placed.targets:
            if not port.startswith("stream:"):
                continue
            stream = port[len("stream:") :]
            if stream not in streams:
                self.problem(
                    placed,
                    f"the node made by {info.name!r} has no stream {stream!r}; its streams: "
                    f"{', '.join(map(repr, streams)) or 'none'}",
                )
                continue
            declared = (info.streams or {}).get(stream)
            self.out(placed, port, getattr(node.streams, stream), declared)

    def create_section(self, placed: Placed) -> None:
        info = placed.section
        if info is None or not placed.config_ok:
            return
        from ._registry import Section

        try:
            section = info.build(self.builder, placed.config)
        except Exception as error:
            self.problem(placed, f"section builder {info.name!r} raised {error_text(error)}", error)
            return
        if not isinstance(section, Section):
            self.problem(
                placed,
                f"section builder {info.name!r} returned {shown(section)}; a section builder "
                "returns cf.diagram.Section(inputs=..., outputs=..., buffers=...)",
            )
            return
        wrong: list[str] = []
        for what, got, declared in (
            ("inputs", section.inputs, info.inputs),
            ("outputs", section.outputs, info.outputs),
            ("buffers", section.buffers, info.buffers),
        ):
            if set(got) != set(declared):
                wrong.append(f"{what} {sorted(got)} (declared: {sorted(declared)})")
        kinds_ok = (
            all(isinstance(v, (InputSlot, Buffer)) for v in section.inputs.values())
            and all(isinstance(v, Output) for v in section.outputs.values())
            and all(isinstance(v, Buffer) for v in section.buffers.values())
        )
        if wrong or not kinds_ok:
            detail = (
                "; ".join(wrong)
                if wrong
                else "inputs must be cf.InputSlot or cf.Buffer, outputs cf.Output, buffers "
                "cf.Buffer"
            )
            self.problem(
                placed,
                f"section builder {info.name!r} returned a Section that does not match what "
                f"it declared at registration: {detail}",
            )
            return
        ports: dict[str | None, InputSlot[Any] | Buffer[Any]] = {}
        ports.update(section.inputs)
        ports.update(section.buffers)
        self.inputs[placed.uid] = ports
        for name, buffer in section.buffers.items():
            self.buffers[BufferRef(placed.uid, name)] = buffer
        for name, output in section.outputs.items():
            self.out(placed, f"out:{name}", output, info.outputs.get(name))

    def create_scope(self, placed: Placed) -> None:
        child = placed.child
        assert child is not None
        problems = self.problems

        def build_child(scope: Scope[Any, Any], builder: Builder) -> None:
            _ScopeBuild(child, scope, builder, problems, root=False).build()

        node = self.builder.create_scope(
            build_child,
            name=placed.uid,
            settings=ScopeSettings(uninterruptible=child.uninterruptible),
            streams=dict.fromkeys(child.streams, object),
        )
        self.inputs[placed.uid] = {None: node.input}
        self.out(placed, "next", node.output, None)
        for port, _ in placed.targets:
            if port.startswith("stream:"):
                self.out(placed, port, getattr(node.streams, port[len("stream:") :]), None)

    def create_split(self, placed: Placed, op: r.SplitOp) -> None:
        keys = tuple(k for k, _ in op.keyed)
        size = len(op.sequential)
        entry = self.node(_splitter(frozenset(keys)), placed.uid)
        split = self.builder.create_split(keys=keys, sequence=size)
        self.builder.connect(entry.output, split.input)
        self.inputs[placed.uid] = {None: entry.input}
        connected = {port for port, target in placed.targets if target not in (None, DISPOSE)}
        for key in keys:
            self.out(placed, f"key:{key}", split.key(key), None)
        for i in range(size):
            if f"seq:{i}" in connected:
                value = self.builder.chain(split.seq(i)).map(_second, name=f"{placed.uid}:seq{i}")
                self.out(placed, f"seq:{i}", value.output(), None)
        if "remaining" in connected:
            rest = self.builder.chain(split.remaining).map(_second, name=f"{placed.uid}:remaining")
            self.out(placed, "remaining", rest.output(), None)

    def create_reader(self, placed: Placed, entry: Node[Any, Any] | None) -> None:
        op = placed.op
        assert isinstance(op, (r.JoinOp, r.ListenOp, r.BufferAccessOp))
        picked: list[tuple[str | int, Buffer[Any]]] = []
        for key, ref in placed.buffers:
            buffer = self.buffers.get(ref)
            if buffer is None:
                return  # its buffer could not be built: reported there
            if key in placed.clone:
                buffer = buffer.join_by_cloning()
            picked.append((key, buffer))
        if not picked or len(picked) != len(op.buffers.entries):
            return
        selection: Any = (
            {str(k): b for k, b in picked}
            if op.buffers.shape == "dict"
            else tuple(b for _, b in picked)
        )
        uid = placed.uid
        if isinstance(op, r.JoinOp):
            chain = self.builder.join(selection, name=uid)
            if op.buffers.shape == "tuple":
                chain = chain.map(list, name=f"{uid}:list")
            if op.serialize:
                encoded = self.fallible_chain(chain.output(), f"{uid}:to_json", _encoder(uid))
                self.out(placed, "next", encoded, JSON)
            else:
                self.out(placed, "next", chain.output(), None)
        elif isinstance(op, r.ListenOp):
            self.out(placed, "next", self.builder.listen(selection, name=uid).output(), None)
        else:
            assert entry is not None
            keyed = self.builder.chain(entry.output).with_access(selection)
            self.out(placed, "next", keyed.output(), None)

    # ---------------------------------------------------------------- targets

    def entry(self, target: Target, source: Any) -> InputSlot[Any] | Buffer[Any] | None:
        """Where a source carrying `source` values connects to reach `target`."""
        if target == DISPOSE:
            return None
        if isinstance(target, BuiltinTarget):
            if target.kind == "terminate":
                slot: InputSlot[Any] = self.scope.terminate
                return self.to_json("terminate", slot, source) if self.root else slot
            if target.kind == "cancel":
                return self.cancel(source)
            return self.implicit_cancel()
        if isinstance(target, StreamTarget):
            slot = getattr(self.scope.streams, target.stream)
            return self.to_json(f"stream:{target.stream}", slot, source) if self.root else slot
        assert isinstance(target, OpInput)
        ports = self.inputs.get(target.uid)
        if ports is None:
            return None  # the operation could not be built: reported there
        port = ports.get(target.port)
        if port is None:
            return None
        placed = self.layout.by_uid[target.uid]
        declared = self.declared(placed, target.port)
        if declared is not None and declared is not Any and declared is not object:
            if source is declared:
                return port
            key = ("decode", target)
            if key not in self.entries:
                handler = target == self.layout.handler
                self.entries[key] = self.fallible(
                    f"{target.uid}:request", _decoder(target.uid, declared), port, guard=handler
                )
            return self.entries[key]
        if _structured(source) and self.wants_json(placed):
            return self.to_json(f"{target.uid}:{target.port or 'request'}", port, source)
        return port

    @staticmethod
    def declared(placed: Placed, port: str | None) -> Any:
        if placed.node is not None:
            return placed.node.request
        if placed.section is not None and port is not None:
            return placed.section.inputs.get(port)
        return None

    @staticmethod
    def wants_json(placed: Placed) -> bool:
        return isinstance(placed.op, (r.NodeOp, r.SectionOp))

    def to_json(
        self, label: str, slot: InputSlot[Any] | Buffer[Any], source: Any
    ) -> InputSlot[Any] | Buffer[Any]:
        if _is_json_source(source):
            return slot
        key = ("to_json", label)
        if key not in self.entries:
            self.entries[key] = self.fallible(f"{label}:to_json", _encoder(label), slot)
        found = self.entries[key]
        assert found is not None
        return found

    def cancel(self, source: Any) -> InputSlot[Any]:
        if "cancel" not in self.entries:
            self.entries["cancel"] = self.builder.create_cancel()
        slot = self.entries["cancel"]
        assert isinstance(slot, InputSlot)
        if source is str:
            return slot
        if "cancel:text" not in self.entries:
            text = self.node(_text, "cancel:text")
            self.builder.connect(text.output, slot)
            self.entries["cancel:text"] = text.input
        found = self.entries["cancel:text"]
        assert isinstance(found, InputSlot)
        return found

    def implicit_cancel(self) -> InputSlot[Any]:
        if "implicit_cancel" not in self.entries:
            entry = self.node(_identity, "implicit_cancel")
            self.builder.chain(entry.output).cancellation_filter(_never).dispose()
            self.entries["implicit_cancel"] = entry.input
        found = self.entries["implicit_cancel"]
        assert isinstance(found, InputSlot)
        return found

    def fallible(
        self,
        name: str,
        fn: Callable[[Any], Ok[Any] | Err[str]],
        slot: InputSlot[Any] | Buffer[Any],
        guard: bool = False,
    ) -> InputSlot[Any]:
        """A step whose `cf.Ok` goes on to `slot` and whose `cf.Err` goes to the handler."""
        step = self.node(fn, name)
        fork = self.builder.create_fork_result()
        self.builder.connect(step.output, fork.input)
        self.builder.connect(fork.ok, slot)
        errors = self.implicit_cancel() if guard else self.entry(self.layout.handler, str)
        if errors is not None:
            self.builder.connect(fork.err, errors)
        return step.input

    def fallible_chain(
        self, output: Output[Any], name: str, fn: Callable[[Any], Ok[Any] | Err[str]]
    ) -> Output[Any]:
        step = self.node(fn, name)
        fork = self.builder.create_fork_result()
        self.builder.connect(output, step.input)
        self.builder.connect(step.output, fork.input)
        errors = self.entry(self.layout.handler, str)
        if errors is not None:
            self.builder.connect(fork.err, errors)
        return fork.ok


# --------------------------------------------------------------------------- steps


def _second(pair: tuple[Any, Any]) -> Any:
    return pair[1]


def _text(message: Any) -> str:
    """A message as text for a cancellation: strings as they are, anything else as JSON."""
    if isinstance(message, str):
        return message
    try:
        return json_text(message)
    except ConversionError:
        return shown(message, 200)


def _decoder(uid: str, declared: Any) -> Callable[[Any], Ok[Any] | Err[str]]:
    from ._types import decoder

    decode = decoder(declared)
    label = type_name(declared)

    def convert(message: Any) -> Ok[Any] | Err[str]:
        try:
            return Ok(decode(message, ""))
        except ConversionError as error:
            first = error
        if not isinstance(message, (dict, list, str, int, float, bool, type(None))):
            try:
                return Ok(decode(to_json(message), ""))
            except ConversionError:
                pass
        return Err(f"{uid}: the message {shown(message)} does not fit {label}: {first}")

    return convert


def _encoder(label: str) -> Callable[[Any], Ok[Any] | Err[str]]:
    def encode(message: Any) -> Ok[Any] | Err[str]:
        try:
            return Ok(to_json(message))
        except ConversionError as error:
            return Err(f"{label}: {error}")

    return encode


def _transformer(uid: str, program: Callable[[Any], Any]) -> Callable[[Any], Ok[Any] | Err[str]]:
    def transform(message: Any) -> Ok[Any] | Err[str]:
        try:
            return Ok(to_json(program(to_json(message))))
        except Exception as error:  # CEL reports failures with several exception types
            return Err(f"transform {uid!r} failed: {error_text(error)}")

    return transform


def _resulter(uid: str) -> Callable[[Any], Any]:
    def to_result(message: Any) -> Any:
        if isinstance(message, (Ok, Err)):
            return message
        if isinstance(message, Mapping) and len(message) == 1:
            if "Ok" in message:
                return Ok(message["Ok"])
            if "Err" in message:
                return Err(message["Err"])
        raise TypeError(
            f"fork_result {uid!r} received {shown(message)}: it needs a cf.Ok or cf.Err, or "
            'JSON {"Ok": ...} or {"Err": ...}'
        )

    return to_result


def _unzipper(uid: str, size: int) -> Callable[[Any], Any]:
    def unzip(message: Any) -> Any:
        if isinstance(message, (list, tuple)) and len(message) >= size:
            return tuple(message[:size])
        raise TypeError(
            f"unzip {uid!r} received {shown(message)}: it needs a list or tuple of at least "
            f"{size} elements"
        )

    return unzip


class _Position:
    """An element of a split that no key takes: numbered for the sequential outputs."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index

    def __repr__(self) -> str:
        return f"#{self.index}"


def _splitter(keys: frozenset[str]) -> Callable[[Any], dict[Any, Any]]:
    def split(message: Any) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        if isinstance(message, Mapping):
            position = 0
            for key, value in message.items():
                if key in keys:
                    out[key] = value
                else:
                    out[_Position(position)] = value
                    position += 1
        elif isinstance(message, Sequence) and not isinstance(message, (str, bytes)):
            for i, value in enumerate(message):
                out[_Position(i)] = value
        else:
            out[_Position(0)] = message  # a single value goes to the first sequential output
        return out

    return split
