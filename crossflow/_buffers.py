"""Buffer settings and retention: how a buffer keeps the items pushed into it (S7.1)."""

from __future__ import annotations

from collections import deque
from typing import Any, Literal

import attrs

from ._arguments import shown
from ._errors import InvalidArgument

Retention = Literal["keep_last", "keep_first", "keep_all"]


def _check_n(n: object, where: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise InvalidArgument(f"BufferSettings.{where}(n): n must be an int >= 0, got {shown(n)}")
    return n


@attrs.frozen
class BufferSettings:
    """How many items a buffer keeps for each session, and which ones (S7.1).

    Make one with `BufferSettings.keep_last(n)` (the default, with `n=1`),
    `BufferSettings.keep_first(n)` or `BufferSettings.keep_all()`.

    Attributes:
        retention: `"keep_last"` (a push into a full buffer evicts the oldest item),
            `"keep_first"` (a push into a full buffer is rejected) or `"keep_all"`.
        n: the capacity; `None` for `keep_all`.
    """

    retention: Retention = "keep_last"
    n: int | None = 1

    def __attrs_post_init__(self) -> None:
        if self.retention not in ("keep_last", "keep_first", "keep_all"):
            raise InvalidArgument(
                f"BufferSettings(retention=...) takes 'keep_last', 'keep_first' or 'keep_all', "
                f"got {shown(self.retention)}; or make settings with BufferSettings.keep_last(n), "
                "keep_first(n) or keep_all()"
            )
        if self.retention == "keep_all":
            if self.n is not None:
                raise InvalidArgument(
                    f"BufferSettings(retention='keep_all') has no capacity; n must be None, "
                    f"got {shown(self.n)}"
                )
        else:
            _check_n(self.n, self.retention)

    @staticmethod
    def keep_last(n: int = 1) -> BufferSettings:
        """Keep the newest `n` items: a push into a full buffer evicts the oldest."""
        return BufferSettings("keep_last", _check_n(n, "keep_last"))

    @staticmethod
    def keep_first(n: int) -> BufferSettings:
        """Keep the first `n` items: a push into a full buffer is rejected."""
        return BufferSettings("keep_first", _check_n(n, "keep_first"))

    @staticmethod
    def keep_all() -> BufferSettings:
        """Keep every item pushed."""
        return BufferSettings("keep_all", None)

    def __repr__(self) -> str:
        if self.retention == "keep_all":
            return "BufferSettings.keep_all()"
        return f"BufferSettings.{self.retention}({self.n})"


def push_item(items: deque[Any], settings: BufferSettings, value: Any) -> tuple[bool, Any]:
    """Push `value` by the retention rule; return (stored, the evicted or rejected item)."""
    n = settings.n
    if n is None:
        items.append(value)
        return True, None
    if settings.retention == "keep_last":
        if n == 0:
            return False, value
        evicted = items.popleft() if len(items) >= n else None
        items.append(value)
        return True, evicted
    if len(items) >= n:
        return False, value
    items.append(value)
    return True, None
