"""`chain.delay(seconds)`: a cancellable timer per message (S2.1, S6.1, S9.2)."""

from __future__ import annotations

import math
from typing import Any

import anyio
import anyio.lowlevel
import attrs
import pytest

import crossflow as cf
from crossflow import events as ev
from crossflow.testing import assert_completes as run
from crossflow.testing import event_kinds as kinds

pytestmark = pytest.mark.anyio

LONG = 30.0  # a delay that must never run out in a test


async def outcome(session: cf.Session[Any]) -> Any:
    try:
        return await session.result()
    except cf.WorkflowCancelled as error:
        return error


async def until_started(session: cf.Session[Any], operation: str) -> None:
    """Wait until `operation` has an OperationStarted event in the session's log."""
    while not any(
        isinstance(e, ev.OperationStarted) and e.operation.startswith(operation)
        for e in session.events
    ):
        await anyio.lowlevel.checkpoint()


# --------------------------------------------------------------------------- passing on


@pytest.mark.parametrize("seconds", [0, 0.0, 0.01])
async def test_a_delay_passes_the_message_on_unchanged(seconds: float) -> None:
    """API §1 (`delay`), S9.2: the very same object comes out; the timer is an operation
    with OperationStarted/OperationFinished events; `delay(0)` is allowed."""
    message = {"payload": [1, 2, 3]}

    @cf.workflow
    def wf(
        scope: cf.Scope[dict[str, list[int]], dict[str, list[int]]], builder: cf.Builder
    ) -> None:
        delayed: cf.Chain[dict[str, list[int]]] = builder.chain(scope.start).delay(seconds)
        delayed.connect(scope.terminate)

    with anyio.fail_after(5):
        async with wf.start(message) as session:
            assert await session.result() is message
    assert kinds(session.events) == [
        "SessionStarted",
        "OperationStarted",
        "OperationFinished",
        "CleanupStarted",
        "CleanupFinished",
        "Terminated",
    ]
    started, finished = session.events[1], session.events[2]
    assert isinstance(started, ev.OperationStarted)
    assert isinstance(finished, ev.OperationFinished)
    assert started.operation == finished.operation
    assert started.operation.startswith("delay")
    assert finished.error is None


async def test_a_delay_waits_at_least_its_time() -> None:
    """API §1 (`delay`): the message is passed on no earlier than `seconds` later."""
    seconds = 0.05

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).delay(seconds).connect(scope.terminate)

    with anyio.fail_after(5):
        async with wf.start(1) as session:
            assert await session.result() == 1
    started, finished = session.events[1], session.events[2]
    assert finished.time - started.time >= seconds * 0.9


async def test_several_messages_pass_through_one_delay() -> None:
    """API §1 (`delay`), S2.1: every message of a spread gets its own timer, and all of
    them arrive at the collect (none is lost, none passed on twice)."""

    @cf.workflow
    def wf(scope: cf.Scope[int, list[int]], builder: cf.Builder) -> None:
        builder.chain(scope.start).map(lambda n: list(range(n)), name="range").spread().delay(
            0.01
        ).collect_all().connect(scope.terminate)

    with anyio.fail_after(5):
        async with wf.start(5) as session:
            assert sorted(await session.result()) == [0, 1, 2, 3, 4]
    delays = [
        e
        for e in session.events
        if isinstance(e, ev.OperationFinished) and e.operation.startswith("delay")
    ]
    assert len(delays) == 5


async def test_a_delay_inside_a_nested_scope() -> None:
    """API §1 (`delay`), S1.6: a delay in a child session passes its message on to the
    child's terminate, whose response continues in the parent."""

    def body(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).delay(0.01).map(lambda x: x * 3).connect(scope.terminate)

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then_scope(body, name="inner").map(lambda x: x + 1).connect(
            scope.terminate
        )

    assert await run(wf, 2) == 7


# --------------------------------------------------------------------------- reachability


