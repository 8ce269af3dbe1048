"""A scheduling workflow that puts work in front of people, and cleans it up when the
workflow is cancelled.

The workflow creates a work session for a business process (a shipment, say), waits
while a user works through its tasks, and closes it. If the workflow is cancelled on the
way, a cleanup workflow makes sure nothing is left waiting for a user, then undoes the
completed work or keeps it, depending on why the workflow was cancelled.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Protocol

import anyio.lowlevel

import crossflow as cf

from .store import TaskState, WorkSessionStore


# --8<-- [start:types]
@dataclass(frozen=True)
class Scheduling:
    """The request: the tasks that a business process needs people to do."""

    workflow_id: str
    """The business process, e.g. "shipment-1"; a re-run after a cancellation uses the same."""
    task_names: tuple[str, ...]


@dataclass(frozen=True)
class Scheduled:
    """The response: the work session of this run and the tasks completed in it."""

    session_id: str | None
    """None when an earlier run had already completed every task."""
    completed: tuple[str, ...]


class Scenario(enum.StrEnum):
    """Why a workflow is cancelled: the reason given to `session.cancel(why.value)`."""

    BUSINESS_PROCESS = "business process"
    """The business process is gone (the shipment was cancelled): undo the work done."""
    INVALID_STATE = "invalid workflow state"
    """The workflow is broken (a bug): keep the work done; a new run picks up from there."""
    PURGE = "purge"
    """The workflow is not wanted any more: like a business process cancellation."""

    @property
    def undoes_work(self) -> bool:
        return self is not Scenario.INVALID_STATE

    @classmethod
    def of(cls, ending: cf.Ending[object]) -> Scenario:
        """Why the session that `ending` describes was cancelled. Anything but a cancel
        with one of the reasons above (a failure, a timeout, a block left early) counts as
        an invalid state: undoing real work needs someone to ask for it."""
        cause = ending.cancellation.cause if ending.cancellation is not None else None
        reasons = {scenario.value: scenario for scenario in cls}
        if isinstance(cause, cf.UserCancelled) and cause.reason in reasons:
            return reasons[cause.reason]
        return cls.INVALID_STATE


def undo_completed_work(store: WorkSessionStore, workflow_id: str) -> list[str]:
    """Run the "down" task of every completed task whose effect is still in place."""
    undone = [name for name, active in store.effects_of(workflow_id).items() if active]
    for name in undone:
        store.undo_effect(workflow_id, name)  # e.g. unschedule the appointment
    return undone


# --8<-- [end:types]
# --8<-- [start:user]
# awaited after each step that the workflow or the user takes, with a description of it
Step = Callable[[str], Awaitable[None]]


async def quietly(step: str) -> None:
    """The default `Step`: nothing to report."""


class User(Protocol):
    """Someone who works through the tasks of a work session, in some user interface."""

    async def pick_up(self, session_id: str) -> str | None:
        """Take the session's next task; its id, or None if no task is ready for them."""
        ...

    async def complete(self, task_id: str) -> None:
        """Do an assigned task and mark it completed."""
        ...


