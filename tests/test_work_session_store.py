"""examples/work_sessions/store.py: work sessions for human users on sqlite: assignment in
order and one task at a time, completion and the system's check for the next task,
closing, clean-up after a cancelled workflow (in each situation, idempotent), stale
un-assignment, effects and their undo; plus a property over random sequences of
operations."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from examples.work_sessions.store import (
    CleanUpResult,
    Task,
    TaskState,
    WorkSessionState,
    WorkSessionStore,
)

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

SHIPMENT = ["schedule appointment", "confirm pickup", "print label"]


@pytest.fixture
def store() -> Iterator[WorkSessionStore]:
    with WorkSessionStore() as work_sessions:
        yield work_sessions


def _assign(store: WorkSessionStore, session_id: str, user: str = "ada", now: float = 0.0) -> str:
    task_id = store.assign_next_task(session_id, user, now)
    assert task_id is not None
    return task_id


def _do_next(store: WorkSessionStore, session_id: str) -> str:
    """A user completes the next task and the system checks for the one after it."""
    task_id = _assign(store, session_id)
    store.complete_task(task_id)
    store.check_next_task(session_id)
    return task_id


def _mark_wont_do(store: WorkSessionStore, session_id: str) -> None:
    """No operation of the store marks a whole session WONT_DO (the system decides that
    outside of it): put one in that state directly."""
    with store._db:
        store._db.execute("UPDATE sessions SET state = 'WONT_DO' WHERE id = ?", (session_id,))


# -- creation ---------------------------------------------------------------------------------


def test_create_work_session(store: WorkSessionStore) -> None:
    """A new session is READY, its tasks AVAILABLE and unassigned, in the given order; ids
    are unique and sessions are listed in creation order."""
    first = store.create_work_session("shipment-1", SHIPMENT)
    second = store.create_work_session("shipment-2", ["print label"])
    third = store.create_work_session("shipment-1", ["confirm pickup"])
    assert (first, second, third) == ("ws-1", "ws-2", "ws-3")
    assert store.session_state(first) is READY
    assert store.tasks(first) == [
        Task("wt-1", "ws-1", "schedule appointment", 0, AVAILABLE, None, None),
        Task("wt-2", "ws-1", "confirm pickup", 1, AVAILABLE, None, None),
        Task("wt-3", "ws-1", "print label", 2, AVAILABLE, None, None),
    ]
    assert store.task_states(second) == [AVAILABLE]
    assert store.sessions_of("shipment-1") == ["ws-1", "ws-3"]
    assert store.sessions_of("shipment-9") == []
    assert store.all_sessions() == [("ws-1", READY), ("ws-2", READY), ("ws-3", READY)]
    assert [task.id for task in store.all_tasks()] == ["wt-1", "wt-2", "wt-3", "wt-4", "wt-5"]


def test_create_work_session_needs_a_task(store: WorkSessionStore) -> None:
    """A session without tasks is refused, and nothing is stored."""
    with pytest.raises(ValueError, match="needs at least one task"):
        store.create_work_session("shipment-1", [])
    with pytest.raises(TypeError, match="not one string"):
        store.create_work_session("shipment-1", "print label")
    assert store.all_sessions() == []
    assert store.all_tasks() == []


# -- assignment -------------------------------------------------------------------------------


def test_tasks_are_assigned_in_order(store: WorkSessionStore) -> None:
    """The next task is the AVAILABLE one with the lowest position; it becomes ACTIVE with
    its assignee and the time it was assigned, while the session stays READY."""
    session = store.create_work_session("shipment-1", SHIPMENT)
    assert store.assign_next_task(session, "ada", 10.0) == "wt-1"
    assert store.session_state(session) is READY
    assert store.tasks(session)[0] == Task(
        "wt-1", session, "schedule appointment", 0, ACTIVE, "ada", 10.0
    )
    store.complete_task("wt-1")
    store.check_next_task(session)
    assert store.assign_next_task(session, "grace", 20.0) == "wt-2"
    assert store.tasks(session)[1] == Task(
        "wt-2", session, "confirm pickup", 1, ACTIVE, "grace", 20.0
    )
    assert store.task_states(session) == [COMPLETED, ACTIVE, AVAILABLE]


def test_one_active_task_at_a_time(store: WorkSessionStore) -> None:
    """While a task of the session is ACTIVE, no other one is assigned."""
    session = store.create_work_session("shipment-1", SHIPMENT)
    assert store.assign_next_task(session, "ada", 1.0) == "wt-1"
    assert store.assign_next_task(session, "grace", 2.0) is None
    assert store.assign_next_task(session, "ada", 3.0) is None
    assert store.tasks(session)[0].assignee == "ada"
    assert store.tasks(session)[0].assigned_at == 1.0
    assert store.task_states(session) == [ACTIVE, AVAILABLE, AVAILABLE]


def test_assignment_needs_a_ready_session(store: WorkSessionStore) -> None:
    """PROCESSING, COMPLETED, CANCELLED and WONT_DO sessions hand out no task."""
    processing = store.create_work_session("shipment-1", SHIPMENT)
    store.complete_task(_assign(store, processing))
    assert store.session_state(processing) is PROCESSING
    assert store.assign_next_task(processing, "ada", 1.0) is None

    completed = store.create_work_session("shipment-1", ["print label"])
    _do_next(store, completed)
    store.close_work_session(completed)
    assert store.assign_next_task(completed, "ada", 1.0) is None

    cancelled = store.create_work_session("shipment-1", SHIPMENT)
    store.clean_up_work_session(cancelled)
    assert store.assign_next_task(cancelled, "ada", 1.0) is None

    wont_do = store.create_work_session("shipment-1", SHIPMENT)
    _mark_wont_do(store, wont_do)
    assert store.assign_next_task(wont_do, "ada", 1.0) is None
    assert store.task_states(wont_do) == [AVAILABLE, AVAILABLE, AVAILABLE]


# -- completion and the check for the next task -----------------------------------------------


def test_complete_then_check_returns_to_ready(store: WorkSessionStore) -> None:
    """Completing a task keeps its assignee and moves the READY session to PROCESSING; the
    system's check finds AVAILABLE tasks and makes it READY again."""
    session = store.create_work_session("shipment-1", SHIPMENT)
    task = _assign(store, session, "ada", 5.0)
    store.complete_task(task)
    assert store.session_state(session) is PROCESSING
    assert store.tasks(session)[0] == Task(
        task, session, "schedule appointment", 0, COMPLETED, "ada", 5.0
    )
    store.check_next_task(session)
    assert store.session_state(session) is READY
    assert store.task_states(session) == [COMPLETED, AVAILABLE, AVAILABLE]


