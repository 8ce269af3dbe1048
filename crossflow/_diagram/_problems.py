"""What is wrong with a diagram: `Problem`, `DiagramError`, JSON pointers and suggestions."""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from .._errors import BuildError, CrossflowError

LIMIT = 120  # characters of a user value shown in a message


def pointer(*parts: str | int) -> str:
    """A JSON pointer (RFC 6901) to the value reached through `parts`."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def shown(value: object, limit: int | None = LIMIT) -> str:
    """A short, safe rendering of a value from the document or from user code.

    JSON data is shown as JSON (`"text"`, `null`, `{"a": [1, 2]}`), the way the diagram
    wrote it; anything else by its `repr`. `limit=None` shows all of it.
    """
    text = json_shown(value)
    if text is None:
        try:
            text = repr(value)
        except Exception:
            return f"<{type(value).__qualname__} object>"
    if limit is None or len(text) <= limit:
        return text
    return f"{text[: limit - 15]}... ({len(text)} chars)"


def json_shown(value: object) -> str | None:
    """`value` as JSON text when it is JSON data (dicts, lists, text, numbers, booleans,
    null), else `None`."""
    if not _is_json_data(value, 0):
        return None
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return None


def _is_json_data(value: object, depth: int) -> bool:
    if depth > 50:
        return False
    kind = type(value)
    if value is None or kind is str or kind is bool or kind is int:
        return True
    if isinstance(value, float) and kind is float:
        return math.isfinite(value)
    if isinstance(value, list) and kind is list:
        return all(_is_json_data(v, depth + 1) for v in value)
    if isinstance(value, dict) and kind is dict:
        return all(type(k) is str and _is_json_data(v, depth + 1) for k, v in value.items())
    return False


def error_text(error: BaseException) -> str:
    """`"TypeError: message"`, whatever the exception's `__str__` does."""
    try:
        message = str(error)
    except Exception:
        message = ""
    name = type(error).__qualname__
    return f"{name}: {message}" if message else name


def suggest(name: object, choices: Iterable[str], what: str = "") -> str:
    """ " Did you mean 'x'?" for a close match, else the list of known names."""
    options = sorted({c for c in choices if isinstance(c, str)})
    if isinstance(name, str):
        close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
        if close:
            return f" Did you mean {close[0]!r}?"
    if not options:
        return f" There are no {what}." if what else ""
    listed = ", ".join(repr(o) for o in options[:20])
    more = f" and {len(options) - 20} more" if len(options) > 20 else ""
    return f" Known {what or 'names'}: {listed}{more}."


@attrs.frozen
class Problem:
    """One thing wrong with a diagram, and how to fix it.

    `Diagram.check` returns every problem it finds; `Diagram.build` raises
    `DiagramError` carrying the same list.

    Attributes:
        operation: the name of the operation concerned (its key in `ops` or in a
            template's `ops`); `""` for the document as a whole.
        pointer: a JSON pointer (RFC 6901) into the document, e.g.
            `/ops/x10/next`; `""` is the whole document.
        message: what is wrong, and what to do about it.
        error: the exception behind the problem, when a builder raised one.
    """

    operation: str
    pointer: str
    message: str
    error: BaseException | None = attrs.field(default=None, eq=False, repr=False)

    def __str__(self) -> str:
        where = self.pointer or "(document)"
        op = f" [{self.operation}]" if self.operation else ""
        return f"{where}{op}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """The problem as JSON-ready data: `operation`, `pointer` and `message`."""
        return {"operation": self.operation, "pointer": self.pointer, "message": self.message}


class DiagramError(BuildError):
    """A diagram could not be loaded or built.

    Raised by `Diagram.build` (and by `Diagram.from_json` / `from_file` when the
    text is not JSON at all). `problems` lists every problem found, the same list
    `Diagram.check` returns; the message shows them all.

    Attributes:
        problems: every `Problem` found, in document order.
    """

    def __init__(self, problems: Sequence[Problem], source: str = "the diagram") -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        plural = "problem" if count == 1 else "problems"
        super().__init__(f"{source} has {count} {plural}:\n{lines}")
        for problem in self.problems:
            if problem.error is not None:
                self.__cause__ = problem.error
                break


class ImplicitCancel(CrossflowError):
    """A diagram's `implicit_cancel` was reached: the scope is cancelled with its text.

    A fallible implicit step of a diagram (a conversion from or to JSON, a
    `transform` without `on_error`) sends its error text to the scope's
    `on_implicit_error`; when that is `implicit_cancel` (the default at the root), the
    step raises this exception, and so does a link to `{"builtin": "implicit_cancel"}`.
    The scope is cancelled with `cf.ServiceFailed`, whose `operation` is the step (the
    diagram operation's id, or a helper named `<id>/<what>`) and whose `error` is this
    exception: the whole text is `str(error)`. It never keeps a scope alive (S11.2).

    Attributes:
        operation: the id of the diagram operation whose step failed, or whose message
            was sent to `implicit_cancel`.
        text: the error text (or the message, as text).
    """

    def __init__(self, operation: str, text: str) -> None:
        super().__init__(text)
        self.operation = operation
        self.text = text

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.operation, self.text))


class Problems:
    """A growing list of problems, without duplicates (templates used twice report once)."""

    __slots__ = ("_items", "_seen")

    def __init__(self) -> None:
        self._items: list[Problem] = []
        self._seen: set[tuple[str, str]] = set()

    def add(
        self, operation: str, where: str, message: str, error: BaseException | None = None
    ) -> None:
        key = (where, message)
        if key not in self._seen:
            self._seen.add(key)
            self._items.append(Problem(operation, where, message, error))

    def extend(self, problems: Iterable[Problem]) -> None:
        for p in problems:
            self.add(p.operation, p.pointer, p.message, p.error)

    def __len__(self) -> int:
        return len(self._items)

    def __bool__(self) -> bool:
        return bool(self._items)

    def items(self) -> list[Problem]:
        return list(self._items)
