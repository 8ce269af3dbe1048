"""Notebook mime bundles: the forms of an object, each made only when asked for."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Container

from .._errors import CrossflowWarning

PLAIN = "text/plain"
SVG = "image/svg+xml"
HTML = "text/html"
MERMAID = "text/vnd.mermaid"

Makers = dict[str, Callable[[], str]]


def bundle(
    makers: Makers, include: Container[str] | None, exclude: Container[str] | None
) -> dict[str, str]:
    """The forms asked for; a form that fails is left out with a warning, never raised."""
    out: dict[str, str] = {}
    for mime, make in makers.items():
        if include is not None and mime not in include:
            continue
        if exclude is not None and mime in exclude:
            continue
        try:
            out[mime] = make()
        except Exception as error:
            if mime == PLAIN:
                raise
            warnings.warn(
                f"crossflow could not make the {mime} form of this object for the notebook "
                f"({type(error).__name__}: {error}); the other forms are shown",
                CrossflowWarning,
                stacklevel=3,
            )
    return out
