"""Session handles: `async with wf.start(request) as session:` (API §3, S9.1, S9.2, S8.3).

A session runs in the background of its `async with` block. These tests drive whole
lives of sessions from the caller's side: the states they go through, `cancel()`,
`result()`, streams, the event log, and what leaving the block does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import anyio.lowlevel
import anyio.to_thread
import pytest
from hypothesis import given
from hypothesis import strategies as st

import crossflow as cf
from crossflow import events as ev
from crossflow.testing import assert_cancelled
from crossflow.testing import event_kinds as kinds

pytestmark = pytest.mark.anyio

S = cf.SessionState
TIMEOUT = 5
LEFT = "the `async with` block was left before the session ended"
LEFT_CANCELLED = "the task running the `async with` block was cancelled"

BuildFn = Callable[[cf.Scope[Any, Any], cf.Builder], None]


# --------------------------------------------------------------------------- helpers


class Park:
    """An async step that says when it started and parks until it is cancelled."""

    def __init__(self) -> None:
        self.started = anyio.Event()
        self.log: list[str] = []

    async def step(self, x: int) -> int:
        self.started.set()
        try:
            await anyio.sleep_forever()
        finally:
            self.log.append("finally")
        return x  # pragma: no cover - never reached


class Held:
    """An async step that parks; once cancelled, its `finally` holds the session's
    cleanup open (shielded) until `release` is set."""

    def __init__(self) -> None:
        self.started = anyio.Event()
        self.cleaning = anyio.Event()
        self.release = anyio.Event()
        self.log: list[str] = []

    async def step(self, x: int) -> int:
        self.started.set()
        try:
            await anyio.sleep_forever()
        finally:
            # the deadline only stops a broken test from hanging forever
            with anyio.CancelScope(shield=True, deadline=anyio.current_time() + 10):
                self.cleaning.set()
                await self.release.wait()
            self.log.append("finally")
        return x  # pragma: no cover - never reached


class Gate:
    """An async step that says when it started and answers `10 * x` once let go."""

    def __init__(self) -> None:
        self.started = anyio.Event()
        self.go = anyio.Event()
        self.runs: list[int] = []

    async def step(self, x: int) -> int:
        self.runs.append(x)
        self.started.set()
        await self.go.wait()
        return 10 * x


class Hold:
    """A cleanup workflow whose async step holds the cleanup open until released."""

    def __init__(self) -> None:
        self.cleaning = anyio.Event()
        self.release = anyio.Event()
        self.log: list[str] = []

    async def wait(self, _: Any) -> None:
        self.cleaning.set()
        with anyio.move_on_after(10):  # only stops a broken test from hanging
            await self.release.wait()
        self.log.append("cleanup done")

    def build(self, scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(self.wait).connect(scope.terminate)


def parked(park: Park | Held, settings: cf.ScopeSettings | None = None) -> cf.Workflow[int, int]:
    """`[start] -> park.step -> [terminate]`: runs until cancelled."""

    def build(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(park.step).connect(scope.terminate)

    return cf.Workflow.build(build, name="wf", settings=settings)


def gated(gate: Gate, settings: cf.ScopeSettings | None = None) -> cf.Workflow[int, int]:
    """`[start] -> gate.step -> [terminate]`: answers `10 * x` once the gate is let go."""

    def build(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(gate.step).connect(scope.terminate)

    return cf.Workflow.build(build, name="wf", settings=settings)


def doubled() -> cf.Workflow[int, int]:
    """A blocking-only workflow: `[start] -> 2x -> [terminate]`."""

    @cf.workflow(name="wf")
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).map(lambda x: 2 * x).connect(scope.terminate)

    return wf


def requests(session: cf.Session[Any]) -> list[ev.CancellationRequested]:
    return [e for e in session.events if isinstance(e, ev.CancellationRequested)]


async def cancellation_of(session: cf.Session[Any]) -> cf.Cancellation:
    """`result()` must raise `WorkflowCancelled`: its cancellation."""
    with pytest.raises(cf.WorkflowCancelled) as info:
        await session.result()
    return info.value.cancellation


# --------------------------------------------------------------------------- S9.1 states


async def test_states_running_terminating_terminated_with_on_terminate_holding_cleanup() -> None:
    """S9.1: RUNNING while a service is parked; TERMINATING while an `on_terminate`
    cleanup workflow holds cleanup open; TERMINATED after, with the response."""
    gate, hold = Gate(), Hold()

    @cf.workflow(name="wf")
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(gate.step).connect(scope.terminate)
        builder.on_terminate((), hold.build)

    with anyio.fail_after(TIMEOUT):
        async with wf.start(4) as session:
            await gate.started.wait()
            assert session.state is S.RUNNING
            assert not session.state.ended
            gate.go.set()
            await hold.cleaning.wait()
            assert session.state is S.TERMINATING
            assert not session.state.ended
            hold.release.set()
            assert await session.result() == 40
            assert session.state is S.TERMINATED
            assert session.state.ended
        assert hold.log == ["cleanup done"]
        assert not session.cancel_requested
    assert kinds(session.events, ("wf",)) == [
        "SessionStarted",
        "OperationStarted",
        "OperationFinished",
        "CleanupStarted",
        "CleanupFinished",
        "Terminated",
    ]
    assert kinds(session.events, ("wf", "on_terminate[0]")) == [
        "SessionStarted",
        "OperationStarted",
        "OperationFinished",
        "CleanupStarted",
        "CleanupFinished",
        "Terminated",
    ]


async def test_terminating_while_a_cancelled_service_shields_its_finally() -> None:
    """S9.1: terminate reached while another async service still runs: cleanup cancels
    it, and while its shielded `finally` waits the session is TERMINATING."""
    held = Held()

    async def once_held_started(x: int) -> int:
        await held.started.wait()
        return x + 1

    @cf.workflow(name="wf")
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).fork_clone(
            lambda c: c.then(held.step).dispose(),
            lambda c: c.then(once_held_started).connect(scope.terminate),
        )

    with anyio.fail_after(TIMEOUT):
        async with wf.start(1) as session:
            await held.cleaning.wait()
            assert session.state is S.TERMINATING
            assert held.log == []
            held.release.set()
            assert await session.result() == 2
            assert session.state is S.TERMINATED
            assert held.log == ["finally"]


async def test_states_running_cancelling_cancelled() -> None:
    """S9.1: `cancel()` takes a RUNNING session to CANCELLING while its cleanup is held
    open, then CANCELLED."""
    held = Held()
    with anyio.fail_after(TIMEOUT):
        async with parked(held).start(1) as session:
            await held.started.wait()
            assert session.state is S.RUNNING
            assert not session.cancel_requested
            session.cancel("enough")
            assert session.cancel_requested
            await held.cleaning.wait()
            assert session.state is S.CANCELLING
            assert not session.state.ended
            held.release.set()
            cancellation = await cancellation_of(session)
            assert session.state is S.CANCELLED
            assert session.state.ended
    assert cancellation.cause == cf.UserCancelled("enough")
    assert held.log == ["finally"]


async def test_an_uninterruptible_session_stays_running_after_cancel() -> None:
    """S9.1, S6.4: `cancel()` on an uninterruptible session only records the request:
    it stays RUNNING with `cancel_requested` True, and terminates with its response."""
    gate = Gate()
    wf = gated(gate, cf.ScopeSettings(uninterruptible=True))
    with anyio.fail_after(TIMEOUT):
        async with wf.start(3) as session:
            await gate.started.wait()
            session.cancel("please stop")
            assert session.cancel_requested
            for _ in range(20):
                await anyio.lowlevel.checkpoint()
            assert session.state is S.RUNNING
            gate.go.set()
            assert await session.result() == 30
            assert session.state is S.TERMINATED
    [request] = requests(session)
    assert request.cause == cf.UserCancelled("please stop")
    assert request.honoured is False
    assert kinds(session.events)[-1] == "Terminated"


# --------------------------------------------------------------------------- cancel()


async def test_cancel_reason_reaches_the_result() -> None:
    """API §3: `cancel(reason)` makes `result()` raise `WorkflowCancelled` whose cause
    is `UserCancelled(reason)`; the parked service's task is cancelled."""
    park = Park()
    with anyio.fail_after(TIMEOUT):
        async with parked(park).start(1) as session:
            await park.started.wait()
            session.cancel("shipment was cancelled")
            cancellation = await cancellation_of(session)
            assert park.log == ["finally"]
    assert cancellation.cause == cf.UserCancelled("shipment was cancelled")
    assert str(cancellation.cause) == "cancelled from outside: shipment was cancelled"


