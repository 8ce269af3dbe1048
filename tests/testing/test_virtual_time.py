"""Virtual time (API §11): `cft.run_skipping_time` and `cft.virtual_clock()` jump over idle
waits (delays, scope timeouts, `anyio.sleep` in services), and `explore` uses them.

The async tests run on asyncio and on trio; on trio the event loop is started with a
`trio.testing.MockClock` (time cannot be skipped otherwise), which runs in real time until
`virtual_clock()` switches its autojump on.
"""

from __future__ import annotations

import re
import threading

import anyio
import anyio.to_thread
import pytest
import virtual_backends

import crossflow as cf
from crossflow import testing as cft

pytestmark = pytest.mark.anyio

HOUR = 3600.0
DAY = 24 * HOUR
TIMEOUT = 10


anyio_backend = virtual_backends.anyio_backend


class Clock:
    """Reads the event loop's clock from inside services."""

    def __init__(self) -> None:
        self.readings: list[float] = []

    def read(self, x: int) -> int:
        self.readings.append(anyio.current_time())
        return x


def waiting(clock: Clock) -> cf.Workflow[int, int]:
    """Reads the clock, sleeps a day in a service, waits an hour in a delay, reads it again."""

    async def sleepy(x: int) -> int:
        await anyio.sleep(DAY)
        return x + 1

    @cf.workflow
    def wait(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        (
            builder.chain(scope.start)
            .map(clock.read, name="before")
            .then(sleepy)
            .delay(HOUR, name="an hour")
            .map(clock.read, name="after")
            .connect(scope.terminate)
        )

    return wait


async def forever(x: int) -> int:
    await anyio.sleep_forever()
    raise AssertionError("unreachable")


def hangs(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
    builder.chain(scope.start).then(forever).connect(scope.terminate)


@cf.workflow
def timed_out(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
    """A nested scope that hangs, with a timeout of an hour."""
    settings = cf.ScopeSettings(timeout=HOUR)
    builder.chain(scope.start).then_scope(hangs, name="hangs", settings=settings).connect(
        scope.terminate
    )


@cf.workflow
def quick(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
    """Waits for nothing."""
    builder.chain(scope.start).map(lambda x: x + 1, name="inc").connect(scope.terminate)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_run_skipping_time_jumps_over_sleeps_and_delays(backend: str) -> None:
    """API §11: a service that sleeps a day and a delay of an hour: the response comes at
    once, and the clock the workflow reads has moved on by a day and an hour."""
    clock = Clock()
    assert cft.run_skipping_time(waiting(clock), 1, backend=backend) == 2  # type: ignore[arg-type]
    before, after = clock.readings
    assert DAY + HOUR <= after - before < DAY + HOUR + 60


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_run_skipping_time_jumps_to_a_scope_timeout(backend: str) -> None:
    """API §11, S6.5: a nested scope that hangs times out after its hour at once."""
    with pytest.raises(cf.WorkflowCancelled) as caught:
        cft.run_skipping_time(timed_out, 1, backend=backend)  # type: ignore[arg-type]
    cause = caught.value.cancellation.cause
    assert isinstance(cause, cf.Unreachable)
    (disposal,) = cause.disposals
    assert disposal.cause == cf.ScopeCancelled(cf.Cancellation(cf.TimedOut("hangs", HOUR)))


def test_run_skipping_time_hands_events_to_on_event() -> None:
    """`run_skipping_time(on_event=...)` sees the run's events, as `run` would give them."""
    seen: list[str] = []
    assert (
        cft.run_skipping_time(waiting(Clock()), 1, on_event=lambda e: seen.append(e.describe()))
        == 2
    )
    assert seen[0] == "wait: SessionStarted: scope 'wait'"
    assert seen[-1] == "wait: Terminated"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"backend": "curio"}, r"backend=\.\.\.\) must be 'asyncio' or 'trio'"),
        ({"jump_after": -1.0}, r"jump_after=\.\.\.\) takes a finite number of seconds >= 0"),
        ({"jump_after": True}, r"jump_after=\.\.\.\) takes a finite number"),
    ],
)
def test_run_skipping_time_rejects_bad_arguments(kwargs: dict[str, object], match: str) -> None:
    """`cf.InvalidArgument` naming the argument."""
    with pytest.raises(cf.InvalidArgument, match=match):
        cft.run_skipping_time(timed_out, 1, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(cf.InvalidArgument, match=r"takes a cf\.Workflow"):
        cft.run_skipping_time(hangs, 1)  # type: ignore[arg-type]


async def test_run_skipping_time_refuses_a_running_event_loop() -> None:
    """It starts an event loop of its own; inside one, it says what to do instead: await
    the workflow inside `virtual_clock()` (there is no async `run_skipping_time`)."""
    with pytest.raises(cf.CrossflowError) as caught:
        cft.run_skipping_time(timed_out, 1)
    message = str(caught.value)
    assert re.search(r"inside a running (asyncio|trio) event loop", message)
    assert "there, await the workflow inside `with cft.virtual_clock():` instead" in message


async def test_virtual_clock_skips_idle_waits() -> None:
    """API §11: inside `virtual_clock()`, a workflow that waits a day and an hour, and the
    test's own `anyio.sleep`, pass in no time; the loop's clock moves on accordingly."""
    clock = Clock()
    with anyio.fail_after(TIMEOUT + DAY + 2 * HOUR), cft.virtual_clock():
        assert await waiting(clock).run(1) == 2
        start = anyio.current_time()
        await anyio.sleep(HOUR)
        assert anyio.current_time() - start >= HOUR
    before, after = clock.readings
    assert after - before >= DAY + HOUR


async def test_virtual_clock_fires_timeouts_of_a_hung_run() -> None:
    """API §11, S6.5: a scope timeout of an hour fires at once; so does the deadline of
    the test's own `move_on_after` around a wait that never ends."""
    with anyio.fail_after(TIMEOUT + 2 * HOUR), cft.virtual_clock():
        with pytest.raises(cf.WorkflowCancelled):
            await timed_out.run(1)
        with anyio.move_on_after(HOUR) as scope:
            await anyio.sleep_forever()
    assert scope.cancelled_caught


async def test_after_the_block_time_runs_on_from_where_it_jumped() -> None:
    """A clock never goes back: after the block the loop's time goes on from the time it
    reached, at the usual pace, and no longer jumps."""
    with cft.virtual_clock():
        await anyio.sleep(DAY)
    reached = anyio.current_time()
    with anyio.move_on_after(0.001):
        await anyio.sleep(HOUR)  # really waits, for a millisecond
    assert reached <= anyio.current_time() < reached + HOUR


async def test_virtual_clock_can_be_nested() -> None:
    """A `virtual_clock()` inside another changes nothing."""
    with cft.virtual_clock():
        with cft.virtual_clock():
            await anyio.sleep(HOUR)
        await anyio.sleep(HOUR)


async def test_the_clock_jumps_while_a_thread_works() -> None:
    """What cannot be skipped: while the loop only waits for a thread, the clock jumps to
    the next timer anyway, so a timeout fires before the thread is done (the docs say so)."""
    release = threading.Event()

    def work() -> str:
        release.wait(TIMEOUT)
        return "done"

    with cft.virtual_clock():
        with anyio.move_on_after(HOUR) as scope:
            await anyio.to_thread.run_sync(work, abandon_on_cancel=True)
        release.set()
    assert scope.cancelled_caught


async def test_explore_skips_time() -> None:
    """API §11: `explore` runs with virtual time by default, where the loop allows it:
    a workflow that waits a day and an hour is explored at every point at once."""
    with anyio.fail_after(TIMEOUT + 50 * (DAY + HOUR)):
        report = await cft.explore(lambda: waiting(Clock()), 1, check=lambda outcome: None)
    assert report.virtual_time
    assert report.points == report.found == 12 + 3


async def test_explore_in_real_time_when_asked() -> None:
    """`explore(virtual_time=False)` leaves the clock alone."""
    with anyio.fail_after(TIMEOUT):
        report = await cft.explore(quick, 1, check=lambda o: None, virtual_time=False)
    assert not report.virtual_time


def test_explore_sync_skips_time_on_both_backends() -> None:
    """API §11: `explore_sync` explores in event loops of its own, with virtual time."""
    report = cft.explore_sync(
        lambda: waiting(Clock()), 1, check=lambda o: None, backend=("asyncio", "trio")
    )
    assert report.virtual_time and report.runs == 2 * 16


def test_without_a_mock_clock_trio_cannot_skip_time() -> None:
    """On trio the clock is chosen when the loop starts: without a `MockClock`,
    `virtual_clock()` says how to start one; `explore` then runs in real time, with a
    warning that says how to skip time, unless asked for virtual time, which fails the
    same way."""

    async def main() -> None:
        with pytest.raises(cf.CrossflowError, match="MockClock"), cft.virtual_clock():
            pass  # pragma: no cover
        with pytest.warns(cf.CrossflowWarning, match="runs in real time here") as warned:
            report = await cft.explore(quick, 1, check=lambda o: None)
        assert not report.virtual_time
        (warning,) = warned
        assert "backend_options={'clock': MockClock()}" in str(warning.message)
        assert "Pass virtual_time=False to run in real time without this warning" in str(
            warning.message
        )
        assert warning.filename == __file__  # it points at the call of explore
        report = await cft.explore(quick, 1, check=lambda o: None, virtual_time=False)
        assert not report.virtual_time  # asked for: no warning (they are errors here)
        with pytest.raises(cf.CrossflowError, match="cannot skip time here"):
            await cft.explore(quick, 1, check=lambda o: None, virtual_time=True)

    anyio.run(main, backend="trio")


def test_virtual_clock_needs_a_running_event_loop() -> None:
    """Outside an event loop there is no clock to change."""
    with pytest.raises(cf.CrossflowError, match="no event loop is running"), cft.virtual_clock():
        pass  # pragma: no cover


@cf.workflow
def stuck(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
    """A service that never returns, and no timer anywhere."""
    builder.chain(scope.start).then(forever).connect(scope.terminate)


async def test_a_run_that_hangs_fails_at_its_timeout_at_once() -> None:
    """API §11: `explore(timeout=...)` limits each run, on the loop's clock: with virtual
    time, a run that waits forever reaches that limit at once; the exploration fails,
    naming the run and showing its events (the run was cancelled, its cleanup done)."""
    with pytest.raises(cft.ExplorationFailed) as caught:
        await cft.explore(stuck, 1, check=lambda outcome: None, timeout=DAY)
    lines = str(caught.value).splitlines()
    backend = caught.value.outcome.backend
    assert lines[0] == (
        f"'stuck' did not end within timeout=86400.0 s on the plain run (no cancellation, "
        f"no failure) ({backend}); it was cancelled"
    )
    assert (
        lines[-1]
        == "  stuck: Cancelled: cancelled from outside: the task running the `async with` block was cancelled"
    )
    assert caught.value.point is None


@pytest.mark.parametrize("timeout", [0, -1.0, float("inf"), "1"])
async def test_a_timeout_must_be_a_positive_number(timeout: object) -> None:
    """`cf.InvalidArgument` for a timeout that is not a number of seconds > 0."""
    with pytest.raises(cf.InvalidArgument, match=r"timeout=\.\.\.\) takes a number of seconds > 0"):
        await cft.explore(quick, 1, check=lambda outcome: None, timeout=timeout)  # type: ignore[arg-type]
