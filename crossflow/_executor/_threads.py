"""`cf.ThreadExecutor`: the calls of a blocking service in worker threads (S10.1, S10.2)."""

from __future__ import annotations

import threading
from typing import Any, final

import anyio
import anyio.to_thread

from ._base import Call, Executor
from ._limits import check_limit, limiter_of, unlimited


class _ThreadCall:
    """One call in a worker thread: whether it started, and a way to wait for its end."""

    __slots__ = ("_lock", "asked", "call", "finished", "skipped", "started", "waiter")

    def __init__(self, call: Call) -> None:
        self.call = call
        self._lock = threading.Lock()
        self.started = False
        self.skipped = False  # cancelled before the thread took it: it never runs
        self.finished = False
        # whether the call had been asked to stop when its function returned
        self.asked = False
        self.waiter: anyio.Event | None = None

    def __repr__(self) -> str:
        state = "finished" if self.finished else "started" if self.started else "waiting"
        return f"<thread call of {self.call.operation!r} {state}>"

    def work(self) -> Any:
        # in the worker thread
        with self._lock:
            if self.skipped:
                return None
            self.started = True
        try:
            return self.call.invoke()
        finally:
            asked = self.call.cancel_requested
            with self._lock:
                self.asked = asked
                self.finished = True
                waiter = self.waiter
            if waiter is not None:
                self.call.on_loop(waiter.set)

    def stop_waiting(self) -> bool:
        """On the event loop, once cancelled: True if the function never started (and
        now never will); else arrange to be woken when it returns."""
        with self._lock:
            if not self.started:
                self.skipped = True
                return True
            if not self.finished:
                self.waiter = anyio.Event()
        return False


@final
class ThreadExecutor(Executor):
    """Runs the calls of a blocking service in anyio's worker threads (S10.1).

    `offload=True` is `ThreadExecutor()`. With `limit`, at most that many calls of the
    services that share this executor run at once, per event loop (without it, anyio's
    default thread limiter applies: 40); the others wait in order.

    A thread cannot be interrupted (S10.2). When its call is asked to stop, the function
    sees `cf.cancel_requested()` turn True and can return early; with the `WAIT` policy
    the session's cleanup waits for it to return, with `TRY_CANCEL` the cleanup goes on
    and the thread ends in the background. Either way the run waits for the thread
    before it returns (S10.5), and the thread keeps its place under `limit` until then.
    `TaskCancelled` says which: `stopped=True` only for a call that had not started.

    Raises:
        InvalidArgument: `limit` is not a positive int or None.
    """

    __slots__ = ("__weakref__", "limit")

    def __init__(self, limit: int | None = None) -> None:
        self.limit = check_limit(limit, "ThreadExecutor(limit=...)")

    def __repr__(self) -> str:
        return f"ThreadExecutor(limit={self.limit!r})"

    async def run(self, call: Call) -> Any:
        limiter = (
            anyio.to_thread.current_default_thread_limiter()
            if self.limit is None
            else limiter_of(self, self.limit)
        )
        cancelled = anyio.get_cancelled_exc_class()
        holder = _ThreadCall(call)
        try:
            await limiter.acquire_on_behalf_of(holder)
        except cancelled:
            call.report_cancellation(True, "it had not started: it was waiting for a thread")
            raise
        try:
            return await anyio.to_thread.run_sync(
                holder.work, limiter=unlimited(), abandon_on_cancel=True
            )
        except cancelled:
            with anyio.CancelScope(shield=True):
                await _stop(holder)
            raise
        finally:
            limiter.release_on_behalf_of(holder)


async def _stop(holder: _ThreadCall) -> None:
    """The call was asked to stop: say how far that reaches, and wait for the thread."""
    call = holder.call
    if holder.stop_waiting():
        call.report_cancellation(True, "it had not started: its thread never ran it")
        return
    waiter = holder.waiter
    if waiter is None and not holder.asked:  # it returned before it was asked to stop
        call.report_cancellation(True, "its thread had just finished: its result is dropped")
        return
    call.report_cancellation(
        False,
        "a thread cannot be interrupted: it runs until its function returns "
        "(cf.cancel_requested() is now True in it)",
    )
    if waiter is not None:
        await waiter.wait()