async def test_a_pending_delay_on_the_only_path_keeps_the_session_alive() -> None:
    """S2.1, S2.4: a disposal is recorded while the only path to terminate waits in a
    delay: the pending timer is activity, so the session is not cancelled as
    unreachable, and the delayed message becomes the response."""

    @cf.workflow
    def wf(scope: cf.Scope[int, str], builder: cf.Builder) -> None:
        builder.chain(scope.start).fork_clone(
            lambda c: (
                c.map(lambda _: None, name="nothing")
                .dispose_on_none()
                .map(lambda _: "disposed branch")
                .connect(scope.terminate)
            ),
            lambda c: c.delay(0.02).map(lambda x: f"delayed {x}").connect(scope.terminate),
        )

    with anyio.fail_after(5):
        async with wf.start(1) as session:
            assert await session.result() == "delayed 1"
    disposed = [e for e in session.events if isinstance(e, ev.Disposed)]
    assert len(disposed) == 1
    assert isinstance(disposed[0].disposal.cause, cf.Filtered)
    # the disposal was recorded while the timer was pending
    delay_finished = next(
        e
        for e in session.events
        if isinstance(e, ev.OperationFinished) and e.operation.startswith("delay")
    )
    assert disposed[0].time <= delay_finished.time
    assert session.events.index(disposed[0]) < session.events.index(delay_finished)


async def test_a_disposal_while_a_long_delay_is_pending_does_not_end_the_session() -> None:
    """S2.1, S2.4: a disposal is recorded while a 30 s timer on the only path to terminate
    is pending: reachability is re-checked and holds, the session stays RUNNING, and
    it ends only when cancelled from outside (UserCancelled, not Unreachable)."""
    go = anyio.Event()

    async def when_told(x: int) -> int:
        await go.wait()
        return x

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).fork_clone(
            lambda c: (
                c.then(when_told, name="when_told")
                .map(lambda _: None, name="nothing")
                .dispose_on_none()
                .connect(scope.terminate)
            ),
            lambda c: c.delay(LONG).connect(scope.terminate),
        )

    with anyio.fail_after(5):
        async with wf.start(1) as session:
            await until_started(session, "delay")
            go.set()
            while not any(isinstance(e, ev.Disposed) for e in session.events):
                await anyio.lowlevel.checkpoint()
            # reachability was checked right after the disposal was recorded
            assert session.state is cf.SessionState.RUNNING
            assert not any(isinstance(e, ev.CleanupStarted) for e in session.events)
            session.cancel("checked")
            error = await outcome(session)
    assert isinstance(error, cf.WorkflowCancelled)
    assert error.cancellation == cf.Cancellation(cf.UserCancelled("checked"))


async def test_a_collect_after_a_pending_delay_waits_for_it() -> None:
    """S2.1, S5.2: a collect downstream of a pending timer does not see its upstream as
    quiet: it collects the delayed message instead of emitting `[]` early."""

    @cf.workflow
    def wf(scope: cf.Scope[int, list[int]], builder: cf.Builder) -> None:
        builder.chain(scope.start).delay(0.02).collect(min=0, max=1).connect(scope.terminate)

    assert await run(wf, 4) == [4]


# --------------------------------------------------------------------------- cancellation


async def test_cancelling_a_session_cancels_its_pending_long_delay() -> None:
    """S6.1, S9.2, API §3: a session cancelled while a 30 s delay is pending ends at once:
    the timer is cancelled (TimerCancelled) and its message goes nowhere."""
    passed: list[int] = []

    def after(x: int) -> int:
        passed.append(x)
        return x

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).delay(LONG).map(after, name="after").connect(scope.terminate)

    with anyio.fail_after(5):
        async with wf.start(1) as session:
            await until_started(session, "delay")
            session.cancel("no more waiting")
            error = await outcome(session)
    assert isinstance(error, cf.WorkflowCancelled)
    assert error.cancellation == cf.Cancellation(cf.UserCancelled("no more waiting"))
    assert passed == []
    events = session.events
    assert kinds(events) == [
        "SessionStarted",
        "OperationStarted",
        "CancellationRequested",
        "CleanupStarted",
        "TimerCancelled",
        "CleanupFinished",
        "Cancelled",
    ]
    started, timer = events[1], events[4]
    assert isinstance(started, ev.OperationStarted)
    assert isinstance(timer, ev.TimerCancelled)
    assert timer.operation == started.operation
    assert not any(getattr(e, "operation", None) == "after" for e in events)


async def test_leaving_the_block_cancels_a_pending_long_delay() -> None:
    """S6.1, API §3: leaving the `async with` block early cancels the session; its
    pending timer is cancelled and the exit does not wait for it to run out."""

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).delay(LONG).connect(scope.terminate)

    with anyio.fail_after(5):
        async with wf.start(1) as session:
            await until_started(session, "delay")
    assert session.state is cf.SessionState.CANCELLED
    assert kinds(session.events)[-4:] == [
        "CleanupStarted",
        "TimerCancelled",
        "CleanupFinished",
        "Cancelled",
    ]


