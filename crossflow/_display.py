"""How values show themselves in notebooks and pictures: renderers, registered by name.

Cancellations, cancelled runs and event logs sit below the code that draws them
(`crossflow._viz`), which depends on them. Their display methods look their renderer up
here by name; `crossflow._viz` registers its renderers when it is imported, and importing
`crossflow` imports it. So values never import the drawing code, and nothing imports in
a circle.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_RENDERERS: dict[str, Callable[..., Any]] = {}


def register(name: str, renderer: Callable[..., Any]) -> None:
    """Make `renderer` the one values use for `name`."""
    _RENDERERS[name] = renderer


def renderer(name: str) -> Callable[..., Any]:
    """The renderer registered for `name`.

    Importing `crossflow` registers every renderer, so a missing one is a bug.
    """
    try:
        return _RENDERERS[name]
    except KeyError:
        raise LookupError(
            f"no renderer for {name!r}: crossflow._viz._register was not imported; "
            "this is a bug in crossflow"
        ) from None