def test_check_stays_processing_when_no_task_is_left(store: WorkSessionStore) -> None:
    """With every task done, the session waits in PROCESSING for its workflow to close it."""
    session = store.create_work_session("shipment-1", ["schedule appointment", "print label"])
    _do_next(store, session)
    assert store.session_state(session) is READY
    _do_next(store, session)
    assert store.session_state(session) is PROCESSING
    store.check_next_task(session)
    assert store.session_state(session) is PROCESSING
    assert store.task_states(session) == [COMPLETED, COMPLETED]


def test_check_leaves_other_states_alone(store: WorkSessionStore) -> None:
    """The check only moves PROCESSING sessions."""
    ready = store.create_work_session("shipment-1", SHIPMENT)
    store.check_next_task(ready)
    assert store.session_state(ready) is READY

    cancelled = store.create_work_session("shipment-1", SHIPMENT)
    store.complete_task(_assign(store, cancelled))
    store.clean_up_work_session(cancelled)
    store.check_next_task(cancelled)
    assert store.session_state(cancelled) is CANCELLED

    completed = store.create_work_session("shipment-1", ["print label"])
    _do_next(store, completed)
    store.close_work_session(completed)
    store.check_next_task(completed)
    assert store.session_state(completed) is WorkSessionState.COMPLETED