async def test_a_pending_delay_in_a_child_is_cancelled_with_its_parent() -> None:
    """S6.1, S9.2: the parent's cleanup interrupts its child, whose pending timer is
    cancelled: TimerCancelled is recorded in the child's session."""

    def body(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).delay(LONG).connect(scope.terminate)

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then_scope(body, name="inner").connect(scope.terminate)

    with anyio.fail_after(5):
        async with wf.start(1) as session:
            await until_started(session, "delay")
            session.cancel()
            error = await outcome(session)
    assert isinstance(error, cf.WorkflowCancelled)
    timers = [e for e in session.events if isinstance(e, ev.TimerCancelled)]
    assert [e.path for e in timers] == [("wf", "inner[0]")]


async def test_a_trim_cancels_a_pending_delay_in_its_span() -> None:
    """S3 (`Trimming`), S6.1, S9.2: a trim whose span holds a pending 30 s delay cancels
    its timer (TimerCancelled) while the session runs on; the delayed message never
    passes on, and the trimming branch gives the response."""
    go = anyio.Event()
    passed: list[str] = []

    async def when_told(x: int) -> int:
        await go.wait()
        return x

    def after(_: int) -> str:
        passed.append("delayed")
        return "delayed"

    def same(x: int) -> int:
        return x

    @cf.workflow
    def wf(scope: cf.Scope[int, str], builder: cf.Builder) -> None:
        entry = builder.create_node(same, name="entry")
        builder.chain(entry.output).delay(LONG).map(after, name="after").connect(scope.terminate)
        builder.chain(scope.start).fork_clone(
            lambda c: c.connect(entry.input),
            lambda c: (
                c.then(when_told, name="when_told")
                .then_trim(cf.TrimBranch.downstream(entry))
                .map(lambda x: f"trimmed {x}", name="trimmed")
                .connect(scope.terminate)
            ),
        )

    with anyio.fail_after(5):
        async with wf.start(1) as session:
            await until_started(session, "delay")
            go.set()
            assert await session.result() == "trimmed 1"
    assert passed == []
    events = session.events
    timers = [i for i, e in enumerate(events) if isinstance(e, ev.TimerCancelled)]
    assert len(timers) == 1
    timer = events[timers[0]]
    assert timer.path == ("wf",)
    cleanup = next(i for i, e in enumerate(events) if isinstance(e, ev.CleanupStarted))
    assert timers[0] < cleanup  # cancelled by the trim, not by the session's cleanup
    trimmings = [
        e
        for e in events
        if isinstance(e, ev.Disposed) and isinstance(e.disposal.cause, cf.Trimming)
    ]
    assert len(trimmings) == 1
    assert events.index(trimmings[0]) > timers[0]
    assert not any(getattr(e, "operation", None) == "after" for e in events)
    assert kinds(events)[-3:] == ["CleanupStarted", "CleanupFinished", "Terminated"]


# --------------------------------------------------------------------------- values


@pytest.mark.parametrize("bad", [-1, -0.001, math.nan, math.inf, -math.inf, "1", True, None])
def test_a_bad_delay_is_rejected_when_built(bad: Any) -> None:
    """API §1 (`delay`): a negative, NaN, infinite or non-number delay raises
    InvalidArgument naming the value, while the workflow is built."""

    def build(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).delay(bad).connect(scope.terminate)

    with pytest.raises(cf.InvalidArgument, match="delay") as info:
        cf.Workflow.build(build, name="wf")
    assert repr(bad) in str(info.value)


def test_a_delay_keeps_the_chain_type() -> None:
    """API §1 (`delay`): `delay` returns a new `Chain` of the same message type."""
    seen: list[Any] = []

    def build(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        chain: cf.Chain[int] = builder.chain(scope.start)
        delayed: cf.Chain[int] = chain.delay(1)
        seen.append((chain, delayed))
        delayed.connect(scope.terminate)

    cf.Workflow.build(build, name="wf")
    [(chain, delayed)] = seen
    assert isinstance(delayed, cf.Chain)
    assert delayed is not chain


def test_delay_events_are_plain_data() -> None:
    """S9.2: TimerCancelled prints and serialises like every event."""
    timer = ev.TimerCancelled(1.5, ("wf", "inner[0]"), "delay#3")
    assert timer.to_dict() == {
        "kind": "TimerCancelled",
        "time": 1.5,
        "path": ["wf", "inner[0]"],
        "operation": "delay#3",
    }
    assert "TimerCancelled" in str(timer)
    assert "delay#3" in str(timer)
    assert attrs.evolve(timer, time=0.0) == ev.TimerCancelled(0.0, ("wf", "inner[0]"), "delay#3")
