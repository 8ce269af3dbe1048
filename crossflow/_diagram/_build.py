"""A resolved diagram built into a `crossflow.Workflow`, with the public builder API only.

Each scope is built in three passes: every operation that has an input is created
(node and section builders run here), then the joins, listeners and buffer accesses
that read the buffers, then every output is connected to what its target resolved to.

Names: every operation made for a diagram operation is named after its id (a
`fork_result` named `fork` in the diagram is the operation `fork` in events, causes
and pictures); the helpers some of them need are named `<id>/<what>`: `x/from_json`,
`x/to_json`, `x/cancel`, `split/seq0`. A node or section builder names what it makes
itself; it is handed the id when it takes a keyword argument `name`.

Conversions are added only where a link needs one (S11.3): a message entering a node
that declared its request type is converted from JSON first; a value of a declared
class leaving for a JSON consumer (an undeclared node, the workflow's response or
streams, a serializing buffer) is converted to JSON. A fallible step (a conversion, a
transform) sends its error text to the scope's implicit-error handler. When that handler
is `implicit_cancel` (the root's default) the step raises `ImplicitCancel` itself, which
cancels the scope naming the step, with the whole text, and without recording a disposal
each time it succeeds; otherwise a `fork_result` named `<step>/fork` routes the error.
"""

from __future__ import annotations

import types
import typing
import warnings
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, Union

from .._buffers import BufferSettings
from .._builder import Builder
from .._errors import CrossflowError, OutputAlreadyConnected, UnreachableWarning
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
from ._problems import ImplicitCancel, Problems, error_text, shown
from ._types import ConversionError, is_json_type, json_text, to_json, type_name

JSON: Any = object()  # what a source carries when its values are JSON data
IMPLICIT_CANCEL = BuiltinTarget("implicit_cancel")
HANDLER = "@handler"  # the port of a fallible step's errors: the scope's handler

Slot = InputSlot[Any] | Buffer[Any]


class _Abort(Exception):
    """Problems were found while building; the workflow is not returned."""


def build_workflow(
    layout: ScopeLayout, name: str, problems: Problems
) -> tuple[Workflow[Any, Any] | None, dict[ScopeLayout, str]]:
    """Build the workflow; `None` (with `problems` filled in) when it cannot be built.

    Also returns the scopes the builder found unreachable (its `UnreachableWarning`
    text for each), for the caller to explain in the diagram's terms.
    """
    streams: dict[str, type[Any]] = dict.fromkeys(layout.streams, object)
    unreachable: dict[ScopeLayout, str] = {}

    def build_fn(scope: Scope[Any, Any], builder: Builder) -> None:
        _ScopeBuild(layout, scope, builder, problems, unreachable).build()
        if problems:
            raise _Abort

    try:
        with _Warnings(layout, unreachable):
            workflow = Workflow.build(build_fn, name=name, streams=streams)
    except _Abort:
        return None, {}
    except RecursionError:
        problems.add(
            "",
            "",
            "the diagram is nested too deeply to be built here (Python's recursion limit "
            "was reached); flatten it",
        )
        return None, {}
    except CrossflowError as error:
        problems.add("", "", f"the workflow cannot be built: {error}", error)
        return None, {}
    return workflow, unreachable


class _Warnings:
    """Takes the builder's `UnreachableWarning` about one scope, and lets every other
    warning through.

    The builder warns when a scope's build function returns; the diagram explains that
    in its own terms instead (`_reach`), so the warning is kept, not shown.
    """

    def __init__(self, layout: ScopeLayout, unreachable: dict[ScopeLayout, str]) -> None:
        self.layout = layout
        self.unreachable = unreachable
        self._catcher = warnings.catch_warnings(record=True)
        self._caught: list[warnings.WarningMessage] = []

    def __enter__(self) -> None:
        self._caught = self._catcher.__enter__()
        warnings.simplefilter("always")

    def __exit__(self, *exc: object) -> None:
        self._catcher.__exit__(None, None, None)
        for caught in self._caught:
            if issubclass(caught.category, UnreachableWarning):
                self.unreachable[self.layout] = str(caught.message)
            else:
                warnings.warn_explicit(
                    caught.message, caught.category, caught.filename, caught.lineno,
                    source=caught.source,
                )  # fmt: skip


