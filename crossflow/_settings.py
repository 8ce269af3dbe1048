"""Settings of a scope."""

from __future__ import annotations

import attrs

from ._errors import InvalidArgument


def _check_timeout(_: object, __: object, value: float | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidArgument(
            f"ScopeSettings(timeout=...) takes a number of seconds or None, got {value!r} "
            f"of type {type(value).__name__}"
        )
    if not value > 0:
        raise InvalidArgument(
            f"ScopeSettings(timeout={value!r}): a timeout must be a positive number of seconds"
        )


@attrs.frozen
class ScopeSettings:
    """How a scope (a workflow's root scope or a nested scope) behaves.

    Attributes:
        uninterruptible: ignore cancellation that comes from outside the scope; the
            session runs until it ends on its own (its own cancel operations, filters
            and failures still cancel it).
        timeout: cancel the scope with `TimedOut` after this many seconds.
    """

    uninterruptible: bool = False
    timeout: float | None = attrs.field(default=None, validator=_check_timeout)
