"""Cancellation policies of nodes: WAIT, TRY_CANCEL, ABANDON (S6.6, API §6).

A scope's cleanup treats a node's running async task or nested session as the node's
policy says: WAIT cancels it and waits for its own cleanup, TRY_CANCEL cancels it
without waiting, ABANDON leaves it running and drops its result. Whatever the policy,
no task outlives the outermost `run` or `start`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import anyio.lowlevel
import pytest

import crossflow as cf
from crossflow import events as ev

pytestmark = pytest.mark.anyio

TIMEOUT = 5

WAIT = cf.CancellationPolicy.WAIT
TRY_CANCEL = cf.CancellationPolicy.TRY_CANCEL
ABANDON = cf.CancellationPolicy.ABANDON

RUNNING = cf.SessionState.RUNNING
CANCELLING = cf.SessionState.CANCELLING
CANCELLED = cf.SessionState.CANCELLED
TERMINATED = cf.SessionState.TERMINATED

# how the scope comes to be cancelled: a parallel branch reaches a cancel operation,
# or the user calls `session.cancel()`
TRIGGERS = ["branch", "session.cancel()"]

BuildFn = Callable[[cf.Scope[Any, Any], cf.Builder], None]


# --------------------------------------------------------------------------- helpers


class Tracker:
    """Counts the service tasks that are running: +1 when one starts, -1 in its `finally`.

    `all_started` is set when `expected` tasks have started.
    """

    def __init__(self, expected: int = 0) -> None:
        self.running = 0
        self.started = 0
        self.ended = 0
        self.expected = expected
        self.all_started = anyio.Event()

    def enter(self) -> None:
        self.running += 1
        self.started += 1
        if self.started == self.expected:
            self.all_started.set()

    def leave(self) -> None:
        self.running -= 1
        self.ended += 1


class Stopper:
    """The parallel branch that cancels the scope once `watched` has started.

    `sent` is set by a blocking step right before the cancel operation: when a task
    wakes up on it, the scope has already been cancelled.
    """

    def __init__(self, watched: anyio.Event) -> None:
        self.watched = watched
        self.sent = anyio.Event()

    async def when_started(self, x: Any) -> Any:
        await self.watched.wait()
        return x

    def mark(self, x: Any) -> Any:
        self.sent.set()
        return x

    def branch(self, c: cf.Chain[Any]) -> None:
        c.then(self.when_started, name="w").map(self.mark, name="mark").then_cancel()


class Held:
    """An async step: it says when it started and parks until `go` (or until it is
    cancelled); with `hold`, its `finally` holds itself open, shielded, until `release`,
    then does a little slow work. It records what it saw."""

    def __init__(self, tracker: Tracker, *, hold: bool = True) -> None:
        self.tracker = tracker
        self.hold = hold
        self.started = anyio.Event()
        self.cancelled = anyio.Event()
        self.go = anyio.Event()
        self.release = anyio.Event()
        self.saw_cancel = False
        self.reached_end = False
        self.finally_done = False
        # the session to look at when the `finally` completes, and what it saw
        self.session: cf.Session[Any] | None = None
        self.state_at_end: cf.SessionState | None = None
        # what the node downstream of the step received; the branch that cancels
        self.downstream: list[Any] = []
        self.stopper = Stopper(self.started)

    async def step(self, x: Any) -> Any:
        self.tracker.enter()
        self.started.set()
        try:
            await self.go.wait()
            await anyio.lowlevel.checkpoint()
            self.reached_end = True
            return x
        except anyio.get_cancelled_exc_class():
            self.saw_cancel = True
            self.cancelled.set()
            raise
        finally:
            if self.hold:
                with anyio.CancelScope(shield=True):
                    await self.release.wait()
                    await anyio.sleep(0.01)  # slow clean-up work after the release
            if self.session is not None:
                self.state_at_end = self.session.state
            self.finally_done = True
            self.tracker.leave()


def brief(event: cf.Event) -> tuple[Any, ...]:
    """An event without its time, cause and cancellation: kind, path, other fields."""
    data = event.to_dict()
    kind = data.pop("kind")
    path = "/".join(data.pop("path"))
    for field in ("time", "cause", "cancellation", "error"):
        data.pop(field, None)
    if data.get("forced") is False:
        del data["forced"]  # only a forced cancel (S6.7) says so
    if data.get("stopped") is True and data.get("reach", 0) is None:
        del data["stopped"], data["reach"]  # only work run elsewhere says more (S10.2)
    rest = tuple("/".join(v) if isinstance(v, list) else v for v in data.values())
    return (kind, path, *rest)


def root_briefs(events: tuple[cf.Event, ...], skip: tuple[str, ...] = ("w", "mark")) -> list[Any]:
    """The root session's events, without the stopper branch's operations."""
    out = []
    for e in events:
        if e.path != ("wf",):
            continue
        if isinstance(e, ev.OperationStarted | ev.OperationFinished) and e.operation in skip:
            continue
        out.append(brief(e))
    return out


def cancelled_events(trigger: str, middle: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The root's events for a scope cancelled by `trigger` whose cleanup does `middle`."""
    requested = [("CancellationRequested", "wf", True)] if trigger != "branch" else []
    return [
        ("SessionStarted", "wf", "wf"),
        *requested,
        ("CleanupStarted", "wf"),
        *middle,
        ("CleanupFinished", "wf"),
        ("Cancelled", "wf"),
    ]


