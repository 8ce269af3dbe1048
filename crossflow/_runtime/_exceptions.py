"""Telling apart the exceptions that reach the runtime from a service.

* A cancellation of the run (the backend's cancellation exception, delivered to the task
  by a cancel scope) is the runtime's business: cleanup follows.
* On asyncio, a service may also see a `CancelledError` that is not a cancellation of its
  own task: it awaited a task that someone else cancelled. That is a failure of the
  service (S4.3), not a cancellation of the caller; `Task.cancelling()` tells them apart,
  as anyio does.
* `KeyboardInterrupt`, `SystemExit` and other `BaseException`s that are not `Exception`s
  ask the program to stop: the run is cancelled, cleaned up, and the exception itself
  is raised to the caller (never wrapped in an exception group).
"""

from __future__ import annotations

import asyncio


def is_phantom_cancel(error: BaseException) -> bool:
    """True for a `CancelledError` that is not a cancellation of the current task."""
    if not isinstance(error, asyncio.CancelledError):
        return False
    try:
        task = asyncio.current_task()
    except RuntimeError:  # no asyncio loop: trio never raises asyncio's CancelledError
        return True
    return task is None or task.cancelling() == 0


def is_fatal(error: BaseException) -> bool:
    """True for exceptions that stop the whole program: KeyboardInterrupt, SystemExit, ..."""
    return not isinstance(error, (Exception, asyncio.CancelledError))