@pytest.mark.parametrize("done", [False, True], ids=["available", "completed"])
def test_complete_needs_an_active_task(store: WorkSessionStore, done: bool) -> None:
    """Completing a task that is not ACTIVE names the task and its state, and changes
    nothing."""
    session = store.create_work_session("shipment-1", SHIPMENT)
    if done:
        store.complete_task(_assign(store, session))
    state = "COMPLETED" if done else "AVAILABLE"
    with pytest.raises(ValueError, match=f"work task 'wt-1' is {state}: only an ACTIVE task"):
        store.complete_task("wt-1")
    assert store.task_states(session)[0] is (COMPLETED if done else AVAILABLE)
    assert store.session_state(session) is (PROCESSING if done else READY)


def test_complete_active_task_of_cancelled_session(store: WorkSessionStore) -> None:
    """A user finishing in-progress work after the clean-up completes the task and records
    its effect; the session stays CANCELLED."""
    session = store.create_work_session("shipment-1", SHIPMENT)
    task = _assign(store, session, "ada", 3.0)
    store.clean_up_work_session(session)
    store.complete_task(task)
    assert store.session_state(session) is CANCELLED
    assert store.tasks(session)[0] == Task(
        task, session, "schedule appointment", 0, COMPLETED, "ada", 3.0
    )
    assert store.task_states(session) == [COMPLETED, WONT_DO, WONT_DO]
    assert store.effects_of("shipment-1") == {"schedule appointment": True}
    assert store.completed_task_names("shipment-1") == {"schedule appointment"}


# -- closing ----------------------------------------------------------------------------------


def test_close_work_session(store: WorkSessionStore) -> None:
    """A session whose tasks are all done is closed to COMPLETED; closing it again changes
    nothing."""
    session = store.create_work_session("shipment-1", ["schedule appointment", "print label"])
    _do_next(store, session)
    _do_next(store, session)
    store.close_work_session(session)
    assert store.session_state(session) is WorkSessionState.COMPLETED
    store.close_work_session(session)
    assert store.session_state(session) is WorkSessionState.COMPLETED
    assert store.task_states(session) == [COMPLETED, COMPLETED]


def test_close_refuses_open_tasks(store: WorkSessionStore) -> None:
    """A task still AVAILABLE or ACTIVE keeps the session open: ValueError, nothing
    changes."""
    session = store.create_work_session("shipment-1", ["schedule appointment", "print label"])
    with pytest.raises(
        ValueError, match=r"'ws-1' cannot be closed: tasks still open: wt-1 \(AVAILABLE\), wt-2"
    ):
        store.close_work_session(session)
    assert store.session_state(session) is READY

    _do_next(store, session)
    _assign(store, session)
    with pytest.raises(ValueError, match=r"tasks still open: wt-2 \(ACTIVE\)$"):
        store.close_work_session(session)
    assert store.session_state(session) is READY
    assert store.task_states(session) == [COMPLETED, ACTIVE]


def test_close_leaves_cancelled_and_wont_do_sessions_alone(store: WorkSessionStore) -> None:
    """Closing a session that was cleaned up (even with a task still ACTIVE) or marked
    WONT_DO neither raises nor changes it."""
    cancelled = store.create_work_session("shipment-1", SHIPMENT)
    _assign(store, cancelled)
    store.clean_up_work_session(cancelled)
    store.close_work_session(cancelled)
    assert store.session_state(cancelled) is CANCELLED
    assert store.task_states(cancelled) == [ACTIVE, WONT_DO, WONT_DO]

    wont_do = store.create_work_session("shipment-1", SHIPMENT)
    _mark_wont_do(store, wont_do)
    store.close_work_session(wont_do)
    assert store.session_state(wont_do) is WorkSessionState.WONT_DO


# -- clean-up ---------------------------------------------------------------------------------