class SimulatedUser:
    """A user who takes every task as soon as it is ready, and completes it at once."""

    def __init__(
        self,
        store: WorkSessionStore,
        name: str = "ada",
        *,
        on_step: Step = quietly,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.name = name
        self.on_step = on_step
        self.clock = clock

    async def pick_up(self, session_id: str) -> str | None:
        task_id = self.store.assign_next_task(session_id, self.name, self.clock())
        if task_id is not None:
            await self.on_step(f"{self.name} picked up {self._name_of(task_id)}")
        return task_id

    async def complete(self, task_id: str) -> None:
        await anyio.lowlevel.checkpoint()  # the work itself: other tasks run meanwhile
        self.store.complete_task(task_id)
        await self.on_step(f"{self.name} completed {self._name_of(task_id)}")

    def _name_of(self, task_id: str) -> str:
        return next(task.name for task in self.store.all_tasks() if task.id == task_id)


# --8<-- [end:user]
# --8<-- [start:steps]
def scheduling_workflow(
    store: WorkSessionStore,
    user: User,
    *,
    close_timeout: float = 5.0,
    close_settings: cf.ScopeSettings | None = None,
    on_step: Step = quietly,
) -> cf.Workflow[Scheduling, Scheduled]:
    """The scheduling workflow, working with `store` and `user`.

    The close runs in a scope with `close_settings`: by default uninterruptible, with a
    timeout of `close_timeout` seconds.
    """

    async def plan(request: Scheduling) -> Scheduling:
        """Leave out the tasks that an earlier run of this workflow completed."""
        done = store.completed_task_names(request.workflow_id)
        todo = tuple(name for name in request.task_names if name not in done)
        await on_step(f"{request.workflow_id}: to do: {', '.join(todo) or 'nothing'}")
        return replace(request, task_names=todo)

    def open_session(todo: tuple[Scheduling, cf.BufferKey[str]]) -> str | None:
        """Create the work session (None if there is nothing to do) and keep its id in
        the buffer, in one plain function: no cancellation can come in between."""
        request, key = todo
        if not request.task_names:
            return None
        session_id = store.create_work_session(request.workflow_id, request.task_names)
        with key.access() as sessions:
            sessions.push(session_id)
        return session_id

    async def work_through(session_id: str) -> str:
        """Wait while the user works through the tasks, one at a time."""
        await on_step(f"{session_id} is waiting for a user")
        while (task_id := await user.pick_up(session_id)) is not None:
            await user.complete(task_id)
            store.check_next_task(session_id)  # the system looks for the next task
            await on_step(f"{session_id} checked: {store.session_state(session_id).value}")
        return session_id

    async def close_session(session_id: str) -> Scheduled:
        await on_step(f"closing {session_id}")  # a slow call to the work-session service
        store.close_work_session(session_id)
        await on_step(f"closed {session_id}")
        tasks = store.tasks(session_id)
        return Scheduled(session_id, tuple(t.name for t in tasks if t.state is TaskState.COMPLETED))

    def nothing_to_do(_: None) -> Scheduled:
        return Scheduled(None, ())

    def close(scope: cf.Scope[str, Scheduled], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(close_session).connect(scope.terminate)

    # --8<-- [end:steps]
    # --8<-- [start:cleanup]
    async def clean_up(
        ending: cf.Ending[tuple[cf.BufferKey[Scheduling], cf.BufferKey[str]]],
    ) -> None:
        request_key, session_key = ending.keys
        with request_key.access() as requests:
            request = requests.newest()
        with session_key.access() as sessions:
            session_id = sessions.newest()
        if request is None:
            return  # cancelled before the request reached its buffer: nothing was done yet
        if session_id is not None:  # None: cancelled before the session was created
            store.clean_up_work_session(session_id)
            await on_step(f"cleaned up {session_id}: {store.session_state(session_id).value}")
        why = Scenario.of(ending)
        await on_step(f"cancelled for {why}")
        if why.undoes_work:
            for name in undo_completed_work(store, request.workflow_id):
                await on_step(f"down task: undo {name}")

    # --8<-- [end:cleanup]
    # --8<-- [start:workflow]
    @cf.workflow(name="scheduling")
    def scheduling(scope: cf.Scope[Scheduling, Scheduled], builder: cf.Builder) -> None:
        requests: cf.Buffer[Scheduling] = builder.create_buffer(name="request")
        sessions: cf.Buffer[str] = builder.create_buffer(name="work session")
        builder.on_cancel((requests, sessions), clean_up)
        closing = close_settings
        if closing is None:
            closing = cf.ScopeSettings(uninterruptible=True, timeout=close_timeout)

        (
            builder.chain(scope.start)
            .branch_clone(lambda request: request.connect(requests))
            .then(plan)
            .with_access(sessions)
            .then(open_session)
            .branch_for_none(lambda nothing: nothing.map(nothing_to_do).connect(scope.terminate))
            .then(work_through)
            # nothing may cut the close short, and it may not hang forever either
            .then_scope(close, name="close", settings=closing)
            .connect(scope.terminate)
        )

    return scheduling


# --8<-- [end:workflow]
