"""Calls in worker processes: while one is under way, a virtual clock does not jump.

A call in a worker process (`cf.ProcessExecutor`, which uses `anyio.to_process`) is work
that really runs elsewhere, and starting that process is guarded by a deadline of its
own (the process must say it is ready within 20 s of the loop's clock). A clock that
jumped while the loop waits for the process would pass that deadline, or the call's
timeout, before the process had a chance to answer. So the clocks of `virtual_clock`
ask, before each jump, whether a task is waiting inside such a call; while one is,
time runs as usual.

The question is answered by looking at where each task is suspended: whether the chain
of coroutines it awaits goes through `anyio.to_process.run_sync`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import anyio.to_process

_WORKER_CALL = anyio.to_process.run_sync.__code__
_DEEPEST = 500  # a chain of awaits longer than this is not followed further


def awaits_worker(coroutine: object) -> bool:
    """Whether the suspended `coroutine` waits, somewhere down its chain of awaits,
    inside a call to a worker process."""
    current = coroutine
    for _ in range(_DEEPEST):
        if current is None:
            return False
        code = getattr(current, "cr_code", None) or getattr(current, "gi_code", None)
        if code is _WORKER_CALL:
            return True
        awaited = getattr(current, "cr_await", None)
        if awaited is None:
            awaited = getattr(current, "gi_yieldfrom", None)
        current = awaited
    return False


def any_awaits_worker(coroutines: Iterable[object]) -> bool:
    """Whether any of `coroutines` waits inside a call to a worker process."""
    return any(awaits_worker(coroutine) for coroutine in coroutines)


def asyncio_worker_call_under_way(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether a task of `loop` waits inside a call to a worker process."""
    return any_awaits_worker(task.get_coro() for task in asyncio.all_tasks(loop))
