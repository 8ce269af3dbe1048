"""Virtual time and worker processes (API §11, S10.1): while a task waits for a worker
process (`cf.ProcessExecutor`) to start or to answer, the clock does not jump, and jumps
again once it has answered; the asyncio loop that `run_skipping_time` makes leaves no
subprocess behind.

Starting a worker process takes real time (anyio gives it 20 s of the loop's clock): a
clock that jumped over that wait failed every call in a worker process. The async tests
run on asyncio and on trio, trio with a `MockClock`.
"""

from __future__ import annotations

import gc
import logging
import subprocess
import sys
from typing import Any

import anyio
import anyio.abc
import pytest
import virtual_backends
from worker_functions import add_one, work_then_add_one

import crossflow as cf
from crossflow import testing as cft

pytestmark = pytest.mark.slow

HOUR = 3600.0
TIMEOUT = 30  # starting worker processes takes real time

anyio_backend = virtual_backends.anyio_backend


class Clock:
    """Reads the event loop's clock from inside the workflow."""

    def __init__(self) -> None:
        self.readings: list[float] = []

    def read(self, x: int) -> int:
        self.readings.append(anyio.current_time())
        return x


def hours_around_a_process(
    clock: Clock, step: Any = add_one, **options: Any
) -> cf.Workflow[int, int]:
    """Reads the clock, waits an hour, calls `step` in a worker process, waits another
    hour, reads the clock again."""

    @cf.workflow(name="hours")
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        (
            builder.chain(scope.start)
            .map(clock.read, name="before")
            .delay(HOUR, name="first hour")
            .then(step, name="in a process", executor=cf.ProcessExecutor(), **options)
            .delay(HOUR, name="second hour")
            .map(clock.read, name="after")
            .connect(scope.terminate)
        )

    return wf


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_run_skipping_time_runs_calls_in_worker_processes(backend: str) -> None:
    """The worker process starts and answers (the clock waits for it), and the hours on
    either side of the call are still skipped."""
    clock = Clock()
    wf = hours_around_a_process(clock)
    assert cft.run_skipping_time(wf, 1, backend=backend) == 2  # type: ignore[arg-type]
    before, after = clock.readings
    assert after - before >= 2 * HOUR


@pytest.mark.anyio
async def test_the_clock_waits_for_a_call_in_a_worker_process() -> None:
    """Inside `virtual_clock()`, a call that takes real time in its process is not timed
    out by a clock that jumps (its timeout is 30 s, it takes a fraction of that), and once
    it has answered, the clock jumps again: the hour after it passes at once."""
    clock = Clock()
    wf = hours_around_a_process(clock, work_then_add_one, timeout=30.0)
    with anyio.fail_after(TIMEOUT + 3 * HOUR), cft.virtual_clock():
        assert await wf.run(1) == 2
        start = anyio.current_time()
        await anyio.sleep(HOUR)
        assert anyio.current_time() - start >= HOUR
    before, after = clock.readings
    assert after - before >= 2 * HOUR


@pytest.mark.anyio
async def test_explore_runs_calls_in_worker_processes() -> None:
    """`explore` in virtual time: the plain run responds, and no run fails because its
    worker process could not start."""
    outcomes: list[cft.Outcome[int]] = []
    with anyio.fail_after(TIMEOUT + 100 * HOUR):
        report = await cft.explore(
            lambda: hours_around_a_process(Clock()), 1, check=outcomes.append
        )
    assert report.virtual_time
    assert outcomes[0].response == 2
    assert report.failure_points == 3  # before, in a process, after
    failed = [o for o in outcomes if "worker process" in str(o.cancellation)]
    assert failed == []


def test_explore_sync_runs_calls_in_worker_processes_on_both_backends() -> None:
    """`explore_sync` on both backends, in event loops of its own with virtual time."""
    outcomes: list[cft.Outcome[int]] = []
    report = cft.explore_sync(
        lambda: hours_around_a_process(Clock()),
        1,
        check=outcomes.append,
        backend=("asyncio", "trio"),
        kinds="fail",
    )
    assert report.runs == 2 * 4
    assert [o.response for o in outcomes if o.point is None] == [2, 2]
    assert not [o for o in outcomes if "worker process" in str(o.cancellation)]


left_behind: list[anyio.abc.Process] = []


async def leave_a_process_behind(x: int) -> int:
    """Starts a subprocess and kills it without waiting for it to end (as anyio does
    with a worker process that fails to start), keeping it referenced."""
    process = await anyio.open_process(
        [sys.executable, "-c", "import time; time.sleep(60)"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    process.kill()
    left_behind.append(process)
    return x


@cf.workflow(name="leaves")
def leaves_a_process(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
    builder.chain(scope.start).then(leave_a_process_behind).connect(scope.terminate)


def test_a_subprocess_left_behind_makes_no_noise_after_the_run(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The asyncio event loop of `run_skipping_time` closes the subprocesses it started:
    none reports to it once it is closed ("Loop ... that handles pid ... is closed"), and
    none fails in its finaliser ("Event loop is closed") when collected later. (A trio
    loop keeps no such records: a process left behind there is the service's to close.)"""
    unraisable: list[BaseException | None] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: unraisable.append(u.exc_value))
    left_behind.clear()
    with caplog.at_level(logging.WARNING, logger="asyncio"):
        for _ in range(3):
            assert cft.run_skipping_time(leaves_a_process, 1, backend="asyncio") == 1
        left_behind.clear()
        gc.collect()
    assert unraisable == []
    assert [r.getMessage() for r in caplog.records if "is closed" in r.getMessage()] == []