async def test_cancel_without_reason() -> None:
    """API §3: `cancel()` with no reason gives `UserCancelled(None)`."""
    park = Park()
    with anyio.fail_after(TIMEOUT):
        async with parked(park).start(1) as session:
            await park.started.wait()
            session.cancel()
            cancellation = await cancellation_of(session)
    assert cancellation.cause == cf.UserCancelled(None)


async def test_cancel_twice_keeps_the_first_cause() -> None:
    """API §3, S9.2: a second `cancel()` is harmless: the first cause is kept, and two
    `CancellationRequested` events are recorded, the second not honoured."""
    held = Held()
    with anyio.fail_after(TIMEOUT):
        async with parked(held).start(1) as session:
            await held.started.wait()
            session.cancel("first")
            session.cancel("second")
            await held.cleaning.wait()
            session.cancel("third, while cancelling")
            assert session.state is S.CANCELLING
            held.release.set()
            cancellation = await cancellation_of(session)
    assert cancellation.cause == cf.UserCancelled("first")
    assert [(r.cause, r.honoured) for r in requests(session)] == [
        (cf.UserCancelled("first"), True),
        (cf.UserCancelled("second"), False),
        (cf.UserCancelled("third, while cancelling"), False),
    ]
    assert [type(e).__name__ for e in session.events if e.path == ("wf",)][-1] == "Cancelled"
    [cancelled] = [e for e in session.events if isinstance(e, ev.Cancelled)]
    assert cancelled.cancellation.cause == cf.UserCancelled("first")


async def test_cancel_after_the_session_terminated_changes_nothing() -> None:
    """API §3: `cancel()` on an ended session changes nothing: the state, the response
    and the event log stay as they were."""
    gate = Gate()
    with anyio.fail_after(TIMEOUT):
        async with gated(gate).start(2) as session:
            gate.go.set()
            assert await session.result() == 20
            before = session.events
            session.cancel("too late")
            assert session.state is S.TERMINATED
            assert await session.result() == 20
            assert session.events == before
        session.cancel("after the block")
        assert session.state is S.TERMINATED
        assert await session.result() == 20
        assert session.events == before
    assert requests(session) == []


async def test_cancel_after_the_session_was_cancelled_keeps_its_cause() -> None:
    """API §3: `cancel()` on a CANCELLED session records nothing and keeps the cause."""
    park = Park()
    with anyio.fail_after(TIMEOUT):
        async with parked(park).start(1) as session:
            await park.started.wait()
            session.cancel("first")
            await cancellation_of(session)
            before = session.events
            session.cancel("again")
            assert session.events == before
            assert (await cancellation_of(session)).cause == cf.UserCancelled("first")
        assert session.state is S.CANCELLED


async def test_cancel_while_terminating_keeps_the_response() -> None:
    """API §3, S9.1: `cancel()` on a TERMINATING session records an unhonoured request
    and changes nothing: cleanup goes on and the response is delivered."""
    gate, hold = Gate(), Hold()

    @cf.workflow(name="wf")
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(gate.step).connect(scope.terminate)
        builder.on_terminate((), hold.build)

    with anyio.fail_after(TIMEOUT):
        async with wf.start(5) as session:
            gate.go.set()
            await hold.cleaning.wait()
            session.cancel("too late")
            assert session.cancel_requested
            assert session.state is S.TERMINATING
            hold.release.set()
            assert await session.result() == 50
            assert session.state is S.TERMINATED
    assert hold.log == ["cleanup done"]
    assert [(r.cause, r.honoured) for r in requests(session)] == [
        (cf.UserCancelled("too late"), False)
    ]
    assert kinds(session.events, ("wf",))[-1] == "Terminated"


