"""What the executors share: their `limit` argument, and their limiters per event loop.

A `CapacityLimiter` belongs to one event loop, while an executor may serve runs on
several (`run_sync` in two threads): each executor gets one limiter per loop, kept in an
anyio `RunVar`. The limiter is held for as long as the work really runs: a thread that
could not be interrupted keeps its slot until its function returns, so a `limit` is
never exceeded.
"""

from __future__ import annotations

import math
import weakref

import anyio
from anyio.lowlevel import RunVar

from .._arguments import shown
from .._errors import InvalidArgument


def check_limit(limit: object, where: str) -> int | None:
    """`None` or a positive int."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise InvalidArgument(f"{where} takes a positive int or None, got {shown(limit)}")
    return limit


_LIMITERS: RunVar[weakref.WeakKeyDictionary[object, anyio.CapacityLimiter]] = RunVar(
    "crossflow_executor_limiters"
)
_UNLIMITED: RunVar[anyio.CapacityLimiter] = RunVar("crossflow_unlimited")


def limiter_of(executor: object, limit: int) -> anyio.CapacityLimiter:
    """The limiter of `executor` in the running event loop."""
    try:
        table = _LIMITERS.get()
    except LookupError:
        table = weakref.WeakKeyDictionary()
        _LIMITERS.set(table)
    limiter = table.get(executor)
    if limiter is None:
        limiter = table[executor] = anyio.CapacityLimiter(limit)
    return limiter


def unlimited() -> anyio.CapacityLimiter:
    """A limiter that never makes anyone wait: for anyio's pools, when the executor holds
    its own limiter for the whole life of the work."""
    try:
        return _UNLIMITED.get()
    except LookupError:
        limiter = anyio.CapacityLimiter(math.inf)
        _UNLIMITED.set(limiter)
        return limiter
