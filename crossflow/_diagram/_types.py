"""Declared Python types seen as JSON: conversion both ways, and their JSON Schemas.

Node builders may declare the types of their requests, responses, streams and config:
plain types (`int`, `float`, `str`, `bool`, `None`, `list[...]`, `tuple[...]`,
`dict[str, ...]`, unions, `Literal`), enums, dataclasses, attrs classes, TypedDicts and
`cf.Ok` / `cf.Err` (as `{"Ok": value}` / `{"Err": error}`, the way crossflow writes a
`Result`). A message crossing into such a node is converted from JSON into the type; a
value leaving one is converted into JSON. Undeclared means JSON: the value is passed on
as it is.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Literal, NewType, Union

import attrs

from .._results import Err, Ok
from ._problems import shown

Decoder = Callable[[Any, str], Any]

_JSON_SCALARS = (type(None), bool, int, float, str)


class ConversionError(ValueError):
    """A value could not be converted into (or out of) JSON; the message says where."""


# --------------------------------------------------------------------------- to JSON


def to_json(value: Any, path: str = "") -> Any:
    """`value` as JSON data (dicts, lists, str, numbers, bool, None).

    Dataclasses and attrs instances become objects of their fields, enums their value,
    tuples and sets lists, `cf.Ok(v)` `{"Ok": v}` and `cf.Err(e)` `{"Err": e}`.

    Raises:
        ConversionError: something in `value` has no JSON form.
    """
    kind = type(value)
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return value
    if kind is list or kind is tuple:
        return [to_json(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if kind is dict:
        out: dict[str, Any] = {}
        for k, v in value.items():
            out[_key(k, path)] = to_json(v, f"{path}.{k}")
        return out
    if isinstance(value, Ok):
        return {"Ok": to_json(value.value, f"{path}.Ok")}
    if isinstance(value, Err):
        return {"Err": to_json(value.error, f"{path}.Err")}
    if isinstance(value, enum.Enum):
        return to_json(value.value, path)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: to_json(getattr(value, f.name), f"{path}.{f.name}")
            for f in dataclasses.fields(value)
        }
    if attrs.has(kind):
        return {
            f.name: to_json(getattr(value, f.name), f"{path}.{f.name}") for f in attrs.fields(kind)
        }
    if isinstance(value, (str, int, float)):  # subclasses: bool is handled above
        return value
    if isinstance(value, Mapping):
        return {_key(k, path): to_json(v, f"{path}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_json(v, f"{path}[{i}]") for i, v in enumerate(value)]
    raise ConversionError(
        f"{_at(path)}{shown(value)} of type {kind.__qualname__} has no JSON form; "
        "return JSON data (dicts, lists, str, numbers, bool, None), a dataclass or attrs "
        "instance, an enum, or declare the type with response=..."
    )


def _key(key: object, path: str) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, (int, float, bool)):
        return str(key).lower() if isinstance(key, bool) else str(key)
    raise ConversionError(f"{_at(path)}the dict key {shown(key)} is not a string")


def _at(path: str) -> str:
    return f"at {path.lstrip('.')}: " if path else ""


def json_text(value: Any) -> str:
    """Compact JSON text of `value`, as crossflow writes messages (`[1,2]`, `12.0`)."""
    import json

    return json.dumps(to_json(value), separators=(",", ":"), ensure_ascii=False)


# --------------------------------------------------------------------------- from JSON

_decoders: dict[Any, Decoder] = {}


def decoder(tp: Any) -> Decoder:
    """A function converting JSON data into `tp`: `decode(value, path)`.

    Values that already are instances of a declared class pass unchanged.

    Raises:
        TypeError: `tp` is not a type crossflow can convert JSON into.
    """
    try:
        cached = _decoders.get(tp)
    except TypeError:  # an unhashable annotation
        return _make_decoder(tp)
    if cached is None:
        cached = _make_decoder(tp)
        _decoders[tp] = cached
    return cached


def convert(value: Any, tp: Any) -> Any:
    """`value` converted from JSON into `tp` (see `decoder`)."""
    return decoder(tp)(value, "")


def _fail(path: str, expected: str, value: Any) -> typing.NoReturn:
    raise ConversionError(f"{_at(path)}expected {expected}, got {shown(value)}")


def _make_decoder(tp: Any) -> Decoder:
    if tp is Any or tp is object:
        return lambda v, p: v
    if tp is None or tp is type(None):

        def none(v: Any, p: str) -> Any:
            if v is not None:
                _fail(p, "null", v)
            return None

        return none
    if isinstance(tp, NewType):
        return decoder(tp.__supertype__)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        return decoder(args[0])
    if tp is bool:

        def boolean(v: Any, p: str) -> Any:
            if not isinstance(v, bool):
                _fail(p, "a boolean", v)
            return v

        return boolean
    if tp is int:

        def integer(v: Any, p: str) -> Any:
            if isinstance(v, bool) or not isinstance(v, int):
                _fail(p, "an integer", v)
            return v

        return integer
    if tp is float:

        def number(v: Any, p: str) -> Any:
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                _fail(p, "a number", v)
            return float(v)

        return number
    if tp is str:

        def string(v: Any, p: str) -> Any:
            if not isinstance(v, str):
                _fail(p, "a string", v)
            return v

        return string
    if origin is Union or origin is types.UnionType:
        return _union_decoder(tp, args)
    if origin is Literal:
        allowed = args

        def literal(v: Any, p: str) -> Any:
            for a in allowed:
                if v == a and type(v) is type(a):
                    return a
            _fail(p, json_type_name(tp), v)

        return literal
    if tp in (list, tuple, set, frozenset, dict) and not args:
        return _container_decoder(tp, origin=tp, args=())
    if origin in (list, set, frozenset, tuple, dict) or origin in _ABSTRACT:
        return _container_decoder(tp, origin=origin, args=args)
    if isinstance(tp, type):
        if issubclass(tp, enum.Enum):
            return _enum_decoder(tp)
        if dataclasses.is_dataclass(tp) or attrs.has(tp):
            return _class_decoder(tp)
        if typing.is_typeddict(tp):
            return _typeddict_decoder(tp)
        if tp in (Ok, Err):
            return _result_decoder(tp, Any)
        return _instance_decoder(tp)
    if origin in (Ok, Err):
        return _result_decoder(origin, args[0] if args else Any)
    raise TypeError(f"{tp!r} is not a type that JSON can be converted into")


_ABSTRACT: dict[Any, Any] = {}
for _abstract, _concrete in (
    ("Sequence", list),
    ("MutableSequence", list),
    ("Iterable", list),
    ("Collection", list),
    ("Set", frozenset),
    ("MutableSet", set),
    ("Mapping", dict),
    ("MutableMapping", dict),
):
    import collections.abc as _cabc

    _ABSTRACT[getattr(_cabc, _abstract)] = _concrete


def _union_decoder(tp: Any, args: tuple[Any, ...]) -> Decoder:
    members = [(a, decoder(a)) for a in args]
    names = json_type_name(tp)

    def union(v: Any, p: str) -> Any:
        if v is None and type(None) in args:
            return None
        for member, _decode in members:
            if isinstance(member, type) and type(v) is member:
                return v
        for _member, decode in members:
            try:
                return decode(v, p)
            except ConversionError:
                continue
        _fail(p, names, v)

    return union


def _container_decoder(tp: Any, origin: Any, args: tuple[Any, ...]) -> Decoder:
    kind = _ABSTRACT.get(origin, origin)
    if kind is dict:
        if args and args[0] not in (str, Any):
            raise TypeError(f"{tp!r}: JSON objects have string keys; use dict[str, ...]")
        value_decode = decoder(args[1]) if len(args) == 2 else decoder(Any)

        def mapping(v: Any, p: str) -> Any:
            if not isinstance(v, Mapping):
                _fail(p, "an object", v)
            out = {}
            for k, item in v.items():
                if not isinstance(k, str):
                    _fail(f"{p}.{k}", "a string key", k)
                out[k] = value_decode(item, f"{p}.{k}")
            return out

        return mapping
    if kind is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
        if args == ((),):
            args = ()
        decoders = [decoder(a) for a in args]
        size = len(decoders)

        def fixed(v: Any, p: str) -> Any:
            if not isinstance(v, (list, tuple)) or len(v) != size:
                _fail(p, f"an array of {size} elements", v)
            return tuple(
                d(item, f"{p}[{i}]") for i, (d, item) in enumerate(zip(decoders, v, strict=True))
            )

        return fixed
    item_decode = decoder(args[0]) if args else decoder(Any)
    make: Callable[[Any], Any] = kind

    def sequence(v: Any, p: str) -> Any:
        if not isinstance(v, (list, tuple)):
            _fail(p, "an array", v)
        return make(item_decode(item, f"{p}[{i}]") for i, item in enumerate(v))

    return sequence


def _enum_decoder(tp: type[enum.Enum]) -> Decoder:
    expected = json_type_name(tp)

    def decode(v: Any, p: str) -> Any:
        if isinstance(v, tp):
            return v
        try:
            return tp(v)
        except (ValueError, TypeError):
            _fail(p, expected, v)

    return decode


def field_types(tp: type) -> dict[str, Any]:
    """The resolved annotations of a class's fields.

    Raises:
        TypeError: an annotation cannot be resolved (e.g. a name defined inside a function).
    """
    try:
        return typing.get_type_hints(tp)
    except Exception as error:
        raise TypeError(
            f"the annotations of {type_name(tp)} cannot be resolved ({error}); define the "
            "class and the types it uses at module level"
        ) from None


@attrs.frozen
class _Field:
    name: str  # attribute
    key: str  # JSON key and init argument
    decode: Decoder
    required: bool


def class_fields(tp: type) -> list[_Field]:
    """The init fields of a dataclass or attrs class, with their decoders."""
    hints = field_types(tp)
    fields: list[_Field] = []
    if attrs.has(tp):
        for a in attrs.fields(tp):
            if not a.init:
                continue
            annotation = hints.get(a.name, a.type if a.type is not None else Any)
            key = a.alias or a.name
            fields.append(_Field(a.name, key, decoder(annotation), a.default is attrs.NOTHING))
    else:
        for f in dataclasses.fields(tp):
            if not f.init:
                continue
            required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            fields.append(_Field(f.name, f.name, decoder(hints.get(f.name, Any)), required))
    return fields


def _class_decoder(tp: type) -> Decoder:
    fields = class_fields(tp)
    label = type_name(tp)

    def decode(v: Any, p: str) -> Any:
        if isinstance(v, tp):
            return v
        if not isinstance(v, Mapping):
            _fail(p, f"an object for {label}", v)
        kwargs = {}
        for f in fields:
            if f.key in v:
                kwargs[f.key] = f.decode(v[f.key], f"{p}.{f.key}")
            elif f.required:
                raise ConversionError(f"{_at(p)}{label} needs the field {f.key!r}, got {shown(v)}")
        try:
            return tp(**kwargs)
        except Exception as error:
            raise ConversionError(f"{_at(p)}{label}({shown(kwargs)}) raised {error!r}") from None

    return decode


def _typeddict_decoder(tp: type) -> Decoder:
    hints = field_types(tp)
    required = set(getattr(tp, "__required_keys__", hints))
    decoders = {k: decoder(t) for k, t in hints.items()}
    label = type_name(tp)

    def decode(v: Any, p: str) -> Any:
        if not isinstance(v, Mapping):
            _fail(p, f"an object for {label}", v)
        missing = sorted(required - set(v))
        if missing:
            raise ConversionError(
                f"{_at(p)}{label} needs the field(s) {', '.join(map(repr, missing))}, "
                f"got {shown(v)}"
            )
        return {
            k: (decoders[k](item, f"{p}.{k}") if k in decoders else item) for k, item in v.items()
        }

    return decode


def _result_decoder(kind: type, inner: Any) -> Decoder:
    key = "Ok" if kind is Ok else "Err"
    decode_inner = decoder(inner)

    def decode(v: Any, p: str) -> Any:
        if isinstance(v, kind):
            return v
        if isinstance(v, Mapping) and len(v) == 1 and key in v:
            return kind(decode_inner(v[key], f"{p}.{key}"))
        _fail(p, f'{{"{key}": ...}}', v)

    return decode


def _instance_decoder(tp: type) -> Decoder:
    label = type_name(tp)

    def decode(v: Any, p: str) -> Any:
        if isinstance(v, tp):
            return v
        _fail(p, f"a {label} (JSON cannot be converted into it)", v)

    return decode


# --------------------------------------------------------------------------- describing


def type_name(tp: Any) -> str:
    """A readable name for a type: `int`, `list[int]`, `shapes.Point`."""
    if tp is type(None) or tp is None:
        return "None"
    if isinstance(tp, type) and not typing.get_args(tp):
        if tp.__module__ == "builtins":
            return tp.__qualname__
        return f"{tp.__module__}.{tp.__qualname__}"
    text = repr(tp)
    return text.replace("typing.", "").replace("crossflow._results.", "crossflow.")


def json_type_name(tp: Any) -> str:
    """The JSON values that fit `tp`, in words: `a number or null`, `"a" or "b"`."""
    if tp is Any or tp is object:
        return "any JSON value"
    if tp is None or tp is type(None):
        return "null"
    if isinstance(tp, NewType):
        return json_type_name(tp.__supertype__)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        return json_type_name(args[0])
    simple = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
    if tp in simple:
        return simple[tp]
    if origin is Union or origin is types.UnionType:
        names: list[str] = []
        for member in args:
            name = json_type_name(member)
            if name not in names:
                names.append(name)
        return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
    if origin is Literal:
        values = [shown(a) for a in args]
        return values[0] if len(values) == 1 else f"{', '.join(values[:-1])} or {values[-1]}"
    kind = _ABSTRACT.get(origin, origin) if origin is not None else tp
    if kind is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
        size = 0 if args == ((),) else len(args)
        return f"an array of {size} elements"
    if kind in (list, tuple, set, frozenset):
        return "an array"
    if kind is dict:
        return "an object"
    if origin in (Ok, Err) or tp in (Ok, Err):
        key = "Ok" if (origin or tp) is Ok else "Err"
        return f'{{"{key}": ...}}'
    if isinstance(tp, type):
        if issubclass(tp, enum.Enum):
            values = [shown(m.value) for m in tp]
            return "one of " + ", ".join(values)
        if dataclasses.is_dataclass(tp) or attrs.has(tp) or typing.is_typeddict(tp):
            return f"an object ({tp.__qualname__})"
        return f"a {type_name(tp)} (which JSON cannot be converted into)"
    return type_name(tp)


def is_json_type(tp: Any) -> bool:
    """Whether every value of `tp` already is JSON data (no conversion needed)."""
    if tp is None or tp in _JSON_SCALARS:
        return True
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        return is_json_type(args[0])
    if origin is Union or origin is types.UnionType:
        return all(is_json_type(a) for a in args)
    if origin is Literal:
        return all(isinstance(a, _JSON_SCALARS) for a in args)
    if origin is list:
        return not args or is_json_type(args[0])
    if origin is dict:
        return not args or (args[0] is str and is_json_type(args[1]))
    if typing.is_typeddict(tp):
        return all(is_json_type(t) for t in field_types(tp).values())
    return False


class Schemas:
    """JSON Schemas of types; classes go into `definitions`, referenced by `$ref`."""

    def __init__(self, prefix: str = "#/$defs/") -> None:
        self.prefix = prefix
        self.definitions: dict[str, Any] = {}
        self._names: dict[Any, str] = {}

    def of(self, tp: Any) -> Any:
        """The JSON Schema of `tp`."""
        if tp is Any or tp is object:
            return True
        if tp is None or tp is type(None):
            return {"type": "null"}
        if isinstance(tp, NewType):
            return self.of(tp.__supertype__)
        simple = {bool: "boolean", int: "integer", float: "number", str: "string"}
        if tp in simple:
            schema: dict[str, Any] = {"type": simple[tp]}
            if tp is float:
                schema["format"] = "double"
            return schema
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin is typing.Annotated:
            return self.of(args[0])
        if origin is Union or origin is types.UnionType:
            return {"anyOf": [self.of(a) for a in args]}
        if origin is Literal:
            return {"const": args[0]} if len(args) == 1 else {"enum": list(args)}
        if tp in (list, tuple, set, frozenset):
            return {"type": "array", "items": True}
        if tp is dict:
            return {"type": "object", "additionalProperties": True}
        kind = _ABSTRACT.get(origin, origin)
        if kind is dict:
            return {
                "type": "object",
                "additionalProperties": self.of(args[1]) if len(args) == 2 else True,
            }
        if kind is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
            items = [] if args == ((),) else [self.of(a) for a in args]
            return {
                "type": "array",
                "prefixItems": items,
                "minItems": len(items),
                "maxItems": len(items),
            }
        if kind in (list, tuple, set, frozenset):
            schema = {"type": "array", "items": self.of(args[0]) if args else True}
            if kind in (set, frozenset):
                schema["uniqueItems"] = True
            return schema
        if origin in (Ok, Err) or tp in (Ok, Err):
            key = "Ok" if (origin or tp) is Ok else "Err"
            inner = self.of(args[0]) if args else True
            return {
                "type": "object",
                "properties": {key: inner},
                "required": [key],
                "additionalProperties": False,
            }
        if isinstance(tp, type):
            return self._class(tp)
        return True

    def _class(self, tp: type) -> Any:
        name = self._names.get(tp)
        if name is not None:
            return {"$ref": self.prefix + name}
        name = tp.__qualname__
        if name in self.definitions:
            name = f"{tp.__module__}.{tp.__qualname__}"
        if issubclass(tp, enum.Enum):
            schema: dict[str, Any] = {"title": tp.__qualname__, "enum": [m.value for m in tp]}
        elif dataclasses.is_dataclass(tp) or attrs.has(tp) or typing.is_typeddict(tp):
            self._names[tp] = name
            self.definitions[name] = {}  # reserved: recursive types refer to it
            hints = field_types(tp)
            properties: dict[str, Any] = {}
            required: list[str] = []
            if typing.is_typeddict(tp):
                keys = set(getattr(tp, "__required_keys__", hints))
                for key, annotation in hints.items():
                    properties[key] = self.of(annotation)
                    if key in keys:
                        required.append(key)
            else:
                for f in class_fields(tp):
                    properties[f.key] = self.of(hints.get(f.name, Any))
                    if f.required:
                        required.append(f.key)
            schema = {"title": tp.__qualname__, "type": "object", "properties": properties}
            if required:
                schema["required"] = required
        else:
            return True
        doc = _own_doc(tp)
        if doc:
            schema["description"] = doc
        self._names[tp] = name
        self.definitions[name] = schema
        return {"$ref": self.prefix + name}


def _own_doc(tp: type) -> str:
    doc = tp.__doc__ or ""
    if not doc or doc.startswith(f"{tp.__name__}(") or doc == enum.Enum.__doc__:
        return ""
    base_docs = {getattr(b, "__doc__", None) for b in tp.__mro__[1:]}
    if doc in base_docs:
        return ""
    import inspect

    return inspect.cleandoc(doc).split("\n\n")[0].replace("\n", " ")