async def test_cancel_from_another_thread() -> None:
    """API §3: `cancel(reason)` called from a worker thread is handed to the event loop;
    `cancel_requested` is True as soon as it returned, and the session is cancelled with
    that reason."""
    park = Park()
    with anyio.fail_after(TIMEOUT):
        async with parked(park).start(1) as session:
            await park.started.wait()
            await anyio.to_thread.run_sync(session.cancel, "why")
            assert session.cancel_requested
            cancellation = await cancellation_of(session)
            assert park.log == ["finally"]
    assert cancellation.cause == cf.UserCancelled("why")
    assert [(r.cause, r.honoured) for r in requests(session)] == [(cf.UserCancelled("why"), True)]


async def test_cancel_from_another_thread_after_the_end_changes_nothing() -> None:
    """API §3: a `cancel()` from a worker thread reaching an ended session changes
    nothing: no event, and `result()` still gives the response."""
    with anyio.fail_after(TIMEOUT):
        async with doubled().start(5) as session:
            before = session.events
            await anyio.to_thread.run_sync(session.cancel, "late")
            for _ in range(20):
                await anyio.lowlevel.checkpoint()
            assert session.state is S.TERMINATED
            assert session.events == before
        assert await session.result() == 10
    assert requests(session) == []


@pytest.mark.parametrize("reason", [42, b"bytes", ["a list"], cf.UserCancelled("x")])
async def test_cancel_with_a_reason_that_is_not_a_string(reason: Any) -> None:
    """API §3: a reason that is not str or None → `InvalidArgument` (a `TypeError`); the
    session is not cancelled."""
    gate = Gate()
    with anyio.fail_after(TIMEOUT):
        async with gated(gate).start(1) as session:
            with pytest.raises(cf.InvalidArgument, match="str or None") as info:
                session.cancel(reason)
            assert isinstance(info.value, TypeError)
            assert isinstance(info.value, cf.CrossflowError)
            assert not session.cancel_requested
            gate.go.set()
            assert await session.result() == 10
    assert requests(session) == []


# --------------------------------------------------------------------------- result()


async def test_result_many_times_inside_and_after_the_block() -> None:
    """API §3: `result()` may be awaited any number of times, during and after the
    block, and always gives the response."""
    gate = Gate()
    seen: list[int] = []
    with anyio.fail_after(TIMEOUT):
        async with gated(gate).start(7) as session:

            async def wait_for_result() -> None:
                seen.append(await session.result())

            async with anyio.create_task_group() as tg:
                tg.start_soon(wait_for_result)
                tg.start_soon(wait_for_result)
                await gate.started.wait()
                gate.go.set()
            seen.append(await session.result())
        seen.append(await session.result())
        seen.append(await session.result())
    assert seen == [70] * 5


async def test_result_many_times_of_a_cancelled_session() -> None:
    """API §3: every `result()` of a cancelled session raises `WorkflowCancelled` with
    the same cancellation."""
    park = Park()
    with anyio.fail_after(TIMEOUT):
        async with parked(park).start(1) as session:
            await park.started.wait()
            session.cancel("r")
            first = await cancellation_of(session)
            second = await cancellation_of(session)
        third = await cancellation_of(session)
    assert first == second == third
    assert first.cause == cf.UserCancelled("r")


async def test_result_waits_for_cleanup_to_finish() -> None:
    """API §3, S9.1: `result()` of a cancelled session returns only once its cleanup has
    finished (the session is CANCELLED by then)."""
    held = Held()
    order: list[str] = []
    with anyio.fail_after(TIMEOUT):
        async with parked(held).start(1) as session:

            async def release_when_cleaning() -> None:
                await held.cleaning.wait()
                order.append("released")
                held.release.set()

            async with anyio.create_task_group() as tg:
                tg.start_soon(release_when_cleaning)
                await held.started.wait()
                session.cancel("x")
                await cancellation_of(session)
                order.append(f"result raised, {session.state.name}")
    assert order == ["released", "result raised, CANCELLED"]
    assert held.log == ["finally"]


# --------------------------------------------------------------------------- misuse


async def test_result_of_a_session_never_started() -> None:
    """API §3: `result()` of a session that was never entered → `CrossflowError` saying
    how to start it."""
    session = doubled().start(1)
    with pytest.raises(cf.CrossflowError, match=r"never started.*async with wf\.start\(request\)"):
        await session.result()


@pytest.mark.parametrize("use", ["state", "cancel", "events"])
async def test_other_uses_of_a_session_never_started(use: str) -> None:
    """API §3: `state`, `cancel()` and `events` of a session never entered →
    `CrossflowError` saying how to start it."""
    session = doubled().start(1)
    actions: dict[str, Callable[[], object]] = {
        "state": lambda: session.state,
        "cancel": lambda: session.cancel("x"),
        "events": lambda: session.events,
    }
    with pytest.raises(cf.CrossflowError, match=r"never started.*async with wf\.start\(request\)"):
        actions[use]()
    assert not session.cancel_requested


async def test_entering_a_session_twice() -> None:
    """API §3: a session runs once: entering it again, inside or after its block →
    `CrossflowError`; the first run is not disturbed."""
    gate = Gate()
    session = gated(gate).start(1)
    with anyio.fail_after(TIMEOUT):
        async with session:
            with pytest.raises(cf.CrossflowError, match="already started"):
                async with session:
                    pytest.fail("entered twice")  # pragma: no cover
            assert session.state is S.RUNNING
            gate.go.set()
            assert await session.result() == 10
        with pytest.raises(cf.CrossflowError, match="already started"):
            async with session:
                pytest.fail("entered twice")  # pragma: no cover
    assert gate.runs == [1]


async def test_a_stream_of_a_session_never_started() -> None:
    """API §3: asking for a stream of a session never entered → `CrossflowError` at
    once, not at the first message."""
    session = Progress().workflow().start(1)
    with pytest.raises(cf.CrossflowError, match="never started"):
        session.streams.progress  # noqa: B018


@pytest.mark.parametrize("events", [1, None, "yes"])
async def test_start_with_events_that_is_not_a_bool(events: Any) -> None:
    """API §3: `start(x, events=...)` takes only True or False."""
    with pytest.raises(cf.InvalidArgument, match="events"):
        doubled().start(1, events=events)


# --------------------------------------------------------------------------- leaving the block


