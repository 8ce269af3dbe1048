"""Small services and helpers shared by the tests of sessions, events, timeouts and the
property suites."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import anyio.lowlevel


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


async def cancel_caller_after(
    run: Callable[[], Awaitable[tuple[str, Any]]], after: int | None
) -> tuple[str, Any]:
    """Await `run()`; unless `after` is None, the caller's cancel scope is cancelled after
    `after` checkpoints of another task. Returns what `run` returned, or
    ("caller cancelled", None) when the cancellation came first (`run` re-raised the
    backend's cancellation, API §2)."""
    state = {"done": False}

    async def stopper(scope: anyio.CancelScope) -> None:
        assert after is not None
        for _ in range(after):
            await anyio.lowlevel.checkpoint()
        if not state["done"]:
            scope.cancel()

    outcome: tuple[str, Any] = ("caller cancelled", None)
    async with anyio.create_task_group() as tg:
        with anyio.CancelScope() as caller:
            if after is not None:
                tg.start_soon(stopper, caller)
            outcome = await run()
            state["done"] = True  # no checkpoint between the run's end and this line
        tg.cancel_scope.cancel()  # the stopper, if it is still counting
    if outcome[0] == "caller cancelled":
        assert caller.cancelled_caught
    return outcome
