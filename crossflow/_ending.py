"""`Ending`: how a session ended, as its cleanup workflows see it (S6.1, S6.2)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Generic, TypeVar

import attrs

from ._text import safe_repr

if TYPE_CHECKING:
    from ._causes import Cancellation

K_co = TypeVar("K_co", covariant=True)


@attrs.frozen
class Ending(Generic[K_co]):
    """How a session ended, handed to a cleanup workflow with the keys it asked for.

    A cleanup in the one-line form (`builder.on_cancel(buffers, undo)`, where `undo`
    is a function of one argument, a `cf.Service` or a `cf.Workflow`) is called once
    with an `Ending` as its request; a cleanup build function gets one when it is
    added with `ending=True`. It tells a cleanup *why* it runs: a cleanup may undo
    completed work when the user cancelled (`cf.UserCancelled`), and keep it when the
    session terminated.

    Attributes:
        keys: keys to the buffers the cleanup asked for, in the shape they were given
            (one key, a tuple or a dict of keys; `()` for none).
        cancellation: why the session was cancelled; `None` when it terminated.
    """

    keys: K_co
    cancellation: Cancellation | None = None

    @property
    def terminated(self) -> bool:
        """True when the session reached `terminate` (it has a response)."""
        return self.cancellation is None

    @property
    def cancelled(self) -> bool:
        """True when the session was cancelled (`cancellation` says why)."""
        return self.cancellation is not None

    def __str__(self) -> str:
        empty = isinstance(self.keys, tuple) and not self.keys
        keys = "no keys" if empty else f"keys {safe_repr(self.keys)}"
        if self.cancellation is None:
            return f"the session terminated ({keys})"
        return f"the session was cancelled: {self.cancellation} ({keys})"
