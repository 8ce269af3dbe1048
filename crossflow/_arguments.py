"""Checks of plain arguments (flags, names, numbers, stream types), made where they are given.

Every check raises `InvalidArgument` naming the argument and showing the value with its
type, so a wrong value never travels further than the call that received it.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from typing import Any

from ._errors import InvalidArgument
from ._text import safe_repr


def shown(value: object) -> str:
    """`value!r` and its type, for error messages: `'yes' of type str`."""
    return f"{safe_repr(value)} of type {type(value).__name__}"


def check_flag(value: object, where: str) -> bool:
    """`value` must be `True` or `False` (truthy values such as `'no'` or `[]` are refused)."""
    if value is True or value is False:
        return value
    raise InvalidArgument(f"{where} takes True or False, got {shown(value)}")


def check_name(value: object, where: str) -> str | None:
    """`None` (the default name) or a non-empty `str`."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidArgument(
            f"{where} takes a str (or None for the default name), got {shown(value)}"
        )
    if not value:
        raise InvalidArgument(
            f"{where}: a name cannot be empty, got {shown(value)}; leave it out for the "
            "default name"
        )
    return value


def check_seconds(value: object, where: str) -> float | None:
    """`None` or a positive number of seconds (`inf` allowed: no limit)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidArgument(f"{where} takes a number of seconds or None, got {shown(value)}")
    if not value > 0:
        raise InvalidArgument(f"{where}: must be a positive number of seconds, got {shown(value)}")
    return value


_TYPE_ALIAS_TYPE: Any = getattr(typing, "TypeAliasType", None)  # Python 3.12+


def is_type_form(value: object) -> bool:
    """True for what may describe a message type: a class, `None`, `typing.Any`, or a
    typing form such as `list[int]`, `int | None`, `Literal["a"]`, a `TypeVar` or a
    `NewType`. Strings (forward references) are not: they would never be resolved."""
    if value is None or value is typing.Any or isinstance(value, type):
        return True
    if typing.get_origin(value) is not None:  # list[int], int | None, Literal[...], ...
        return True
    forms: tuple[type, ...] = (typing.TypeVar, typing.NewType)
    if _TYPE_ALIAS_TYPE is not None:
        forms += (_TYPE_ALIAS_TYPE,)
    return isinstance(value, forms)


def check_stream_types(streams: object, where: str) -> dict[str, Any]:
    """A dict of stream name (an identifier) to message type (see `is_type_form`)."""
    if streams is None:
        return {}
    if not isinstance(streams, Mapping):
        raise InvalidArgument(
            f"{where}: streams must be a dict of stream name to message type, "
            f"for example {{'progress': float}}, got {shown(streams)}"
        )
    for key, kind in streams.items():
        if not isinstance(key, str) or not key.isidentifier():
            raise InvalidArgument(
                f"{where}: stream names must be identifiers, got {shown(key)}; a stream is "
                "reached by attribute (streams.progress), so its name must be one"
            )
        if key == "out":
            raise InvalidArgument(
                f"{where}: a stream cannot be called 'out': in `workflow.graph` that is the "
                "name of the node's own output port. Choose another name, such as 'sent'."
            )
        if not is_type_form(kind):
            hint = " (give the class itself, not its name)" if isinstance(kind, str) else ""
            raise InvalidArgument(
                f"{where}: stream {key!r} needs the type of its messages, such as float, "
                f"list[int] or Progress, got {shown(kind)}{hint}"
            )
    return dict(streams)
