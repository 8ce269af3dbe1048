"""The backends of tests that skip time: asyncio, and trio started with a `MockClock`.

On trio the clock is chosen when the event loop starts, and only a `MockClock` lets
`cft.virtual_clock()` (and so `explore` and `run_at`) skip idle waits. It runs at the
pace of real time until its autojump is switched on. Use it in a test module with
`anyio_backend = virtual_backends.anyio_backend`.
"""

from __future__ import annotations

import pytest
from trio.testing import MockClock


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> object:
    """Both backends; trio with a clock that can skip time."""
    if request.param == "trio":
        return ("trio", {"clock": MockClock(rate=1.0)})
    return "asyncio"