async def test_leaving_the_block_early_cancels_and_waits_for_cleanup() -> None:
    """API §3: leaving the block while the session runs cancels it with `UserCancelled`
    naming the block, and the exit returns only after the service's `finally` ran."""
    held = Held()

    async def release_when_cleaning() -> None:
        await held.cleaning.wait()
        held.release.set()

    with anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as tg:
            tg.start_soon(release_when_cleaning)
            async with parked(held).start(1) as session:
                await held.started.wait()
            assert held.log == ["finally"]
            assert session.state is S.CANCELLED
            assert session.cancel_requested
        cancellation = await cancellation_of(session)
    assert cancellation.cause == cf.UserCancelled(LEFT)
    assert "`async with` block" in str(cancellation.cause)
    assert kinds(session.events, ("wf",))[-1] == "Cancelled"


async def test_leaving_the_block_when_the_workflow_cancelled_itself() -> None:
    """API §3: leaving never raises `WorkflowCancelled`: a workflow that cancels itself
    leaves the block cleanly; `result()` raises afterwards with the workflow's cause."""

    @cf.workflow(name="wf")
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then_cancel()

    with anyio.fail_after(TIMEOUT):
        async with wf.start(3) as session:
            assert session.state is S.CANCELLED
        cancellation = await cancellation_of(session)
    assert isinstance(cancellation.cause, cf.Triggered)
    assert cancellation.cause.value == "3"
    assert not session.cancel_requested


async def test_leaving_the_block_while_the_workflow_cancels_itself_keeps_its_cause() -> None:
    """API §3, S9.1: leaving the block while the session is CANCELLING on its own does
    not cancel it again: the exit waits for cleanup, does not raise, and the cause is
    the workflow's own."""
    held = Held()

    async def once_held_started(x: int) -> int:
        await held.started.wait()
        return x

    @cf.workflow(name="wf")
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).fork_clone(
            lambda c: c.then(held.step).connect(scope.terminate),
            lambda c: c.then(once_held_started).then_quiet_cancel(),
        )

    with anyio.fail_after(TIMEOUT):
        async with wf.start(3) as session:
            await held.cleaning.wait()
            assert session.state is S.CANCELLING
            held.release.set()  # no checkpoint before the exit: still CANCELLING there
        assert session.state is S.CANCELLED
        assert held.log == ["finally"]
        cancellation = await cancellation_of(session)
    assert isinstance(cancellation.cause, cf.Triggered)
    assert cancellation.cause.value is None
    assert requests(session) == []


async def test_leaving_the_block_while_terminating_waits_and_keeps_the_response() -> None:
    """API §3, S9.1: leaving the block while the session is TERMINATING does not cancel
    it: the exit waits for its cleanup and `result()` gives the response."""
    gate, hold = Gate(), Hold()

    @cf.workflow(name="wf")
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(gate.step).connect(scope.terminate)
        builder.on_terminate((), hold.build)

    async def release_soon() -> None:
        for _ in range(20):
            await anyio.lowlevel.checkpoint()
        hold.release.set()

    with anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as tg:
            async with wf.start(6) as session:
                gate.go.set()
                await hold.cleaning.wait()
                assert session.state is S.TERMINATING
                tg.start_soon(release_soon)
            assert hold.log == ["cleanup done"]
            assert session.state is S.TERMINATED
        assert await session.result() == 60
    assert not session.cancel_requested
    assert requests(session) == []


async def test_a_timed_out_session_keeps_its_cause_when_the_block_is_left() -> None:
    """API §3, S6.5: a session that timed out is CANCELLED with `TimedOut`; leaving the
    block afterwards does not change its cause."""
    park = Park()
    wf = parked(park, cf.ScopeSettings(timeout=0.05))
    with anyio.fail_after(TIMEOUT):
        async with wf.start(1) as session:
            cancellation = await cancellation_of(session)
            assert session.state is S.CANCELLED
        assert (await cancellation_of(session)) == cancellation
    assert isinstance(cancellation.cause, cf.TimedOut)
    assert cancellation.cause.seconds == 0.05
    assert park.log == ["finally"]
    assert requests(session) == []


async def test_a_block_raising_propagates_its_exception_unchanged() -> None:
    """API §3: an exception raised in the block propagates as itself (not in an
    exception group), after the session was cancelled with a reason naming it and its
    cleanup ran."""
    park = Park()
    boom = ValueError("boom")
    with anyio.fail_after(TIMEOUT):
        started: list[cf.Session[int]] = []

        async def block_raising() -> None:
            async with parked(park).start(1) as session:
                started.append(session)
                await park.started.wait()
                raise boom

        with pytest.raises(ValueError, match="boom") as info:
            await block_raising()
        [session] = started
        cancellation = await cancellation_of(session)
    assert info.value is boom
    assert type(info.value) is ValueError
    assert park.log == ["finally"]
    assert session.state is S.CANCELLED
    assert cancellation.cause == cf.UserCancelled(
        "the `async with` block raised ValueError before the session ended"
    )


async def test_a_block_raising_after_the_session_ended_keeps_the_response() -> None:
    """API §3: an exception raised in the block after the session terminated propagates
    unchanged, and `result()` still gives the response."""
    boom = KeyError("k")
    with anyio.fail_after(TIMEOUT):
        with pytest.raises(KeyError) as info:
            async with doubled().start(4) as session:
                raise boom
        assert info.value is boom
        assert await session.result() == 8
    assert requests(session) == []


async def test_an_outer_cancel_scope_cancels_the_session() -> None:
    """API §3: cancelling the task inside the block (an outer cancel scope) cancels the
    session with `UserCancelled`, waits for its cleanup, and the outer scope catches its
    own cancellation."""
    held = Held()

    async def release_when_cleaning() -> None:
        await held.cleaning.wait()
        held.release.set()

    with anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as tg:
            tg.start_soon(release_when_cleaning)
            with anyio.CancelScope() as outer:
                async with parked(held).start(1) as session:
                    await held.started.wait()
                    outer.cancel()
                    await anyio.sleep_forever()
            assert outer.cancelled_caught
            assert held.log == ["finally"]
            assert session.state is S.CANCELLED
        cancellation = await cancellation_of(session)
    assert cancellation.cause == cf.UserCancelled(LEFT_CANCELLED)


