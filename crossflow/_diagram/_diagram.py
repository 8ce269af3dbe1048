"""`Diagram`: a crossflow JSON diagram, to check against a registry and build into a workflow."""

from __future__ import annotations

import copy
import json
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, final

from .._errors import InvalidArgument, UnreachableWarning
from .._workflow import Workflow
from ._build import build_workflow
from ._layout import lay_out
from ._problems import DiagramError, Problem, Problems
from ._reach import explain
from ._records import Document, read_document
from ._registry import Registry

_TOO_DEEP = (
    "the diagram is nested too deeply to be read (Python's recursion limit was reached); flatten it"
)


def _copied(data: Any) -> Any:
    """A deep copy of JSON-like data, however deeply nested (no recursion); values other
    than dicts and lists are copied with `copy.deepcopy`."""

    def fresh(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {}
        if isinstance(value, list):
            return []
        return copy.deepcopy(value)

    top = fresh(data)
    todo: list[tuple[Any, Any]] = [(data, top)]
    while todo:
        source, target = todo.pop()
        if isinstance(source, Mapping):
            for key, value in source.items():
                target[key] = made = fresh(value)
                todo.append((value, made))
        elif isinstance(source, list):
            for value in source:
                target.append(made := fresh(value))
                todo.append((value, made))
    return top


@final
class Diagram:
    """A crossflow JSON diagram: the format of crossflow's Rust library and its editor.

    Load one with `Diagram.from_file(path)` or `Diagram.from_json(text_or_dict)`, check
    it against a `Registry` with `check`, and build it into a `cf.Workflow` with
    `build`. Messages in a diagram are JSON values, unless a node builder declares the
    types it takes and returns.

    The document is kept as it was read: `to_dict()` and `to_json()` give it back
    unchanged, with the `extensions` an editor stores in it.

    Attributes:
        name: the name a built workflow gets by default: the file's stem, or `"diagram"`.
        description: the document's `description`, or `""`.
    """

    __slots__ = ("_data", "_document", "_read_problems", "description", "name")

    def __init__(self, data: Any, name: str) -> None:
        self._data = data
        self.name = name
        problems = Problems()
        try:
            self._document: Document = read_document(data, problems)
        except RecursionError:
            problems = Problems()
            problems.add("", "", _TOO_DEEP)
            self._document = read_document({}, Problems())
        self._read_problems = problems.items()
        self.description = self._document.description

    def __repr__(self) -> str:
        count = len(self._document.ops)
        plural = "operation" if count == 1 else "operations"
        problems = f", {len(self._read_problems)} problems" if self._read_problems else ""
        return f"<Diagram {self.name!r}: {count} {plural}{problems}>"

    @classmethod
    def from_json(cls, data: str | bytes | Mapping[str, Any], *, name: str = "diagram") -> Diagram:
        """A diagram from JSON text, or from the already parsed document (a dict).

        A document with problems still loads: `check` reports them all.

        Raises:
            DiagramError: the text is not JSON.
            InvalidArgument: `data` is neither text nor a dict.
        """
        if isinstance(data, (bytes, bytearray)):
            try:
                data = bytes(data).decode("utf-8")
            except UnicodeDecodeError as error:
                raise DiagramError(
                    [Problem("", "", f"the diagram is not UTF-8 text: {error}")], name
                ) from None
        if isinstance(data, str):
            try:
                parsed = json.loads(data)
            except RecursionError:
                raise DiagramError([Problem("", "", _TOO_DEEP)], name) from None
            except json.JSONDecodeError as error:
                raise DiagramError(
                    [
                        Problem(
                            "",
                            "",
                            f"not valid JSON: {error.msg} at line {error.lineno}, column "
                            f"{error.colno}",
                        )
                    ],
                    name,
                ) from None
            return cls(parsed, name)
        if isinstance(data, Mapping):
            return cls(_copied(data), name)
        raise InvalidArgument(
            f"Diagram.from_json takes JSON text or a dict, got {data!r} of type "
            f"{type(data).__name__}; to read a file, use Diagram.from_file(path)"
        )

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Diagram:
        """The diagram in the JSON file at `path`; its workflow is named after the file.

        Raises:
            DiagramError: the file cannot be read, or is not JSON.
        """
        file = Path(path)
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise DiagramError(
                [Problem("", "", f"cannot read {str(file)!r}: {error}")], str(file)
            ) from error
        return cls.from_json(text, name=file.stem)

    def to_dict(self) -> Any:
        """The document as it was read (a deep copy), `extensions` included."""
        return _copied(self._data)

    def to_json(self, *, indent: int | None = 2) -> str:
        """The document as JSON text."""
        return json.dumps(self._data, indent=indent, ensure_ascii=False)

    @property
    def input_examples(self) -> list[tuple[Any, str]]:
        """The document's `input_examples` as `(value, description)` pairs."""
        return list(self._document.input_examples)

    def _check(self, registry: object, name: str | None) -> tuple[list[Problem], Any, list[str]]:
        if not isinstance(registry, Registry):
            raise InvalidArgument(
                f"a diagram is checked and built against a cf.diagram.Registry, got "
                f"{registry!r} of type {type(registry).__name__}"
            )
        if name is not None and not isinstance(name, str):
            raise InvalidArgument(f"build(name=...) takes a str, got {name!r}")
        problems = Problems()
        problems.extend(self._read_problems)
        workflow = None
        notes: list[str] = []
        try:
            layout = lay_out(self._document, registry, problems)
        except RecursionError:
            problems.add("", "", _TOO_DEEP)
            return problems.items(), None, []
        if not problems:
            label = name or self.name
            workflow, unreachable = build_workflow(layout, label, problems)
            notes = [explain(scope, label, found) for scope, found in unreachable.items()]
        return problems.items(), workflow, notes

    def check(self, registry: Registry) -> list[Problem]:
        """Every problem of the diagram with this registry; `[]` when it is sound.

        The document is checked first, completely: structure, names, templates, configs,
        links. When that finds nothing, the workflow is built (node and section builders
        are called) to find what only building can: a builder that raises, or returns
        something else than it should.

        Warns:
            cf.UnreachableWarning: the diagram is sound, but some scope of it can never
                finish, or has operations no message can reach; the warning says which,
                with the diagram's operation ids.

        Raises:
            InvalidArgument: `registry` is not a `cf.diagram.Registry`.
        """
        problems, _, notes = self._check(registry, None)
        for note in notes:
            warnings.warn(note, UnreachableWarning, stacklevel=2)
        return problems

    def build(self, registry: Registry, *, name: str | None = None) -> Workflow[Any, Any]:
        """Build the workflow the diagram describes, with the builders of `registry`.

        The workflow takes and returns JSON values (S11.1); run it like any other
        (`wf.run(request)`, `wf.run_sync(request)`, `wf.start(request)`) or use it as a
        node of another workflow. Its streams are the diagram's `stream_out` operations.

        Warns:
            cf.UnreachableWarning: some scope of the diagram can never finish, or has
                operations no message can reach (as `check` warns).

        Raises:
            DiagramError: the diagram has problems; `.problems` lists all of them (the
                list `check` returns).
            InvalidArgument: `registry` is not a `cf.diagram.Registry`.
        """
        problems, workflow, notes = self._check(registry, name)
        if problems:
            raise DiagramError(problems, f"diagram {self.name!r}")
        assert workflow is not None
        for note in notes:
            warnings.warn(note, UnreachableWarning, stacklevel=2)
        result: Workflow[Any, Any] = workflow
        return result