def check_cause(error: cf.WorkflowCancelled, trigger: str) -> None:
    cause = error.cancellation.cause
    if trigger == "branch":
        assert isinstance(cause, cf.Triggered), cause
    else:
        assert cause == cf.UserCancelled("stop"), cause


def task_workflow(step: Held, policy: cf.CancellationPolicy, trigger: str) -> cf.Workflow[int, int]:
    """`start -> step (policy) -> downstream -> terminate`, with the stopper branch when
    `trigger` is "branch". `downstream` records what it receives in `step.downstream`."""
    downstream = step.downstream
    stopper = step.stopper

    def build(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        def main(c: cf.Chain[int]) -> None:
            c.then(step.step, name="step", cancellation=policy).map(
                lambda x: downstream.append(x) or x, name="downstream"
            ).connect(scope.terminate)

        if trigger == "branch":
            builder.chain(scope.start).fork_clone(main, stopper.branch)
        else:
            main(builder.chain(scope.start))

    return cf.Workflow.build(build, name="wf")


async def cancel_once_started(session: cf.Session[Any], step: Held, trigger: str) -> None:
    """Cancel the scope once `step` started; when this returns, the scope was cancelled."""
    if trigger == "branch":
        await step.stopper.sent.wait()
    else:
        await step.started.wait()
        session.cancel("stop")


# --------------------------------------------------------------------------- async tasks


@pytest.mark.parametrize("trigger", TRIGGERS)
async def test_wait_delivers_the_outcome_only_after_the_tasks_finally(trigger: str) -> None:
    """S6.6 WAIT: the task is cancelled and its `finally` (held open) completes before the
    scope's outcome: the session stays CANCELLING until the finally is released."""
    tracker = Tracker()
    step = Held(tracker)
    wf = task_workflow(step, WAIT, trigger)
    with anyio.fail_after(TIMEOUT):
        async with wf.start(1) as session:
            step.session = session
            await cancel_once_started(session, step, trigger)
            await step.cancelled.wait()
            assert session.state is CANCELLING
            assert not any(isinstance(e, ev.Cancelled) for e in session.events)
            step.release.set()
            with pytest.raises(cf.WorkflowCancelled) as caught:
                await session.result()
            assert step.finally_done
            assert session.state is CANCELLED
    assert step.state_at_end is CANCELLING
    assert step.saw_cancel and not step.reached_end
    assert step.downstream == []
    assert (tracker.started, tracker.running) == (1, 0)
    check_cause(caught.value, trigger)
    expected = cancelled_events(trigger, [("TaskCancelled", "wf", "step", True)])
    expected.insert(1, ("OperationStarted", "wf", "step"))
    assert root_briefs(session.events) == expected


@pytest.mark.parametrize("trigger", TRIGGERS)
async def test_try_cancel_delivers_the_outcome_without_waiting(trigger: str) -> None:
    """S6.6 TRY_CANCEL: the task is cancelled (its `finally` runs) but the outcome is
    delivered at once: `result()` raises while the finally is still held open; leaving
    the block still waits for the finally to complete."""
    tracker = Tracker()
    step = Held(tracker)
    wf = task_workflow(step, TRY_CANCEL, trigger)
    with anyio.fail_after(TIMEOUT):
        async with wf.start(1) as session:
            step.session = session
            await cancel_once_started(session, step, trigger)
            with pytest.raises(cf.WorkflowCancelled) as caught:
                await session.result()
            assert session.state is CANCELLED
            await step.cancelled.wait()
            assert not step.finally_done  # the outcome did not wait for it
            assert tracker.running == 1
            step.release.set()  # the block is left right away: its exit must wait
        assert step.finally_done
    assert step.state_at_end is CANCELLED
    assert step.saw_cancel and not step.reached_end
    assert step.downstream == []
    assert (tracker.started, tracker.running) == (1, 0)
    check_cause(caught.value, trigger)
    expected = cancelled_events(trigger, [("TaskCancelled", "wf", "step", False)])
    expected.insert(1, ("OperationStarted", "wf", "step"))
    assert root_briefs(session.events) == expected


@pytest.mark.parametrize("trigger", TRIGGERS)
async def test_abandon_lets_the_task_run_to_its_end_and_drops_its_result(trigger: str) -> None:
    """S6.6 ABANDON: the task is not cancelled; the outcome is delivered before it
    finishes; it runs to its end without seeing a cancellation; its result reaches
    nothing downstream; leaving the block waits for it."""
    tracker = Tracker()
    step = Held(tracker)
    wf = task_workflow(step, ABANDON, trigger)
    with anyio.fail_after(TIMEOUT):
        async with wf.start(1) as session:
            step.session = session
            await cancel_once_started(session, step, trigger)
            with pytest.raises(cf.WorkflowCancelled) as caught:
                await session.result()
            assert session.state is CANCELLED
            assert not step.reached_end and not step.finally_done
            step.go.set()
            step.release.set()  # the block is left right away: its exit must wait
        assert step.finally_done
    assert step.reached_end and not step.saw_cancel
    assert step.state_at_end is CANCELLED
    assert step.downstream == []
    assert (tracker.started, tracker.running) == (1, 0)
    check_cause(caught.value, trigger)
    expected = cancelled_events(trigger, [("TaskAbandoned", "wf", "step")])
    expected.insert(1, ("OperationStarted", "wf", "step"))
    assert root_briefs(session.events) == expected


@pytest.mark.parametrize("policy", [TRY_CANCEL, ABANDON])
async def test_run_returns_only_after_work_left_running_ended(
    policy: cf.CancellationPolicy,
) -> None:
    """S6.6, API §6: `run` raises the scope's `WorkflowCancelled` only after the task its
    policy left running has ended (TRY_CANCEL: its finally; ABANDON: its whole body)."""
    tracker = Tracker()
    step = Held(tracker)
    wf = task_workflow(step, policy, "branch")

    async def let_go() -> None:
        await step.stopper.sent.wait()
        step.go.set()
        step.release.set()

    with anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as tg:
            tg.start_soon(let_go)
            with pytest.raises(cf.WorkflowCancelled) as caught:
                await wf.run(1)
            assert step.finally_done
            assert tracker.running == 0
    assert isinstance(caught.value.cancellation.cause, cf.Triggered)
    assert step.saw_cancel is (policy is TRY_CANCEL)
    assert step.reached_end is (policy is ABANDON)
    assert step.downstream == []
    kind = "TaskCancelled" if policy is TRY_CANCEL else "TaskAbandoned"
    assert kind in [type(e).__name__ for e in caught.value.events]


# --------------------------------------------------------------------------- nested sessions


class Child:
    """A nested scope `[start] -> fork_clone{ buf ; work -> [terminate] }` whose
    `on_cancel` cleanup workflow holds itself open until `cleanup_release`, and whose
    `on_terminate` records that it ran."""

    def __init__(self, tracker: Tracker) -> None:
        self.tracker = tracker
        self.work = Held(tracker, hold=False)
        self.log: list[str] = []
        self.cleanup_started = anyio.Event()
        self.cleanup_release = anyio.Event()
        self.parent: cf.Session[Any] | None = None
        self.parent_state_at_cleanup_end: cf.SessionState | None = None
        self.stopper = Stopper(self.work.started)

    async def cleanup_step(self, x: Any) -> Any:
        self.tracker.enter()
        try:
            self.log.append("on_cancel started")
            self.cleanup_started.set()
            await self.cleanup_release.wait()
            await anyio.sleep(0.01)  # slow clean-up work after the release
            assert self.parent is not None
            self.parent_state_at_cleanup_end = self.parent.state
            self.log.append("on_cancel done")
            return x
        finally:
            self.tracker.leave()

    def build(self, scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        buf = builder.create_buffer()
        builder.chain(scope.start).fork_clone(
            lambda c: c.connect(buf),
            lambda c: c.then(self.work.step, name="work").connect(scope.terminate),
        )

        def on_cancel(s: cf.Scope[Any, Any], b: cf.Builder) -> None:
            b.chain(s.start).then(self.cleanup_step, name="cleanup").connect(s.terminate)

        def on_terminate(s: cf.Scope[Any, Any], b: cf.Builder) -> None:
            b.chain(s.start).map(lambda _: self.log.append("on_terminate")).connect(s.terminate)

        builder.on_cancel(buf, on_cancel)
        builder.on_terminate(buf, on_terminate)


def nested_workflow(
    child: Child,
    policy: cf.CancellationPolicy,
    how: str,
    trigger: str,
    *,
    uninterruptible: bool = False,
) -> cf.Workflow[int, int]:
    """`start -> child (policy) -> downstream -> terminate`, the child a nested scope
    (`then_scope`) or a workflow used as a node (`then`); with the stopper branch when
    `trigger` is "branch"."""
    settings = cf.ScopeSettings(uninterruptible=uninterruptible)
    stopper = child.stopper
    child_wf = cf.Workflow.build(child.build, name="child", settings=settings)

    def build(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        def main(c: cf.Chain[int]) -> None:
            if how == "then_scope":
                out = c.then_scope(
                    child.build, name="child", settings=settings, cancellation=policy
                )
            else:
                out = c.then(child_wf, name="child", cancellation=policy)
            out.map(lambda x: child.log.append("downstream") or x, name="downstream").connect(
                scope.terminate
            )

        if trigger == "branch":
            builder.chain(scope.start).fork_clone(main, stopper.branch)
        else:
            main(builder.chain(scope.start))

    return cf.Workflow.build(build, name="wf")


async def cancel_once_child_started(session: cf.Session[Any], child: Child, trigger: str) -> None:
    if trigger == "branch":
        await child.stopper.sent.wait()
    else:
        await child.work.started.wait()
        session.cancel("stop")


NESTED = ["then_scope", "workflow node"]


@pytest.mark.parametrize("trigger", TRIGGERS)
@pytest.mark.parametrize("how", NESTED)
async def test_wait_waits_for_the_childs_cleanup_workflow(how: str, trigger: str) -> None:
    """S6.6 WAIT on a nested session: the child is interrupted and its `on_cancel` cleanup
    workflow (held open) finishes before the parent's outcome is delivered."""
    tracker = Tracker()
    child = Child(tracker)
    wf = nested_workflow(child, WAIT, how, trigger)
    with anyio.fail_after(TIMEOUT):
        async with wf.start(1) as session:
            child.parent = session
            await cancel_once_child_started(session, child, trigger)
            await child.cleanup_started.wait()
            assert session.state is CANCELLING
            child.cleanup_release.set()
            with pytest.raises(cf.WorkflowCancelled) as caught:
                await session.result()
            assert child.log == ["on_cancel started", "on_cancel done"]
    assert child.parent_state_at_cleanup_end is CANCELLING
    assert child.work.saw_cancel and not child.work.reached_end
    assert (tracker.started, tracker.running) == (2, 0)
    check_cause(caught.value, trigger)
    assert root_briefs(session.events) == cancelled_events(
        trigger, [("ChildCancellationRequested", "wf", "child", "wf/child[0]", True)]
    )
    child_events = [brief(e) for e in session.events if e.path == ("wf", "child[0]")]
    assert child_events[0] == ("SessionStarted", "wf/child[0]", "child")
    assert child_events[-1] == ("Cancelled", "wf/child[0]")
    assert ("TaskCancelled", "wf/child[0]", "work", True) in child_events


@pytest.mark.parametrize("trigger", TRIGGERS)
@pytest.mark.parametrize("how", NESTED)
async def test_try_cancel_interrupts_the_child_without_waiting(how: str, trigger: str) -> None:
    """S6.6 TRY_CANCEL on a nested session: the child is interrupted (its `on_cancel`
    runs) but the parent's outcome is delivered without waiting for it; leaving the
    block waits for the child's cleanup to complete."""
    tracker = Tracker()
    child = Child(tracker)
    wf = nested_workflow(child, TRY_CANCEL, how, trigger)
    with anyio.fail_after(TIMEOUT):
        async with wf.start(1) as session:
            child.parent = session
            await cancel_once_child_started(session, child, trigger)
            with pytest.raises(cf.WorkflowCancelled) as caught:
                await session.result()
            assert session.state is CANCELLED
            await child.cleanup_started.wait()
            assert child.log == ["on_cancel started"]
            child.cleanup_release.set()  # the block is left right away: its exit must wait
        assert child.log == ["on_cancel started", "on_cancel done"]
    assert child.parent_state_at_cleanup_end is CANCELLED
    assert child.work.saw_cancel and not child.work.reached_end
    assert (tracker.started, tracker.running) == (2, 0)
    check_cause(caught.value, trigger)
    assert root_briefs(session.events) == cancelled_events(
        trigger, [("ChildCancellationRequested", "wf", "child", "wf/child[0]", False)]
    )
    child_events = [brief(e) for e in session.events if e.path == ("wf", "child[0]")]
    assert child_events[0] == ("SessionStarted", "wf/child[0]", "child")
    assert child_events[-1] == ("Cancelled", "wf/child[0]")


@pytest.mark.parametrize("trigger", TRIGGERS)
@pytest.mark.parametrize("how", NESTED)
async def test_abandon_lets_the_child_run_to_its_terminate(how: str, trigger: str) -> None:
    """S6.6 ABANDON on a nested session: the child is not interrupted; it runs to its own
    terminate (its `on_terminate` runs), its response reaches nothing downstream, and
    the parent's outcome comes first; leaving the block waits for the child."""
    tracker = Tracker()
    child = Child(tracker)
    wf = nested_workflow(child, ABANDON, how, trigger)
    with anyio.fail_after(TIMEOUT):
        async with wf.start(1) as session:
            child.parent = session
            await cancel_once_child_started(session, child, trigger)
            with pytest.raises(cf.WorkflowCancelled) as caught:
                await session.result()
            assert session.state is CANCELLED
            assert not child.work.reached_end
            child.work.go.set()  # the block is left right away: its exit must wait
        assert child.log == ["on_terminate"]
    assert child.work.reached_end and not child.work.saw_cancel
    assert (tracker.started, tracker.running) == (1, 0)
    check_cause(caught.value, trigger)
    assert root_briefs(session.events) == cancelled_events(
        trigger, [("ChildAbandoned", "wf", "child", "wf/child[0]")]
    )
    child_events = [brief(e) for e in session.events if e.path == ("wf", "child[0]")]
    assert child_events[0] == ("SessionStarted", "wf/child[0]", "child")
    assert child_events[-1] == ("Terminated", "wf/child[0]")
    assert not any(e[0] == "CancellationRequested" for e in child_events)


@pytest.mark.parametrize("how", NESTED)
async def test_try_cancel_does_not_wait_for_an_uninterruptible_child(how: str) -> None:
    """S6.6, S6.4: TRY_CANCEL on an uninterruptible child: the child refuses to cancel,
    the parent's outcome is delivered without waiting for it, and the child still runs
    to its own terminate before the block is left."""
    tracker = Tracker()
    child = Child(tracker)
    wf = nested_workflow(child, TRY_CANCEL, how, "branch", uninterruptible=True)
    with anyio.fail_after(TIMEOUT):
        async with wf.start(1) as session:
            child.parent = session
            await cancel_once_child_started(session, child, "branch")
            with pytest.raises(cf.WorkflowCancelled):
                await session.result()
            assert session.state is CANCELLED
            assert not child.work.reached_end
            child.work.go.set()  # the block is left right away: its exit must wait
        assert child.log == ["on_terminate"]
    assert child.work.reached_end and not child.work.saw_cancel
    assert (tracker.started, tracker.running) == (1, 0)
    assert root_briefs(session.events) == cancelled_events(
        "branch",
        [
            ("ChildCancellationRequested", "wf", "child", "wf/child[0]", False),
            ("ChildCancellationFailed", "wf", "child", "wf/child[0]", "it is uninterruptible"),
        ],
    )
    child_events = [brief(e) for e in session.events if e.path == ("wf", "child[0]")]
    assert ("CancellationRequested", "wf/child[0]", False) in child_events
    assert child_events[-1] == ("Terminated", "wf/child[0]")


@pytest.mark.parametrize("how", NESTED)
async def test_run_waits_for_an_uninterruptible_child_left_running(how: str) -> None:
    """S6.6, S6.4, API §6: with `run`, an uninterruptible child left running by
    TRY_CANCEL has reached its end when `run` raises the parent's cancellation."""
    tracker = Tracker()
    child = Child(tracker)
    wf = nested_workflow(child, TRY_CANCEL, how, "branch", uninterruptible=True)

    async def let_go() -> None:
        await child.stopper.sent.wait()
        child.work.go.set()

    with anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as tg:
            tg.start_soon(let_go)
            with pytest.raises(cf.WorkflowCancelled):
                await wf.run(1)
            assert child.log == ["on_terminate"]
            assert child.work.reached_end
    assert (tracker.started, tracker.running) == (1, 0)


# --------------------------------------------------------------------------- no task outlives


async def _slow_until_cancelled(tracker: Tracker, x: Any) -> Any:
    tracker.enter()
    try:
        await anyio.sleep_forever()
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.sleep(0.02)  # slow clean-up
        tracker.leave()
    return x  # pragma: no cover


async def _slow_to_finish(tracker: Tracker, x: Any) -> Any:
    tracker.enter()
    try:
        for _ in range(3):
            await anyio.sleep(0.01)
        return x
    finally:
        tracker.leave()


@pytest.mark.parametrize("api", ["run", "start"])
@pytest.mark.parametrize("ending", ["cancelled", "terminated", "caller cancelled"])
async def test_no_task_outlives_the_outermost_run(api: str, ending: str) -> None:
    """API §6, S6.6: tasks and child sessions of every policy are running when the root
    is cancelled, reaches terminate, or its caller is cancelled; when `run` returns or
    raises (or the `async with` block is left), every one of them has finished."""
    count = 7
    tracker = Tracker(count)

    async def slow_child_work(x: int) -> int:
        return await _slow_to_finish(tracker, x)

    async def slow_child_stuck(x: int) -> int:
        return await _slow_until_cancelled(tracker, x)

    def child(stuck: bool) -> BuildFn:
        def build(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
            work = slow_child_stuck if stuck else slow_child_work
            builder.chain(scope.start).then(work).connect(scope.terminate)

        return build

    async def until_cancelled(x: int) -> int:
        return await _slow_until_cancelled(tracker, x)

    async def to_finish(x: int) -> int:
        return await _slow_to_finish(tracker, x)

    async def when_all_started(x: int) -> int:
        await tracker.all_started.wait()
        if ending == "caller cancelled":
            await anyio.sleep_forever()
        return x

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        def last(c: cf.Chain[int]) -> None:
            c = c.then(when_all_started)
            if ending == "cancelled":
                c.then_cancel()
            else:
                c.connect(scope.terminate)

        builder.chain(scope.start).fork_clone(
            lambda c: c.then(until_cancelled, cancellation=WAIT).dispose(),
            lambda c: c.then(until_cancelled, cancellation=TRY_CANCEL).dispose(),
            lambda c: c.then(to_finish, cancellation=ABANDON).dispose(),
            lambda c: c.then_scope(child(True), cancellation=WAIT).dispose(),
            lambda c: c.then_scope(child(True), cancellation=TRY_CANCEL).dispose(),
            lambda c: c.then_scope(child(False), cancellation=ABANDON).dispose(),
            lambda c: c.then_scope(child(False), cancellation=TRY_CANCEL).dispose(),
            last,
        )

    outcome: list[Any] = []
    with anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as tg:
            with anyio.CancelScope() as caller:
                if ending == "caller cancelled":

                    async def cancel_caller() -> None:
                        await tracker.all_started.wait()
                        caller.cancel()

                    tg.start_soon(cancel_caller)
                try:
                    if api == "run":
                        outcome.append(await wf.run(5))
                    else:
                        async with wf.start(5) as session:
                            outcome.append(await session.result())
                except cf.WorkflowCancelled as error:
                    outcome.append(error)
                finally:
                    outcome.append(("running", tracker.running))
    assert (tracker.started, tracker.running, tracker.ended) == (count, 0, count)
    if ending == "terminated":
        assert outcome == [5, ("running", 0)]
    elif ending == "cancelled":
        assert isinstance(outcome[0], cf.WorkflowCancelled)
        assert outcome[1:] == [("running", 0)]
    else:
        assert caller.cancelled_caught
        assert outcome == [("running", 0)]


# --------------------------------------------------------------------------- failures left behind


@pytest.mark.parametrize("api", ["run", "start"])
@pytest.mark.parametrize("policy", [TRY_CANCEL, ABANDON])
async def test_a_failure_of_work_left_running_becomes_a_warning(
    policy: cf.CancellationPolicy, api: str
) -> None:
    """S6.6, S4.3: a task left running by its policy that raises afterwards is never
    lost: it becomes a `cf.CrossflowWarning`; the scope's outcome is unchanged."""
    started = anyio.Event()
    go = anyio.Event()

    async def late(x: int) -> int:
        started.set()
        try:
            await go.wait()
            await anyio.lowlevel.checkpoint()
        except anyio.get_cancelled_exc_class():
            raise RuntimeError("late failure") from None  # TRY_CANCEL
        raise RuntimeError("late failure")  # ABANDON: after the scope was cancelled

    async def when_started(x: int) -> int:
        await started.wait()
        return x

    def mark(x: int) -> int:
        go.set()  # the abandoned task resumes only after the cancel below
        return x

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).fork_clone(
            lambda c: c.then(late, name="late", cancellation=policy).connect(scope.terminate),
            lambda c: c.then(when_started).map(mark).then_cancel(),
        )

    async def outcome() -> cf.WorkflowCancelled:
        try:
            if api == "run":
                await wf.run(1)
            else:
                async with wf.start(1) as session:
                    await session.result()
        except cf.WorkflowCancelled as error:
            return error
        raise AssertionError("the scope was not cancelled")

    with anyio.fail_after(TIMEOUT):
        with pytest.warns(
            cf.CrossflowWarning, match=r"late raised RuntimeError: late failure"
        ) as w:
            error = await outcome()
    assert isinstance(error.cancellation.cause, cf.Triggered)
    assert error.cancellation.while_cancelling == ()
    assert len([x for x in w if issubclass(x.category, cf.CrossflowWarning)]) == 1


# --------------------------------------------------------------------------- trims


@pytest.mark.parametrize("policy", [TRY_CANCEL, ABANDON])
async def test_a_trim_does_not_wait_for_work_its_policy_leaves(
    policy: cf.CancellationPolicy,
) -> None:
    """S6.6, S3 `Trimming`: a trim whose span holds a running task with TRY_CANCEL or
    ABANDON passes its message on without waiting for the task; the task's result is
    dropped; leaving the block still waits for it."""
    tracker = Tracker()
    step = Held(tracker)
    downstream: list[Any] = []

    async def when_started(x: int) -> int:
        await step.started.wait()
        return x

    @cf.workflow
    def wf(scope: cf.Scope[int, str], builder: cf.Builder) -> None:
        node = builder.create_node(step.step, name="step", cancellation=policy)
        builder.chain(node.output).map(lambda x: downstream.append(x) or "step").connect(
            scope.terminate
        )
        builder.chain(scope.start).fork_clone(
            lambda c: c.connect(node.input),
            lambda c: (
                c.then(when_started)
                .then_trim(cf.TrimBranch.single_point(node.input))
                .map(lambda _: "trimmed")
                .connect(scope.terminate)
            ),
        )

    with anyio.fail_after(TIMEOUT):
        async with wf.start(1) as session:
            step.session = session
            assert await session.result() == "trimmed"
            assert not step.finally_done and not step.reached_end
            if policy is TRY_CANCEL:
                await step.cancelled.wait()
            step.go.set()
            step.release.set()  # the block is left right away: its exit must wait
        assert step.finally_done
    assert step.saw_cancel is (policy is TRY_CANCEL)
    assert step.reached_end is (policy is ABANDON)
    assert step.state_at_end is TERMINATED
    assert downstream == []
    assert (tracker.started, tracker.running) == (1, 0)
    left = (
        ("TaskCancelled", "wf", "step", False)
        if policy is TRY_CANCEL
        else ("TaskAbandoned", "wf", "step")
    )
    briefs = [brief(e) for e in session.events]
    assert left in briefs
    trimmed = next(i for i, b in enumerate(briefs) if b[0] == "Disposed")
    assert briefs.index(left) < trimmed
    assert briefs[-1] == ("Terminated", "wf")


async def test_a_trim_waits_for_a_task_with_wait() -> None:
    """S6.6 WAIT (contrast): the trim cancels the task and waits for its `finally`
    before passing its message on; the session stays RUNNING meanwhile."""
    tracker = Tracker()
    step = Held(tracker)

    async def when_started(x: int) -> int:
        await step.started.wait()
        return x

    @cf.workflow
    def wf(scope: cf.Scope[int, str], builder: cf.Builder) -> None:
        node = builder.create_node(step.step, name="step")
        builder.chain(node.output).map(lambda _: "step").connect(scope.terminate)
        builder.chain(scope.start).fork_clone(
            lambda c: c.connect(node.input),
            lambda c: (
                c.then(when_started)
                .then_trim(cf.TrimBranch.single_point(node.input))
                .map(lambda _: "trimmed")
                .connect(scope.terminate)
            ),
        )

    with anyio.fail_after(TIMEOUT):
        async with wf.start(1) as session:
            step.session = session
            await step.cancelled.wait()
            assert session.state is RUNNING
            step.release.set()
            assert await session.result() == "trimmed"
            assert step.finally_done
    assert step.state_at_end is RUNNING
    assert ("TaskCancelled", "wf", "step", True) in [brief(e) for e in session.events]


@pytest.mark.parametrize(
    ("policy", "how"),
    [
        pytest.param(
            TRY_CANCEL,
            "task",
        ),
        pytest.param(
            ABANDON,
            "task",
        ),
        pytest.param(TRY_CANCEL, "child"),
        pytest.param(
            ABANDON,
            "child",
        ),
    ],
)
async def test_work_left_by_a_trim_sends_nothing_more_into_the_session(
    policy: cf.CancellationPolicy, how: str
) -> None:
    """S6.6: work that a trim leaves running (TRY_CANCEL, ABANDON) is no activity of the
    session any more and its results are dropped: the stream messages it sends after the
    trim reach nothing in the session, which is still RUNNING."""
    started = anyio.Event()
    release = anyio.Event()
    sent_late = anyio.Event()
    trimmed = anyio.Event()
    finish = anyio.Event()
    received: list[str] = []

    @cf.service(streams={"s": str})
    async def work(x: int, *, streams: cf.Streams) -> int:
        started.set()
        streams.s.send("before the trim")
        try:
            with anyio.CancelScope(shield=policy is TRY_CANCEL):
                # TRY_CANCEL: the cancellation is seen after the release
                await release.wait()
            await anyio.lowlevel.checkpoint()
        finally:
            streams.s.send("after the trim")
            sent_late.set()
        return x

    def child(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        node = builder.create_node(work, name="work")
        builder.chain(scope.start).connect(node.input)
        builder.connect(node.streams.s, scope.streams.s)
        builder.connect(node.output, scope.terminate)

    async def when_started(x: int) -> int:
        await started.wait()
        return x

    async def hold(x: int) -> int:
        trimmed.set()
        await finish.wait()
        return x

    @cf.workflow
    def wf(scope: cf.Scope[int, str], builder: cf.Builder) -> None:
        if how == "task":
            node = builder.create_node(work, name="work", cancellation=policy)
        else:
            node = builder.create_scope(
                child, name="child", streams={"s": str}, cancellation=policy
            )
        builder.chain(node.streams.s).map(received.append).dispose()
        builder.chain(node.output).map(lambda x: received.append(f"output {x}")).dispose()
        builder.chain(scope.start).fork_clone(
            lambda c: c.connect(node.input),
            lambda c: (
                c.then(when_started)
                .then_trim(cf.TrimBranch.single_point(node.input))
                .then(hold)
                .map(lambda _: "done")
                .connect(scope.terminate)
            ),
        )

    with anyio.fail_after(TIMEOUT):
        async with wf.start(1) as session:
            await trimmed.wait()
            release.set()
            await sent_late.wait()
            assert session.state is RUNNING
            finish.set()
            assert await session.result() == "done"
    assert received == ["before the trim"]


# --------------------------------------------------------------------------- building


async def _async_identity(x: int) -> int:
    await anyio.lowlevel.checkpoint()
    return x


def _blocking_identity(x: int) -> int:
    return x


def _inner(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
    builder.chain(scope.start).then(_async_identity).connect(scope.terminate)


_INNER_WF = cf.Workflow.build(_inner, name="inner_wf")

ENTRY_POINTS: dict[str, Callable[[cf.Builder, cf.Chain[int], Any, Any], cf.Chain[int]]] = {
    "create_node": lambda b, c, provider, policy: b.chain(
        _connected(b, c, b.create_node(provider, cancellation=policy))
    ),
    "then": lambda b, c, provider, policy: c.then(provider, cancellation=policy),
    "then_node": lambda b, c, provider, policy: b.chain(
        _connected(b, c, c.then_node(provider, cancellation=policy), linked=True)
    ),
    "then_scope": lambda b, c, provider, policy: c.then_scope(_inner, cancellation=policy),
    "create_scope": lambda b, c, provider, policy: b.chain(
        _connected(b, c, b.create_scope(_inner, cancellation=policy))
    ),
}


def _connected(
    b: cf.Builder, c: cf.Chain[int], node: cf.Node[int, int], *, linked: bool = False
) -> cf.Output[int]:
    if not linked:
        c.connect(node.input)
    return node.output


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
@pytest.mark.parametrize("policy", list(cf.CancellationPolicy))
async def test_every_entry_point_accepts_a_policy(
    entry: str, policy: cf.CancellationPolicy
) -> None:
    """API §6: `create_node`, `then`, `then_node`, `then_scope` and `create_scope` take
    `cancellation=`; a workflow built with any policy runs normally."""

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        chain = ENTRY_POINTS[entry](builder, builder.chain(scope.start), _async_identity, policy)
        chain.connect(scope.terminate)

    with anyio.fail_after(TIMEOUT):
        assert await wf.run(7) == 7


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
@pytest.mark.parametrize("value", ["wait", "WAIT", None, 0, True])
def test_a_policy_that_is_not_a_cancellation_policy_is_refused(entry: str, value: object) -> None:
    """API §6: `cancellation=` takes a `cf.CancellationPolicy` only (not its value or
    name as a string); anything else is an InvalidArgument at build time."""

    def build(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        chain = ENTRY_POINTS[entry](builder, builder.chain(scope.start), _async_identity, value)
        chain.connect(scope.terminate)

    with pytest.raises(cf.InvalidArgument, match=r"cf\.CancellationPolicy"):
        cf.Workflow.build(build, name="wf")


@pytest.mark.parametrize("entry", ["create_node", "then", "then_node"])
@pytest.mark.parametrize("policy", [TRY_CANCEL, ABANDON])
def test_a_non_wait_policy_on_a_blocking_service_is_refused(
    entry: str, policy: cf.CancellationPolicy
) -> None:
    """S6.6: a blocking (plain `def`) service runs inline and is never cancelled, so a
    policy other than WAIT is an InvalidArgument that says so."""

    @cf.service
    def blocking_service(x: int) -> int:
        return x

    for provider in (_blocking_identity, blocking_service):

        def build(scope: cf.Scope[int, int], builder: cf.Builder, provider: Any = provider) -> None:
            chain = ENTRY_POINTS[entry](builder, builder.chain(scope.start), provider, policy)
            chain.connect(scope.terminate)

        with pytest.raises(cf.InvalidArgument, match=r"blocking service") as caught:
            cf.Workflow.build(build, name="wf")
        message = str(caught.value)
        assert "inline" in message
        assert repr(policy) in message


@pytest.mark.parametrize("entry", ["create_node", "then", "then_node"])
async def test_wait_on_a_blocking_service_is_fine(entry: str) -> None:
    """S6.6: WAIT, the default, is accepted for a blocking service."""

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        chain = ENTRY_POINTS[entry](builder, builder.chain(scope.start), _blocking_identity, WAIT)
        chain.connect(scope.terminate)

    with anyio.fail_after(TIMEOUT):
        assert await wf.run(3) == 3


@pytest.mark.parametrize("policy", list(cf.CancellationPolicy))
async def test_a_workflow_node_accepts_every_policy(policy: cf.CancellationPolicy) -> None:
    """API §6: a workflow used as a node (`then(wf, cancellation=...)`) takes any policy."""

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(_INNER_WF, cancellation=policy).connect(scope.terminate)

    with anyio.fail_after(TIMEOUT):
        assert await wf.run(4) == 4


def test_policy_repr() -> None:
    """API §6: policies print as they are written."""
    assert repr(cf.CancellationPolicy.WAIT) == "CancellationPolicy.WAIT"
    assert repr(cf.CancellationPolicy.TRY_CANCEL) == "CancellationPolicy.TRY_CANCEL"
    assert repr(cf.CancellationPolicy.ABANDON) == "CancellationPolicy.ABANDON"
    assert list(cf.CancellationPolicy) == [WAIT, TRY_CANCEL, ABANDON]


@pytest.mark.parametrize("api", ["run", "start"])
async def test_cancelling_the_caller_cancels_work_left_in_the_background(api: str) -> None:
    """S6.6, API §2, API §3: an ABANDON task that never ends keeps `run` (or the
    `async with` block) waiting only until the caller is cancelled: then the left work is
    cancelled too, its `finally` runs, and the caller's cancel scope catches it."""
    started = anyio.Event()
    log: list[str] = []

    async def forever(x: int) -> int:
        started.set()
        try:
            await anyio.sleep_forever()
        finally:
            log.append("finally")
        return x  # pragma: no cover

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        node = builder.create_node(forever, cancellation=ABANDON)
        builder.chain(scope.start).fork_clone(
            lambda c: c.connect(node.input),
            lambda c: c.map(_wait_for(started)).then_cancel(),
        )
        builder.chain(node.output).connect(scope.terminate)

    with anyio.fail_after(TIMEOUT):
        with anyio.move_on_after(0.2) as outer:
            if api == "run":
                # the root ends at once (Triggered), then run waits for the left task
                # until the caller's deadline: the backend's cancellation propagates
                await wf.run(1)
            else:
                async with wf.start(1) as session:
                    with pytest.raises(cf.WorkflowCancelled):
                        await session.result()
    assert outer.cancelled_caught
    assert log == ["finally"]


def _wait_for(event: anyio.Event) -> Any:
    async def wait(x: int) -> int:
        await event.wait()
        return x

    return wait