async def test_move_on_after_cancels_the_session() -> None:
    """API §3: a `move_on_after` deadline reached inside the block cancels the session
    (`UserCancelled`), its cleanup runs, and `move_on_after` catches the cancellation."""
    park = Park()
    with anyio.fail_after(TIMEOUT):
        with anyio.move_on_after(TIMEOUT) as scope:
            async with parked(park).start(1) as session:
                await park.started.wait()
                scope.deadline = anyio.current_time() + 0.05
                await anyio.sleep_forever()
        assert scope.cancelled_caught
        assert park.log == ["finally"]
        cancellation = await cancellation_of(session)
    assert cancellation.cause == cf.UserCancelled(LEFT_CANCELLED)


async def test_an_outer_cancel_scope_while_awaiting_the_result() -> None:
    """API §3: the usual `move_on_after` around a block that awaits `result()`: the
    session is cancelled with `UserCancelled` and the scope catches its cancellation."""
    park = Park()
    with anyio.fail_after(TIMEOUT):
        with anyio.CancelScope() as outer:
            async with parked(park).start(1) as session:
                await park.started.wait()
                outer.cancel()
                await session.result()
                pytest.fail("result() returned in a cancelled scope")  # pragma: no cover
        assert outer.cancelled_caught
        assert park.log == ["finally"]
        cancellation = await cancellation_of(session)
    assert cancellation.cause == cf.UserCancelled(LEFT_CANCELLED)


async def test_leaving_the_block_early_waits_for_an_uninterruptible_session() -> None:
    """API §3, S6.4: leaving the block of an uninterruptible session asks it to cancel;
    it runs on, the exit waits until it terminated, and `result()` gives the response."""
    gate = Gate()
    wf = gated(gate, cf.ScopeSettings(uninterruptible=True))
    order: list[str] = []

    async def let_go() -> None:
        await gate.started.wait()
        for _ in range(20):
            await anyio.lowlevel.checkpoint()
        order.append("let go")
        gate.go.set()

    with anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as tg:
            tg.start_soon(let_go)
            async with wf.start(3) as session:
                await gate.started.wait()
            order.append("left")
            assert session.state is S.TERMINATED
            assert session.cancel_requested
        assert await session.result() == 30
    assert order == ["let go", "left"]
    assert [(r.cause, r.honoured) for r in requests(session)] == [(cf.UserCancelled(LEFT), False)]


async def test_an_outer_cancel_scope_waits_for_an_uninterruptible_session() -> None:
    """API §3, S6.4: cancelling the task inside the block of an uninterruptible session:
    the session runs to its response before the block exits, and the outer scope still
    catches its own cancellation."""
    gate = Gate()
    wf = gated(gate, cf.ScopeSettings(uninterruptible=True))

    async def let_go() -> None:
        await gate.started.wait()
        for _ in range(20):
            await anyio.lowlevel.checkpoint()
        gate.go.set()

    with anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as tg:
            tg.start_soon(let_go)
            with anyio.CancelScope() as outer:
                async with wf.start(3) as session:
                    await gate.started.wait()
                    outer.cancel()
                    await anyio.sleep_forever()
            assert outer.cancelled_caught
            assert session.state is S.TERMINATED
        assert await session.result() == 30
    assert [(r.cause, r.honoured) for r in requests(session)] == [
        (cf.UserCancelled(LEFT_CANCELLED), False)
    ]


async def test_a_failing_service_cancels_the_session_and_the_block_exits_cleanly() -> None:
    """API §2, API §3, S4.3: a service that raises cancels the session with
    `ServiceFailed`; `result()` raises `WorkflowCancelled` whose `__cause__` is the
    service's exception; leaving the block raises nothing."""
    oops = RuntimeError("oops")
    go = anyio.Event()

    async def fail(_: int) -> int:
        await go.wait()
        raise oops

    @cf.workflow(name="wf")
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(fail, name="fail").connect(scope.terminate)

    with anyio.fail_after(TIMEOUT):
        async with wf.start(1) as session:
            go.set()
            with pytest.raises(cf.WorkflowCancelled) as info:
                await session.result()
            assert session.state is S.CANCELLED
    assert info.value.__cause__ is oops
    assert info.value.cancellation.cause == cf.ServiceFailed("fail", oops)
    assert info.value.cancellation.cause.error is oops
    assert not session.cancel_requested


# --------------------------------------------------------------------------- streams


class Progress:
    """A service that sends `1, 2, 3` on its `progress` stream, then waits for `go`."""

    def __init__(self) -> None:
        self.go = anyio.Event()
        self.sent = anyio.Event()

    def workflow(self) -> cf.Workflow[int, str]:
        @cf.service(streams={"progress": int})
        async def work(n: int, *, streams: cf.Streams) -> str:
            for i in (1, 2, 3):
                streams.progress.send(i)
                await anyio.lowlevel.checkpoint()
            self.sent.set()
            await self.go.wait()
            return f"done {n}"

        @cf.workflow(name="wf", streams={"progress": int})
        def wf(scope: cf.Scope[int, str], builder: cf.Builder) -> None:
            node = builder.chain(scope.start).then_node(work)
            builder.connect(node.streams.progress, scope.streams.progress)
            builder.connect(node.output, scope.terminate)

        return wf


async def test_a_stream_gives_its_messages_in_order_and_ends_with_the_session() -> None:
    """API §3: `async for` over `session.streams.<name>` gives the stream-out messages in
    order, and ends (without error) once the session has ended."""
    progress = Progress()
    got: list[int] = []
    with anyio.fail_after(TIMEOUT):
        async with progress.workflow().start(1) as session:
            async for m in session.streams.progress:
                got.append(m)
                if len(got) == 3:
                    progress.go.set()
            assert session.state is S.TERMINATED
            assert await session.result() == "done 1"
    assert got == [1, 2, 3]


