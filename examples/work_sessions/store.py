"""A store of work sessions for human users, kept in sqlite.

A *work task* is one piece of work shown to a user. A *work session* groups one or more
tasks that one user completes together, in order. Each session serves a workflow: the
business process it belongs to (e.g. a shipment), named by its `workflow_id`.

    task:     AVAILABLE --assign_next_task--> ACTIVE --complete_task--> COMPLETED
              ACTIVE --unassign_stale_work--> AVAILABLE (WONT_DO if its session is CANCELLED)
              AVAILABLE --clean_up_work_session--> WONT_DO
    session:  READY --complete_task--> PROCESSING --check_next_task--> READY (tasks left)
              READY, PROCESSING --close_work_session--> COMPLETED (every task done)
              READY, PROCESSING --clean_up_work_session--> CANCELLED

Completing a task also records its *effect* in the outside world (e.g. an appointment
that was scheduled); `undo_effect` makes that effect inactive again.

Every public method runs in one transaction. Timestamps are passed in by the caller: the
store never reads the clock.
"""

from __future__ import annotations

import enum
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self


class TaskState(enum.Enum):
    """The state of one work task."""

    AVAILABLE = "AVAILABLE"
    """Can be picked up by a user."""
    ACTIVE = "ACTIVE"
    """Assigned to a user."""
    COMPLETED = "COMPLETED"
    """The user completed it."""
    WONT_DO = "WONT_DO"
    """The system decided it is no longer needed."""


class WorkSessionState(enum.Enum):
    """The state of one work session."""

    READY = "READY"
    """Ready to be assigned to a user."""
    PROCESSING = "PROCESSING"
    """The system is checking for the next task of the session."""
    COMPLETED = "COMPLETED"
    """All tasks completed; closed by its workflow."""
    CANCELLED = "CANCELLED"
    """Cleaned up after its workflow was cancelled."""
    WONT_DO = "WONT_DO"
    """The system determined the work is no longer needed."""


# Sessions that take no more work: their ACTIVE tasks are retired, not handed out again.
_RETIRED = (WorkSessionState.CANCELLED, WorkSessionState.WONT_DO)


@dataclass(frozen=True)
class Task:
    """One work task, as stored."""

    id: str
    session_id: str
    name: str
    position: int
    """Its place in the session, from 0: tasks are assigned in this order."""
    state: TaskState
    assignee: str | None
    """The user it is (or was, once COMPLETED) assigned to."""
    assigned_at: float | None
    """When it was assigned, as passed to `assign_next_task`."""


@dataclass(frozen=True)
class CleanUpResult:
    """What `clean_up_work_session` reports (it does not raise)."""

    success: bool
    error_message: str | None = None


_SCHEMA = """
BEGIN;
CREATE TABLE IF NOT EXISTS counters (
    prefix TEXT PRIMARY KEY,
    last INTEGER NOT NULL
);
INSERT OR IGNORE INTO counters (prefix, last) VALUES ('ws', 0), ('wt', 0);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    workflow_id TEXT NOT NULL,
    state TEXT NOT NULL
        CHECK (state IN ('READY', 'PROCESSING', 'COMPLETED', 'CANCELLED', 'WONT_DO'))
);
CREATE TABLE IF NOT EXISTS tasks (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id),
    name TEXT NOT NULL,
    position INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('AVAILABLE', 'ACTIVE', 'COMPLETED', 'WONT_DO')),
    assignee TEXT,
    assigned_at REAL,
    UNIQUE (session_id, position),
    -- an ACTIVE task has a user; AVAILABLE and WONT_DO tasks have none
    CHECK (state != 'ACTIVE' OR (assignee IS NOT NULL AND assigned_at IS NOT NULL)),
    CHECK (state NOT IN ('AVAILABLE', 'WONT_DO') OR (assignee IS NULL AND assigned_at IS NULL))
);
CREATE TABLE IF NOT EXISTS effects (
    workflow_id TEXT NOT NULL,
    task_name TEXT NOT NULL,
    active INTEGER NOT NULL CHECK (active IN (0, 1)),
    PRIMARY KEY (workflow_id, task_name)
);
COMMIT;
"""

_TASK_COLUMNS = "id, session_id, name, position, state, assignee, assigned_at"


