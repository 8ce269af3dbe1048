"""Rendering user objects into text without trusting them.

Messages and exceptions come from user code: their `__repr__` or `__str__` may raise
(an ORM row whose session is closed) or return something huge. Everything crossflow
writes into a disposal, a cancellation, an event or an error message goes through
these functions, which never raise and keep the text short.
"""

from __future__ import annotations

LIMIT = 200  # characters of one rendered object


def _shorten(text: str, limit: int | None) -> str:
    if limit is None or len(text) <= limit:
        return text
    return f"{text[: limit - 15]}... ({len(text)} chars)"


def safe_repr(obj: object, limit: int | None = LIMIT) -> str:
    """`repr(obj)`, shortened; a placeholder naming the type when `repr` fails."""
    try:
        text = repr(obj)
    except Exception as error:
        return f"<{_type_name(obj)} object (its repr raised {_type_name(error)})>"
    if not isinstance(text, str):  # pragma: no cover - repr() itself refuses non-str
        return f"<{_type_name(obj)} object>"
    return _shorten(text, limit)


def safe_str(obj: object, limit: int | None = LIMIT) -> str:
    """`str(obj)`, shortened; falls back to `safe_repr` when `str` fails."""
    try:
        text = str(obj)
    except Exception:
        return safe_repr(obj, limit)
    return _shorten(text, limit)


def describe_error(error: BaseException, limit: int | None = LIMIT) -> str:
    """`"TypeError: message"` for an exception, whatever its `__str__` does."""
    try:
        text = str(error)
    except Exception:
        return f"{_type_name(error)} (its message could not be rendered)"
    text = _shorten(text, limit)
    return f"{_type_name(error)}: {text}" if text else _type_name(error)


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """A count in words: 1, "run" -> "1 run"; 2, "run" -> "2 runs"; 0 -> "0 runs"."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def seconds_text(seconds: float) -> str:
    """A duration for people: `"35 µs"`, `"2.5 ms"`, `"1.25 s"`."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def _type_name(obj: object) -> str:
    try:
        return type(obj).__qualname__
    except Exception:  # pragma: no cover - a type without a qualname
        return "object"
