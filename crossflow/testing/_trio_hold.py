"""On trio: a `MockClock` whose autojump waits while a call to a worker process is under
way (see `_workers`).

trio decides to jump its `MockClock` inside its run loop: when no task can run and
nothing happened for `autojump_threshold` seconds, it jumps to the next deadline. An
instrument (`trio.abc.Instrument`) watches the loop go idle and, while a task waits for
a worker process, sets the threshold to infinity, so that the clock runs at the pace of
real time until the process has answered; then it puts the threshold back.

Only this module imports trio: it is imported when a trio event loop skips time.
"""

from __future__ import annotations

import math
import weakref

import trio
import trio.lowlevel
from trio.testing import MockClock

from ._workers import any_awaits_worker

_HOLDS: weakref.WeakKeyDictionary[MockClock, WorkerHold] = weakref.WeakKeyDictionary()


def _tasks() -> list[object]:
    """The coroutines of every task of the running trio loop."""
    root = trio.lowlevel.current_root_task()
    if root is None:
        return []
    coroutines: list[object] = []
    tasks = [root]
    while tasks:
        task = tasks.pop()
        coroutines.append(task.coro)
        for nursery in task.child_nurseries:
            tasks.extend(nursery.child_tasks)
    return coroutines


def _nothing() -> None:
    return None


class WorkerHold(trio.abc.Instrument):
    """Keeps `clock` from jumping while a task of the loop waits for a worker process.

    `threshold` is the autojump threshold wanted the rest of the time; set it here
    rather than on the clock, which holds infinity while a worker process is awaited.
    """

    def __init__(self, clock: MockClock) -> None:
        self._clock = weakref.ref(clock)  # the registry's key: not kept alive by its value
        self._threshold = clock.autojump_threshold
        self.holding = False

    @property
    def clock(self) -> MockClock:
        clock = self._clock()
        assert clock is not None  # invariant: used only while its loop runs
        return clock

    def __repr__(self) -> str:
        state = "holding" if self.holding else "not holding"
        return f"<WorkerHold {state}, autojump after {self._threshold} s idle>"

    @property
    def threshold(self) -> float:
        return self._threshold

    @threshold.setter
    def threshold(self, value: float) -> None:
        self._threshold = value
        if not self.holding:
            self.clock.autojump_threshold = value

    def before_io_wait(self, timeout: float) -> None:
        statistics = trio.lowlevel.current_statistics()
        if statistics.tasks_runnable:
            return  # not idle: no jump is planned
        if not self.holding:
            if math.isinf(self._threshold) or math.isinf(statistics.seconds_to_next_deadline):
                return  # nothing to jump to
            if not any_awaits_worker(_tasks()):
                return
            self.holding = True
            self.clock.autojump_threshold = math.inf
        else:
            if any_awaits_worker(_tasks()):
                return
            self.holding = False
            self.clock.autojump_threshold = self._threshold
        # the wait about to start was planned with the former threshold (a jump right
        # after it, or a wait until the next deadline): wake it at once, so that the next
        # one is planned with the new threshold
        trio.lowlevel.current_trio_token().run_sync_soon(_nothing)

    def release(self) -> None:
        """Give the clock back its threshold (when the instrument is removed)."""
        self.holding = False
        self.clock.autojump_threshold = self._threshold


def hold_for(clock: MockClock) -> WorkerHold | None:
    """The instrument that watches `clock`'s loop, if one does."""
    return _HOLDS.get(clock)


def new_hold(clock: MockClock) -> WorkerHold:
    """An instrument for `clock`, known to `hold_for`; add it to the loop's instruments."""
    hold = WorkerHold(clock)
    _HOLDS[clock] = hold
    return hold


def forget(clock: MockClock) -> None:
    """`clock` is no longer watched (its instrument was removed)."""
    _HOLDS.pop(clock, None)
