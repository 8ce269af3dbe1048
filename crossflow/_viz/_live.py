"""A running session shown in a notebook updates in place (API §8).

IPython calls `session._ipython_display_()`; for a session that still runs, this shows
its picture and progress with a display handle and updates it, at most every
`INTERVAL` seconds and once more when the run ends, from an event callback
(`session.watch`). Nothing here runs unless IPython asked for it.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Mapping
from typing import Any

from ..events import Event

INTERVAL = 0.25


def show(
    bundle: Callable[[], Mapping[str, str]],
    running: bool,
    watch: Callable[[Callable[[Event], object]], None] | None,
) -> None:
    """Display `bundle()` in the notebook; while `running`, update it as events come."""
    # IPython is imported only here, when a notebook asks for the display
    display: Any = importlib.import_module("IPython.display").display
    handle = display(dict(bundle()), raw=True, display_id=True)
    if not running or watch is None or handle is None:
        return
    last = [time.monotonic()]

    def update(event: Event) -> None:
        ended = len(event.path) == 1 and type(event).__name__ in ("Terminated", "Cancelled")
        now = time.monotonic()
        if not ended and now - last[0] < INTERVAL:
            return
        last[0] = now
        handle.update(dict(bundle()), raw=True)

    watch(update)