async def test_two_stream_iterators_each_get_every_message_from_the_start() -> None:
    """API §3: every iterator starts from the first message of the session, whether it
    was made before or after the messages were sent."""
    progress = Progress()
    early: list[int] = []
    late: list[int] = []
    with anyio.fail_after(TIMEOUT):
        async with progress.workflow().start(1) as session:

            async def read(into: list[int]) -> None:
                async for m in session.streams.progress:
                    into.append(m)

            async with anyio.create_task_group() as tg:
                tg.start_soon(read, early)
                await progress.sent.wait()
                tg.start_soon(read, late)
                progress.go.set()
        assert await session.result() == "done 1"
    assert early == [1, 2, 3]
    assert late == [1, 2, 3]


async def test_a_stream_read_after_the_block_gives_everything() -> None:
    """API §3: the messages stay readable after the session ended, from the start."""
    progress = Progress()
    with anyio.fail_after(TIMEOUT):
        async with progress.workflow().start(1) as session:
            await progress.sent.wait()
            progress.go.set()
            await session.result()
        got = [m async for m in session.streams.progress]
    assert got == [1, 2, 3]


async def test_a_stream_ends_when_the_session_is_cancelled() -> None:
    """API §3: a stream iteration ends without error when the session is cancelled;
    the messages sent before stay readable."""
    progress = Progress()
    got: list[int] = []
    with anyio.fail_after(TIMEOUT):
        async with progress.workflow().start(1) as session:
            async for m in session.streams.progress:
                got.append(m)
                if len(got) == 3:
                    session.cancel("seen enough")
            assert session.state is S.CANCELLED
            cancellation = await cancellation_of(session)
    assert got == [1, 2, 3]
    assert cancellation.cause == cf.UserCancelled("seen enough")


