"""Progress of a run (`cf.Progress`, the picture of a run, the terminal progress line):
activations that were cancelled or abandoned are counted as such, never as running, and
the progress line keeps moving while a run is silent (API §8, S6.6, S9.2)."""

from __future__ import annotations

import io
import threading
from typing import Any

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st
from viz_support import SVG_NS, check_svg

import crossflow as cf
from crossflow._viz._terminal import ProgressLine
from crossflow.events import (
    AttemptFailed,
    Cancelled,
    CleanupFinished,
    OperationFinished,
    OperationQueued,
    OperationStarted,
    SessionStarted,
    TaskAbandoned,
    TaskCancelled,
    Terminated,
    TimerCancelled,
)

pytestmark = pytest.mark.anyio

POLICIES = list(cf.CancellationPolicy)


def texts_of(svg: str, name: str) -> list[str]:
    """The lines of text in the box of operation `name`, and its tooltip."""
    root = check_svg(svg)
    for g in root.iter(f"{SVG_NS}g"):
        if g.get("class") == "cf-box" and g.get("data-op") == name:
            return ["".join(t.itertext()) for t in g.iter(f"{SVG_NS}text")] + [
                "".join(t.itertext()) for t in g.iter(f"{SVG_NS}title")
            ]
    raise AssertionError(f"no box for {name!r}")


async def cancelled_while_held(policy: cf.CancellationPolicy) -> cf.Session[int, int]:
    """A session whose only service is waiting when the session is cancelled; the
    service is released once the session has ended (so `ABANDON` work can end)."""
    release = anyio.Event()

    async def held(x: int) -> int:
        await release.wait()
        return x

    wf = cf.Workflow.build(
        lambda s, b: (
            b.chain(s.start).then(held, name="held", cancellation=policy).connect(s.terminate)
        ),
        name="hold",
    )
    with anyio.fail_after(10):
        async with wf.start(1) as session:
            await anyio.wait_all_tasks_blocked()
            session.cancel()
            with pytest.raises(cf.WorkflowCancelled):
                await session.result()
            release.set()
    return session


@pytest.mark.parametrize("policy", POLICIES, ids=[p.name for p in POLICIES])
async def test_a_cancelled_activation_is_not_running(policy: cf.CancellationPolicy) -> None:
    """API §8, S6.6: after a session was cancelled while a service ran, `progress()`
    counts that activation as cancelled (`TaskCancelled`, or `TaskAbandoned` for
    `ABANDON`), not as running: in its fields, its text and its data."""
    session = await cancelled_while_held(policy)
    progress = session.progress()
    assert (progress.started, progress.finished, progress.cancelled) == (1, 0, 1)
    assert progress.running == 0
    assert str(progress).endswith(": 1 started, 0 finished, 1 cancelled")
    data = progress.to_dict()
    assert (data["running"], data["cancelled"]) == (0, 1)
    (held,) = progress.operations
    assert held == cf.OperationProgress(("hold",), "held", 1, 0, 0, 0, 1)
    assert held.running == 0
    assert held.to_dict()["cancelled"] == 1 and held.to_dict()["running"] == 0
    assert cf.Progress.from_events(session.events) == progress
    assert (
        '<th style="text-align:right;padding:1px 8px">cancelled</th>'
        in (progress._repr_mimebundle_()["text/html"])
    )


async def test_the_picture_says_an_activation_was_cancelled() -> None:
    """API §8: the picture of a run whose service was cancelled says it started once and
    was cancelled once, in the box and in its tooltip."""
    session = await cancelled_while_held(cf.CancellationPolicy.WAIT)
    texts = texts_of(session.to_svg(), "held")
    assert "started once, cancelled once" in texts
    assert any("started 1, finished 0, failed 0, cancelled 1" in t for t in texts), texts


async def test_the_timeline_draws_cancelled_activations() -> None:
    """API §8: in the timeline of a run's events, an activation that was cancelled is a
    grey bar from its start to its cancellation, titled as cancelled."""
    session = await cancelled_while_held(cf.CancellationPolicy.WAIT)
    root = check_svg(session.events._repr_mimebundle_()["image/svg+xml"])
    bars = [
        r for r in root.iter(f"{SVG_NS}rect")
        if "".join(t.text or "" for t in r.iter(f"{SVG_NS}title")) == "held (cancelled)"
    ]  # fmt: skip
    assert len(bars) == 1 and bars[0].get("fill") == "#8a939c"


