"""Checks of the builder's arguments: what is wrong with a value, said where it is given."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any

import attrs

from ._arguments import shown
from ._errors import BuildError, InvalidArgument
from ._handles import Buffer, InputSlot, Node, Output, Scope
from ._policy import CancellationPolicy
from ._settings import ScopeSettings


def check_min_max(min: int, max: int | None, where: str) -> None:
    """Validate collect bounds (S5.1); shared by `chain.collect` and `create_collect`."""
    if isinstance(min, bool) or not isinstance(min, int) or min < 0:
        raise InvalidArgument(f"{where}: min must be an int >= 0, got {shown(min)}")
    if max is not None:
        if isinstance(max, bool) or not isinstance(max, int) or max < 1:
            raise InvalidArgument(f"{where}: max must be an int >= 1 or None, got {shown(max)}")
        if min > max:
            raise BuildError(
                f"{where}: min={min} is greater than max={max}, so the collect could never "
                f"emit. Use min <= max (collect_n({max}) collects exactly {max} items)."
            )


def check_settings(settings: object, where: str) -> ScopeSettings:
    if settings is None:
        return ScopeSettings()
    if not isinstance(settings, ScopeSettings):
        raise InvalidArgument(
            f"{where}: settings must be a cf.ScopeSettings, for example "
            f"cf.ScopeSettings(timeout=5), got {shown(settings)}"
        )
    return settings


def check_policy(policy: object, blocking: bool, name: str, where: str) -> CancellationPolicy:
    """Validate a node's cancellation policy (S6.6)."""
    if not isinstance(policy, CancellationPolicy):
        raise InvalidArgument(
            f"{where}: cancellation must be a cf.CancellationPolicy (WAIT, TRY_CANCEL or "
            f"ABANDON), got {shown(policy)}"
        )
    if policy is not CancellationPolicy.WAIT and blocking:
        raise InvalidArgument(
            f"{where}: {name!r} is a blocking service: it runs to its end inline and is never "
            f"cancelled, so cancellation={policy!r} would change nothing. Cancellation "
            "policies apply to async services, blocking services that run elsewhere "
            "(offload=True or executor=), nested scopes and workflows."
        )
    return policy


def handle_hint(value: object) -> str:
    """What the user probably meant, for a handle given where another kind is needed."""
    if isinstance(value, Node):
        return "; a node has an input and an output: use node.input or node.output"
    if isinstance(value, Scope):
        return "; use scope.start (an output) or scope.terminate (an input slot)"
    if isinstance(getattr(value, "_output", None), Output):  # a cf.Chain
        return "; this is a chain: continue it directly, or take its output with chain.output()"
    return ""


def not_an_output(value: object, where: str) -> InvalidArgument:
    """The error for something given where a `cf.Output` is needed."""
    if isinstance(value, InputSlot):
        hint = (
            "; an input slot is where messages go in (node.input, scope.terminate): start from "
            "an output, such as scope.start or node.output, and connect it to this slot"
        )
    elif isinstance(value, Buffer):
        hint = (
            f"; a buffer stores messages and has no output: read buffer {value.name!r} with "
            "builder.join(buffer) or builder.listen(buffer)"
        )
    else:
        hint = handle_hint(value)
    return InvalidArgument(
        f"{where} needs a cf.Output (where an operation's messages come out, such as "
        f"scope.start or node.output), got {shown(value)}{hint}"
    )


def not_an_input(value: object, where: str) -> InvalidArgument:
    """The error for something given where a `cf.InputSlot` (or buffer) is needed."""
    if isinstance(value, Output):
        hint = (
            "; an output is where messages come out: connect an output *to* an input slot, "
            "such as node.input or scope.terminate"
        )
    elif callable(value) and not isinstance(value, type):
        hint = (
            "; to send the messages to a function, make it a node: chain.then(fn), or "
            "builder.create_node(fn).input"
        )
    else:
        hint = handle_hint(value)
    return InvalidArgument(
        f"{where} needs a cf.InputSlot (where messages go in, such as node.input or "
        f"scope.terminate) or a cf.Buffer, got {shown(value)}{hint}"
    )


def check_split_keys(keys: object, where: str) -> tuple[Hashable, ...]:
    if isinstance(keys, (str, bytes)):
        raise InvalidArgument(
            f"{where}: keys takes a list or tuple of keys, got the string {keys!r}, which would "
            f"be split into its characters; for one key write keys=({keys!r},)"
        )
    if isinstance(keys, Mapping) or not isinstance(keys, Iterable):
        raise InvalidArgument(
            f"{where}: keys takes a list or tuple of keys (dict keys or positions), got "
            f"{shown(keys)}"
        )
    key_tuple = tuple(keys)
    for key in key_tuple:
        try:
            hash(key)
        except TypeError:
            raise InvalidArgument(
                f"{where}: a split key must be hashable (a str, an int, a tuple, ...), got "
                f"{shown(key)}"
            ) from None
    if len(set(key_tuple)) != len(key_tuple):
        raise BuildError(
            f"{where}: a key is listed twice in keys={key_tuple!r}; list each key once"
        )
    return key_tuple


def check_into(into: Callable[..., Any], names: tuple[str, ...]) -> None:
    """A keyed join into a class: its keys must be exactly the required/allowed fields."""
    label = getattr(into, "__qualname__", repr(into))
    if not callable(into):
        raise InvalidArgument(
            f"builder.join(into=...) takes a class or callable, got {shown(into)}"
        )
    required: set[str]
    allowed: set[str] | None
    if isinstance(into, type) and attrs.has(into):
        fields = [f for f in attrs.fields(into) if f.init]
        allowed = {f.alias or f.name for f in fields}
        required = {f.alias or f.name for f in fields if f.default is attrs.NOTHING}
    elif isinstance(into, type) and dataclasses.is_dataclass(into):
        fields_ = [f for f in dataclasses.fields(into) if f.init]
        allowed = {f.name for f in fields_}
        required = {
            f.name
            for f in fields_
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        }
    else:
        try:
            signature = inspect.signature(into)
        except (TypeError, ValueError):
            return  # nothing to check against
        allowed, required = set(), set()
        for p in signature.parameters.values():
            if p.kind is p.VAR_KEYWORD:
                allowed = None
                break
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
                allowed.add(p.name)
                if p.default is p.empty:
                    required.add(p.name)
    given = set(names)
    missing = sorted(required - given)
    unknown = sorted(given - allowed) if allowed is not None else []
    if missing or unknown:
        parts = []
        if missing:
            parts.append(f"no buffer for {', '.join(missing)}")
        if unknown:
            parts.append(f"{label} has no field {', '.join(unknown)}")
        raise BuildError(
            f"builder.join(..., into={label}): the keys {sorted(given)} do not match the "
            f"fields of {label}: {'; '.join(parts)}. Use one key per field."
        )