def test_clean_up_session_not_yet_assigned(store: WorkSessionStore) -> None:
    """Created but never assigned: the session is CANCELLED and every task WONT_DO."""
    session = store.create_work_session("shipment-1", SHIPMENT)
    assert store.clean_up_work_session(session) == CleanUpResult(True)
    assert store.session_state(session) is CANCELLED
    assert store.tasks(session) == [
        Task("wt-1", session, "schedule appointment", 0, WONT_DO, None, None),
        Task("wt-2", session, "confirm pickup", 1, WONT_DO, None, None),
        Task("wt-3", session, "print label", 2, WONT_DO, None, None),
    ]


def test_clean_up_session_in_progress(store: WorkSessionStore) -> None:
    """Assigned and in progress: the session is CANCELLED, the ACTIVE task stays with its
    user, the COMPLETED one stays COMPLETED and the AVAILABLE one becomes WONT_DO."""
    session = store.create_work_session("shipment-1", SHIPMENT)
    _do_next(store, session)
    active = _assign(store, session, "grace", 7.0)
    assert store.clean_up_work_session(session) == CleanUpResult(True)
    assert store.session_state(session) is CANCELLED
    assert store.tasks(session) == [
        Task("wt-1", session, "schedule appointment", 0, COMPLETED, "ada", 0.0),
        Task(active, session, "confirm pickup", 1, ACTIVE, "grace", 7.0),
        Task("wt-3", session, "print label", 2, WONT_DO, None, None),
    ]


def test_clean_up_processing_session(store: WorkSessionStore) -> None:
    """While the system checks for the next task (PROCESSING), the clean-up cancels the
    session and retires the tasks nobody started; the check then changes nothing."""
    session = store.create_work_session("shipment-1", SHIPMENT)
    store.complete_task(_assign(store, session))
    assert store.session_state(session) is PROCESSING
    assert store.clean_up_work_session(session) == CleanUpResult(True)
    assert store.session_state(session) is CANCELLED
    assert store.task_states(session) == [COMPLETED, WONT_DO, WONT_DO]
    store.check_next_task(session)
    assert store.session_state(session) is CANCELLED


def test_clean_up_completed_session_changes_nothing(store: WorkSessionStore) -> None:
    """A session its workflow already closed stays COMPLETED, with its tasks."""
    session = store.create_work_session("shipment-1", ["schedule appointment", "print label"])
    _do_next(store, session)
    _do_next(store, session)
    store.close_work_session(session)
    assert store.clean_up_work_session(session) == CleanUpResult(True)
    assert store.session_state(session) is WorkSessionState.COMPLETED
    assert store.task_states(session) == [COMPLETED, COMPLETED]


def test_clean_up_wont_do_session_changes_nothing(store: WorkSessionStore) -> None:
    """A WONT_DO session stays as it is."""
    session = store.create_work_session("shipment-1", SHIPMENT)
    _mark_wont_do(store, session)
    assert store.clean_up_work_session(session) == CleanUpResult(True)
    assert store.session_state(session) is WorkSessionState.WONT_DO
    assert store.task_states(session) == [AVAILABLE, AVAILABLE, AVAILABLE]


@pytest.mark.parametrize("started", [False, True], ids=["not-assigned", "in-progress"])
def test_clean_up_twice(store: WorkSessionStore, started: bool) -> None:
    """The clean-up may run twice: the second run succeeds and changes nothing."""
    session = store.create_work_session("shipment-1", SHIPMENT)
    if started:
        _do_next(store, session)
        _assign(store, session)
    assert store.clean_up_work_session(session) == CleanUpResult(True)
    after_first = store.tasks(session)
    assert store.clean_up_work_session(session) == CleanUpResult(True)
    assert store.session_state(session) is CANCELLED
    assert store.tasks(session) == after_first
    expected = [COMPLETED, ACTIVE, WONT_DO] if started else [WONT_DO, WONT_DO, WONT_DO]
    assert [task.state for task in after_first] == expected