async def test_a_cancelled_delay_is_not_running() -> None:
    """API §8: a `delay` whose timer the session's cleanup cancelled (`TimerCancelled`)
    counts as cancelled."""
    wf = cf.Workflow.build(
        lambda s, b: b.chain(s.start).delay(3600, name="wait").connect(s.terminate),
        name="sleepy",
    )
    with anyio.fail_after(10):
        async with wf.start(1) as session:
            await anyio.wait_all_tasks_blocked()
            session.cancel()
            with pytest.raises(cf.WorkflowCancelled):
                await session.result()
    assert any(isinstance(e, TimerCancelled) for e in session.events)
    progress = session.progress()
    assert (progress.started, progress.cancelled, progress.running) == (1, 1, 0)
    assert "started once, cancelled once" in texts_of(session.to_svg(), "wait")


async def test_activations_waiting_for_a_slot_are_not_counted() -> None:
    """API §8, S10.4: activations still waiting for a `max_concurrency` slot when the
    session is cancelled never started: only the one that ran counts as cancelled."""
    release = anyio.Event()

    async def held(x: int) -> int:
        await release.wait()
        return x

    wf = cf.Workflow.build(
        lambda s, b: (
            b.chain(s.start)
            .spread()
            .then(held, name="held", max_concurrency=1)
            .collect()
            .connect(s.terminate)
        ),
        name="queue",
    )
    with anyio.fail_after(10):
        async with wf.start([1, 2, 3]) as session:
            await anyio.wait_all_tasks_blocked()
            session.cancel()
            with pytest.raises(cf.WorkflowCancelled):
                await session.result()
    assert sum(isinstance(e, OperationQueued) for e in session.events) == 2
    assert sum(isinstance(e, TaskCancelled) for e in session.events) == 3
    progress = session.progress()
    assert (progress.started, progress.cancelled, progress.running) == (1, 1, 0)


async def test_an_activation_retried_counts_once() -> None:
    """API §8, S10.4: an activation whose attempts failed and were tried again is one
    activation: it started once and finished once, and nothing is left running."""
    tries = 0

    async def flaky(x: int) -> int:
        nonlocal tries
        tries += 1
        if tries < 3:
            raise ValueError("not yet")
        return x

    wf = cf.Workflow.build(
        lambda s, b: (
            b.chain(s.start)
            .then(flaky, name="flaky", retry=cf.Retry(attempts=3, backoff=0))
            .connect(s.terminate)
        ),
        name="retried",
    )
    with anyio.fail_after(10):
        async with wf.start(1) as session:
            assert await session.result() == 1
    assert sum(isinstance(e, AttemptFailed) for e in session.events) == 2
    progress = session.progress()
    assert (progress.started, progress.finished, progress.failed, progress.running) == (1, 1, 0, 0)
    assert "ran once" in texts_of(session.to_svg(), "flaky")


def op_event(kind: str, t: float, op: str = "work") -> Any:
    path = ("run",)
    return {
        "start": lambda: OperationStarted(t, path, op),
        "finish": lambda: OperationFinished(t, path, op),
        "fail": lambda: OperationFinished(t, path, op, ValueError("x")),
        "retry": lambda: AttemptFailed(t, path, op, 1, 2, ValueError("x")),
        "cancel": lambda: TaskCancelled(t, path, op, False, False),
        "abandon": lambda: TaskAbandoned(t, path, op),
        "timer": lambda: TimerCancelled(t, path, op),
    }[kind]()


def test_a_late_finish_after_a_cancellation_never_makes_running_negative() -> None:
    """API §8: a thread that could not be interrupted may log its `OperationFinished`
    after its `TaskCancelled`: it counts as finished and as cancelled, and `running`
    stays at 0; another operation's running activation still shows."""
    events = [SessionStarted(0.0, ("run",), "run")] + [
        op_event(kind, float(i)) for i, kind in enumerate(["start", "cancel", "finish"])
    ]
    events.append(op_event("start", 9.0, op="other"))
    progress = cf.Progress.from_events(events)
    work, other = progress.operations
    assert (work.started, work.finished, work.cancelled, work.running) == (1, 1, 1, 0)
    assert other.running == 1
    assert progress.running == 1
    assert cf.Progress(workflow="run", state=cf.SessionState.RUNNING, started=1, finished=1,
                       cancelled=1).running == 0  # fmt: skip


@given(st.lists(st.sampled_from(["start", "finish", "fail", "retry", "cancel", "abandon",
                                 "timer"]), max_size=40))  # fmt: skip
def test_running_stays_between_zero_and_started(kinds: list[str]) -> None:
    """API §8: whatever order the events of an operation come in, `running` is never
    negative nor more than `started`, `cancelled` never more than `started`, and the
    totals of a snapshot are the sums over its operations."""
    events = [op_event(kind, float(i), op=f"op{i % 2}") for i, kind in enumerate(kinds)]
    progress = cf.Progress.from_events(events)
    for op in progress.operations:
        assert 0 <= op.running <= op.started
        assert op.cancelled <= op.started
        assert op.failed <= op.finished
    assert progress.running == sum(op.running for op in progress.operations)
    assert progress.cancelled == sum(op.cancelled for op in progress.operations)
    assert 0 <= progress.running <= progress.started