def _identity(message: Any) -> Any:
    return message


def _is_json_source(source: Any) -> bool:
    return source is JSON or source is str or (source is not None and is_json_type(source))


def _structured(source: Any) -> bool:
    return source is not None and not _is_json_source(source)


def _members(tp: Any) -> tuple[Any, ...]:
    if typing.get_origin(tp) in (Union, types.UnionType):
        return typing.get_args(tp)
    return (tp,)


def _is_result_type(source: Any) -> bool:
    """Whether a declared type's values are all `cf.Ok` or `cf.Err`."""
    if source is None or source is JSON:
        return False
    return all((typing.get_origin(m) or m) in (Ok, Err) for m in _members(source))


def _is_tuple_type(source: Any, size: int) -> bool:
    """Whether a declared type's values are all tuples of `size` elements."""
    if source is None or source is JSON or typing.get_origin(source) is not tuple:
        return False
    args = typing.get_args(source)
    return len(args) == size and Ellipsis not in args


def _port_label(port: str) -> str:
    """How an output shows in a helper's name: `""` for `next`, `ok`, `seq0`, `sequence`."""
    kind, _, rest = port.partition(":")
    if not rest:
        return "" if kind == "next" else kind
    if kind == "seq":
        return f"seq{rest}"
    return rest


class _ScopeBuild:
    def __init__(
        self,
        layout: ScopeLayout,
        scope: Scope[Any, Any],
        builder: Builder,
        problems: Problems,
        unreachable: dict[ScopeLayout, str],
    ) -> None:
        self.layout = layout
        self.scope = scope
        self.builder = builder
        self.problems = problems
        self.unreachable = unreachable
        self.root = layout.parent is None
        self.raises = layout.handler == IMPLICIT_CANCEL
        self.inputs: dict[str, dict[str | None, Slot]] = {}
        # operations whose input depends on what is sent: a fork_result takes cf.Ok and
        # cf.Err as they are, and JSON through a conversion; an unzip takes tuples
        self.adapted: dict[str, tuple[str, InputSlot[Any], int]] = {}
        # (origin operation, placed operation, port, output, what the output carries)
        self.outputs: list[tuple[str, Placed | None, str, Output[Any], Any]] = []
        self.buffers: dict[BufferRef, Buffer[Any]] = {}
        self.entries: dict[Hashable, Slot] = {}
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
        if self.layout.start is not None:
            slot = self.entry(self.layout.start, None, "start", "")
            if slot is not None:
                self.builder.connect(self.scope.start, slot)
        index = 0
        while index < len(self.outputs):  # connecting may add helpers, and their outputs
            origin, sender, port, output, source = self.outputs[index]
            index += 1
            target: Target | None = self.layout.handler
            if sender is not None:
                target = self.target_of(sender, port)
            if target is None:
                continue
            # a helper's problem is its operation's
            where = sender or self.layout.by_uid.get(origin)
            try:
                slot = self.entry(target, source, origin, port)
                if slot is not None:
                    self.builder.connect(output, slot)
            except OutputAlreadyConnected as error:
                if where is None:
                    raise
                self.problem(
                    where,
                    f"its builder returned ports that are already connected inside the "
                    f"builder; return ports that are free: {error}",
                    error,
                )
            except CrossflowError as error:
                if where is None:
                    raise
                self.problem(where, f"cannot be connected: {error}", error)

    @staticmethod
    def target_of(placed: Placed, port: str) -> Target | None:
        for name, target in placed.targets:
            if name == port:
                return target
        return None

    # ---------------------------------------------------------------- operations

    def out(self, placed: Placed, port: str, output: Output[Any], source: Any) -> None:
        self.outputs.append((placed.uid, placed, port, output, source))

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
            clone = self.builder.create_fork_clone(name=uid)
            self.inputs[uid] = {None: clone.input}
            for port, _ in placed.targets:
                self.out(placed, port, clone.clone_output(), None)
        elif isinstance(op, r.UnzipOp):
            size = len(op.next)
            if not size:
                self.inputs[uid] = {None: self.node(_unzipper(uid, 0), uid).input}
                return
            unzip = self.builder.create_unzip(size, name=uid)
            self.adapted[uid] = ("tuple", unzip.input, size)
            self.inputs[uid] = {None: unzip.input}
            for i, output in enumerate(unzip.outputs):
                self.out(placed, f"next:{i}", output, None)
        elif isinstance(op, r.ForkResultOp):
            fork = self.builder.create_fork_result(name=uid)
            self.adapted[uid] = ("result", fork.input, 0)
            self.inputs[uid] = {None: fork.input}
            self.out(placed, "ok", fork.ok, None)
            self.out(placed, "err", fork.err, None)
        elif isinstance(op, r.SplitOp):
            self.create_split(placed, op)
        elif isinstance(op, r.TransformOp):
            if placed.program is None:
                return
            evaluate = _transformer(uid, placed.program)
            if op.on_error is None:
                entry, ok = self.fallible(uid, uid, evaluate)
                self.inputs[uid] = {None: entry}
                self.out(placed, "next", ok, JSON)
            else:
                step = self.node(evaluate, uid)
                fork = self.builder.create_fork_result(name=f"{uid}/fork")
                self.builder.connect(step.output, fork.input)
                self.inputs[uid] = {None: step.input}
                self.out(placed, "next", fork.ok, JSON)
                self.out(placed, "on_error", fork.err, str)
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
                entry, encoded = self.fallible(uid, f"{uid}/to_json", _encoder(uid))
                self.builder.connect(encoded, buffer)
                self.inputs[uid] = {None: entry}
        elif isinstance(op, r.BufferAccessOp):
            entry_node = self.node(_identity, f"{uid}/in")
            self.inputs[uid] = {None: entry_node.input}
            self.pending.append((placed, entry_node))
        elif isinstance(op, (r.JoinOp, r.ListenOp)):
            self.pending.append((placed, None))

    def create_node(self, placed: Placed) -> None:
        info = placed.node
        if info is None or not placed.config_ok:
            return  # a problem was reported while checking
        try:
            if info.takes_name:
                node = info.build(self.builder, placed.config, name=placed.uid)
            else:
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
            if info.takes_name:
                section = info.build(self.builder, placed.config, name=placed.uid)
            else:
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
        ports: dict[str | None, Slot] = {}
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
        unreachable = self.unreachable

        def build_child(scope: Scope[Any, Any], builder: Builder) -> None:
            _ScopeBuild(child, scope, builder, problems, unreachable).build()

        with _Warnings(child, unreachable):
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
        uid = placed.uid
        keys = tuple(k for k, _ in op.keyed)
        size = len(op.sequential)
        # with keys, a JSON object's other entries come out of the split as (key, value)
        # pairs, and arrays are made objects alike; without keys, everything is a list
        entry = self.node(_splitter(frozenset(keys)) if keys else _listed, f"{uid}/items")
        split = self.builder.create_split(keys=keys, sequence=size, name=uid)
        self.builder.connect(entry.output, split.input)
        self.inputs[uid] = {None: entry.input}
        connected = {port for port, target in placed.targets if target not in (None, DISPOSE)}
        for key in keys:
            self.out(placed, f"key:{key}", split.key(key), None)
        for i in range(size):
            if f"seq:{i}" not in connected:
                continue
            output = split.seq(i)
            if keys:
                output = self.builder.chain(output).map(_second, name=f"{uid}/seq{i}").output()
            self.out(placed, f"seq:{i}", output, None)
        if "remaining" in connected:
            rest = split.remaining
            if keys:
                rest = self.builder.chain(rest).map(_second, name=f"{uid}/remaining").output()
            self.out(placed, "remaining", rest, None)

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
        uid = placed.uid
        keyed = op.buffers.shape == "dict"
        selection: Any = {str(k): b for k, b in picked} if keyed else tuple(b for _, b in picked)
        if isinstance(op, r.JoinOp):
            if keyed:
                joined = self.builder.join(selection, name=uid).output()
            else:
                # a JSON array: the join builds a list itself (no step after it)
                numbered = {str(i): b for i, (_, b) in enumerate(picked)}
                joined = self.builder.join(numbered, into=_as_list(len(picked)), name=uid).output()
            if op.serialize:
                encoded = self.fallible_after(joined, uid, f"{uid}/to_json", _encoder(uid))
                self.out(placed, "next", encoded, JSON)
            else:
                self.out(placed, "next", joined, None)
        elif isinstance(op, r.ListenOp):
            self.out(placed, "next", self.builder.listen(selection, name=uid).output(), None)
        else:
            assert entry is not None
            accessed = self.builder.chain(entry.output).with_access(selection, name=uid)
            self.out(placed, "next", accessed.output(), None)

    # ---------------------------------------------------------------- targets

    def entry(self, target: Target, source: Any, origin: str, port: str) -> Slot | None:
        """Where an output of `origin` carrying `source` values connects to reach `target`."""
        if target == DISPOSE:
            return None
        if isinstance(target, BuiltinTarget):
            if target.kind == "terminate":
                slot: InputSlot[Any] = self.scope.terminate
                return self.to_json(origin, port, slot, source) if self.root else slot
            if target.kind == "cancel":
                return self.cancel(origin, source)
            return self.implicit_cancel(origin)
        if isinstance(target, StreamTarget):
            slot = getattr(self.scope.streams, target.stream)
            return self.to_json(origin, port, slot, source) if self.root else slot
        assert isinstance(target, OpInput)
        ports = self.inputs.get(target.uid)
        if ports is None:
            return None  # the operation could not be built: reported there
        found = ports.get(target.port)
        if found is None:
            return None
        placed = self.layout.by_uid[target.uid]
        adapted = self.adapted.get(target.uid)
        if adapted is not None:
            return self.adapt(target.uid, adapted, source)
        declared = self.declared(placed, target.port)
        if declared is not None and declared is not Any and declared is not object:
            if source is declared:
                return found
            key = ("decode", target)
            if key not in self.entries:
                what = "from_json" if target.port is None else f"{target.port}:from_json"
                entry, decoded = self.fallible(
                    target.uid,
                    f"{target.uid}/{what}",
                    _decoder(target.uid, declared),
                    guard=target == self.layout.handler,
                )
                self.builder.connect(decoded, found)
                self.entries[key] = entry
            return self.entries[key]
        if _structured(source) and self.wants_json(placed):
            return self.to_json(origin, port, found, source)
        return found

    def adapt(self, uid: str, adapted: tuple[str, InputSlot[Any], int], source: Any) -> Slot:
        """The input of a fork_result or unzip for a source carrying `source` values."""
        kind, slot, size = adapted
        if kind == "result" and _is_result_type(source):
            return slot
        if kind == "tuple" and _is_tuple_type(source, size):
            return slot
        key = ("adapt", uid)
        if key not in self.entries:
            convert = _resulter(uid) if kind == "result" else _unzipper(uid, size)
            step = self.node(convert, f"{uid}/to_result" if kind == "result" else f"{uid}/to_tuple")
            self.builder.connect(step.output, slot)
            self.entries[key] = step.input
        return self.entries[key]

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

    def to_json(self, origin: str, port: str, slot: Slot, source: Any) -> Slot:
        """`slot`, behind a conversion to JSON when `source` values may need one."""
        if _is_json_source(source):
            return slot
        key = ("to_json", origin, port)
        if key not in self.entries:
            label = _port_label(port)
            name = f"{origin}/{label}:to_json" if label else f"{origin}/to_json"
            entry, encoded = self.fallible(origin, name, _encoder(name))
            self.builder.connect(encoded, slot)
            self.entries[key] = entry
        return self.entries[key]

    def cancel(self, origin: str, source: Any) -> Slot:
        """The builtin `cancel` for messages of `origin`: `Triggered` with them as text."""
        key = ("cancel", origin)
        if key not in self.entries:
            self.entries[key] = self.builder.create_cancel(name=f"{origin}/cancel")
        slot = self.entries[key]
        if source is str:
            return slot
        text_key = ("cancel:text", origin)
        if text_key not in self.entries:
            text = self.node(_text, f"{origin}/to_text")
            self.builder.connect(text.output, slot)
            self.entries[text_key] = text.input
        return self.entries[text_key]

    def implicit_cancel(self, origin: str) -> Slot:
        """The builtin `implicit_cancel` for messages of `origin`: it raises
        `ImplicitCancel`, so it never keeps the scope alive (S11.2)."""
        key = ("implicit_cancel", origin)
        if key not in self.entries:
            self.entries[key] = self.node(_canceller(origin), f"{origin}/implicit_cancel").input
        return self.entries[key]

    def fallible(
        self,
        owner: str,
        name: str,
        fn: Callable[[Any], Ok[Any] | Err[str]],
        guard: bool = False,
    ) -> tuple[InputSlot[Any], Output[Any]]:
        """A step named `name` for operation `owner`: its input, and the output of what
        succeeded. What fails goes to the scope's implicit-error handler; with `guard`
        (a step in front of the handler itself) it cancels, as `implicit_cancel` does."""
        if guard or self.raises:
            step = self.node(_raising(owner, fn), name)
            return step.input, step.output
        step = self.node(fn, name)
        fork = self.builder.create_fork_result(name=f"{name}/fork")
        self.builder.connect(step.output, fork.input)
        self.outputs.append((owner, None, HANDLER, fork.err, str))
        return step.input, fork.ok

    def fallible_after(
        self, output: Output[Any], owner: str, name: str, fn: Callable[[Any], Ok[Any] | Err[str]]
    ) -> Output[Any]:
        entry, result = self.fallible(owner, name, fn)
        self.builder.connect(output, entry)
        return result