def test_clean_up_unknown_session_reports(store: WorkSessionStore) -> None:
    """An unknown session is reported in the result, not raised."""
    assert store.clean_up_work_session("x") == CleanUpResult(False, "no work session 'x'")


# -- unknown ids ------------------------------------------------------------------------------

_BY_SESSION: dict[str, Callable[[WorkSessionStore, str], Any]] = {
    "assign_next_task": lambda store, id_: store.assign_next_task(id_, "ada", 0.0),
    "check_next_task": WorkSessionStore.check_next_task,
    "close_work_session": WorkSessionStore.close_work_session,
    "session_state": WorkSessionStore.session_state,
    "task_states": WorkSessionStore.task_states,
    "tasks": WorkSessionStore.tasks,
}


@pytest.mark.parametrize("operation", sorted(_BY_SESSION))
def test_unknown_session_raises_key_error(store: WorkSessionStore, operation: str) -> None:
    """Every other method taking a session id raises KeyError naming it."""
    store.create_work_session("shipment-1", SHIPMENT)
    with pytest.raises(KeyError, match="no work session 'ws-9'"):
        _BY_SESSION[operation](store, "ws-9")


def test_unknown_task_raises_key_error(store: WorkSessionStore) -> None:
    """Completing an unknown task raises KeyError naming it."""
    with pytest.raises(KeyError, match="no work task 'wt-9'"):
        store.complete_task("wt-9")


# -- stale un-assignment ----------------------------------------------------------------------


def test_unassign_stale_work_makes_task_available_again(store: WorkSessionStore) -> None:
    """A task assigned for longer than `max_age` goes back to AVAILABLE, without assignee,
    and another user can pick it up."""
    session = store.create_work_session("shipment-1", SHIPMENT)
    task = _assign(store, session, "ada", 10.0)
    assert store.unassign_stale_work(now=100.0, max_age=60.0) == [task]
    assert store.session_state(session) is READY
    assert store.tasks(session)[0] == Task(
        task, session, "schedule appointment", 0, AVAILABLE, None, None
    )
    assert store.assign_next_task(session, "grace", 101.0) == task
    assert store.tasks(session)[0].assignee == "grace"


def test_unassign_stale_work_retires_task_of_cancelled_session(store: WorkSessionStore) -> None:
    """In a CANCELLED session the stale task becomes WONT_DO and the session stays
    CANCELLED; the user can no longer complete it."""
    session = store.create_work_session("shipment-1", SHIPMENT)
    _do_next(store, session)
    task = _assign(store, session, "ada", 10.0)
    store.clean_up_work_session(session)
    assert store.unassign_stale_work(now=100.0, max_age=60.0) == [task]
    assert store.session_state(session) is CANCELLED
    assert store.tasks(session)[1] == Task(task, session, "confirm pickup", 1, WONT_DO, None, None)
    assert store.task_states(session) == [COMPLETED, WONT_DO, WONT_DO]
    with pytest.raises(ValueError, match="is WONT_DO"):
        store.complete_task(task)


def test_unassign_stale_work_leaves_fresh_tasks(store: WorkSessionStore) -> None:
    """Only tasks assigned for strictly longer than `max_age` are touched; COMPLETED ones
    never are; the ids come back in creation order."""
    done = store.create_work_session("shipment-1", ["print label"])
    store.complete_task(_assign(store, done, "ada", 0.0))
    old = store.create_work_session("shipment-1", SHIPMENT)
    edge = store.create_work_session("shipment-2", SHIPMENT)
    fresh = store.create_work_session("shipment-3", SHIPMENT)
    old_task = _assign(store, old, "ada", 30.0)
    edge_task = _assign(store, edge, "grace", 40.0)
    fresh_task = _assign(store, fresh, "alan", 90.0)
    assert store.unassign_stale_work(now=100.0, max_age=60.0) == [old_task]
    assert [store.tasks(s)[0].state for s in (done, old, edge, fresh)] == [
        COMPLETED,
        AVAILABLE,
        ACTIVE,
        ACTIVE,
    ]
    assert store.tasks(edge)[0].assignee == "grace"
    assert store.unassign_stale_work(now=100.0, max_age=60.0) == []
    assert store.unassign_stale_work(now=200.0, max_age=60.0) == [edge_task, fresh_task]
    assert store.tasks(done)[0].assignee == "ada"


