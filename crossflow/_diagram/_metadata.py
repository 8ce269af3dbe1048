"""The registry described in crossflow's registry metadata format, for editors and tools.

Message types are listed once each and referred to by index: index 0 is JSON (what an
undeclared request, response or stream carries), then every declared type in the order
first met. Classes are described once in `schemas` and referred to with
`{"$ref": "#/schemas/<Name>"}`, as crossflow does.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .._results import Err, Ok
from ._types import Schemas, type_name

if TYPE_CHECKING:
    from ._registry import NodeBuilder, SectionBuilder

JSON_TYPE_NAME = "serde_json::value::Value"


class _Messages:
    def __init__(self) -> None:
        self.schemas = Schemas(prefix="#/schemas/")
        self.entries: list[dict[str, Any]] = []
        self._index: dict[str, int] = {}
        self.results: list[tuple[tuple[int, int], int]] = []
        self.unzips: list[tuple[list[int], int]] = []
        self.entries.append(
            {
                "type_name": JSON_TYPE_NAME,
                "schema": True,
                "operations": _operations(
                    split=0,
                    join={"dynamic": {"hint": {"fallback": 0}, "indices": True, "names": True}},
                ),
            }
        )
        self._index[JSON_TYPE_NAME] = 0

    def index(self, tp: Any) -> int:
        if tp is None or tp is typing.Any or tp is object:
            return 0  # undeclared: JSON
        name = type_name(tp)
        found = self._index.get(name)
        if found is not None:
            return found
        index = len(self.entries)
        self._index[name] = index
        entry: dict[str, Any] = {"type_name": name, "schema": None, "operations": None}
        self.entries.append(entry)
        extra: dict[str, Any] = {}
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        members = args if origin in (typing.Union, types.UnionType) else ()
        oks = [a for a in members if (typing.get_origin(a) or a) is Ok]
        errs = [a for a in members if (typing.get_origin(a) or a) is Err]
        if len(members) == 2 and oks and errs:
            ok = self.index(_inner(oks[0]))
            err = self.index(_inner(errs[0]))
            extra["fork_result"] = [ok, err]
            self.results.append(((ok, err), index))
        if origin is tuple and args and args[-1] is not Ellipsis:
            elements = [self.index(a) for a in args]
            extra["unzip"] = elements
            self.unzips.append((elements, index))
        entry["schema"] = self.schemas.of(tp)
        entry["operations"] = _operations(**extra)
        return index


def _inner(tp: Any) -> Any:
    args = typing.get_args(tp)
    return args[0] if args else typing.Any


def _operations(**extra: Any) -> dict[str, Any]:
    ops: dict[str, Any] = {
        "into": [],
        "try_into": [],
        "from": [],
        "try_from": [],
        "serialize": {},
        "deserialize": {},
        "fork_clone": {},
    }
    ops.update(extra)
    return ops


def _examples(examples: Iterable[tuple[str, Any]]) -> list[dict[str, Any]]:
    return [{"description": text, "config": value} for text, value in examples]


def _config_schema(messages: _Messages, config: Any, typed: bool) -> Any:
    return messages.schemas.of(config) if typed else True


def registry_metadata(
    nodes: Iterable[NodeBuilder], sections: Iterable[SectionBuilder]
) -> dict[str, Any]:
    """The metadata document of a registry (see `Registry.metadata`)."""
    messages = _Messages()
    node_meta: dict[str, Any] = {}
    for node in nodes:
        entry: dict[str, Any] = {
            "default_display_text": node.display_text,
            "request": messages.index(node.request),
            "response": messages.index(node.response),
            "streams": {name: messages.index(tp) for name, tp in (node.streams or {}).items()},
            "config_schema": _config_schema(
                messages, node.config.type, node.config.decode is not None
            ),
            "config_examples": _examples(node.config.examples),
        }
        if node.description is not None:
            entry["description"] = node.description
        node_meta[node.name] = entry
    section_meta: dict[str, Any] = {}
    for section in sections:
        entry = {
            "default_display_text": section.display_text,
            "interface": {
                "inputs": {
                    k: {"message_type": messages.index(t)} for k, t in section.inputs.items()
                },
                "outputs": {
                    k: {"message_type": messages.index(t)} for k, t in section.outputs.items()
                },
                "buffers": {
                    k: {"message_type": None if t is None else messages.index(t)}
                    for k, t in section.buffers.items()
                },
            },
            "config_schema": _config_schema(
                messages, section.config.type, section.config.decode is not None
            ),
            "config_examples": _examples(section.config.examples),
        }
        if section.description is not None:
            entry["description"] = section.description
        section_meta[section.name] = entry
    return {
        "nodes": node_meta,
        "sections": section_meta,
        "scripting": {},
        "messages": messages.entries,
        "schemas": messages.schemas.definitions,
        "reverse_message_lookup": {
            "json_message": 0,
            "script_message": None,
            "result": [[list(pair), index] for pair, index in messages.results],
            "unzip": [[elements, index] for elements, index in messages.unzips],
            "split": [],
        },
        "trace_supported": False,
    }