# --------------------------------------------------------------------------- steps


def _second(pair: tuple[Any, Any]) -> Any:
    return pair[1]


def _as_list(size: int) -> Callable[..., list[Any]]:
    def as_list(**items: Any) -> list[Any]:
        return [items[str(i)] for i in range(size)]

    return as_list


def _text(message: Any) -> str:
    """A message as text for a cancellation: strings as they are, anything else as JSON."""
    if isinstance(message, str):
        return message
    try:
        return json_text(message)
    except ConversionError:
        return shown(message, None)


def _raising(owner: str, fn: Callable[[Any], Ok[Any] | Err[str]]) -> Callable[[Any], Any]:
    def step(message: Any) -> Any:
        result = fn(message)
        if isinstance(result, Err):
            raise ImplicitCancel(owner, result.error)
        return result.value

    return step


def _canceller(origin: str) -> Callable[[Any], Any]:
    def cancel(message: Any) -> Any:
        raise ImplicitCancel(origin, _text(message))

    return cancel


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


def _listed(message: Any) -> list[Any]:
    """What a split without keys splits: an object's values, an array, or one value."""
    if isinstance(message, Mapping):
        return list(message.values())
    if isinstance(message, Sequence) and not isinstance(message, (str, bytes)):
        return list(message)
    return [message]  # a single value goes to the first sequential output


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
