"""The event log of a session: which events, in which order, in which session (S9.1, S9.2).

Each scenario compares the exact sequence of event kinds, then the events themselves
with their timestamps set aside (events compare by value), and checks what every
event must satisfy (`check_log`): timestamps never go back, `to_dict()` is JSON, and
`str()` names the kind.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Sequence
from typing import Any

import anyio
import anyio.lowlevel
import attrs
import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from support import Parked

import crossflow as cf
from crossflow import events as ev
from crossflow.testing import DrawnWorkflow, untimed, workflows
from crossflow.testing import event_kinds as kinds

pytestmark = pytest.mark.anyio

UNINTERRUPTIBLE = cf.ScopeSettings(uninterruptible=True)
FINAL = (ev.Terminated, ev.Cancelled)


# --------------------------------------------------------------------------- helpers


def of(events: Sequence[ev.Event], path: tuple[str, ...]) -> list[ev.Event]:
    return [e for e in events if e.path == path]


def check_log(events: Sequence[ev.Event]) -> None:
    """S9.2: what holds for every event of every log."""
    assert events, "an empty event log"
    times = [e.time for e in events]
    assert times == sorted(times), "timestamps go back in time"
    for e in events:
        assert isinstance(e, cf.Event)
        assert math.isfinite(e.time)
        data = json.loads(json.dumps(e.to_dict()))
        assert data["kind"] == type(e).__name__
        assert data["time"] == e.time
        assert data["path"] == list(e.path)
        assert type(e).__name__ in str(e)
        assert "/".join(e.path) in str(e)


async def outcome(session: cf.Session[Any]) -> Any:
    """The response, or the `WorkflowCancelled` itself."""
    try:
        return await session.result()
    except cf.WorkflowCancelled as error:
        return error


def inc(x: int) -> int:
    return x + 1


# --------------------------------------------------------------------------- endings


async def test_a_blocking_chain_that_terminates() -> None:
    """S9.2, S9.1: a blocking map then terminate: started, the map, cleanup after
    terminate (no cancellation), terminated."""

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).map(inc, name="inc").connect(scope.terminate)

    with anyio.fail_after(5):
        async with wf.start(1) as session:
            assert await session.result() == 2
    assert session.state is cf.SessionState.TERMINATED
    events = session.events
    check_log(events)
    p = ("wf",)
    assert kinds(events) == [
        "SessionStarted",
        "OperationStarted",
        "OperationFinished",
        "CleanupStarted",
        "CleanupFinished",
        "Terminated",
    ]
    assert untimed(events) == [
        ev.SessionStarted(0.0, p, "wf"),
        ev.OperationStarted(0.0, p, "inc"),
        ev.OperationFinished(0.0, p, "inc"),
        ev.CleanupStarted(0.0, p, None),
        ev.CleanupFinished(0.0, p),
        ev.Terminated(0.0, p),
    ]
    finished = events[2]
    assert isinstance(finished, ev.OperationFinished)
    assert finished.error is None


async def test_an_async_service_that_terminates() -> None:
    """S9.2: an async service is bracketed by OperationStarted/OperationFinished like a
    blocking one."""

    async def double(x: int) -> int:
        await anyio.lowlevel.checkpoint()
        return 2 * x

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(double, name="double").connect(scope.terminate)

    with anyio.fail_after(5):
        async with wf.start(4) as session:
            assert await session.result() == 8
    events = session.events
    check_log(events)
    p = ("wf",)
    assert untimed(events) == [
        ev.SessionStarted(0.0, p, "wf"),
        ev.OperationStarted(0.0, p, "double"),
        ev.OperationFinished(0.0, p, "double"),
        ev.CleanupStarted(0.0, p, None),
        ev.CleanupFinished(0.0, p),
        ev.Terminated(0.0, p),
    ]
    finished = events[2]
    assert isinstance(finished, ev.OperationFinished)
    assert finished.error is None


async def test_session_cancel_while_an_async_service_is_parked() -> None:
    """S9.2, S9.1, API §3: `session.cancel()` records an honoured CancellationRequested,
    then cleanup cancels the parked task and waits for it (TaskCancelled, waited), then
    the session is Cancelled with UserCancelled."""
    park = Parked()

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(park, name="park").connect(scope.terminate)

    with anyio.fail_after(5):
        async with wf.start(1) as session:
            await park.started.wait()
            session.cancel("stop")
            error = await outcome(session)
    assert isinstance(error, cf.WorkflowCancelled)
    assert park.log == ["finally"]
    assert session.state is cf.SessionState.CANCELLED
    events = session.events
    check_log(events)
    p = ("wf",)
    cancellation = cf.Cancellation(cf.UserCancelled("stop"))
    assert kinds(events) == [
        "SessionStarted",
        "OperationStarted",
        "CancellationRequested",
        "CleanupStarted",
        "TaskCancelled",
        "CleanupFinished",
        "Cancelled",
    ]
    assert untimed(events) == [
        ev.SessionStarted(0.0, p, "wf"),
        ev.OperationStarted(0.0, p, "park"),
        ev.CancellationRequested(0.0, p, cf.UserCancelled("stop"), True),
        ev.CleanupStarted(0.0, p, cancellation),
        ev.TaskCancelled(0.0, p, "park", True),
        ev.CleanupFinished(0.0, p),
        ev.Cancelled(0.0, p, cancellation),
    ]
    assert error.cancellation == cancellation
    assert error.events == events


async def test_an_unreachable_cancellation_lists_its_disposals_as_events_first() -> None:
    """S9.2, S2.4: each disposal is a Disposed event, recorded before the cleanup of the
    Unreachable cancellation that carries them all, in the same order."""

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).map(lambda _: [None, None], name="nones").spread().map(
            lambda x: x, name="same"
        ).dispose_on_none().connect(scope.terminate)

    with anyio.fail_after(5):
        async with wf.start(1) as session:
            error = await outcome(session)
    assert isinstance(error, cf.WorkflowCancelled)
    cause = error.cancellation.cause
    assert isinstance(cause, cf.Unreachable)
    # S2.4: the same disposal twice is one entry, counted
    assert [d.count for d in cause.disposals] == [2]
    assert all(isinstance(d.cause, cf.Filtered) for d in cause.disposals)
    events = session.events
    check_log(events)
    p = ("wf",)
    assert kinds(events) == [
        "SessionStarted",
        "OperationStarted",  # nones
        "OperationFinished",
        "OperationStarted",  # same, first message
        "OperationFinished",
        "OperationStarted",  # same, second message (FIFO, S8.1)
        "OperationFinished",
        "Disposed",
        "Disposed",
        "CleanupStarted",
        "CleanupFinished",
        "Cancelled",
    ]
    disposed = [e for e in events if isinstance(e, ev.Disposed)]
    # the log has every disposal as it happened; the cause counts the repeat
    assert [e.disposal for e in disposed] == [attrs.evolve(cause.disposals[0], count=1)] * 2
    assert untimed(events[-3:]) == [
        ev.CleanupStarted(0.0, p, error.cancellation),
        ev.CleanupFinished(0.0, p),
        ev.Cancelled(0.0, p, cf.Cancellation(cf.Unreachable("wf", cause.disposals))),
    ]


@pytest.mark.parametrize("asynchronous", [False, True])
async def test_a_service_that_raises(asynchronous: bool) -> None:
    """S9.2, S4.3: the failing service's OperationFinished carries its exception; the
    session then cleans up and is Cancelled with ServiceFailed."""
    boom = ValueError("boom")

    def fail(_: int) -> int:
        raise boom

    async def fail_later(_: int) -> int:
        await anyio.lowlevel.checkpoint()
        raise boom

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        service: Any = fail_later if asynchronous else fail
        builder.chain(scope.start).then(service, name="fail").connect(scope.terminate)

    with anyio.fail_after(5):
        async with wf.start(1) as session:
            error = await outcome(session)
    assert isinstance(error, cf.WorkflowCancelled)
    assert error.__cause__ is boom
    events = session.events
    check_log(events)
    p = ("wf",)
    cancellation = cf.Cancellation(cf.ServiceFailed("fail", boom))
    assert untimed(events) == [
        ev.SessionStarted(0.0, p, "wf"),
        ev.OperationStarted(0.0, p, "fail"),
        ev.OperationFinished(0.0, p, "fail"),
        ev.CleanupStarted(0.0, p, cancellation),
        ev.CleanupFinished(0.0, p),
        ev.Cancelled(0.0, p, cancellation),
    ]
    finished = events[2]
    assert isinstance(finished, ev.OperationFinished)
    assert finished.error is boom
    assert finished.to_dict()["error"] == {"type": "ValueError", "message": "boom"}
    assert "boom" in str(finished)
    cancelled = events[-1]
    assert isinstance(cancelled, ev.Cancelled)
    assert isinstance(cancelled.cancellation.cause, cf.ServiceFailed)
    assert cancelled.cancellation.cause.error is boom


# --------------------------------------------------------------------------- nested sessions


async def test_a_child_session_is_cancelled_when_its_parent_is() -> None:
    """S9.2, S6.1: the parent's cleanup asks its child to cancel
    (ChildCancellationRequested with the child's path); the child records a honoured
    CancellationRequested with cause Interrupted, cleans up and is Cancelled before the
    parent's CleanupFinished."""
    park = Parked()

    def body(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(park, name="park").connect(scope.terminate)

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then_scope(body, name="node").connect(scope.terminate)

    with anyio.fail_after(5):
        async with wf.start(1) as session:
            await park.started.wait()
            session.cancel("stop")
            error = await outcome(session)
    assert isinstance(error, cf.WorkflowCancelled)
    assert park.log == ["finally"]
    events = session.events
    check_log(events)
    root, child = ("wf",), ("wf", "node[0]")
    user = cf.Cancellation(cf.UserCancelled("stop"))
    interrupted = cf.Cancellation(cf.Interrupted("wf"))
    assert untimed(events) == [
        ev.SessionStarted(0.0, root, "wf"),
        ev.SessionStarted(0.0, child, "node"),
        ev.OperationStarted(0.0, child, "park"),
        ev.CancellationRequested(0.0, root, cf.UserCancelled("stop"), True),
        ev.CleanupStarted(0.0, root, user),
        ev.ChildCancellationRequested(0.0, root, "node", child, True),
        ev.CancellationRequested(0.0, child, cf.Interrupted("wf"), True),
        ev.CleanupStarted(0.0, child, interrupted),
        ev.TaskCancelled(0.0, child, "park", True),
        ev.CleanupFinished(0.0, child),
        ev.Cancelled(0.0, child, interrupted),
        ev.CleanupFinished(0.0, root),
        ev.Cancelled(0.0, root, user),
    ]


async def test_an_uninterruptible_child_runs_on_and_its_parent_waits() -> None:
    """S9.2, S6.4, S9.1: the child records the request as not honoured, the parent
    records ChildCancellationFailed ("uninterruptible") and stays CANCELLING; the child
    runs to Terminated, and only then does the parent finish its cleanup."""
    started, go = anyio.Event(), anyio.Event()

    async def gated(x: int) -> int:
        started.set()
        await go.wait()
        return x

    def body(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(gated, name="gated").connect(scope.terminate)

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then_scope(body, name="node", settings=UNINTERRUPTIBLE).connect(
            scope.terminate
        )

    root, child = ("wf",), ("wf", "node[0]")
    with anyio.fail_after(5):
        async with wf.start(1) as session:
            await started.wait()
            session.cancel("stop")
            assert session.state is cf.SessionState.CANCELLING
            assert kinds(session.events)[-2:] == [
                "CancellationRequested",
                "ChildCancellationFailed",
            ]
            assert not any(isinstance(e, ev.CleanupFinished) for e in session.events)
            go.set()
            error = await outcome(session)
    assert isinstance(error, cf.WorkflowCancelled)
    assert error.cancellation == cf.Cancellation(cf.UserCancelled("stop"))
    events = session.events
    check_log(events)
    user = cf.Cancellation(cf.UserCancelled("stop"))
    assert untimed(events) == [
        ev.SessionStarted(0.0, root, "wf"),
        ev.SessionStarted(0.0, child, "node"),
        ev.OperationStarted(0.0, child, "gated"),
        ev.CancellationRequested(0.0, root, cf.UserCancelled("stop"), True),
        ev.CleanupStarted(0.0, root, user),
        ev.ChildCancellationRequested(0.0, root, "node", child, True),
        ev.CancellationRequested(0.0, child, cf.Interrupted("wf"), False),
        ev.ChildCancellationFailed(0.0, root, "node", child, "it is uninterruptible"),
        ev.OperationFinished(0.0, child, "gated"),
        ev.CleanupStarted(0.0, child, None),
        ev.CleanupFinished(0.0, child),
        ev.Terminated(0.0, child),
        ev.CleanupFinished(0.0, root),
        ev.Cancelled(0.0, root, user),
    ]
    failed = events[7]
    assert isinstance(failed, ev.ChildCancellationFailed)
    assert "uninterruptible" in failed.reason
    assert failed.to_dict()["child"] == ["wf", "node[0]"]


async def test_a_child_that_is_already_ending_is_not_cancelled() -> None:
    """S9.2, S9.1: the parent is cancelled while its child, having reached terminate,
    runs its `on_terminate` cleanup: the child records the request as not honoured,
    the parent records ChildCancellationFailed ("already ending"), and the child still
    ends as Terminated before the parent's CleanupFinished."""
    reached, go = anyio.Event(), anyio.Event()

    async def slow_clean(_: Any) -> None:
        reached.set()
        await go.wait()

    def cleanup(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(slow_clean, name="slow_clean").connect(scope.terminate)

    def body(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.connect(scope.start, scope.terminate)
        builder.on_terminate((), cleanup)

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then_scope(body, name="node").connect(scope.terminate)

    with anyio.fail_after(5):
        async with wf.start(1) as session:
            await reached.wait()
            session.cancel("stop")
            go.set()
            error = await outcome(session)
    assert isinstance(error, cf.WorkflowCancelled)
    events = session.events
    check_log(events)
    root, child, cleaner = ("wf",), ("wf", "node[0]"), ("wf", "node[0]", "on_terminate[0]")
    user = cf.Cancellation(cf.UserCancelled("stop"))
    assert [(type(e).__name__, e.path) for e in events] == [
        ("SessionStarted", root),
        ("SessionStarted", child),
        ("CleanupStarted", child),
        ("SessionStarted", cleaner),
        ("OperationStarted", cleaner),
        ("CancellationRequested", root),
        ("CleanupStarted", root),
        ("ChildCancellationRequested", root),
        ("CancellationRequested", child),
        ("ChildCancellationFailed", root),
        ("OperationFinished", cleaner),
        ("CleanupStarted", cleaner),
        ("CleanupFinished", cleaner),
        ("Terminated", cleaner),
        ("CleanupFinished", child),
        ("Terminated", child),
        ("CleanupFinished", root),
        ("Cancelled", root),
    ]
    assert untimed(events[7:10]) == [
        ev.ChildCancellationRequested(0.0, root, "node", child, True),
        ev.CancellationRequested(0.0, child, cf.Interrupted("wf"), False),
        ev.ChildCancellationFailed(0.0, root, "node", child, "it was already ending"),
    ]
    assert untimed(events[-2:]) == [ev.CleanupFinished(0.0, root), ev.Cancelled(0.0, root, user)]


async def test_two_messages_into_one_nested_scope_open_node_0_and_node_1() -> None:
    """S9.2, S1.1: every message entering a nested scope opens its own child session,
    numbered in the order they opened."""

    def body(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).map(inc, name="inc").connect(scope.terminate)

    @cf.workflow
    def wf(scope: cf.Scope[int, list[int]], builder: cf.Builder) -> None:
        builder.chain(scope.start).map(lambda x: [x, 10 * x], name="pair").spread().then_scope(
            body, name="node"
        ).collect_all().connect(scope.terminate)

    with anyio.fail_after(5):
        async with wf.start(1) as session:
            assert sorted(await session.result()) == [2, 11]
    events = session.events
    check_log(events)
    paths = list(dict.fromkeys(e.path for e in events))
    assert paths == [("wf",), ("wf", "node[0]"), ("wf", "node[1]")]
    for child in paths[1:]:
        assert untimed(of(events, child)) == [
            ev.SessionStarted(0.0, child, "node"),
            ev.OperationStarted(0.0, child, "inc"),
            ev.OperationFinished(0.0, child, "inc"),
            ev.CleanupStarted(0.0, child, None),
            ev.CleanupFinished(0.0, child),
            ev.Terminated(0.0, child),
        ]
    # the parent ends after both children
    assert kinds(events)[-3:] == ["CleanupStarted", "CleanupFinished", "Terminated"]
    assert all(e.path == ("wf",) for e in events[-3:])


# --------------------------------------------------------------------------- cleanup


async def test_a_cleanup_workflow_runs_between_cleanup_started_and_finished() -> None:
    """S9.2, S6.1: an `on_cancel` workflow is a session of its own, path
    `(..., "on_cancel[0]")`, whose events all lie between the cancelled session's
    CleanupStarted (and TaskCancelled) and its CleanupFinished."""
    park = Parked()
    seen: list[str] = []

    def cleanup(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        builder.chain(scope.start).map(lambda _: seen.append("on_cancel"), name="clean").connect(
            scope.terminate
        )

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(park, name="park").connect(scope.terminate)
        builder.on_cancel((), cleanup)

    with anyio.fail_after(5):
        async with wf.start(1) as session:
            await park.started.wait()
            session.cancel()
            error = await outcome(session)
    assert isinstance(error, cf.WorkflowCancelled)
    assert seen == ["on_cancel"]
    events = session.events
    check_log(events)
    root, cleaner = ("wf",), ("wf", "on_cancel[0]")
    assert [(type(e).__name__, e.path) for e in events] == [
        ("SessionStarted", root),
        ("OperationStarted", root),
        ("CancellationRequested", root),
        ("CleanupStarted", root),
        ("TaskCancelled", root),
        ("SessionStarted", cleaner),
        ("OperationStarted", cleaner),
        ("OperationFinished", cleaner),
        ("CleanupStarted", cleaner),
        ("CleanupFinished", cleaner),
        ("Terminated", cleaner),
        ("CleanupFinished", root),
        ("Cancelled", root),
    ]
    cleaner_events = of(events, cleaner)
    assert isinstance(cleaner_events[1], ev.OperationStarted)
    assert cleaner_events[1].operation == "clean"
    assert isinstance(cleaner_events[3], ev.CleanupStarted)
    assert cleaner_events[3].cancellation is None
    assert untimed(events[-1:]) == [
        ev.Cancelled(0.0, root, cf.Cancellation(cf.UserCancelled(None)))
    ]


async def test_a_cancelled_cleanup_workflow_is_a_cleanup_failed_event() -> None:
    """S9.2, S4.4: a cleanup workflow that is cancelled is recorded as CleanupFailed in
    the session it cleans up, before that session's CleanupFinished; the session's
    cancellation lists it in `while_cancelling`."""

    def cleanup(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        builder.chain(scope.start).map(lambda _: "no", name="refuse").then_cancel()

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).map(lambda _: None, name="none").cancel_on_none().connect(
            scope.terminate
        )
        builder.on_cancel((), cleanup)

    with anyio.fail_after(5):
        async with wf.start(1) as session:
            error = await outcome(session)
    assert isinstance(error, cf.WorkflowCancelled)
    events = session.events
    check_log(events)
    root, cleaner = ("wf",), ("wf", "on_cancel[0]")
    assert [(type(e).__name__, e.path) for e in events] == [
        ("SessionStarted", root),
        ("OperationStarted", root),
        ("OperationFinished", root),
        ("CleanupStarted", root),
        ("SessionStarted", cleaner),
        ("OperationStarted", cleaner),
        ("OperationFinished", cleaner),
        ("CleanupStarted", cleaner),
        ("CleanupFinished", cleaner),
        ("Cancelled", cleaner),
        ("CleanupFailed", root),
        ("CleanupFinished", root),
        ("Cancelled", root),
    ]
    cleaner_cancelled = events[9]
    failed = events[10]
    assert isinstance(cleaner_cancelled, ev.Cancelled)
    assert isinstance(failed, ev.CleanupFailed)
    cause = cleaner_cancelled.cancellation.cause
    assert isinstance(cause, cf.Triggered)
    assert cause.value == "no"
    assert failed.cancellation == cleaner_cancelled.cancellation
    assert error.cancellation.while_cancelling == (failed.cancellation,)
    assert isinstance(error.cancellation.cause, cf.Filtered)
    assert events[-1] == ev.Cancelled(events[-1].time, root, error.cancellation)


async def test_a_service_failing_during_cleanup_is_recorded() -> None:
    """S9.2, S4.3: an async service that is cancelled by cleanup and raises while
    handling it records OperationFinished with its error, then CleanupFailed with
    ServiceFailed; the session is still Cancelled with its own cause, the failure in
    `while_cancelling`."""
    started = anyio.Event()
    failure = ValueError("cleanup went wrong")

    async def stubborn(x: int) -> int:
        started.set()
        try:
            await anyio.sleep_forever()
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.lowlevel.checkpoint()
                raise failure
        return x  # pragma: no cover

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(stubborn, name="stubborn").connect(scope.terminate)

    with anyio.fail_after(5):
        async with wf.start(1) as session:
            await started.wait()
            session.cancel("stop")
            error = await outcome(session)
    assert isinstance(error, cf.WorkflowCancelled)
    events = session.events
    check_log(events)
    p = ("wf",)
    failed = cf.Cancellation(cf.ServiceFailed("stubborn", failure))
    user = cf.Cancellation(cf.UserCancelled("stop"))
    assert kinds(events) == [
        "SessionStarted",
        "OperationStarted",
        "CancellationRequested",
        "CleanupStarted",
        "OperationFinished",
        "CleanupFailed",
        "CleanupFinished",
        "Cancelled",
    ]
    assert untimed(events) == [
        ev.SessionStarted(0.0, p, "wf"),
        ev.OperationStarted(0.0, p, "stubborn"),
        ev.CancellationRequested(0.0, p, cf.UserCancelled("stop"), True),
        ev.CleanupStarted(0.0, p, user),
        ev.OperationFinished(0.0, p, "stubborn"),
        ev.CleanupFailed(0.0, p, failed),
        ev.CleanupFinished(0.0, p),
        ev.Cancelled(0.0, p, cf.Cancellation(cf.UserCancelled("stop"), (failed,))),
    ]
    finished = events[4]
    assert isinstance(finished, ev.OperationFinished)
    assert finished.error is failure
    assert error.cancellation.while_cancelling == (failed,)


async def test_a_pending_delay_cancelled_by_cleanup_is_timer_cancelled() -> None:
    """S9.2, S6.1: cleanup cancels a pending `delay`: TimerCancelled (not TaskCancelled)."""

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).delay(30).connect(scope.terminate)

    with anyio.fail_after(5):
        async with wf.start(1) as session:
            while not any(isinstance(e, ev.OperationStarted) for e in session.events):
                await anyio.sleep(0.001)
            session.cancel("stop")
            error = await outcome(session)
    assert isinstance(error, cf.WorkflowCancelled)
    events = session.events
    check_log(events)
    p = ("wf",)
    started = events[1]
    assert isinstance(started, ev.OperationStarted)
    delay = started.operation
    assert delay.startswith("delay")
    user = cf.Cancellation(cf.UserCancelled("stop"))
    assert untimed(events) == [
        ev.SessionStarted(0.0, p, "wf"),
        ev.OperationStarted(0.0, p, delay),
        ev.CancellationRequested(0.0, p, cf.UserCancelled("stop"), True),
        ev.CleanupStarted(0.0, p, user),
        ev.TimerCancelled(0.0, p, delay),
        ev.CleanupFinished(0.0, p),
        ev.Cancelled(0.0, p, user),
    ]


# --------------------------------------------------------------------------- every event


def test_every_event_kind_prints_and_serialises() -> None:
    """S9.2: each kind's `str()` names it and its `to_dict()` goes through JSON with its
    own fields."""
    p = ("wf", "node[0]")
    user = cf.Cancellation(cf.UserCancelled("stop"))
    samples: list[ev.Event] = [
        ev.SessionStarted(1.0, p, "node"),
        ev.OperationStarted(1.0, p, "op"),
        ev.OperationFinished(1.0, p, "op"),
        ev.OperationFinished(1.0, p, "op", ValueError("bad")),
        ev.Disposed(1.0, p, cf.Disposal("op", cf.EmptySpread("op"))),
        ev.CancellationRequested(1.0, p, cf.UserCancelled("stop"), False),
        ev.ChildCancellationRequested(1.0, p, "node", ("wf", "node[0]", "inner[0]"), False),
        ev.ChildCancellationFailed(1.0, p, "node", ("wf", "node[0]", "inner[0]"), "why"),
        ev.ChildAbandoned(1.0, p, "node", ("wf", "node[0]", "inner[0]")),
        ev.CleanupStarted(1.0, p, None),
        ev.CleanupStarted(1.0, p, user),
        ev.TaskCancelled(1.0, p, "op", False),
        ev.TaskAbandoned(1.0, p, "op"),
        ev.TimerCancelled(1.0, p, "delay#1"),
        ev.CleanupFinished(1.0, p),
        ev.CleanupFailed(1.0, p, cf.Cancellation(cf.ServiceFailed("op", ValueError("x")))),
        ev.Terminated(1.0, p),
        ev.Cancelled(1.0, p, user),
        ev.OperationQueued(1.0, p, "op", 3),
        ev.OperationTimedOut(1.0, p, "op", 2.5, 1, False, "it runs on"),
        ev.AttemptFailed(1.0, p, "op", 1, 3, ValueError("flaky"), 0.1),
    ]
    assert {type(e).__name__ for e in samples} == set(ev.__all__) - {"Event"}
    check_log(samples)
    data = [json.loads(json.dumps(e.to_dict())) for e in samples]
    assert data[0] == {"kind": "SessionStarted", "time": 1.0, "path": list(p), "scope": "node"}
    assert data[3]["error"] == {"type": "ValueError", "message": "bad"}
    assert data[6]["child"] == ["wf", "node[0]", "inner[0]"]
    assert data[6]["waited"] is False
    assert data[9]["cancellation"] is None
    assert data[10]["cancellation"]["cause"]["kind"] == "UserCancelled"
    assert data[5]["honoured"] is False
    assert "runs on" in str(samples[5])


# --------------------------------------------------------------------------- property


def _index(events: Sequence[ev.Event], path: tuple[str, ...], kind: type[ev.Event]) -> list[int]:
    return [i for i, e in enumerate(events) if e.path == path and isinstance(e, kind)]


@given(
    drawn=workflows(max_operations=10, allow_failures=True),
    request=st.integers(-20, 20),
    cancel_after=st.none() | st.integers(0, 10),
)
async def test_every_session_of_a_random_workflow_has_a_well_formed_log(
    drawn: DrawnWorkflow, request: int, cancel_after: int | None
) -> None:
    """S9.2, S9.1, S6.1: for every session path in the log of a random run, left alone
    or cancelled with `session.cancel()` after some checkpoints:

    * exactly one SessionStarted, its first event, and exactly one final event
      (Terminated or Cancelled), its last: nothing of the session is recorded after it;
    * exactly one CleanupStarted, followed by exactly one CleanupFinished, then the
      final event; no operation of the session starts once its cleanup started, and
      tasks and timers are cancelled only during cleanup;
    * a honoured CancellationRequested is followed by the session's CleanupStarted
      with that cause;
    * a child session starts after its parent and ends before its parent's
      CleanupFinished, and every ChildCancellationRequested names a child of the log;
    * the root's final event is the run's outcome.
    """

    async def cancel_later(session: cf.Session[Any]) -> None:
        assert cancel_after is not None
        for _ in range(cancel_after):
            await anyio.lowlevel.checkpoint()
        session.cancel("drawn")

    # a service failing while its session cleans up after terminate is a CrossflowWarning
    # at the end of the run (S4.3): recorded here, not raised
    with anyio.fail_after(5), warnings.catch_warnings(record=True):
        warnings.simplefilter("always", cf.CrossflowWarning)
        async with drawn.workflow.start(request) as session, anyio.create_task_group() as tg:
            if cancel_after is not None:
                tg.start_soon(cancel_later, session)
            result = await outcome(session)
    events = session.events
    check_log(events)
    paths = list(dict.fromkeys(e.path for e in events))
    assert paths[0] == ("drawn",)
    event("cancelled" if isinstance(result, cf.WorkflowCancelled) else "terminated")
    event(f"sessions: {min(len(paths), 3)}{'+' if len(paths) > 3 else ''}")
    if any(isinstance(e, ev.CancellationRequested) for e in events):
        event("cancellation requested")
    for path in paths:
        mine = [i for i, e in enumerate(events) if e.path == path]
        first, last = mine[0], mine[-1]
        started = _index(events, path, ev.SessionStarted)
        finals = [i for i in mine if isinstance(events[i], FINAL)]
        assert started == [first], (path, kinds(of(events, path)))
        assert finals == [last], (path, kinds(of(events, path)))
        cleanup_started = _index(events, path, ev.CleanupStarted)
        cleanup_finished = _index(events, path, ev.CleanupFinished)
        assert len(cleanup_started) == 1, (path, kinds(of(events, path)))
        assert len(cleanup_finished) == 1, (path, kinds(of(events, path)))
        assert cleanup_started[0] < cleanup_finished[0] < last
        # nothing but the outcome follows CleanupFinished
        assert [i for i in mine if i > cleanup_finished[0]] == [last]
        for i in _index(events, path, ev.OperationStarted):
            assert i < cleanup_started[0], (path, kinds(of(events, path)))
        for kind in (ev.TaskCancelled, ev.TimerCancelled):
            for i in _index(events, path, kind):
                assert cleanup_started[0] < i < cleanup_finished[0]
        cleanup = events[cleanup_started[0]]
        final = events[last]
        assert isinstance(cleanup, ev.CleanupStarted)
        if isinstance(final, ev.Terminated):
            assert cleanup.cancellation is None
        else:
            assert isinstance(final, ev.Cancelled)
            assert cleanup.cancellation is not None
            assert final.cancellation.cause == cleanup.cancellation.cause
        for i in _index(events, path, ev.CancellationRequested):
            requested = events[i]
            assert isinstance(requested, ev.CancellationRequested)
            if requested.honoured:
                after = next(j for j in mine if j > i)
                assert after == cleanup_started[0]
                assert cleanup.cancellation == cf.Cancellation(requested.cause)
        if len(path) > 1:
            parent = path[:-1]
            assert parent in paths
            parent_started = _index(events, parent, ev.SessionStarted)[0]
            parent_finished = _index(events, parent, ev.CleanupFinished)[0]
            assert parent_started < first
            assert last < parent_finished
    for e in events:
        if isinstance(e, (ev.ChildCancellationRequested, ev.ChildCancellationFailed)):
            assert e.child in paths
            assert e.child[:-1] == e.path
    final = events[-1]
    assert final.path == ("drawn",)
    if isinstance(result, cf.WorkflowCancelled):
        assert session.state is cf.SessionState.CANCELLED
        assert final == ev.Cancelled(final.time, ("drawn",), result.cancellation)
        assert result.events == events
    else:
        assert session.state is cf.SessionState.TERMINATED
        assert isinstance(final, ev.Terminated)