async def test_streams_and_events_of_a_nested_scope() -> None:
    """API §3, S9.2: stream messages forwarded out of a nested scope reach the session's
    stream; `session.events` holds the nested session's events too, and cancelling the
    session interrupts the nested one."""
    go = anyio.Event()

    @cf.service(streams={"p": int})
    async def work(x: int, *, streams: cf.Streams) -> int:
        streams.p.send(x)
        streams.p.send(x + 1)
        await go.wait()
        return x  # pragma: no cover - cancelled first

    def inner(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        node = builder.chain(scope.start).then_node(work, name="work")
        builder.connect(node.streams.p, scope.streams.p)
        builder.connect(node.output, scope.terminate)

    @cf.workflow(name="wf", streams={"p": int})
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        node = builder.create_scope(inner, streams={"p": int}, name="inner")
        builder.connect(scope.start, node.input)
        builder.connect(node.streams.p, scope.streams.p)
        builder.connect(node.output, scope.terminate)

    got: list[int] = []
    with anyio.fail_after(TIMEOUT):
        async with wf.start(1) as session:
            async for m in session.streams.p:
                got.append(m)
                if len(got) == 2:
                    session.cancel("c")
            cancellation = await cancellation_of(session)
    assert got == [1, 2]
    assert cancellation.cause == cf.UserCancelled("c")
    root, child = ("wf",), ("wf", "inner[0]")
    assert [(e.path, type(e).__name__) for e in session.events] == [
        (root, "SessionStarted"),
        (child, "SessionStarted"),
        (child, "OperationStarted"),
        (root, "CancellationRequested"),
        (root, "CleanupStarted"),
        (root, "ChildCancellationRequested"),
        (child, "CancellationRequested"),
        (child, "CleanupStarted"),
        (child, "TaskCancelled"),
        (child, "CleanupFinished"),
        (child, "Cancelled"),
        (root, "CleanupFinished"),
        (root, "Cancelled"),
    ]


async def test_an_undeclared_stream_name() -> None:
    """API §3: `session.streams.<undeclared>` → `AttributeError` naming the declared
    streams."""
    progress = Progress()
    with anyio.fail_after(TIMEOUT):
        async with progress.workflow().start(1) as session:
            with pytest.raises(AttributeError, match=r"'slices'.*declared streams: 'progress'"):
                _ = session.streams.slices
            progress.go.set()
    async with doubled().start(1) as plain:
        with pytest.raises(AttributeError, match=r"'progress'.*declared streams: none"):
            _ = plain.streams.progress


async def test_stream_messages_after_terminate_never_show() -> None:
    """S8.3: a stream message sent after terminate fired (from the `finally` of a
    service cancelled by cleanup) never reaches the session's stream."""
    started = anyio.Event()

    @cf.service(streams={"progress": int})
    async def work(n: int, *, streams: cf.Streams) -> int:
        streams.progress.send(1)
        started.set()
        try:
            await anyio.sleep_forever()
        finally:
            streams.progress.send(99)
        return n  # pragma: no cover - never reached

    async def answer(n: int) -> int:
        await started.wait()
        return n

    @cf.workflow(name="wf", streams={"progress": int})
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        def to_work(c: cf.Chain[int]) -> None:
            node = c.then_node(work)
            builder.connect(node.streams.progress, scope.streams.progress)
            builder.chain(node.output).dispose()

        builder.chain(scope.start).fork_clone(
            to_work,
            lambda c: c.then(answer).connect(scope.terminate),
        )

    with anyio.fail_after(TIMEOUT):
        async with wf.start(5) as session:
            got = [m async for m in session.streams.progress]
            assert await session.result() == 5
    assert got == [1]


async def test_stream_messages_of_an_abandoned_service_after_terminate_never_show() -> None:
    """S8.3, S6.6: an abandoned service that runs on after terminate and then sends a
    stream message: the message never reaches the session's stream."""
    started = anyio.Event()
    finished = anyio.Event()
    go = anyio.Event()

    @cf.service(streams={"progress": int})
    async def work(n: int, *, streams: cf.Streams) -> int:
        streams.progress.send(1)
        started.set()
        await go.wait()
        streams.progress.send(99)
        finished.set()
        return n

    async def answer(n: int) -> int:
        await started.wait()
        return n

    @cf.workflow(name="wf", streams={"progress": int})
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        def to_work(c: cf.Chain[int]) -> None:
            node = c.then_node(work, cancellation=cf.CancellationPolicy.ABANDON)
            builder.connect(node.streams.progress, scope.streams.progress)

        builder.chain(scope.start).fork_clone(
            to_work,
            lambda c: c.then(answer).connect(scope.terminate),
        )

    with anyio.fail_after(TIMEOUT):
        async with wf.start(5) as session:
            assert await session.result() == 5
            go.set()
        assert finished.is_set()  # the exit waited for the abandoned work
        got = [m async for m in session.streams.progress]
    assert got == [1]


# --------------------------------------------------------------------------- S9.2 events


async def test_events_of_a_session_started_without_events() -> None:
    """API §3, S9.2: `session.events` of a session started with `events=False` →
    `CrossflowError`; the session itself works as usual."""
    with anyio.fail_after(TIMEOUT):
        async with doubled().start(4, events=False) as session:
            with pytest.raises(cf.CrossflowError, match="events=False"):
                _ = session.events
            assert await session.result() == 8
        with pytest.raises(cf.CrossflowError, match="events=False"):
            _ = session.events


async def test_run_without_events_cancels_with_no_events() -> None:
    """S9.2: a run with `events=False` that is cancelled has `.events == ()`."""

    @cf.workflow(name="wf")
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then_cancel()

    with pytest.raises(cf.WorkflowCancelled) as info:
        await wf.run(1, events=False)
    assert info.value.events == ()
    assert isinstance(info.value.cancellation.cause, cf.Triggered)
    assert info.value.cancellation.cause.value == "1"


async def test_run_cancellation_carries_its_events() -> None:
    """S9.2: `WorkflowCancelled.events` from `run` starts with the root's
    `SessionStarted` and ends with the root's `Cancelled` of that cancellation."""
    gate = Gate()

    @cf.workflow(name="wf")
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(gate.step).then_cancel()

    gate.go.set()
    error = await assert_cancelled(wf, 2)
    events = error.events
    assert kinds(events) == [
        "SessionStarted",
        "OperationStarted",
        "OperationFinished",
        "CleanupStarted",
        "CleanupFinished",
        "Cancelled",
    ]
    assert all(e.path == ("wf",) for e in events)
    last = events[-1]
    assert isinstance(last, ev.Cancelled)
    assert last.cancellation == error.cancellation
    assert isinstance(error.cancellation.cause, cf.Triggered)
    assert error.cancellation.cause.value == "20"
    assert [e.time for e in events] == sorted(e.time for e in events)


async def test_events_of_a_cancelled_session() -> None:
    """S9.2: the exact event log of a session cancelled by `cancel()` while its service
    was parked."""
    park = Park()
    with anyio.fail_after(TIMEOUT):
        async with parked(park).start(1) as session:
            await park.started.wait()
            assert kinds(session.events) == ["SessionStarted", "OperationStarted"]
            session.cancel("stop")
            await cancellation_of(session)
    assert kinds(session.events) == [
        "SessionStarted",
        "OperationStarted",
        "CancellationRequested",
        "CleanupStarted",
        "TaskCancelled",
        "CleanupFinished",
        "Cancelled",
    ]
    cleanup = [e for e in session.events if isinstance(e, ev.CleanupStarted)]
    assert cleanup[0].cancellation is not None
    assert cleanup[0].cancellation.cause == cf.UserCancelled("stop")


async def test_cancel_called_from_a_blocking_service_keeps_the_log_in_order() -> None:
    """S9.2, API §3: a blocking service may call `cancel()` on its own session; the
    event log stays in time order and its last event is the root's `Cancelled`."""
    sessions: list[cf.Session[int]] = []
    go = anyio.Event()

    async def wait(x: int) -> int:
        await go.wait()
        return x

    def stop(x: int) -> int:
        sessions[0].cancel("from inside")
        return x

    @cf.workflow(name="wf")
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        chain = builder.chain(scope.start).then(wait).then(stop, name="stop")
        chain.map(lambda x: x + 1).connect(scope.terminate)

    with anyio.fail_after(TIMEOUT):
        async with wf.start(1) as session:
            sessions.append(session)
            go.set()
            cancellation = await cancellation_of(session)
    assert cancellation.cause == cf.UserCancelled("from inside")
    events = session.events
    assert kinds(events)[-1] == "Cancelled"
    assert [e.time for e in events] == sorted(e.time for e in events)
    stop_started = [
        i
        for i, e in enumerate(events)
        if isinstance(e, ev.OperationStarted) and e.operation == "stop"
    ]
    [requested] = [i for i, e in enumerate(events) if isinstance(e, ev.CancellationRequested)]
    assert len(stop_started) == 1
    assert stop_started[0] < requested


# --------------------------------------------------------------------------- blocking only


async def test_a_blocking_only_session_has_terminated_on_entering() -> None:
    """S9.1: a workflow of blocking operations only has TERMINATED by the time the
    block is entered."""
    with anyio.fail_after(TIMEOUT):
        async with doubled().start(21) as session:
            assert session.state is S.TERMINATED
            assert await session.result() == 42
    assert kinds(session.events) == [
        "SessionStarted",
        "OperationStarted",
        "OperationFinished",
        "CleanupStarted",
        "CleanupFinished",
        "Terminated",
    ]
    assert not session.cancel_requested


# --------------------------------------------------------------------------- repr


async def test_repr_shows_the_state() -> None:
    """API §3: a session's repr names the workflow and shows its state."""
    gate = Gate()
    session = gated(gate).start(1)
    assert "not started" in repr(session)
    assert "'wf'" in repr(session)
    with anyio.fail_after(TIMEOUT):
        async with session:
            assert "RUNNING" in repr(session)
            gate.go.set()
            await session.result()
            assert "TERMINATED" in repr(session)
    park = Park()
    with anyio.fail_after(TIMEOUT):
        async with parked(park).start(1) as cancelled:
            await park.started.wait()
            cancelled.cancel()
            await cancellation_of(cancelled)
            assert "CANCELLED" in repr(cancelled)


async def test_repr_counts_the_events() -> None:
    """API §3, S9.2: the event count a session's repr shows is `len(session.events)`."""
    with anyio.fail_after(TIMEOUT):
        async with doubled().start(1) as session:
            assert len(session.events) == 6
            assert repr(session) == "<Session of 'wf': TERMINATED, 6 events>"


# --------------------------------------------------------------------------- instructed runs


async def test_an_instructed_session_waits_its_turn() -> None:
    """API §3, S7.5: two sessions of an instructed workflow with one label: the second
    is RUNNING but its service starts only once the first has ended."""
    gate = Gate()
    queued = gated(gate).instruct(label="L")
    with anyio.fail_after(TIMEOUT):
        async with queued.start(1) as first, queued.start(2) as second:
            await gate.started.wait()
            for _ in range(20):
                await anyio.lowlevel.checkpoint()
            assert gate.runs == [1]
            assert second.state is S.RUNNING
            gate.go.set()
            assert await first.result() == 10
            assert await second.result() == 20
    assert gate.runs == [1, 2]


async def test_leaving_the_block_of_a_queued_instructed_session() -> None:
    """API §3, S7.5: leaving the block of a session that still waits its turn cancels
    it at once (the exit does not wait for the session ahead of it)."""
    gate = Gate()
    queued = gated(gate).instruct(label="L")
    with anyio.fail_after(TIMEOUT):
        async with queued.start(1) as first:
            await gate.started.wait()
            async with queued.start(2) as second:
                pass
            assert second.state is S.CANCELLED
            assert first.state is S.RUNNING
            gate.go.set()
            assert await first.result() == 10
        cancellation = await cancellation_of(second)
    assert cancellation.cause == cf.UserCancelled(LEFT)
    assert gate.runs == [1]


async def test_a_queued_instructed_session_starts_when_the_first_is_cancelled() -> None:
    """API §3, S7.5: once the session ahead is cancelled, the queued one runs."""
    gate = Gate()
    queued = gated(gate).instruct(label="L")
    with anyio.fail_after(TIMEOUT):
        async with queued.start(1) as first, queued.start(2) as second:
            await gate.started.wait()
            first.cancel("make room")
            assert (await cancellation_of(first)).cause == cf.UserCancelled("make room")
            gate.go.set()
            assert await second.result() == 20
    assert gate.runs == [1, 2]


async def test_cancelling_a_queued_instructed_session() -> None:
    """API §3, S7.5: cancelling a session that waits its turn ends it with
    `UserCancelled` without its service ever running; the first runs on."""
    gate = Gate()
    queued = gated(gate).instruct(label="L")
    with anyio.fail_after(TIMEOUT):
        async with queued.start(1) as first:
            await gate.started.wait()
            async with queued.start(2) as second:
                assert second.state is S.RUNNING
                second.cancel("not needed")
                cancellation = await cancellation_of(second)
                assert second.state is S.CANCELLED
            assert first.state is S.RUNNING
            gate.go.set()
            assert await first.result() == 10
    assert cancellation.cause == cf.UserCancelled("not needed")
    assert gate.runs == [1]


# --------------------------------------------------------------------------- properties

FORWARD = {
    S.RUNNING: {S.TERMINATING, S.TERMINATED, S.CANCELLING, S.CANCELLED},
    S.TERMINATING: {S.TERMINATED},
    S.CANCELLING: {S.CANCELLED},
    S.TERMINATED: set(),
    S.CANCELLED: set(),
}


@given(
    steps=st.lists(st.integers(0, 3), min_size=1, max_size=3),
    moment=st.none() | st.integers(0, 20),
    uninterruptible=st.booleans(),
    messages=st.lists(st.integers(), max_size=4),
)
async def test_a_session_cancelled_at_any_moment(
    steps: list[int], moment: int | None, uninterruptible: bool, messages: list[int]
) -> None:
    """S9.1, S9.2, API §3, S8.3: whenever `cancel()` comes (or never), the states only go
    forward along RUNNING → TERMINATING → TERMINATED or RUNNING → CANCELLING → CANCELLED;
    a session still RUNNING and interruptible ends `UserCancelled`, any other ends with
    its response; one `CancellationRequested` is recorded unless the session had ended,
    honoured exactly when the session was cancelled; the stream gives a prefix of what
    the service sent (all of it when the session terminated)."""

    @cf.service(streams={"items": int})
    async def send(x: int, *, streams: cf.Streams) -> int:
        for m in messages:
            streams.items.send(m)
            await anyio.lowlevel.checkpoint()
        return x

    def step(checkpoints: int) -> Callable[[int], Any]:
        async def run_step(x: int) -> int:
            for _ in range(checkpoints):
                await anyio.lowlevel.checkpoint()
            return x + 1

        return run_step

    def build(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        node = builder.chain(scope.start).then_node(send)
        builder.connect(node.streams.items, scope.streams.items)
        chain = builder.chain(node.output)
        for n in steps:
            chain = chain.then(step(n))
        chain.connect(scope.terminate)

    wf = cf.Workflow.build(
        build,
        name="wf",
        streams={"items": int},
        settings=cf.ScopeSettings(uninterruptible=uninterruptible),
    )
    seen: list[cf.SessionState] = []

    def observe(state: cf.SessionState) -> None:
        if not seen or seen[-1] is not state:
            assert state in FORWARD[seen[-1]] if seen else state is S.RUNNING, (seen, state)
            seen.append(state)

    with anyio.fail_after(TIMEOUT):
        async with wf.start(0) as session:
            observe(session.state)
            at_cancel = None
            for _ in range(moment if moment is not None else 0):
                await anyio.lowlevel.checkpoint()
                observe(session.state)
            if moment is not None:
                at_cancel = session.state
                session.cancel("p")
            while not session.state.ended:
                await anyio.lowlevel.checkpoint()
                observe(session.state)
            observe(session.state)
            got = [m async for m in session.streams.items]
            try:
                outcome: Any = await session.result()
            except cf.WorkflowCancelled as error:
                outcome = error.cancellation.cause

    expect_cancelled = at_cancel is S.RUNNING and not uninterruptible
    if expect_cancelled:
        assert outcome == cf.UserCancelled("p")
        assert seen[-1] is S.CANCELLED
        assert got == messages[: len(got)]
    else:
        assert outcome == len(steps)
        assert seen[-1] is S.TERMINATED
        assert got == messages
    expected_requests = [] if at_cancel is None or at_cancel.ended else [expect_cancelled]
    assert [r.honoured for r in requests(session)] == expected_requests
    assert session.cancel_requested is (moment is not None)
    last = session.events[-1]
    assert last.path == ("wf",)
    assert type(last) is (ev.Cancelled if expect_cancelled else ev.Terminated)
