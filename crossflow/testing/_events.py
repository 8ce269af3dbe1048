"""Reading event logs in tests: kinds in order, and events without their clock."""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from ..events import Event


def event_kinds(events: Iterable[Event], path: tuple[str, ...] | None = None) -> list[str]:
    """The class names of `events`, in order; only those of session `path` if given.

    ```python
    assert event_kinds(session.events, ("pie",))[-2:] == ["CleanupFinished", "Terminated"]
    ```
    """
    return [type(e).__name__ for e in events if path is None or e.path == path]


def untimed(events: Iterable[Event]) -> list[Event]:
    """`events` with their `time` set to 0.0, so that they compare by what happened.

    ```python
    assert untimed(session.events)[-1] == ev.Terminated(0.0, ("pie",))
    ```
    """
    return [attrs.evolve(e, time=0.0) for e in events]
