"""Small services shared by the tests of sessions, events and timeouts."""

from __future__ import annotations

import anyio


class Parked:
    """An async service that says when it started, then parks until it is cancelled;
    its `finally` is logged."""

    def __init__(self) -> None:
        self.started = anyio.Event()
        self.log: list[str] = []

    async def __call__(self, x: int) -> int:
        self.started.set()
        try:
            await anyio.sleep_forever()
        finally:
            self.log.append("finally")
        return x  # pragma: no cover - never reached
