"""`Ok` and `Err`: the two halves of a `Result`, used by `fork_result` and its filters."""

from __future__ import annotations

from typing import Generic, TypeAlias, TypeVar, Union

import attrs

T_co = TypeVar("T_co", covariant=True)
E_co = TypeVar("E_co", covariant=True)
T = TypeVar("T")
E = TypeVar("E")


@attrs.frozen(repr=False)
class Ok(Generic[T_co]):
    """A successful value. `match` it as `case cf.Ok(value):`."""

    value: T_co

    def __repr__(self) -> str:
        return f"Ok({self.value!r})"


@attrs.frozen(repr=False)
class Err(Generic[E_co]):
    """A failure carrying an error value. `match` it as `case cf.Err(error):`."""

    error: E_co

    def __repr__(self) -> str:
        return f"Err({self.error!r})"


Result: TypeAlias = Union[Ok[T], Err[E]]  # noqa: UP007 (subscriptable at run time)
"""`Ok[T] | Err[E]`: what `fork_result`, `cancel_on_err` and friends take."""
