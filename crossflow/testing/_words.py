"""Counting in words: "1 run", "2 runs"."""

from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """1, "run" -> "1 run"; 2, "run" -> "2 runs"; 0, "run" -> "0 runs"."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
