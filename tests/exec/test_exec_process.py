"""Blocking services in worker processes: `cf.ProcessExecutor` (S10.1, S10.2, S10.4).

The functions live in `exec_support` (a worker process imports them); those that must be
watched report through files: the process id when they start, a mark when they end. A
process can be stopped anywhere: a call asked to stop has its process killed.
"""

from __future__ import annotations

import asyncio
import gc
import os
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from exec_support import (
    double,
    exclusive,
    fail,
    has_ended,
    pid_of,
    process_alive,
    raise_unpicklable,
    release,
    run_forever,
    run_until_released,
    started_file,
    unpicklable_response,
)
from trio.testing import MockClock

import crossflow as cf
from crossflow import events as ev

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

TIMEOUT = 30
TRY_CANCEL = cf.CancellationPolicy.TRY_CANCEL
ABANDON = cf.CancellationPolicy.ABANDON


def single(step: object, **options: object) -> cf.Workflow[object, object]:
    @cf.workflow(name="one")
    def wf(scope: cf.Scope[object, object], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(step, name="work", **options).connect(scope.terminate)

    return wf


async def started_pid(path: str) -> int:
    """The process id a watched function wrote when it started (waiting for it)."""
    marker = started_file(path)
    while not marker.exists():
        await anyio.sleep(0.01)  # the work runs in another process: nothing to await
    return int(marker.read_text())


async def failure_of(wf: cf.Workflow[object, object], request: object) -> BaseException:
    with anyio.fail_after(TIMEOUT), pytest.raises(cf.WorkflowCancelled) as caught:
        await wf.run(request)
    cause = caught.value.cancellation.cause
    assert isinstance(cause, cf.ServiceFailed)
    return cause.error


async def test_calls_run_in_other_processes() -> None:
    """S10.1: each call runs in a worker process (not this one), and the results come back."""

    @cf.workflow(name="fan")
    def wf(scope: cf.Scope[list[int], list[int]], builder: cf.Builder) -> None:
        spread = builder.chain(scope.start).spread()
        spread.then(double, executor=cf.ProcessExecutor(limit=2)).collect().connect(scope.terminate)

    with anyio.fail_after(TIMEOUT):
        assert sorted(await wf.run([1, 2, 3])) == [2, 4, 6]
        pid = await single(pid_of, executor=cf.ProcessExecutor()).run(None)
    assert isinstance(pid, int) and pid != os.getpid()


async def test_a_process_limit_is_never_exceeded(tmp_path: Path) -> None:
    """API §9: ProcessExecutor(limit=1) runs one call at a time: calls that each hold the
    same lock file for a moment never collide."""
    lock = str(tmp_path / "lock")

    @cf.workflow(name="fan")
    def wf(scope: cf.Scope[list[str], list[str]], builder: cf.Builder) -> None:
        spread = builder.chain(scope.start).spread()
        spread.then(exclusive, executor=cf.ProcessExecutor(limit=1)).collect().connect(
            scope.terminate
        )

    with anyio.fail_after(TIMEOUT):
        assert await wf.run([lock] * 3) == ["done"] * 3


def test_a_function_that_does_not_pickle_is_refused_at_build() -> None:
    """API §9: the function of a process node must pickle; a lambda or a function defined
    inside another is refused when the node is built, saying why and what to do."""

    def local(x: int) -> int:
        return x

    for fn in (local, lambda x: x):
        with pytest.raises(cf.BuildError, match=r"cannot be pickled.*module level"):
            cf.service(executor=cf.ProcessExecutor())(fn)


async def test_a_message_that_does_not_pickle_fails_the_call() -> None:
    """API §9: a message that cannot be pickled fails the node with
    `cf.UnpicklableMessage`, naming the node and the message."""
    error = await failure_of(single(pid_of, executor=cf.ProcessExecutor()), threading.Lock())
    assert isinstance(error, cf.UnpicklableMessage) and isinstance(error, cf.CrossflowError)
    assert "the message to work" in str(error) and "lock" in str(error)


async def test_a_response_that_does_not_pickle_fails_the_call() -> None:
    """API §9: a response that cannot be pickled back fails the node with
    `cf.UnpicklableMessage`."""
    error = await failure_of(single(unpicklable_response, executor=cf.ProcessExecutor()), 1)
    assert isinstance(error, cf.UnpicklableMessage)
    assert "the response of work" in str(error)


async def test_an_exception_in_the_process_fails_the_node_with_its_traceback() -> None:
    """S4.3: what the function raises in its process is the node's failure, with the
    worker's traceback as a note; one that cannot be pickled back becomes a
    `cf.UnpicklableMessage` that tells it."""
    error = await failure_of(single(fail, executor=cf.ProcessExecutor()), 3)
    assert isinstance(error, ValueError) and str(error) == "bad input 3"
    assert any("Traceback in its worker process" in note for note in error.__notes__)
    error = await failure_of(single(raise_unpicklable, executor=cf.ProcessExecutor()), 3)
    assert isinstance(error, cf.UnpicklableMessage)
    assert "work raised Unpicklable" in str(error)


@pytest.mark.parametrize("policy", [cf.CancellationPolicy.WAIT, TRY_CANCEL])
async def test_a_cancelled_call_has_its_process_killed(
    tmp_path: Path, policy: cf.CancellationPolicy
) -> None:
    """S10.2: a call that is asked to stop has its worker process killed, whatever it is
    doing; TaskCancelled says stopped=True; the process is gone when the run ends."""
    path = str(tmp_path / "work")
    wf = single(run_forever, executor=cf.ProcessExecutor(), cancellation=policy)
    with anyio.fail_after(TIMEOUT):
        async with wf.start(path) as session:
            pid = await started_pid(path)
            session.cancel("stop")
            with pytest.raises(cf.WorkflowCancelled):
                await session.result()
    assert not process_alive(pid)
    [cancelled] = [e for e in session.events if isinstance(e, ev.TaskCancelled)]
    assert (cancelled.waited, cancelled.stopped) == (policy is not TRY_CANCEL, True)
    assert cancelled.reach == "its worker process was killed"


async def test_an_abandoned_process_runs_to_its_end(tmp_path: Path) -> None:
    """S6.6, S10.5: with ABANDON the process is not stopped: it runs to its end, its
    result is dropped, and the run ends after it."""
    path = str(tmp_path / "work")
    wf = single(run_until_released, executor=cf.ProcessExecutor(), cancellation=ABANDON)
    with anyio.fail_after(TIMEOUT):
        async with wf.start(path) as session:
            pid = await started_pid(path)
            session.cancel("stop")
            with pytest.raises(cf.WorkflowCancelled):
                await session.result()
            assert process_alive(pid)
            release(path)
    assert has_ended(path)
    kinds = [type(e).__name__ for e in session.events]
    assert "TaskAbandoned" in kinds and "TaskCancelled" not in kinds


async def test_a_process_that_times_out_is_killed(tmp_path: Path) -> None:
    """S10.4, S10.2: an attempt past its timeout has its process killed at once and fails
    with `TimeoutError`; OperationTimedOut says stopped=True."""
    path = str(tmp_path / "work")
    executor = cf.ProcessExecutor(limit=1)
    with anyio.fail_after(TIMEOUT):
        # a first call starts the worker process, so the timed call starts at once
        assert await single(double, executor=executor).run(2) == 4
        async with single(run_forever, executor=executor, timeout=1.0).start(path) as session:
            pid = await started_pid(path)
            with pytest.raises(cf.WorkflowCancelled) as caught:
                await session.result()
    assert not process_alive(pid)
    cause = caught.value.cancellation.cause
    assert isinstance(cause, cf.ServiceFailed) and isinstance(cause.error, TimeoutError)
    [timed_out] = [e for e in session.events if isinstance(e, ev.OperationTimedOut)]
    assert (timed_out.stopped, timed_out.reach) == (True, "its worker process was killed")


def test_process_executor_checks_its_limit() -> None:
    """API §9: `limit` is a positive int or None, checked where it is given."""
    assert repr(cf.ProcessExecutor(4)) == "ProcessExecutor(limit=4)"
    for bad in (0, 1.5, False, "2"):
        with pytest.raises(cf.InvalidArgument, match=r"ProcessExecutor\(limit=\.\.\.\)"):
            cf.ProcessExecutor(limit=bad)  # type: ignore[arg-type]


async def test_cancelling_the_run_stops_abandoned_work(tmp_path: Path) -> None:
    """S10.5, S6.6: when the caller of the run gives up (its task is cancelled), work that
    ABANDON left running in the background is stopped too (here a process, killed), and
    the `async with` block ends only after it; TaskCancelled records it."""
    path = str(tmp_path / "work")
    wf = single(run_forever, executor=cf.ProcessExecutor(), cancellation=ABANDON)
    with anyio.fail_after(TIMEOUT):
        with anyio.CancelScope() as outer:
            async with wf.start(path) as session:
                pid = await started_pid(path)
                session.cancel("stop")
                with pytest.raises(cf.WorkflowCancelled):
                    await session.result()
                assert process_alive(pid)  # abandoned: it runs on
                outer.cancel()  # the caller gives up
                await anyio.lowlevel.checkpoint()
        assert outer.cancelled_caught
    assert not process_alive(pid)
    kinds = [type(e).__name__ for e in session.events]
    assert kinds.count("TaskAbandoned") == 1
    [cancelled] = [e for e in session.events if isinstance(e, ev.TaskCancelled)]
    assert (cancelled.waited, cancelled.stopped) == (False, True)


class FastClockLoop(asyncio.SelectorEventLoop):
    """An asyncio loop whose clock runs 10,000 times faster than real time (as a clock
    that skips idle waits would jump), and which closes the subprocess transports it
    made when asked to."""

    def __init__(self) -> None:
        super().__init__()
        self.origin = time.monotonic()
        self.transports: list[asyncio.SubprocessTransport] = []

    def time(self) -> float:
        return self.origin + (time.monotonic() - self.origin) * 10_000

    async def subprocess_exec(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        transport, protocol = await super().subprocess_exec(*args, **kwargs)
        self.transports.append(transport)
        return transport, protocol


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_clock_that_jumps_over_the_start_of_a_worker_is_named(backend: str) -> None:
    """A worker process gets 20 s of the loop's clock to start: when that clock runs ahead
    of real time (a clock that skips idle waits), the call fails with a message that says
    so and what to do, not that the script lacks `if __name__ == '__main__':`."""
    wf = single(double, executor=cf.ProcessExecutor())

    async def main() -> tuple[str, type[BaseException] | None, type[BaseException] | None]:
        try:
            with pytest.raises(cf.WorkflowCancelled) as caught:
                await wf.run(2)
        finally:
            loop = asyncio.get_running_loop() if backend == "asyncio" else None
            if isinstance(loop, FastClockLoop):
                for transport in loop.transports:  # anyio leaves the killed process's open
                    transport.close()
        cause = caught.value.cancellation.cause
        assert isinstance(cause, cf.ServiceFailed)
        error = cause.error
        # only text and types leave: the exceptions' tracebacks hold the killed process
        return str(error), type(error), type(error.__cause__)

    if backend == "asyncio":
        options: dict[str, Any] = {"loop_factory": FastClockLoop}
    else:
        options = {"clock": MockClock(rate=10_000)}
    message, kind, cause = anyio.run(main, backend=backend, backend_options=options)
    with warnings.catch_warnings():
        # anyio kills the process that did not start without waiting for it: its
        # finaliser warns that it may still be running
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
    assert kind is cf.CrossflowError and cause is anyio.BrokenWorkerProcess
    assert "the worker process for work was stopped before it started" in message
    assert "did not report ready within 20 s of the event loop's clock" in message
    assert "or the clock jumped over the wait" in message
    assert "crossflow.testing (virtual_clock(), run_skipping_time(), explore())" in message
    assert "__main__" not in message
