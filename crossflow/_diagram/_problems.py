"""What is wrong with a diagram: `Problem`, `DiagramError`, JSON pointers and suggestions."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from .._errors import BuildError

LIMIT = 120  # characters of a user value shown in a message


def pointer(*parts: str | int) -> str:
    """A JSON pointer (RFC 6901) to the value reached through `parts`."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def shown(value: object, limit: int = LIMIT) -> str:
    """A short, safe `repr` of a value from the document or from user code."""
    try:
        text = repr(value)
    except Exception:
        return f"<{type(value).__qualname__} object>"
    return text if len(text) <= limit else f"{text[: limit - 15]}... ({len(text)} chars)"


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