# ----------------------------------------------------------------------------- the line


class Terminal(io.StringIO):
    """A terminal that remembers each write and tells a waiting thread about it."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []
        self.wrote = threading.Event()

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.writes.append(text)
        self.wrote.set()
        return super().write(text)


class Clock:
    """A clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_progress_line_redraws_a_silent_run_as_time_passes() -> None:
    """API §8: after `delay`, the line is redrawn by `tick()` while no event comes, at
    most every `interval`, with the elapsed time following the clock; the run's end
    leaves the outcome on a line of its own, and nothing is drawn after it."""
    clock = Clock()
    term = Terminal()
    line = ProgressLine(term, delay=1.0, interval=0.5, clock=clock, ticking=False)
    line(SessionStarted(100.0, ("slow",), "slow"))
    line(OperationStarted(100.0, ("slow",), "work"))
    clock.now = 100.9
    line.tick()
    assert term.writes == []
    clock.now = 101.0
    line.tick()
    assert term.writes == ["\r\x1b[K| slow RUNNING 1.0 s: 0/1 done, 1 running, now work"]
    clock.now = 101.2
    line.tick()
    assert len(term.writes) == 1
    clock.now = 160.0
    line.tick()
    assert term.writes[-1] == "\r\x1b[K/ slow RUNNING 60.0 s: 0/1 done, 1 running, now work"
    clock.now = 161.0
    line(TaskCancelled(161.0, ("slow",), "work"))
    line(CleanupFinished(161.0, ("slow",)))
    line(Cancelled(161.0, ("slow",), cf.Cancellation(cf.UserCancelled("enough"))))
    assert term.writes[-1] == "\r\x1b[Kslow CANCELLED 61.0 s: 0/1 done, 1 cancelled\n"
    count = len(term.writes)
    clock.now = 200.0
    line.tick()
    line(OperationFinished(200.0, ("slow",), "work"))
    assert len(term.writes) == count


def test_the_progress_line_stays_silent_on_a_quick_run() -> None:
    """API §8: a run that ends within `delay` prints nothing, ticks or not."""
    clock = Clock()
    term = Terminal()
    line = ProgressLine(term, delay=1.0, clock=clock, ticking=False)
    line.tick()
    line(SessionStarted(100.0, ("quick",), "quick"))
    clock.now = 100.5
    line.tick()
    line(Terminated(100.5, ("quick",)))
    clock.now = 200.0
    line.tick()
    assert term.getvalue() == ""


async def test_the_progress_line_ticks_on_its_own_while_a_run_is_silent() -> None:
    """API §8: with its ticking thread, the line is redrawn while a run's only service
    works and logs nothing; the thread stops when the run ends."""
    release = anyio.Event()

    async def held(x: int) -> int:
        await release.wait()
        return x

    wf = cf.Workflow.build(
        lambda s, b: b.chain(s.start).then(held, name="held").connect(s.terminate),
        name="silent",
    )
    term = Terminal()
    line = ProgressLine(term, delay=0.0, interval=0.01)
    with anyio.fail_after(10):
        async with wf.start(1) as session:
            session.watch(line, replay=True)
            await anyio.wait_all_tasks_blocked()
            seen = len(session.events)
            drawn = len(term.writes)
            term.wrote.clear()
            # no event can come while `held` waits: only the thread can draw
            assert await anyio.to_thread.run_sync(term.wrote.wait, 10)
            assert len(term.writes) > drawn and len(session.events) == seen
            assert "silent RUNNING" in term.writes[-1] and "now held" in term.writes[-1]
            release.set()
            assert await session.result() == 1
    thread = line._thread
    assert thread is not None
    await anyio.to_thread.run_sync(thread.join, 10)
    assert not thread.is_alive()
    assert term.getvalue().endswith("\n")
    assert term.getvalue().rsplit("\r\x1b[K", 1)[1].startswith("silent TERMINATED ")


def test_closing_the_progress_line_stops_its_thread() -> None:
    """API §8: `close()` stops the ticking thread of a run that never ended (for example
    one interrupted before its last event), and nothing is drawn after it."""
    term = Terminal()
    line = ProgressLine(term, delay=0.0, interval=0.01)
    line(SessionStarted(0.0, ("left",), "left"))
    thread = line._thread
    assert thread is not None and thread.is_alive()
    line.close()
    assert not thread.is_alive()
    count = len(term.writes)
    line.tick()
    line(OperationStarted(1.0, ("left",), "work"))
    assert len(term.writes) == count