# -- effects and what a re-started workflow can skip ------------------------------------------


def test_effects_and_undo(store: WorkSessionStore) -> None:
    """Completing a task records its effect as active; undoing it makes it inactive (again
    and again); an effect never recorded cannot be undone."""
    session = store.create_work_session("shipment-1", SHIPMENT)
    assert store.effects_of("shipment-1") == {}
    _do_next(store, session)
    _do_next(store, session)
    assert store.effects_of("shipment-1") == {"schedule appointment": True, "confirm pickup": True}
    store.undo_effect("shipment-1", "schedule appointment")
    assert store.effects_of("shipment-1") == {
        "schedule appointment": False,
        "confirm pickup": True,
    }
    store.undo_effect("shipment-1", "schedule appointment")
    assert store.effects_of("shipment-1")["schedule appointment"] is False
    with pytest.raises(KeyError, match="no effect of work task 'print label'"):
        store.undo_effect("shipment-1", "print label")
    with pytest.raises(KeyError, match="in workflow 'shipment-2'"):
        store.undo_effect("shipment-2", "schedule appointment")
    assert store.effects_of("shipment-2") == {}

    # completing the same work again (in a later session) makes the effect active again
    again = store.create_work_session("shipment-1", ["schedule appointment"])
    _do_next(store, again)
    assert store.effects_of("shipment-1") == {"schedule appointment": True, "confirm pickup": True}


def test_completed_task_names(store: WorkSessionStore) -> None:
    """The COMPLETED tasks over all sessions of a workflow, and only those."""
    first = store.create_work_session("shipment-1", SHIPMENT)
    _do_next(store, first)
    _assign(store, first)  # "confirm pickup" is only ACTIVE
    store.clean_up_work_session(first)  # "print label" becomes WONT_DO
    second = store.create_work_session("shipment-1", ["send invoice", "archive"])
    _do_next(store, second)
    other = store.create_work_session("shipment-2", ["print label"])
    _do_next(store, other)
    assert store.completed_task_names("shipment-1") == {"schedule appointment", "send invoice"}
    assert store.completed_task_names("shipment-2") == {"print label"}
    assert store.completed_task_names("shipment-3") == set()


# -- the database -----------------------------------------------------------------------------


def test_store_in_a_file_persists_and_closes(tmp_path: Path) -> None:
    """A file-backed store keeps its sessions across connections and keeps counting ids;
    leaving the `with` block closes the connection."""
    path = str(tmp_path / "work.sqlite")
    with WorkSessionStore(path) as store:
        session = store.create_work_session("shipment-1", SHIPMENT)
        _do_next(store, session)
    with pytest.raises(sqlite3.ProgrammingError):
        store.all_sessions()
    with WorkSessionStore(path) as reopened:
        assert reopened.all_sessions() == [(session, READY)]
        assert reopened.task_states(session) == [COMPLETED, AVAILABLE, AVAILABLE]
        assert reopened.create_work_session("shipment-2", ["print label"]) == "ws-2"
        assert [task.id for task in reopened.all_tasks()][-1] == "wt-4"


def test_a_failing_operation_changes_nothing(store: WorkSessionStore) -> None:
    """An operation that raises leaves the store as it was (its transaction is rolled
    back)."""
    session = store.create_work_session("shipment-1", SHIPMENT)
    before = store.all_tasks()
    with pytest.raises(sqlite3.IntegrityError):
        # a task name may not be NULL: the session row written first is rolled back too
        store.create_work_session("shipment-1", ["ok", None])  # type: ignore[list-item]
    assert store.all_tasks() == before
    assert store.all_sessions() == [(session, READY)]