def _task_from_row(row: tuple[Any, ...]) -> Task:
    id_, session_id, name, position, state, assignee, assigned_at = row
    return Task(id_, session_id, name, position, TaskState(state), assignee, assigned_at)


class WorkSessionStore:
    """Work sessions, their tasks, the effects of completed tasks and the reasons given
    for cancelling workflows, in one sqlite database (`":memory:"` by default). Sessions,
    tasks and effects are never deleted, so their row order is creation order."""

    def __init__(self, path: str = ":memory:") -> None:
        # Autocommit mode: `_transaction` opens each transaction itself, before the first read.
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA foreign_keys = ON")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- operations ------------------------------------------------------------------------

    def create_work_session(self, workflow_id: str, task_names: Sequence[str]) -> str:
        """Create a READY session of `workflow_id` whose tasks, AVAILABLE, are `task_names`
        in this order; return the session's id."""
        if isinstance(task_names, str):
            raise TypeError("task_names must be a sequence of names, not one string")
        if not task_names:
            raise ValueError(f"a work session needs at least one task (workflow {workflow_id!r})")
        with self._transaction() as db:
            session_id = self._next_id(db, "ws")
            db.execute(
                "INSERT INTO sessions (id, workflow_id, state) VALUES (?, ?, ?)",
                (session_id, workflow_id, WorkSessionState.READY.value),
            )
            for position, name in enumerate(task_names):
                db.execute(
                    "INSERT INTO tasks (id, session_id, name, position, state)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (
                        self._next_id(db, "wt"),
                        session_id,
                        name,
                        position,
                        TaskState.AVAILABLE.value,
                    ),
                )
            return session_id

    def assign_next_task(self, session_id: str, user: str, now: float) -> str | None:
        """Assign the next AVAILABLE task (lowest position) of a READY session to `user` at
        time `now`; return its id. None if the session is not READY, already has an ACTIVE
        task, or has no AVAILABLE task."""
        with self._transaction() as db:
            if self._session_state(db, session_id) is not WorkSessionState.READY:
                return None
            tasks = self._tasks(db, session_id)
            if any(task.state is TaskState.ACTIVE for task in tasks):
                return None  # one task at a time
            task = next((task for task in tasks if task.state is TaskState.AVAILABLE), None)
            if task is None:
                return None
            db.execute(
                "UPDATE tasks SET state = ?, assignee = ?, assigned_at = ? WHERE id = ?",
                (TaskState.ACTIVE.value, user, now, task.id),
            )
            return task.id

    def complete_task(self, task_id: str) -> None:
        """The user completes an ACTIVE task: it becomes COMPLETED (keeping its assignee) and
        its effect is recorded as active. A READY session goes to PROCESSING; a CANCELLED one
        stays CANCELLED. Raises ValueError if the task is not ACTIVE."""
        with self._transaction() as db:
            task = self._task(db, task_id)
            if task.state is not TaskState.ACTIVE:
                raise ValueError(
                    f"work task {task_id!r} is {task.state.value}: only an ACTIVE task"
                    " can be completed"
                )
            db.execute(
                "UPDATE tasks SET state = ? WHERE id = ?", (TaskState.COMPLETED.value, task_id)
            )
            db.execute(
                "INSERT OR REPLACE INTO effects (workflow_id, task_name, active)"
                " SELECT workflow_id, ?, 1 FROM sessions WHERE id = ?",
                (task.name, task.session_id),
            )
            db.execute(
                "UPDATE sessions SET state = ? WHERE id = ? AND state = ?",
                (
                    WorkSessionState.PROCESSING.value,
                    task.session_id,
                    WorkSessionState.READY.value,
                ),
            )

    def check_next_task(self, session_id: str) -> None:
        """The system's check after a task was completed: a PROCESSING session with
        AVAILABLE tasks goes back to READY; with none left it stays PROCESSING until its
        workflow closes it. Sessions in other states are left alone."""
        with self._transaction() as db:
            if self._session_state(db, session_id) is not WorkSessionState.PROCESSING:
                return
            if any(task.state is TaskState.AVAILABLE for task in self._tasks(db, session_id)):
                self._set_session_state(db, session_id, WorkSessionState.READY)

    def close_work_session(self, session_id: str) -> None:
        """The workflow closes a session whose tasks are all COMPLETED or WONT_DO: it becomes
        COMPLETED. Closing a COMPLETED, CANCELLED or WONT_DO session changes nothing. Raises
        ValueError if a task is still AVAILABLE or ACTIVE."""
        with self._transaction() as db:
            state = self._session_state(db, session_id)
            if state not in (WorkSessionState.READY, WorkSessionState.PROCESSING):
                return
            open_tasks = [
                f"{task.id} ({task.state.value})"
                for task in self._tasks(db, session_id)
                if task.state in (TaskState.AVAILABLE, TaskState.ACTIVE)
            ]
            if open_tasks:
                raise ValueError(
                    f"work session {session_id!r} cannot be closed: tasks still open: "
                    + ", ".join(open_tasks)
                )
            self._set_session_state(db, session_id, WorkSessionState.COMPLETED)

    def clean_up_work_session(self, session_id: str) -> CleanUpResult:
        """Clean up a session after its workflow was cancelled; idempotent.

        - not yet assigned (READY, every task AVAILABLE or WONT_DO): the session becomes
          CANCELLED and every task WONT_DO;
        - assigned and in progress (READY or PROCESSING, some task ACTIVE or COMPLETED): the
          session becomes CANCELLED and its AVAILABLE tasks WONT_DO; an ACTIVE task stays
          with its user (`complete_task` or `unassign_stale_work` retires it later) and
          COMPLETED tasks stay COMPLETED;
        - already COMPLETED, CANCELLED or WONT_DO: nothing changes.

        An unknown session is reported in the result, not raised.
        """
        with self._transaction() as db:
            state = self._find_session_state(db, session_id)
            if state is None:
                return CleanUpResult(False, f"no work session {session_id!r}")
            if state in (WorkSessionState.READY, WorkSessionState.PROCESSING):
                # One rule covers both situations: what nobody works on is not needed.
                db.execute(
                    "UPDATE tasks SET state = ? WHERE session_id = ? AND state = ?",
                    (TaskState.WONT_DO.value, session_id, TaskState.AVAILABLE.value),
                )
                self._set_session_state(db, session_id, WorkSessionState.CANCELLED)
            return CleanUpResult(True)

    def unassign_stale_work(self, now: float, max_age: float) -> list[str]:
        """Un-assign every ACTIVE task assigned for longer than `max_age` at time `now`
        (`now - assigned_at > max_age`). In a CANCELLED (or WONT_DO) session the task becomes
        WONT_DO; otherwise it is AVAILABLE again. Returns the ids of the tasks touched, in
        creation order."""
        with self._transaction() as db:
            stale = db.execute(
                "SELECT tasks.id, sessions.state FROM tasks"
                " JOIN sessions ON sessions.id = tasks.session_id"
                " WHERE tasks.state = ? AND ? - tasks.assigned_at > ?"
                " ORDER BY tasks.rowid",
                (TaskState.ACTIVE.value, now, max_age),
            ).fetchall()
            touched: list[str] = []
            for task_id, session_state in stale:
                retired = WorkSessionState(session_state) in _RETIRED
                new_state = TaskState.WONT_DO if retired else TaskState.AVAILABLE
                db.execute(
                    "UPDATE tasks SET state = ?, assignee = NULL, assigned_at = NULL WHERE id = ?",
                    (new_state.value, task_id),
                )
                touched.append(str(task_id))
            return touched

    def undo_effect(self, workflow_id: str, task_name: str) -> None:
        """Make the effect of the completed task `task_name` of `workflow_id` inactive (the
        task that undoes it ran). Undoing an inactive effect changes nothing; raises
        KeyError if no such effect was ever recorded."""
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE effects SET active = 0 WHERE workflow_id = ? AND task_name = ?",
                (workflow_id, task_name),
            )
            if cursor.rowcount == 0:
                raise KeyError(f"no effect of work task {task_name!r} in workflow {workflow_id!r}")

    # -- queries ---------------------------------------------------------------------------

    def effects_of(self, workflow_id: str) -> dict[str, bool]:
        """The recorded effects of `workflow_id`: task name -> whether still active."""
        with self._transaction() as db:
            rows = db.execute(
                "SELECT task_name, active FROM effects WHERE workflow_id = ? ORDER BY task_name",
                (workflow_id,),
            ).fetchall()
            return {str(name): bool(active) for name, active in rows}

    def session_state(self, session_id: str) -> WorkSessionState:
        """The state of a session."""
        with self._transaction() as db:
            return self._session_state(db, session_id)

    def task_states(self, session_id: str) -> list[TaskState]:
        """The states of a session's tasks, by position."""
        return [task.state for task in self.tasks(session_id)]

    def tasks(self, session_id: str) -> list[Task]:
        """A session's tasks, by position."""
        with self._transaction() as db:
            self._session_state(db, session_id)  # raises KeyError for an unknown session
            return self._tasks(db, session_id)

    def sessions_of(self, workflow_id: str) -> list[str]:
        """The ids of the sessions of `workflow_id`, in creation order."""
        with self._transaction() as db:
            rows = db.execute(
                "SELECT id FROM sessions WHERE workflow_id = ? ORDER BY rowid", (workflow_id,)
            ).fetchall()
            return [str(session_id) for (session_id,) in rows]

    def all_sessions(self) -> list[tuple[str, WorkSessionState]]:
        """Every session with its state, in creation order."""
        with self._transaction() as db:
            rows = db.execute("SELECT id, state FROM sessions ORDER BY rowid").fetchall()
            return [(str(session_id), WorkSessionState(state)) for session_id, state in rows]

    def all_tasks(self) -> list[Task]:
        """Every task of every session, in creation order."""
        with self._transaction() as db:
            rows = db.execute(f"SELECT {_TASK_COLUMNS} FROM tasks ORDER BY rowid").fetchall()
            return [_task_from_row(row) for row in rows]

    def completed_task_names(self, workflow_id: str) -> set[str]:
        """The names of the COMPLETED tasks over all sessions of `workflow_id`: the work a
        re-started workflow can skip."""
        with self._transaction() as db:
            rows = db.execute(
                "SELECT tasks.name FROM tasks JOIN sessions ON sessions.id = tasks.session_id"
                " WHERE sessions.workflow_id = ? AND tasks.state = ?",
                (workflow_id, TaskState.COMPLETED.value),
            ).fetchall()
            return {str(name) for (name,) in rows}

    # -- helpers (called inside a transaction) ---------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One transaction, begun before the first read: committed if the block succeeds,
        rolled back if it raises."""
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            yield self._db

    @staticmethod
    def _next_id(db: sqlite3.Connection, prefix: str) -> str:
        db.execute("UPDATE counters SET last = last + 1 WHERE prefix = ?", (prefix,))
        (last,) = db.execute("SELECT last FROM counters WHERE prefix = ?", (prefix,)).fetchone()
        return f"{prefix}-{last}"

    @staticmethod
    def _find_session_state(db: sqlite3.Connection, session_id: str) -> WorkSessionState | None:
        row = db.execute("SELECT state FROM sessions WHERE id = ?", (session_id,)).fetchone()
        return None if row is None else WorkSessionState(row[0])

    @classmethod
    def _session_state(cls, db: sqlite3.Connection, session_id: str) -> WorkSessionState:
        state = cls._find_session_state(db, session_id)
        if state is None:
            raise KeyError(f"no work session {session_id!r}")
        return state

    @staticmethod
    def _set_session_state(
        db: sqlite3.Connection, session_id: str, state: WorkSessionState
    ) -> None:
        db.execute("UPDATE sessions SET state = ? WHERE id = ?", (state.value, session_id))

    @staticmethod
    def _task(db: sqlite3.Connection, task_id: str) -> Task:
        row = db.execute(f"SELECT {_TASK_COLUMNS} FROM tasks WHERE id = ?", (task_id,)).fetchone()
        if row is None:
            raise KeyError(f"no work task {task_id!r}")
        return _task_from_row(row)

    @staticmethod
    def _tasks(db: sqlite3.Connection, session_id: str) -> list[Task]:
        rows = db.execute(
            f"SELECT {_TASK_COLUMNS} FROM tasks WHERE session_id = ? ORDER BY position",
            (session_id,),
        ).fetchall()
        return [_task_from_row(row) for row in rows]
