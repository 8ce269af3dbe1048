"""Settings of a scope."""

from __future__ import annotations

import attrs

from ._arguments import check_flag, check_seconds


def _flag(instance: object, attribute: attrs.Attribute[bool], value: object) -> None:
    check_flag(value, f"ScopeSettings({attribute.name}=...)")


def _seconds(instance: object, attribute: attrs.Attribute[float | None], value: object) -> None:
    check_seconds(value, f"ScopeSettings({attribute.name}=...)")


@attrs.frozen
class ScopeSettings:
    """How a scope (a workflow's root scope or a nested scope) behaves.

    Every setting is checked when the settings are made: `uninterruptible` takes `True`
    or `False` only (a truthy string such as `'no'` is refused), the timeouts a
    positive number of seconds or `None`.

    Attributes:
        uninterruptible: ignore cancellation that comes from outside the scope; the
            session runs until it ends on its own (its own cancel operations, filters
            and failures still cancel it).
        timeout: cancel the scope with `TimedOut` after this many seconds.
        cleanup_timeout: bounds the buffer-cleanup phase: cleanup workflows still
            running then are cancelled with `TimedOut` (S6.5). `None`: no bound.

    Raises:
        InvalidArgument: a setting of the wrong type, or a timeout that is not positive.
    """

    uninterruptible: bool = attrs.field(default=False, validator=_flag)
    timeout: float | None = attrs.field(default=None, validator=_seconds)
    cleanup_timeout: float | None = attrs.field(default=None, validator=_seconds)
