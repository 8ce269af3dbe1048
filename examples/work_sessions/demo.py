"""The scheduling workflow, run to its end and cancelled in each scenario.

Run it from the repository's root: `python -m examples.work_sessions.demo`.
"""

from __future__ import annotations

import time

import anyio

import crossflow as cf
from crossflow import events as ev
from examples.work_sessions.store import TaskState, WorkSessionStore
from examples.work_sessions.workflow import (
    Scenario,
    Scheduled,
    Scheduling,
    SimulatedUser,
    scheduling_workflow,
    undo_completed_work,
)

TASKS = ("schedule appointment", "confirm carrier", "notify customer")
HOUR = 3600.0


# --8<-- [start:narrator]
class Narrator:
    """Prints every step; pauses the workflow at the step `pause_at`, so that the demo
    can cancel it at exactly that moment."""

    def __init__(self, pause_at: str | None = None) -> None:
        self.pause_at = pause_at
        self.paused = anyio.Event()
        self.resume = anyio.Event()

    async def __call__(self, step: str) -> None:
        print(f"  {step}")
        if step == self.pause_at:
            self.paused.set()
            await self.resume.wait()


async def run(
    store: WorkSessionStore,
    request: Scheduling,
    cancel_at: str | None = None,
    why: Scenario = Scenario.BUSINESS_PROCESS,
) -> cf.Session[Scheduled]:
    """Run the workflow for `request`; cancel it for `why` at the step `cancel_at`."""
    narrator = Narrator(pause_at=cancel_at)
    user = SimulatedUser(store, "ada", on_step=narrator)
    workflow = scheduling_workflow(store, user, on_step=narrator)
    async with workflow.start(request) as session:
        if cancel_at is not None:
            await narrator.paused.wait()
            session.cancel(why.value)
            print(f"cancelled for {why}: the workflow is {session.state.name}")
            narrator.resume.set()
        try:
            print(f"response: {await session.result()}")
        except cf.WorkflowCancelled as cancelled:
            print(f"{session.state.name}: {cancelled.cancellation.cause}")
    return session


# --8<-- [end:narrator]
def show(store: WorkSessionStore, workflow_id: str) -> None:
    """Print the work sessions of `workflow_id`, their tasks, and the effects of its work."""
    for session_id in store.sessions_of(workflow_id):
        tasks = ", ".join(
            f"{task.name} {task.state.value}"
            + (f" ({task.assignee})" if task.state is TaskState.ACTIVE else "")
            for task in store.tasks(session_id)
        )
        print(f"{session_id} {store.session_state(session_id).value}: {tasks}")
    effects = [
        f"{name} {'in place' if on else 'undone'}"
        for name, on in store.effects_of(workflow_id).items()
    ]
    print(f"effects: {', '.join(effects) or 'none'}")


async def main() -> None:
    with WorkSessionStore() as store:
        print("== the happy path")
        happy = Scheduling("shipment-1", TASKS)
        await run(store, happy)
        show(store, "shipment-1")

        print("== the shipment is cancelled while ada confirms the carrier")
        shipment = Scheduling("shipment-2", TASKS)
        await run(store, shipment, "ada picked up confirm carrier", Scenario.BUSINESS_PROCESS)
        show(store, "shipment-2")
        print("ada completes confirm carrier anyway; its down task runs too")
        (active,) = [task for task in store.all_tasks() if task.state is TaskState.ACTIVE]
        store.complete_task(active.id)
        print(f"down tasks: {', '.join(undo_completed_work(store, 'shipment-2'))}")
        show(store, "shipment-2")

        print("== a bug: the workflow is cancelled and run again")
        buggy = Scheduling("shipment-3", TASKS)
        await run(store, buggy, "ws-3 checked: READY", Scenario.INVALID_STATE)
        show(store, "shipment-3")
        await run(store, buggy)
        show(store, "shipment-3")

        print("== purged while ada has a task, and ada has gone home")
        purged = Scheduling("shipment-4", TASKS)
        await run(store, purged, "ada picked up confirm carrier", Scenario.PURGE)
        stale = store.unassign_stale_work(now=time.time() + HOUR, max_age=HOUR / 2)
        print(f"an hour later, stale work is un-assigned: {', '.join(stale)}")
        show(store, "shipment-4")

        print("== the shipment is cancelled while its work session is being closed")
        closing = Scheduling("shipment-5", TASKS)
        session = await run(store, closing, "closing ws-6", Scenario.BUSINESS_PROCESS)
        show(store, "shipment-5")
        for event in session.events:
            where = "/".join(event.path)
            match event:
                case ev.CancellationRequested(cause=cause, honoured=honoured):
                    print(f"{where}: cancellation requested ({cause}), honoured: {honoured}")
                case ev.ChildCancellationFailed(child=child, reason=reason):
                    print(f"{where}: could not cancel {'/'.join(child)}: {reason}")
                case ev.Terminated() | ev.Cancelled():
                    print(f"{where}: {type(event).__name__}")


if __name__ == "__main__":
    anyio.run(main)