# -- property ---------------------------------------------------------------------------------

_SESSION = st.integers(min_value=0, max_value=2)
_TIME = st.floats(min_value=0.0, max_value=1000.0)
_OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("assign"), _SESSION, st.sampled_from(["ada", "grace"]), _TIME),
        st.tuples(st.just("complete"), st.integers(min_value=0, max_value=8)),
        st.tuples(st.just("check"), _SESSION),
        st.tuples(st.just("close"), _SESSION),
        st.tuples(st.just("clean_up"), _SESSION),
        st.tuples(st.just("unassign_stale"), _TIME, st.floats(min_value=0.0, max_value=500.0)),
    ),
    max_size=40,
)


def _check_invariants(store: WorkSessionStore, cleaned_up: set[str]) -> None:
    for task in store.all_tasks():
        if task.state is ACTIVE:
            assert task.assignee is not None and task.assigned_at is not None, task
        if task.state in (AVAILABLE, WONT_DO):
            assert task.assignee is None and task.assigned_at is None, task
    for session, state in store.all_sessions():
        states = store.task_states(session)
        assert states.count(ACTIVE) <= 1, (session, states)
        if state is CANCELLED or session in cleaned_up:
            assert state not in (READY, PROCESSING), (session, state)
            assert AVAILABLE not in states, (session, states)


@given(
    task_counts=st.lists(st.integers(min_value=1, max_value=3), min_size=1, max_size=3),
    operations=_OPERATIONS,
)
def test_random_operations_keep_sessions_consistent(
    task_counts: list[int], operations: list[tuple[Any, ...]]
) -> None:
    """After every step of a random sequence of operations: a cleaned-up session is never
    READY or PROCESSING and has no AVAILABLE task, an ACTIVE task has an assignee, an
    AVAILABLE or WONT_DO task has none, a session has at most one ACTIVE task. After
    cleaning up every session and un-assigning all work, nothing is READY, PROCESSING,
    AVAILABLE or ACTIVE."""
    with WorkSessionStore() as store:
        sessions = [
            store.create_work_session(f"shipment-{index % 2}", SHIPMENT[:count])
            for index, count in enumerate(task_counts)
        ]
        cleaned_up: set[str] = set()
        for operation, *args in operations:
            if operation == "assign":
                index, user, now = args
                store.assign_next_task(sessions[index % len(sessions)], user, now)
            elif operation == "complete":
                tasks = store.all_tasks()
                task = tasks[args[0] % len(tasks)]
                if task.state is ACTIVE:
                    store.complete_task(task.id)
                else:
                    with pytest.raises(ValueError, match="only an ACTIVE task"):
                        store.complete_task(task.id)
            elif operation == "check":
                store.check_next_task(sessions[args[0] % len(sessions)])
            elif operation == "close":
                session = sessions[args[0] % len(sessions)]
                state = store.session_state(session)
                open_task = any(s in (AVAILABLE, ACTIVE) for s in store.task_states(session))
                if state in (READY, PROCESSING) and open_task:
                    with pytest.raises(ValueError, match="cannot be closed"):
                        store.close_work_session(session)
                else:
                    store.close_work_session(session)
                    if state in (READY, PROCESSING):
                        assert store.session_state(session) is WorkSessionState.COMPLETED
            elif operation == "clean_up":
                session = sessions[args[0] % len(sessions)]
                assert store.clean_up_work_session(session) == CleanUpResult(True)
                cleaned_up.add(session)
            else:
                now, max_age = args
                store.unassign_stale_work(now, max_age)
            _check_invariants(store, cleaned_up)

        for session in sessions:
            assert store.clean_up_work_session(session) == CleanUpResult(True)
        store.unassign_stale_work(now=1e12, max_age=0.0)
        _check_invariants(store, set(sessions))
        assert all(state not in (READY, PROCESSING) for _, state in store.all_sessions())
        assert all(task.state not in (AVAILABLE, ACTIVE) for task in store.all_tasks())
