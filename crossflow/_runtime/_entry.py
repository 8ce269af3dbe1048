"""The one way back into a running engine from another thread.

Work that runs elsewhere (a worker thread, a process's result callback, a Dask future's
done-callback) and code in other threads (`session.cancel()` from a GUI thread) must
never touch the engine directly: the engine is not thread-safe, and it belongs to its
event loop. They hand it an action instead. The entry queue keeps those actions in the
order they were put, and asks the event loop, once, to run them all; every later `put`
before that run joins the same batch. This is trio's entry queue, in the small, on
either backend.

A `put` after the event loop has closed is dropped: the run it belonged to is over.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections import deque
from collections.abc import Callable


def _scheduler() -> Callable[[Callable[[], None]], object]:
    """How another thread asks the running event loop to call a function soon."""
    trio = sys.modules.get("trio")
    if trio is not None:
        try:
            token = trio.lowlevel.current_trio_token()
        except RuntimeError:
            pass
        else:
            run_sync_soon: Callable[[Callable[[], None]], object] = token.run_sync_soon
            return run_sync_soon
    return asyncio.get_running_loop().call_soon_threadsafe


class EntryQueue:
    """Actions for the event loop of one run, from any thread, run in order on the loop."""

    __slots__ = ("_actions", "_lock", "_schedule", "_scheduled", "thread")

    def __init__(self) -> None:
        # made on the event loop's thread, which is where the actions run
        self.thread = threading.get_ident()
        self._schedule = _scheduler()
        self._actions: deque[Callable[[], None]] = deque()
        self._lock = threading.Lock()
        self._scheduled = False

    def __repr__(self) -> str:
        return f"<EntryQueue {len(self._actions)} waiting>"

    def put(self, action: Callable[[], None]) -> None:
        """Run `action` on the event loop, after the actions put before it."""
        with self._lock:
            self._actions.append(action)
            if self._scheduled:
                return
            self._scheduled = True
        try:
            self._schedule(self.drain)
        except RuntimeError:  # the event loop is closed: the run is over
            with self._lock:
                self._actions.clear()
                self._scheduled = False

    def drain(self) -> None:
        """Run every action waiting, in order (on the event loop's thread)."""
        while True:
            with self._lock:
                if not self._actions:
                    self._scheduled = False
                    return
                action = self._actions.popleft()
            action()

    def on_loop(self) -> bool:
        """Whether the caller runs on the event loop's thread."""
        return threading.get_ident() == self.thread
