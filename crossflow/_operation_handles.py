"""The handles of operations that are not a plain node: forks, unzips and splits."""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING, Any, Generic, TypeVar, final

from ._arguments import shown
from ._errors import InvalidArgument
from ._handles import InputSlot, Output

if TYPE_CHECKING:
    from ._draft import Draft

T = TypeVar("T")


@final
class ForkClone(Generic[T]):
    """A fork that sends a copy of each message to every one of its outputs, in order."""

    __slots__ = ("_draft", "_op", "input")

    def __init__(self, draft: Draft, op: int) -> None:
        self._draft = draft
        self._op = op
        self.input: InputSlot[T] = InputSlot(draft, op)

    def clone_output(self) -> Output[T]:
        """Add a branch: a new output that receives a copy of every message."""
        return self._draft.add_port(self._op)

    def __repr__(self) -> str:
        return f"<ForkClone {self._draft.name_of(self._op)!r}>"


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

    __slots__ = ("_draft", "_keys", "_op", "_sequence", "input", "name", "remaining")

    def __init__(self, draft: Draft, op: int, keys: tuple[Hashable, ...], sequence: int) -> None:
        self._draft = draft
        self._op = op
        self._keys = keys
        self._sequence = sequence
        self.name = draft.name_of(op)
        self.input: InputSlot[Any] = InputSlot(draft, op)
        self.remaining: Output[Any] = Output(draft, op, len(keys) + sequence)

    def key(self, key: Hashable) -> Output[Any]:
        """The output for `key` (declared with `keys=`)."""
        try:
            position = self._keys.index(key)
        except ValueError:
            raise InvalidArgument(
                f"split {self.name!r} has no key {key!r}; declared keys: {list(self._keys)}. "
                "Declare it with split_outputs(keys=(...))."
            ) from None
        return Output(self._draft, self._op, position)

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
        return Output(self._draft, self._op, len(self._keys) + index)

    def __repr__(self) -> str:
        return f"<SplitOutputs {self.name!r} keys={list(self._keys)} sequence={self._sequence}>"
