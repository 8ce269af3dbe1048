"""examples/work_sessions: a scheduling workflow that creates work for people, and cleans
it up when it is cancelled: the session id kept in a buffer for the `on_cancel` cleanup
workflow (S6.1-S6.3), a close in an uninterruptible scope with a timeout (S6.4, S6.5),
and the session handle that cancels it and watches it (API §3, S9.1, S9.2).

Every test runs on asyncio and on trio, trio with a `MockClock` so that `explore` can skip
time there too. The workflow and its simulated user await an
`on_step` hook after each step they take; the tests pause there to cancel at an exact
moment, without sleeping.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import anyio
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from trio.testing import MockClock

import crossflow as cf
from crossflow import events as ev
from crossflow import testing as cft
from examples.work_sessions import demo
from examples.work_sessions.store import TaskState, WorkSessionState, WorkSessionStore
from examples.work_sessions.workflow import (
    Scenario,
    Scheduled,
    Scheduling,
    SimulatedUser,
    scheduling_workflow,
    undo_completed_work,
)

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> object:
    """Both backends; trio with a clock that can skip time (it keeps real time's pace until
    `explore` switches its autojump on)."""
    if request.param == "trio":
        return ("trio", {"clock": MockClock(rate=1.0)})
    return "asyncio"


AVAILABLE, ACTIVE, COMPLETED, WONT_DO = (
    TaskState.AVAILABLE,
    TaskState.ACTIVE,
    TaskState.COMPLETED,
    TaskState.WONT_DO,
)
READY, PROCESSING, CANCELLED = (
    WorkSessionState.READY,
    WorkSessionState.PROCESSING,
    WorkSessionState.CANCELLED,
)
SESSION_COMPLETED = WorkSessionState.COMPLETED
TERMINATING, TERMINATED = cf.SessionState.TERMINATING, cf.SessionState.TERMINATED

TASKS = ("schedule appointment", "confirm carrier", "notify customer")
SHIPMENT = Scheduling("shipment-1", TASKS)
BUSINESS_PROCESS, INVALID_STATE, PURGE = (
    Scenario.BUSINESS_PROCESS,
    Scenario.INVALID_STATE,
    Scenario.PURGE,
)
TIMEOUT = 10
# far in the future: every ACTIVE task is stale then
LATER = 1e12


@pytest.fixture
def store() -> Iterator[WorkSessionStore]:
    with WorkSessionStore() as work_sessions:
        yield work_sessions


class Steps:
    """The `on_step` hook of the workflow and of its user. It records every step and
    pauses at the step `pause_at` (its number, counted from 1, or its text) until
    `release()`; the step `hang_at` never returns, like a call that hangs."""

    def __init__(self, pause_at: int | str | None = None, *, hang_at: str | None = None) -> None:
        self.log: list[str] = []
        self.pause_at = pause_at
        self.hang_at = hang_at
        self.paused = anyio.Event()
        self._released = anyio.Event()

    async def __call__(self, step: str) -> None:
        self.log.append(step)
        if step == self.hang_at:
            self.paused.set()
            await anyio.sleep_forever()
        if self.pause_at in (len(self.log), step) and not self.paused.is_set():
            self.paused.set()
            await self._released.wait()

    def release(self) -> None:
        self._released.set()


def scheduling(
    store: WorkSessionStore, steps: Steps, close_timeout: float = 5.0
) -> cf.Workflow[Scheduling, Scheduled]:
    user = SimulatedUser(store, "ada", on_step=steps)
    return scheduling_workflow(store, user, on_step=steps, close_timeout=close_timeout)


async def outcome(session: cf.Session[Scheduled]) -> Scheduled | cf.CancellationCause:
    """The response, or the cause of the cancellation."""
    try:
        return await session.result()
    except cf.WorkflowCancelled as cancelled:
        return cancelled.cancellation.cause


async def paused_or_ended(session: cf.Session[Scheduled], steps: Steps) -> bool:
    """Wait until the steps pause, or the session ends; True if they paused."""
    async with anyio.create_task_group() as tg:

        async def until_ended() -> None:
            with contextlib.suppress(cf.WorkflowCancelled):
                await session.result()
            tg.cancel_scope.cancel()

        tg.start_soon(until_ended)
        await steps.paused.wait()
        tg.cancel_scope.cancel()
    return steps.paused.is_set()


async def run_and_cancel(
    store: WorkSessionStore,
    pause_at: int | str,
    why: Scenario | None,
    request: Scheduling = SHIPMENT,
) -> tuple[cf.Session[Scheduled], Steps, Scheduled | cf.CancellationCause, cf.SessionState]:
    """Run the workflow, cancel it for `why` (None: no reason recorded) when the steps
    pause at `pause_at`; return the session, its steps, its outcome and the state it was
    in right after `cancel`."""
    steps = Steps(pause_at)
    with anyio.fail_after(TIMEOUT):
        async with scheduling(store, steps).start(request) as session:
            assert await paused_or_ended(session, steps), f"never reached {pause_at!r}"
            if why is None:
                session.cancel()
            else:
                session.cancel(why.value)
            state = session.state
            steps.release()
            result = await outcome(session)
    return session, steps, result, state


def states(store: WorkSessionStore) -> list[tuple[WorkSessionState, list[TaskState]]]:
    return [(state, store.task_states(id_)) for id_, state in store.all_sessions()]


def assert_nothing_left_open(store: WorkSessionStore) -> None:
    """No session READY or PROCESSING, no task AVAILABLE, and ACTIVE tasks (in a user's
    hands) only in CANCELLED sessions."""
    for session_state, task_states in states(store):
        assert session_state not in (READY, PROCESSING)
        assert AVAILABLE not in task_states
        if ACTIVE in task_states:
            assert session_state is CANCELLED


def kinds(session: cf.Session[Scheduled]) -> list[tuple[str, str]]:
    """(event kind, session path) of every event of the session."""
    return [(type(e).__name__, "/".join(e.path)) for e in session.events]


# -- the demo ---------------------------------------------------------------------------------

DEMO_OUTPUT = [
    "== the happy path",
    "  shipment-1: to do: schedule appointment, confirm carrier, notify customer",
    "  ws-1 is waiting for a user",
    "  ada picked up schedule appointment",
    "  ada completed schedule appointment",
    "  ws-1 checked: READY",
    "  ada picked up confirm carrier",
    "  ada completed confirm carrier",
    "  ws-1 checked: READY",
    "  ada picked up notify customer",
    "  ada completed notify customer",
    "  ws-1 checked: PROCESSING",
    "  closing ws-1",
    "  closed ws-1",
    "response: Scheduled(session_id='ws-1', completed=('schedule appointment', 'confirm carrier', 'notify customer'))",
    "ws-1 COMPLETED: schedule appointment COMPLETED, confirm carrier COMPLETED, notify customer COMPLETED",
    "effects: confirm carrier in place, notify customer in place, schedule appointment in place",
    "== the shipment is cancelled while ada confirms the carrier",
    "  shipment-2: to do: schedule appointment, confirm carrier, notify customer",
    "  ws-2 is waiting for a user",
    "  ada picked up schedule appointment",
    "  ada completed schedule appointment",
    "  ws-2 checked: READY",
    "  ada picked up confirm carrier",
    "cancelled for business process: the workflow is CANCELLING",
    "  cleaned up ws-2: CANCELLED",
    "  cancelled for business process",
    "  down task: undo schedule appointment",
    "CANCELLED: cancelled from outside: business process",
    "ws-2 CANCELLED: schedule appointment COMPLETED, confirm carrier ACTIVE (ada), notify customer WONT_DO",
    "effects: schedule appointment undone",
    "ada completes confirm carrier anyway; its down task runs too",
    "down tasks: confirm carrier",
    "ws-2 CANCELLED: schedule appointment COMPLETED, confirm carrier COMPLETED, notify customer WONT_DO",
    "effects: confirm carrier undone, schedule appointment undone",
    "== a bug: the workflow is cancelled and run again",
    "  shipment-3: to do: schedule appointment, confirm carrier, notify customer",
    "  ws-3 is waiting for a user",
    "  ada picked up schedule appointment",
    "  ada completed schedule appointment",
    "  ws-3 checked: READY",
    "cancelled for invalid workflow state: the workflow is CANCELLING",
    "  cleaned up ws-3: CANCELLED",
    "  cancelled for invalid workflow state",
    "CANCELLED: cancelled from outside: invalid workflow state",
    "ws-3 CANCELLED: schedule appointment COMPLETED, confirm carrier WONT_DO, notify customer WONT_DO",
    "effects: schedule appointment in place",
    "  shipment-3: to do: confirm carrier, notify customer",
    "  ws-4 is waiting for a user",
    "  ada picked up confirm carrier",
    "  ada completed confirm carrier",
    "  ws-4 checked: READY",
    "  ada picked up notify customer",
    "  ada completed notify customer",
    "  ws-4 checked: PROCESSING",
    "  closing ws-4",
    "  closed ws-4",
    "response: Scheduled(session_id='ws-4', completed=('confirm carrier', 'notify customer'))",
    "ws-3 CANCELLED: schedule appointment COMPLETED, confirm carrier WONT_DO, notify customer WONT_DO",
    "ws-4 COMPLETED: confirm carrier COMPLETED, notify customer COMPLETED",
    "effects: confirm carrier in place, notify customer in place, schedule appointment in place",
    "== purged while ada has a task, and ada has gone home",
    "  shipment-4: to do: schedule appointment, confirm carrier, notify customer",
    "  ws-5 is waiting for a user",
    "  ada picked up schedule appointment",
    "  ada completed schedule appointment",
    "  ws-5 checked: READY",
    "  ada picked up confirm carrier",
    "cancelled for purge: the workflow is CANCELLING",
    "  cleaned up ws-5: CANCELLED",
    "  cancelled for purge",
    "  down task: undo schedule appointment",
    "CANCELLED: cancelled from outside: purge",
    "an hour later, stale work is un-assigned: wt-13",
    "ws-5 CANCELLED: schedule appointment COMPLETED, confirm carrier WONT_DO, notify customer WONT_DO",
    "effects: schedule appointment undone",
    "== the shipment is cancelled while its work session is being closed",
    "  shipment-5: to do: schedule appointment, confirm carrier, notify customer",
    "  ws-6 is waiting for a user",
    "  ada picked up schedule appointment",
    "  ada completed schedule appointment",
    "  ws-6 checked: READY",
    "  ada picked up confirm carrier",
    "  ada completed confirm carrier",
    "  ws-6 checked: READY",
    "  ada picked up notify customer",
    "  ada completed notify customer",
    "  ws-6 checked: PROCESSING",
    "  closing ws-6",
    "cancelled for business process: the workflow is CANCELLING",
    "  closed ws-6",
    "  cleaned up ws-6: COMPLETED",
    "  cancelled for business process",
    "  down task: undo confirm carrier",
    "  down task: undo notify customer",
    "  down task: undo schedule appointment",
    "CANCELLED: cancelled from outside: business process",
    "ws-6 COMPLETED: schedule appointment COMPLETED, confirm carrier COMPLETED, notify customer COMPLETED",
    "effects: confirm carrier undone, notify customer undone, schedule appointment undone",
    "scheduling: cancellation requested (cancelled from outside: business process), honoured: True",
    "scheduling/close[0]: cancellation requested (interrupted because its parent session of 'scheduling' is ending), honoured: False",
    "scheduling: could not cancel scheduling/close[0]: it is uninterruptible",
    "scheduling/close[0]: Terminated",
    "scheduling/on_cancel[0]: Terminated",
    "scheduling: Cancelled",
]


async def test_demo_prints_every_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    """examples/work_sessions/demo.py prints exactly this, on both backends: the happy
    path; a business process cancellation while a task is in a user's hands (session
    CANCELLED, AVAILABLE tasks WONT_DO, completed work undone; the task finished later is
    COMPLETED); an invalid-state cancellation whose work is kept and picked up by a second
    run; a purge whose task in hand is retired by stale un-assignment; a cancellation
    during the uninterruptible close (S6.1-S6.4, API §3, S9.1, S9.2)."""
    capsys.readouterr()
    with anyio.fail_after(TIMEOUT):
        await demo.main()
    assert capsys.readouterr().out.splitlines() == DEMO_OUTPUT


# -- the happy path ---------------------------------------------------------------------------


async def test_happy_path(store: WorkSessionStore) -> None:
    """Not cancelled: the user works through every task, the close completes the session,
    the workflow TERMINATED with the session and its tasks (API §3, S9.1); exact event
    kinds and paths, the close in its own child session (S9.2)."""
    steps = Steps()
    with anyio.fail_after(TIMEOUT):
        async with scheduling(store, steps).start(SHIPMENT) as session:
            assert session.state is cf.SessionState.RUNNING
            assert await session.result() == Scheduled("ws-1", TASKS)
    assert session.state is cf.SessionState.TERMINATED
    assert states(store) == [(SESSION_COMPLETED, [COMPLETED] * 3)]
    assert store.effects_of("shipment-1") == dict.fromkeys(TASKS, True)
    assert steps.log == [
        "shipment-1: to do: schedule appointment, confirm carrier, notify customer",
        "ws-1 is waiting for a user",
        "ada picked up schedule appointment",
        "ada completed schedule appointment",
        "ws-1 checked: READY",
        "ada picked up confirm carrier",
        "ada completed confirm carrier",
        "ws-1 checked: READY",
        "ada picked up notify customer",
        "ada completed notify customer",
        "ws-1 checked: PROCESSING",
        "closing ws-1",
        "closed ws-1",
    ]
    root, close = "scheduling", "scheduling/close[0]"
    assert kinds(session) == [
        ("SessionStarted", root),
        ("OperationStarted", root),  # plan
        ("OperationFinished", root),
        ("OperationStarted", root),  # open_session
        ("OperationFinished", root),
        ("Disposed", root),  # the branch for "nothing to do" was not taken
        ("OperationStarted", root),  # work_through
        ("OperationFinished", root),
        ("SessionStarted", close),
        ("OperationStarted", close),
        ("OperationFinished", close),
        ("CleanupStarted", close),
        ("CleanupFinished", close),
        ("Terminated", close),
        ("CleanupStarted", root),
        ("CleanupFinished", root),
        ("Terminated", root),
    ]


# -- cancelled at each stage ------------------------------------------------------------------


async def test_cancelled_as_soon_as_started(store: WorkSessionStore) -> None:
    """API §3: `cancel()` right after entering the block: the workflow goes CANCELLING at
    once, no work session is ever created, and the cleanup workflow still runs (S6.2)."""
    steps = Steps()
    with anyio.fail_after(TIMEOUT):
        async with scheduling(store, steps).start(SHIPMENT) as session:
            session.cancel(BUSINESS_PROCESS.value)
            assert session.state is cf.SessionState.CANCELLING
            assert await outcome(session) == cf.UserCancelled("business process")
    assert session.state is cf.SessionState.CANCELLED
    assert store.all_sessions() == []
    assert steps.log[-1] == "cancelled for business process"


async def test_cancelled_before_the_session_is_created(store: WorkSessionStore) -> None:
    """S6.1, S6.2: cancelled while planning: the planning task is cancelled, no session
    exists, so the cleanup has no session to clean up and no work to undo."""
    session, steps, result, state = await run_and_cancel(store, 1, BUSINESS_PROCESS)
    assert state is cf.SessionState.CANCELLING
    assert result == cf.UserCancelled("business process")
    assert store.all_sessions() == []
    assert steps.log == [
        "shipment-1: to do: schedule appointment, confirm carrier, notify customer",
        "cancelled for business process",
    ]
    root, cleanup = "scheduling", "scheduling/on_cancel[0]"
    assert kinds(session) == [
        ("SessionStarted", root),
        ("OperationStarted", root),
        ("CancellationRequested", root),
        ("CleanupStarted", root),
        ("TaskCancelled", root),
        ("SessionStarted", cleanup),
        ("OperationStarted", cleanup),
        ("OperationFinished", cleanup),
        ("CleanupStarted", cleanup),
        ("CleanupFinished", cleanup),
        ("Terminated", cleanup),
        ("CleanupFinished", root),
        ("Cancelled", root),
    ]


async def test_cancelled_after_the_session_is_created_before_it_is_assigned(
    store: WorkSessionStore,
) -> None:
    """S6.1, S6.2: the session id reached the buffer as soon as the session existed, so
    the cleanup finds it: the session is CANCELLED and every task WONT_DO."""
    _, steps, result, _ = await run_and_cancel(store, "ws-1 is waiting for a user", PURGE)
    assert result == cf.UserCancelled("purge")
    assert states(store) == [(CANCELLED, [WONT_DO] * 3)]
    assert store.effects_of("shipment-1") == {}
    assert steps.log[-2:] == ["cleaned up ws-1: CANCELLED", "cancelled for purge"]


@pytest.mark.parametrize("why", [BUSINESS_PROCESS, PURGE])
async def test_cancelled_while_a_task_is_active_and_the_user_finishes_it(
    store: WorkSessionStore, why: Scenario
) -> None:
    """S6.1, S6.2: cancelled while the user holds the second task: the session is
    CANCELLED, the task after it WONT_DO, the completed first task's effect undone. The
    task in hand stays ACTIVE; when the user completes it, it is COMPLETED and the
    session stays CANCELLED; its effect appeared after the cleanup, so its down task has
    to be run by whoever owns the business process."""
    _, steps, result, _ = await run_and_cancel(store, "ada picked up confirm carrier", why)
    assert result == cf.UserCancelled(why.value)
    assert states(store) == [(CANCELLED, [COMPLETED, ACTIVE, WONT_DO])]
    assert_nothing_left_open(store)
    assert store.effects_of("shipment-1") == {"schedule appointment": False}
    assert steps.log[-3:] == [
        "cleaned up ws-1: CANCELLED",
        f"cancelled for {why}",
        "down task: undo schedule appointment",
    ]

    store.complete_task("wt-2")
    assert states(store) == [(CANCELLED, [COMPLETED, COMPLETED, WONT_DO])]
    assert store.unassign_stale_work(now=LATER, max_age=0.0) == []
    assert store.effects_of("shipment-1") == {
        "confirm carrier": True,
        "schedule appointment": False,
    }
    assert undo_completed_work(store, "shipment-1") == ["confirm carrier"]
    assert store.effects_of("shipment-1") == dict.fromkeys(TASKS[:2], False)


async def test_cancelled_while_a_task_is_active_and_the_user_never_comes_back(
    store: WorkSessionStore,
) -> None:
    """S6.2: the task left in the hands of a user who went home is retired by stale
    un-assignment: WONT_DO, and the session stays CANCELLED."""
    await run_and_cancel(store, "ada picked up confirm carrier", BUSINESS_PROCESS)
    assert store.unassign_stale_work(now=LATER, max_age=0.0) == ["wt-2"]
    assert states(store) == [(CANCELLED, [COMPLETED, WONT_DO, WONT_DO])]
    assert store.effects_of("shipment-1") == {"schedule appointment": False}


async def test_invalid_state_keeps_the_work_and_a_second_run_picks_up(
    store: WorkSessionStore,
) -> None:
    """S6.2: an invalid-state cancellation cleans up the session but keeps the completed
    work; a second run of the same workflow creates only the tasks left, and completes."""
    _, steps, result, _ = await run_and_cancel(store, "ws-1 checked: READY", INVALID_STATE)
    assert result == cf.UserCancelled("invalid workflow state")
    assert states(store) == [(CANCELLED, [COMPLETED, WONT_DO, WONT_DO])]
    assert store.effects_of("shipment-1") == {"schedule appointment": True}
    assert steps.log[-1] == "cancelled for invalid workflow state"

    again = Steps()
    with anyio.fail_after(TIMEOUT):
        async with scheduling(store, again).start(SHIPMENT) as session:
            assert await session.result() == Scheduled("ws-2", TASKS[1:])
    assert session.state is cf.SessionState.TERMINATED
    assert again.log[0] == "shipment-1: to do: confirm carrier, notify customer"
    assert [task.name for task in store.tasks("ws-2")] == list(TASKS[1:])
    assert states(store)[1] == (SESSION_COMPLETED, [COMPLETED, COMPLETED])
    assert store.effects_of("shipment-1") == dict.fromkeys(TASKS, True)


async def test_a_run_with_nothing_left_to_do_creates_no_session(store: WorkSessionStore) -> None:
    """S1.3: once every task was completed (the earlier run was cancelled during its
    close), a new run creates no session and responds at once."""
    await run_and_cancel(store, "closing ws-1", INVALID_STATE)
    steps = Steps()
    with anyio.fail_after(TIMEOUT):
        async with scheduling(store, steps).start(SHIPMENT) as session:
            assert await session.result() == Scheduled(None, ())
    assert steps.log == ["shipment-1: to do: nothing"]
    assert store.sessions_of("shipment-1") == ["ws-1"]


async def test_no_recorded_reason_keeps_the_work(store: WorkSessionStore) -> None:
    """API §3: leaving the `async with` block early cancels the workflow with
    `UserCancelled`; nobody recorded why, so the cleanup keeps the completed work (as
    for an invalid workflow state)."""
    steps = Steps("ws-1 checked: READY")
    with anyio.fail_after(TIMEOUT):
        async with scheduling(store, steps).start(SHIPMENT) as session:
            await steps.paused.wait()  # and leave the block while the workflow waits
    assert session.state is cf.SessionState.CANCELLED
    assert await outcome(session) == cf.UserCancelled(
        "the `async with` block was left before the session ended"
    )
    assert states(store) == [(CANCELLED, [COMPLETED, WONT_DO, WONT_DO])]
    assert store.effects_of("shipment-1") == {"schedule appointment": True}
    assert steps.log[-1] == "cancelled for invalid workflow state"


# -- the close --------------------------------------------------------------------------------


@pytest.mark.parametrize("why", [BUSINESS_PROCESS, INVALID_STATE])
async def test_cancelled_during_the_close(store: WorkSessionStore, why: Scenario) -> None:
    """S6.4: a cancellation that arrives while the session is being closed cannot cut
    the close short: the close scope is uninterruptible, so it records the request
    (`CancellationRequested`, not honoured; the parent's `ChildCancellationFailed`) and
    closes the session, which ends COMPLETED. The workflow itself is interruptible: it
    waits for the close, then ends CANCELLED, so the close's response is dropped (S4.1)
    and its `on_cancel` cleanup runs: it finds the session already COMPLETED, and undoes
    the work for a business process cancellation, or keeps it (S6.1, S6.2)."""
    session, steps, result, state = await run_and_cancel(store, "closing ws-1", why)
    assert state is cf.SessionState.CANCELLING
    assert result == cf.UserCancelled(why.value)
    assert session.state is cf.SessionState.CANCELLED
    assert states(store) == [(SESSION_COMPLETED, [COMPLETED] * 3)]
    assert store.effects_of("shipment-1") == dict.fromkeys(TASKS, not why.undoes_work)
    assert steps.log[11:15] == [
        "closing ws-1",
        "closed ws-1",
        "cleaned up ws-1: COMPLETED",
        f"cancelled for {why}",
    ]
    root, close, cleanup = "scheduling", "scheduling/close[0]", "scheduling/on_cancel[0]"
    assert kinds(session)[8:] == [
        ("SessionStarted", close),
        ("OperationStarted", close),
        ("CancellationRequested", root),
        ("CleanupStarted", root),
        ("ChildCancellationRequested", root),
        ("CancellationRequested", close),
        ("ChildCancellationFailed", root),
        ("OperationFinished", close),
        ("CleanupStarted", close),
        ("CleanupFinished", close),
        ("Terminated", close),
        ("SessionStarted", cleanup),
        ("OperationStarted", cleanup),
        ("OperationFinished", cleanup),
        ("CleanupStarted", cleanup),
        ("CleanupFinished", cleanup),
        ("Terminated", cleanup),
        ("CleanupFinished", root),
        ("Cancelled", root),
    ]
    requested = [e for e in session.events if isinstance(e, ev.CancellationRequested)]
    assert [(e.path, e.honoured) for e in requested] == [
        (("scheduling",), True),
        (("scheduling", "close[0]"), False),
    ]


async def test_a_close_that_hangs_times_out_and_is_cleaned_up(store: WorkSessionStore) -> None:
    """S6.5: the close hangs; its timeout cancels the close scope with `TimedOut`
    (uninterruptible or not), a `ScopeCancelled` disposal in the workflow, which can no
    longer reach terminate and is cancelled `Unreachable` (S1.7, S2.4). Its cleanup then
    cancels the session that was left PROCESSING: nothing is left READY, PROCESSING or
    AVAILABLE, and with no reason recorded the completed work is kept."""
    steps = Steps(hang_at="closing ws-1")
    with anyio.fail_after(TIMEOUT):
        async with scheduling(store, steps, close_timeout=0.05).start(SHIPMENT) as session:
            result = await outcome(session)
    assert isinstance(result, cf.Unreachable)
    assert result.scope == "scheduling"
    # the branch for "nothing to do" not taken, then the close that timed out
    not_taken, timed_out = result.disposals
    assert not_taken.cause == cf.Branching(not_taken.operation, "none")
    assert timed_out == cf.Disposal(
        "close", cf.ScopeCancelled(cf.Cancellation(cf.TimedOut("close", 0.05)))
    )
    assert states(store) == [(CANCELLED, [COMPLETED] * 3)]
    assert_nothing_left_open(store)
    assert store.effects_of("shipment-1") == dict.fromkeys(TASKS, True)
    assert steps.log[-3:] == [
        "closing ws-1",
        "cleaned up ws-1: CANCELLED",
        "cancelled for invalid workflow state",
    ]
    close = "scheduling/close[0]"
    assert [k for k in kinds(session) if k[1] == close] == [
        ("SessionStarted", close),
        ("OperationStarted", close),
        ("CleanupStarted", close),
        ("TaskCancelled", close),
        ("CleanupFinished", close),
        ("Cancelled", close),
    ]


async def test_a_close_that_hangs_after_a_cancellation(store: WorkSessionStore) -> None:
    """S6.4, S6.5: cancelled while the close hangs: the cancellation cannot stop the
    close, the timeout does; then the workflow's cleanup runs for the recorded reason."""
    steps = Steps(hang_at="closing ws-1")
    with anyio.fail_after(TIMEOUT):
        async with scheduling(store, steps, close_timeout=0.05).start(SHIPMENT) as session:
            await steps.paused.wait()
            session.cancel(BUSINESS_PROCESS.value)
            assert session.state is cf.SessionState.CANCELLING
            result = await outcome(session)
    assert result == cf.UserCancelled("business process")
    closed = [e for e in session.events if isinstance(e, ev.Cancelled)]
    assert [(e.path, e.cancellation.cause) for e in closed] == [
        (("scheduling", "close[0]"), cf.TimedOut("close", 0.05)),
        (("scheduling",), cf.UserCancelled("business process")),
    ]
    assert states(store) == [(CANCELLED, [COMPLETED] * 3)]
    assert store.effects_of("shipment-1") == dict.fromkeys(TASKS, False)


# -- every cancel point and every failure point ----------------------------------------------

# The CI profile (conftest.py) asks for more drawn requests here; each is explored at every point.
CI = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")
MORE_TASKS = (*TASKS, "print label", "book dock")
NEIGHBOUR = Scheduling("shipment-2", ("schedule appointment", "confirm carrier"))
CLOSE = ("scheduling", "close[0]")


def complete_earlier_run(store: WorkSessionStore, request: Scheduling, done: int) -> None:
    """What an earlier run cancelled for an invalid state left behind: its first `done`
    tasks COMPLETED, the session cleaned up."""
    session_id = store.create_work_session(request.workflow_id, request.task_names)
    for _ in range(done):
        task_id = store.assign_next_task(session_id, "ada", 0.0)
        assert task_id is not None
        store.complete_task(task_id)
        store.check_next_task(session_id)
    store.clean_up_work_session(session_id)


def start_neighbour(store: WorkSessionStore) -> None:
    """shipment-2's work in progress: its first task COMPLETED, the second in bob's hands."""
    session_id = store.create_work_session(NEIGHBOUR.workflow_id, NEIGHBOUR.task_names)
    for _ in NEIGHBOUR.task_names:
        task_id = store.assign_next_task(session_id, "bob", 0.0)
        assert task_id is not None
        if len(store.completed_task_names(NEIGHBOUR.workflow_id)) == 0:
            store.complete_task(task_id)
            store.check_next_task(session_id)


def open_work(store: WorkSessionStore, workflow_id: str) -> list[str]:
    """What `workflow_id` left hanging: sessions READY or PROCESSING, tasks AVAILABLE, and
    ACTIVE tasks (in a user's hands) in sessions that are not CANCELLED."""
    found = []
    for session_id in store.sessions_of(workflow_id):
        state = store.session_state(session_id)
        task_states = store.task_states(session_id)
        if state in (READY, PROCESSING):
            found.append(f"{session_id} is {state.value}")
        if AVAILABLE in task_states:
            found.append(f"{session_id} has AVAILABLE tasks")
        if ACTIVE in task_states and state is not CANCELLED:
            found.append(f"{session_id} is {state.value} with an ACTIVE task")
    return found


# --8<-- [start:exploration]
class Exploration:
    """shipment-1's scheduling workflow as `explore` runs it: each run gets a fresh store
    (with what an earlier run left, and a neighbour's work in progress) and a fresh
    workflow; `check` looks at the store that run left behind."""

    def __init__(
        self,
        request: Scheduling,
        *,
        done_before: int = 0,
        why: Scenario | None = None,
        user_finishes: bool = False,
        close_settings: cf.ScopeSettings | None = None,
    ) -> None:
        self.request = request
        self.done_before = done_before
        self.why = why
        self.user_finishes = user_finishes
        self.close_settings = close_settings
        self.store: WorkSessionStore | None = None
        # what whoever cancels says: `explore(..., reason=exploration.reason)`
        self.reason = None if why is None else why.value
        self.steps: list[str] = []  # the steps of the last run

    def workflow(self) -> cf.Workflow[Scheduling, Scheduled]:
        """A fresh store, and the workflow working with it: explore calls it before each run."""
        self.close()
        store = self.store = WorkSessionStore()
        if self.done_before:
            complete_earlier_run(store, self.request, self.done_before)
        start_neighbour(store)
        steps = self.steps = []

        async def record(step: str) -> None:
            steps.append(step)

        user = SimulatedUser(store, "ada")
        return scheduling_workflow(store, user, close_settings=self.close_settings, on_step=record)

    def close(self) -> None:
        if self.store is not None:
            self.store.close()

    async def check(self, outcome: cft.Outcome[Scheduled]) -> None:
        """What must hold after every run, wherever it was interrupted."""
        store = self.store
        assert store is not None
        workflow_id = self.request.workflow_id
        sessions = store.sessions_of(workflow_id)
        tasks = self.request.task_names
        todo = tasks[self.done_before :]
        # the neighbour's work is never touched
        (neighbour,) = store.sessions_of(NEIGHBOUR.workflow_id)
        assert store.task_states(neighbour) == [COMPLETED, ACTIVE]
        assert store.effects_of(NEIGHBOUR.workflow_id) == {"schedule appointment": True}
        # nothing is left waiting for a user, wherever the run was interrupted
        hanging = open_work(store, workflow_id)
        assert not hanging, f"left hanging: {', '.join(hanging)}"
        if outcome.responded:  # not interrupted, or too late to change anything
            if todo:
                assert outcome.response == Scheduled(sessions[-1], todo)
                assert store.session_state(sessions[-1]) is SESSION_COMPLETED
            else:
                assert outcome.response == Scheduled(None, ())
            assert store.effects_of(workflow_id) == dict.fromkeys(tasks, True)
            return
        assert outcome.point is not None and outcome.cancellation is not None
        if outcome.point.kind == "cancel":
            assert outcome.cancellation.cause == cf.UserCancelled(self.reason)
            # a close that has begun is never cut short: it is uninterruptible
            if any(isinstance(e, ev.SessionStarted) and e.path == CLOSE for e in outcome.events):
                state = store.session_state(sessions[-1])
                assert state is SESSION_COMPLETED, f"{sessions[-1]} was being closed: {state}"
        cancelled_for = "cancelled for "
        concluded = [s[len(cancelled_for) :] for s in self.steps if s.startswith(cancelled_for)]
        if not concluded:
            # The cleanup found no request: the run was cancelled right after it started,
            # before the request reached its buffer. The run did nothing.
            assert not any(isinstance(e, ev.OperationStarted) for e in outcome.events[:3])
            assert sessions == sessions[: 1 if self.done_before else 0]
            return
        # the cleanup saw why (`cf.Ending`): the reason of a cancel; anything else, such
        # as a failure, is an invalid state, which keeps the work
        reason = self.why if outcome.point.kind == "cancel" else None
        assert concluded == [reason or Scenario.INVALID_STATE], concluded
        await self.after_cancellation(store, sessions, Scenario(concluded[0]))

    # --8<-- [end:exploration]
    async def after_cancellation(
        self, store: WorkSessionStore, sessions: list[str], why: Scenario
    ) -> None:
        """Later: the user may finish a task still in their hands; stale work is
        un-assigned; then the effects are those `why` asked for, and after an
        invalid-state cancellation a second run does only the tasks left."""
        workflow_id = self.request.workflow_id
        tasks = self.request.task_names
        finished_late: list[str] = []
        if self.user_finishes:
            for session_id in sessions:
                for task in store.tasks(session_id):
                    if task.state is ACTIVE:
                        store.complete_task(task.id)
                        finished_late.append(task.name)
        store.unassign_stale_work(now=LATER, max_age=0.0)
        assert open_work(store, workflow_id) == []
        assert all(task.state is not ACTIVE for s in sessions for task in store.tasks(s))
        completed = store.completed_task_names(workflow_id)
        effects = store.effects_of(workflow_id)
        assert set(effects) == completed
        if why.undoes_work:
            assert {name for name, active in effects.items() if active} == set(finished_late)
            return
        assert all(effects.values())
        left = tuple(name for name in tasks if name not in completed)
        second = await scheduling_workflow(store, SimulatedUser(store, "ada")).run(self.request)
        if left:
            new_session = store.sessions_of(workflow_id)[-1]
            assert new_session not in sessions
            assert second == Scheduled(new_session, left)
            assert [task.name for task in store.tasks(new_session)] == list(left)
            assert store.session_state(new_session) is SESSION_COMPLETED
        else:
            assert second == Scheduled(None, ())
            assert store.sessions_of(workflow_id) == sessions
        assert store.effects_of(workflow_id) == dict.fromkeys(tasks, True)


@st.composite
def shipments(draw: st.DrawFn) -> tuple[Scheduling, int]:
    """shipment-1 with 1 to 5 tasks, and how many of them an earlier run completed."""
    task_count = draw(st.integers(1, len(MORE_TASKS)))
    done_before = draw(st.integers(0, task_count))
    return Scheduling("shipment-1", MORE_TASKS[:task_count]), done_before


@settings(max_examples=200 if CI else 20, deadline=None)
@given(
    shipment=shipments(),
    why=st.sampled_from([*Scenario, None]),
    user_finishes=st.booleans(),
)
async def test_nothing_is_left_hanging_at_any_point(
    shipment: tuple[Scheduling, int], why: Scenario | None, user_finishes: bool
) -> None:
    """S6.1-S6.5, API §3, API §11: shipment-1's workflow, maybe resuming an earlier run,
    beside a neighbour's work in progress, explored at every cancel point (cancelled for a
    recorded reason, or none) and every failure point. After every run:

    - no session of shipment-1 is READY or PROCESSING, no task AVAILABLE, and ACTIVE
      tasks (in a user's hands) are only in CANCELLED sessions; the user may finish such
      a task; after stale un-assignment no task is ACTIVE;
    - a close that had begun when the cancellation came completed the session;
    - a business process or purge cancellation left no effect in place but those of
      tasks finished after its cleanup ran;
    - an invalid-state cancellation (or one with no reason, or a failure) kept every
      completed task's effect, and a second run creates only the tasks left and
      completes them;
    - a run that was not interrupted responded with its session COMPLETED;
    - the neighbour's work is never touched.
    """
    request, done_before = shipment
    exploration = Exploration(
        request, done_before=done_before, why=why, user_finishes=user_finishes
    )
    try:
        with anyio.fail_after(TIMEOUT):
            report = await cft.explore(
                exploration.workflow,
                request,
                check=exploration.check,
                reason=exploration.reason,
            )
    finally:
        exploration.close()
    assert report.points == report.found > 10
    event(f"points: {report.points // 10 * 10}+")


async def test_every_point_of_the_example_is_explored() -> None:
    """API §11: the example as it is passes at every one of its points: for three tasks,
    17 cancel points (one per event of the plain run) and 4 failure points (plan,
    open_session, work_through and close_session)."""
    exploration = Exploration(SHIPMENT, why=BUSINESS_PROCESS)
    try:
        with anyio.fail_after(TIMEOUT):
            report = await cft.explore(
                exploration.workflow, SHIPMENT, check=exploration.check, reason=exploration.reason
            )
    finally:
        exploration.close()
    assert (report.cancel_points, report.failure_points, report.runs) == (17, 4, 22)


# --8<-- [start:broken]
async def test_explore_finds_where_an_interruptible_close_is_cut_short() -> None:
    """API §11, S6.4: the same workflow with its close in an ordinary scope (a timeout,
    but not uninterruptible). explore finds the first point where that goes wrong and
    names it: cancelled right after the close's session started, the close is cut short
    and the work session, all of whose tasks were done, ends CANCELLED, not COMPLETED.
    (The cleanup still leaves nothing hanging.)"""
    exploration = Exploration(SHIPMENT, close_settings=cf.ScopeSettings(timeout=5.0))
    try:
        with anyio.fail_after(TIMEOUT), pytest.raises(cft.ExplorationFailed) as caught:
            await cft.explore(exploration.workflow, SHIPMENT, check=exploration.check)
    finally:
        exploration.close()
    failed = caught.value
    assert str(failed.point) == (
        "cancelled right after the session started, in session scheduling/close[0]"
    )
    assert str(failed.__cause__).startswith("ws-2 was being closed: WorkSessionState.CANCELLED")
    # --8<-- [end:broken]
    lines = str(failed).splitlines()
    assert lines[0] == (
        "'scheduling' failed its check at cancel point 9 of 17: cancelled right after the "
        f"session started, in session scheduling/close[0] ({failed.outcome.backend})"
    )
    assert "  scheduling/close[0]: SessionStarted: scope 'close'    <-- cancelled here" in lines
    assert failed.events[-1] == ev.Cancelled(
        failed.events[-1].time, ("scheduling",), cf.Cancellation(cf.UserCancelled(None))
    )
