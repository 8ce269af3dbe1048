"""Buffer keys and views: how a service reads and changes a buffer of its session (S7).

A `BufferKey` is an ordinary message. It names one buffer of one session; the
runtime hands keys out (listen, with_access, then_access, cleanup workflows) and
implements `BufferPort`, the few operations a view needs.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, final

from ._errors import StaleBufferKey

if TYPE_CHECKING:
    from ._buffers import BufferSettings

T = TypeVar("T")


class BufferPort(Protocol):
    """What the runtime provides to keys of one session."""

    def open_view(self, key: BufferKey[Any]) -> tuple[deque[Any], BufferSettings, GateState]:
        """The storage of `key`'s buffer; raises `StaleBufferKey` when it is gone."""
        ...

    def close_view(self, key: BufferKey[Any], view: BufferView[Any]) -> None:
        """The `with` block ended: notify listeners and joins of what changed."""
        ...

    def describe(self) -> str:
        """The session, for messages: `"session of scope 'x' (running)"`."""
        ...


class GateState(Protocol):
    is_open: bool


@final
class BufferKey(Generic[T]):
    """Access to one buffer of one session, passed around as a message.

    Use it inside a service: `with key.access() as buf: buf.push(x)`. A key works
    while its session has not ended; afterwards `access()` raises `cf.StaleBufferKey`.

    Attributes:
        buffer: the buffer's name.
    """

    __slots__ = ("_issuer", "_loops", "_op", "_port", "buffer")

    def __init__(
        self, port: BufferPort, op: int, buffer: str, issuer: int, loops: bool = False
    ) -> None:
        self._port = port
        self._op = op
        self._issuer = issuer
        self._loops = loops
        self.buffer = buffer

    def __repr__(self) -> str:
        loops = ", closed loops allowed" if self._loops else ""
        return f"<BufferKey {self.buffer!r} of the {self._port.describe()}{loops}>"

    def allow_closed_loops(self) -> BufferKey[T]:
        """A copy of this key whose changes also wake the listener that issued it (S7.3)."""
        return BufferKey(self._port, self._op, self.buffer, self._issuer, True)

    @contextmanager
    def access(self) -> Iterator[BufferView[T]]:
        """Open the buffer: `with key.access() as buf: ...`.

        Changes made through the view notify the buffer's listeners and joins once,
        when the `with` block exits (even if it exits with an exception).

        Raises:
            StaleBufferKey: the key's session has ended.
        """
        items, settings, gate = self._port.open_view(self)
        view: BufferView[T] = BufferView(self, items, settings, gate)
        try:
            yield view
        finally:
            view._active = False
            self._port.close_view(self, view)


@final
class BufferView(Generic[T]):
    """The contents of one buffer for one session, oldest first, inside `key.access()`."""

    __slots__ = (
        "_active",
        "_closed",
        "_gate",
        "_items",
        "_key",
        "_modified",
        "_opened",
        "_settings",
    )

    def __init__(
        self, key: BufferKey[T], items: deque[T], settings: BufferSettings, gate: GateState
    ) -> None:
        self._key = key
        self._items = items
        self._settings = settings
        self._gate = gate
        self._active = True
        self._modified = False
        self._opened = False
        self._closed = False

    def __repr__(self) -> str:
        gate = "open" if self._gate.is_open else "closed"
        state = "" if self._active else ", closed view"
        return f"<BufferView {self._key.buffer!r}: {len(self._items)} items, gate {gate}{state}>"

    def _check(self) -> None:
        if not self._active:
            raise StaleBufferKey(
                f"the view of buffer {self._key.buffer!r} was used after its "
                "`with key.access()` block ended; use it only inside the block"
            )

    def __len__(self) -> int:
        self._check()
        return len(self._items)

    def __iter__(self) -> Iterator[T]:
        """The items, oldest first (a snapshot)."""
        self._check()
        return iter(list(self._items))

    def newest(self) -> T | None:
        """The newest item, or `None` when the buffer is empty."""
        self._check()
        return self._items[-1] if self._items else None

    def oldest(self) -> T | None:
        """The oldest item, or `None` when the buffer is empty."""
        self._check()
        return self._items[0] if self._items else None

    def pull(self) -> T | None:
        """Remove and return the oldest item, or `None` when the buffer is empty."""
        self._check()
        if not self._items:
            return None  # nothing changed: no notification (S7.3)
        self._modified = True
        return self._items.popleft()

    def pull_newest(self) -> T | None:
        """Remove and return the newest item, or `None` when the buffer is empty."""
        self._check()
        if not self._items:
            return None
        self._modified = True
        return self._items.pop()

    def push(self, item: T) -> T | None:
        """Add `item` by the buffer's retention rule (S7.1).

        Returns the item that did not fit: the evicted oldest one (`keep_last`), `item`
        itself when it was rejected (`keep_first`, or a capacity of 0), else `None`.
        """
        from ._buffers import push_item

        self._check()
        stored, left_out = push_item(self._items, self._settings, item)
        if stored:
            self._modified = True  # a rejected item changes nothing (S7.1)
        result: T | None = left_out
        return result

    def drain(self) -> list[T]:
        """Remove and return every item, oldest first."""
        self._check()
        items = list(self._items)
        if items:
            self._modified = True
            self._items.clear()
        return items

    def clear(self) -> None:
        """Remove every item."""
        self._check()
        if self._items:
            self._modified = True
            self._items.clear()

    @property
    def is_open(self) -> bool:
        """Whether the buffer's gate is open (S7.4)."""
        self._check()
        return self._gate.is_open

    def gate_open(self) -> None:
        """Open the gate; on exit, the buffer's listeners and joins are woken (S7.3)."""
        self._check()
        if not self._gate.is_open:
            self._gate.is_open = True
            self._opened = True
            self._closed = False

    def gate_close(self) -> None:
        """Close the gate: changes stop waking listeners and joins until it opens (S7.4)."""
        self._check()
        if self._gate.is_open:
            self._gate.is_open = False
            self._closed = True
            self._opened = False
