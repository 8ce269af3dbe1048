"""Typed references to the ports of operations: what users wire together.

Handles are cheap, immutable and belong to the scope that created them; the builder
checks that both ends of a connection belong to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, TypeVar, final

from ._arguments import shown
from ._errors import InvalidArgument

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
T_contra = TypeVar("T_contra", contravariant=True)
Req = TypeVar("Req")
Resp = TypeVar("Resp")


@final
class Output(Generic[T_co]):
    """Where an operation's messages come out.

    Connect it to at most one input slot with `builder.connect(output, slot)` or
    continue from it with `builder.chain(output)`. An output that is never connected
    discards every message it carries.
    """

    __slots__ = ("_op", "_owner", "_port")

    def __init__(self, owner: object, op: int, port: int) -> None:
        self._owner = owner
        self._op = op
        self._port = port

    def __repr__(self) -> str:
        return f"<Output {_describe(self._owner, self._op, self._port)}>"


@final
class InputSlot(Generic[T_contra]):
    """Where messages go into an operation. Any number of outputs may connect to it."""

    __slots__ = ("_op", "_owner")

    def __init__(self, owner: object, op: int) -> None:
        self._owner = owner
        self._op = op

    def __repr__(self) -> str:
        return f"<InputSlot {_describe(self._owner, self._op, None)}>"


def _describe(owner: object, op: int, port: int | None) -> str:
    describe = getattr(owner, "_describe_port", None)
    if describe is None:
        return f"op {op} port {port}"
    text: str = describe(op, port)
    return text


@final
class StreamOutputs:
    """The stream outputs of a node, by attribute: `node.streams.progress`."""

    __slots__ = ("_outputs",)

    def __init__(self, outputs: Mapping[str, Output[Any]]) -> None:
        self._outputs = dict(outputs)

    def __getattr__(self, name: str) -> Output[Any]:
        try:
            return self._outputs[name]
        except KeyError:
            declared = ", ".join(self._outputs) or "none"
            raise AttributeError(
                f"no stream named {name!r}; declared streams: {declared}"
            ) from None

    def __iter__(self) -> Any:
        return iter(self._outputs)

    def __repr__(self) -> str:
        return f"<StreamOutputs {', '.join(self._outputs) or '(none)'}>"


@final
class StreamInputs:
    """The stream-out slots of a scope, by attribute: `scope.streams.slices`."""

    __slots__ = ("_slots",)

    def __init__(self, slots: Mapping[str, InputSlot[Any]]) -> None:
        self._slots = dict(slots)

    def __getattr__(self, name: str) -> InputSlot[Any]:
        try:
            return self._slots[name]
        except KeyError:
            declared = ", ".join(self._slots) or "none"
            raise AttributeError(
                f"no stream named {name!r}; this scope declared: {declared}. "
                "Declare streams with streams={'name': type} on the workflow or scope."
            ) from None

    def __iter__(self) -> Any:
        return iter(self._slots)

    def __repr__(self) -> str:
        return f"<StreamInputs {', '.join(self._slots) or '(none)'}>"


@final
class Node(Generic[Req, Resp]):
    """An operation with one input slot and one output (and maybe stream outputs).

    Attributes:
        name: the operation's name, as it appears in disposals and cancellations.
        input: where requests go in.
        output: where responses come out.
        streams: the stream outputs, by attribute (`node.streams.progress`).
    """

    __slots__ = ("input", "name", "output", "streams")

    def __init__(
        self,
        name: str,
        input: InputSlot[Req],
        output: Output[Resp],
        streams: StreamOutputs,
    ) -> None:
        self.name = name
        self.input = input
        self.output = output
        self.streams = streams

    def __repr__(self) -> str:
        return f"<Node {self.name!r}>"


@final
class Scope(Generic[Req, Resp]):
    """The ports of a scope, handed to a build function.

    Attributes:
        name: the scope's name.
        start: yields the request exactly once per session (S1.2).
        terminate: the first message that reaches it is the response (S1.3).
        streams: one input slot per declared stream; messages sent there leave the
            session as stream messages (S1.6).
    """

    __slots__ = ("name", "start", "streams", "terminate")

    def __init__(
        self, name: str, start: Output[Req], terminate: InputSlot[Resp], streams: StreamInputs
    ) -> None:
        self.name = name
        self.start = start
        self.terminate = terminate
        self.streams = streams

    def __repr__(self) -> str:
        return f"<Scope {self.name!r}>"


T_inv = TypeVar("T_inv")


@final
class Buffer(Generic[T_inv]):
    """A buffer of the scope: it stores the messages sent into it, per session (S7).

    A buffer stands wherever an input slot is expected (`builder.connect(out, buffer)`,
    `chain.connect(buffer)`). Its items are read by joins (`builder.join`), listeners
    (`builder.listen`) and services holding one of its keys.

    Attributes:
        name: the buffer's name, as it appears in disposals and keys.
    """

    __slots__ = ("_clone", "_op", "_owner", "name")

    def __init__(self, owner: object, op: int, name: str, clone: bool = False) -> None:
        self._owner = owner
        self._op = op
        self._clone = clone
        self.name = name

    def join_by_cloning(self) -> Buffer[T_inv]:
        """This buffer, for a join that copies its oldest item instead of pulling it (S7.2)."""
        return Buffer(self._owner, self._op, self.name, True)

    def __repr__(self) -> str:
        clone = ", joined by cloning" if self._clone else ""
        return f"<Buffer {self.name!r}{clone}>"


@final
class TrimBranch:
    """A span of operations for `chain.then_trim` to clean up (its disposal: `Trimming`).

    Make one with `TrimBranch.single_point(p)`, `TrimBranch.downstream(p)` or
    `TrimBranch.between(a, b)`, where a point is an operation's input slot, a `Node`
    or a `Buffer`.
    """

    __slots__ = ("end", "how", "start")

    def __init__(self, how: str, start: object, end: object = None) -> None:
        if how not in ("single_point", "downstream", "between"):
            raise InvalidArgument(
                f"TrimBranch(how=...) takes 'single_point', 'downstream' or 'between', got "
                f"{shown(how)}; make branches with TrimBranch.single_point(p), "
                "TrimBranch.downstream(p) or TrimBranch.between(a, b)"
            )
        _check_point(start, f"TrimBranch.{how}()")
        if how == "between":
            _check_point(end, "TrimBranch.between()")
        elif end is not None:
            raise InvalidArgument(
                f"TrimBranch.{how}() has one point; got a second one, {shown(end)}; "
                "use TrimBranch.between(a, b) for a span"
            )
        self.how = how
        self.start = start
        self.end = end

    @staticmethod
    def single_point(point: InputSlot[Any] | Node[Any, Any] | Buffer[Any]) -> TrimBranch:
        """Just the operation at `point`."""
        return TrimBranch("single_point", point)

    @staticmethod
    def downstream(point: InputSlot[Any] | Node[Any, Any] | Buffer[Any]) -> TrimBranch:
        """The operation at `point` and everything downstream of it, except what lies on
        the paths from the scope's start to `point`."""
        return TrimBranch("downstream", point)

    @staticmethod
    def between(
        start: InputSlot[Any] | Node[Any, Any] | Buffer[Any],
        end: InputSlot[Any] | Node[Any, Any] | Buffer[Any],
    ) -> TrimBranch:
        """The operations on the paths from `start` to `end` (both included)."""
        return TrimBranch("between", start, end)

    def __repr__(self) -> str:
        if self.how == "between":
            return f"TrimBranch.between({self.start!r}, {self.end!r})"
        return f"TrimBranch.{self.how}({self.start!r})"


def _check_point(point: object, where: str) -> None:
    """A trim point: an input slot, a node or a buffer."""
    if isinstance(point, (InputSlot, Node, Buffer)):
        return
    hint = ""
    if isinstance(point, Output):
        hint = "; an output is where messages come out: give the operation's input slot"
    raise InvalidArgument(
        f"{where} takes an input slot (node.input), a cf.Node or a cf.Buffer as its point, "
        f"got {shown(point)}{hint}"
    )
