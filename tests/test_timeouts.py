"""Scope timeouts: `cf.ScopeSettings(timeout=seconds)` cancels a scope that runs too long
with `TimedOut`, uninterruptible or not (S6.5).

Every timeout here is short (0.05 s) and ends a service that would otherwise park
forever; a timeout that must not fire is long (30 s) against work that ends at once,
so no test depends on two similar durations.
"""

from __future__ import annotations

import math
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from support import Parked

import crossflow as cf
from crossflow import events as ev
from crossflow.testing import assert_cancelled, untimed
from crossflow.testing import assert_completes as run
from crossflow.testing import event_kinds as kinds

pytestmark = pytest.mark.anyio

SHORT = 0.05
LONG = 30.0
TIMES_OUT = cf.ScopeSettings(timeout=SHORT)
BuildFn = Any


def parked_body(park: Parked) -> BuildFn:
    def body(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(park, name="park").connect(scope.terminate)

    return body


async def outcome(session: cf.Session[Any]) -> Any:
    try:
        return await session.result()
    except cf.WorkflowCancelled as error:
        return error


# --------------------------------------------------------------------------- root scopes


async def test_a_root_scope_that_runs_too_long_is_timed_out() -> None:
    """S6.5, S4.2: the root's service parks forever; after the timeout the run raises
    WorkflowCancelled with `TimedOut(scope, seconds)`, and the service's `finally` ran."""
    park = Parked()

    @cf.workflow(settings=TIMES_OUT)
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(park, name="park").connect(scope.terminate)

    error = await assert_cancelled(wf, 1)
    assert error.cancellation == cf.Cancellation(cf.TimedOut("wf", SHORT))
    cause = error.cancellation.cause
    assert isinstance(cause, cf.TimedOut)
    assert cause.scope == "wf"
    assert cause.seconds == SHORT
    assert park.log == ["finally"]


async def test_a_timeout_is_recorded_as_the_cleanups_cancellation() -> None:
    """S6.5, S9.2: a timeout is internal: no CancellationRequested; CleanupStarted carries
    the TimedOut cancellation, the parked task is cancelled, the session is Cancelled."""
    park = Parked()

    @cf.workflow(settings=TIMES_OUT)
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(park, name="park").connect(scope.terminate)

    with anyio.fail_after(5):
        async with wf.start(1) as session:
            error = await outcome(session)
    assert isinstance(error, cf.WorkflowCancelled)
    assert session.state is cf.SessionState.CANCELLED
    p = ("wf",)
    timed_out = cf.Cancellation(cf.TimedOut("wf", SHORT))
    assert untimed(session.events) == [
        ev.SessionStarted(0.0, p, "wf"),
        ev.OperationStarted(0.0, p, "park"),
        ev.CleanupStarted(0.0, p, timed_out),
        ev.TaskCancelled(0.0, p, "park", True),
        ev.CleanupFinished(0.0, p),
        ev.Cancelled(0.0, p, timed_out),
    ]
    # the timeout fired no earlier than it was set for
    started, cleanup = session.events[0], session.events[2]
    assert cleanup.time - started.time >= SHORT * 0.9


async def test_a_blocking_only_workflow_that_never_converges_is_timed_out() -> None:
    """S6.5: a cycle of blocking operations that never reaches terminate (terminate stays
    reachable, so nothing else would end it) is cancelled by its timeout."""

    def add_one(x: int) -> int:
        return x + 1

    @cf.workflow(settings=TIMES_OUT)
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        step = builder.create_node(add_one, name="step")
        builder.connect(scope.start, step.input)
        builder.chain(step.output).map(lambda x: x if x >= 0 else None, name="check").fork_option(
            some=lambda c: c.connect(step.input),
            none=lambda c: c.map(lambda _: -1, name="never").connect(scope.terminate),
        )

    with anyio.fail_after(10):
        try:
            await wf.run(0, events=False)
        except cf.WorkflowCancelled as error:
            assert error.cancellation == cf.Cancellation(cf.TimedOut("wf", SHORT))
            assert error.events == ()
        else:  # pragma: no cover
            pytest.fail("a never-ending blocking cycle responded")


@pytest.mark.parametrize("asynchronous", [False, True])
async def test_a_session_that_ends_in_time_terminates_and_returns_promptly(
    asynchronous: bool,
) -> None:
    """S6.5, S9.1: a session that reaches terminate before its (long) timeout is
    TERMINATED, nothing fires later, and neither `run` nor the `async with` block waits
    for the timeout."""

    async def double(x: int) -> int:
        await anyio.lowlevel.checkpoint()
        return 2 * x

    def double_now(x: int) -> int:
        return 2 * x

    @cf.workflow(settings=cf.ScopeSettings(timeout=LONG))
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        service: Any = double if asynchronous else double_now
        builder.chain(scope.start).then(service, name="double").connect(scope.terminate)

    with anyio.fail_after(5):
        assert await wf.run(3) == 6
        async with wf.start(4) as session:
            assert await session.result() == 8
    assert session.state is cf.SessionState.TERMINATED
    assert kinds(session.events) == [
        "SessionStarted",
        "OperationStarted",
        "OperationFinished",
        "CleanupStarted",
        "CleanupFinished",
        "Terminated",
    ]


async def test_a_timeout_does_not_fire_while_the_session_is_terminating() -> None:
    """S6.5, S9.1: once terminate is reached the timeout no longer applies: a slow
    `on_terminate` cleanup that outlasts the timeout does not turn the response into a
    cancellation."""
    log: list[str] = []

    async def slow_cleanup(_: Any) -> None:
        await anyio.sleep(SHORT * 4)  # models slow cleanup work, longer than the timeout
        log.append("cleaned")

    def cleanup(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(slow_cleanup).connect(scope.terminate)

    @cf.workflow(settings=TIMES_OUT)
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.connect(scope.start, scope.terminate)
        builder.on_terminate((), cleanup)

    with anyio.fail_after(5):
        async with wf.start(7) as session:
            assert await session.result() == 7
    assert log == ["cleaned"]
    assert session.state is cf.SessionState.TERMINATED
    assert not any(isinstance(e, ev.Cancelled) for e in session.events)
    assert kinds(session.events)[-2:] == ["CleanupFinished", "Terminated"]


async def test_cleanup_workflows_run_after_a_timeout() -> None:
    """S6.5, S6.2: a timeout is a cancellation: `on_cancel` and `on_cleanup` run (not
    `on_terminate`), between the session's CleanupStarted and CleanupFinished."""
    park = Parked()
    log: list[str] = []

    def recorder(tag: str) -> BuildFn:
        def build(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
            builder.chain(scope.start).map(lambda _: log.append(tag), name=tag).connect(
                scope.terminate
            )

        return build

    @cf.workflow(settings=TIMES_OUT)
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(park, name="park").connect(scope.terminate)
        builder.on_cancel((), recorder("on_cancel"))
        builder.on_terminate((), recorder("on_terminate"))
        builder.on_cleanup((), recorder("on_cleanup"))

    with anyio.fail_after(5):
        async with wf.start(1) as session:
            error = await outcome(session)
    assert isinstance(error, cf.WorkflowCancelled)
    assert error.cancellation == cf.Cancellation(cf.TimedOut("wf", SHORT))
    assert sorted(log) == ["on_cancel", "on_cleanup"]
    assert park.log == ["finally"]
    events = session.events
    root = [i for i, e in enumerate(events) if e.path == ("wf",)]
    started = next(i for i in root if isinstance(events[i], ev.CleanupStarted))
    finished = next(i for i in root if isinstance(events[i], ev.CleanupFinished))
    cleaners = {e.path for e in events if e.path != ("wf",)}
    assert cleaners == {("wf", "on_cancel[0]"), ("wf", "on_cleanup[0]")}
    for i, e in enumerate(events):
        if e.path != ("wf",):
            assert started < i < finished, e


# --------------------------------------------------------------------------- nested scopes


async def test_a_nested_scope_that_times_out_is_a_scope_cancelled_disposal() -> None:
    """S6.5, S1.7, S5.3: a nested scope's timeout cancels only its child session; the
    parent records `ScopeCancelled(Cancellation(TimedOut))` and a `collect(min=0, max=1)`
    fallback turns it into `[]`."""
    park = Parked()

    @cf.workflow
    def wf(scope: cf.Scope[int, list[int]], builder: cf.Builder) -> None:
        builder.chain(scope.start).then_scope(
            parked_body(park), name="slow", settings=TIMES_OUT
        ).collect(min=0, max=1).connect(scope.terminate)

    with anyio.fail_after(5):
        async with wf.start(1) as session:
            assert await session.result() == []
    assert park.log == ["finally"]
    timed_out = cf.Cancellation(cf.TimedOut("slow", SHORT))
    disposed = [e for e in session.events if isinstance(e, ev.Disposed)]
    assert [(e.path, e.disposal) for e in disposed] == [
        (("wf",), cf.Disposal("slow", cf.ScopeCancelled(timed_out)))
    ]
    child = [e for e in session.events if e.path == ("wf", "slow[0]")]
    assert untimed(child) == [
        ev.SessionStarted(0.0, ("wf", "slow[0]"), "slow"),
        ev.OperationStarted(0.0, ("wf", "slow[0]"), "park"),
        ev.CleanupStarted(0.0, ("wf", "slow[0]"), timed_out),
        ev.TaskCancelled(0.0, ("wf", "slow[0]"), "park", True),
        ev.CleanupFinished(0.0, ("wf", "slow[0]")),
        ev.Cancelled(0.0, ("wf", "slow[0]"), timed_out),
    ]
    assert session.state is cf.SessionState.TERMINATED


@pytest.mark.parametrize("how", ["then_scope", "create_scope", "workflow node"])
async def test_a_nested_timeout_without_fallback_makes_the_parent_unreachable(how: str) -> None:
    """S6.5, S1.7, S2.4, S1.1: without a fallback the parent is cancelled as Unreachable,
    carrying the TimedOut child's ScopeCancelled disposal; the same for `create_scope`
    and for a workflow used as a node."""
    park = Parked()
    body = parked_body(park)

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        if how == "then_scope":
            builder.chain(scope.start).then_scope(body, name="slow", settings=TIMES_OUT).connect(
                scope.terminate
            )
        elif how == "create_scope":
            node = builder.create_scope(body, name="slow", settings=TIMES_OUT)
            builder.connect(scope.start, node.input)
            builder.connect(node.output, scope.terminate)
        else:
            child = cf.Workflow.build(body, name="slow", settings=TIMES_OUT)
            builder.chain(scope.start).then(child, name="slow").connect(scope.terminate)

    error = await assert_cancelled(wf, 1)
    assert park.log == ["finally"]
    assert error.cancellation == cf.Cancellation(
        cf.Unreachable(
            "wf",
            (cf.Disposal("slow", cf.ScopeCancelled(cf.Cancellation(cf.TimedOut("slow", SHORT)))),),
        )
    )


async def test_each_child_session_has_its_own_timeout() -> None:
    """S6.5, S1.1: two messages open two child sessions of a scope with a timeout; the
    one that ends at once responds, only the parked one times out."""
    park = Parked()

    def body(scope: cf.Scope[cf.Ok[int] | cf.Err[int], int], builder: cf.Builder) -> None:
        builder.chain(scope.start).fork_result(
            ok=lambda c: c.connect(scope.terminate),
            err=lambda c: c.then(park, name="park").connect(scope.terminate),
        )

    def to_result(x: int) -> cf.Ok[int] | cf.Err[int]:
        return cf.Ok(x) if x == 0 else cf.Err(x)

    @cf.workflow
    def wf(scope: cf.Scope[int, list[int]], builder: cf.Builder) -> None:
        builder.chain(scope.start).map(lambda x: [x, x + 1], name="pair").spread().map(
            to_result, name="sort"
        ).then_scope(body, name="child", settings=TIMES_OUT).collect_all().connect(scope.terminate)

    with anyio.fail_after(5):
        async with wf.start(0) as session:
            assert await session.result() == [0]
    assert park.log == ["finally"]
    outcomes = {
        e.path: type(e).__name__
        for e in session.events
        if isinstance(e, (ev.Terminated, ev.Cancelled)) and e.path != ("wf",)
    }
    assert outcomes == {("wf", "child[0]"): "Terminated", ("wf", "child[1]"): "Cancelled"}
    cancelled = [e for e in session.events if isinstance(e, ev.Cancelled)]
    assert [e.cancellation for e in cancelled] == [cf.Cancellation(cf.TimedOut("child", SHORT))]


# --------------------------------------------------------------------------- uninterruptible


async def test_an_uninterruptible_child_with_a_timeout_runs_on_until_it_times_out() -> None:
    """S6.5, S6.4: the parent is cancelled (`session.cancel()`) while its uninterruptible
    child parks: the child runs on (ChildCancellationFailed), but its own timeout still
    ends it with TimedOut; the parent waits for it and is Cancelled with UserCancelled."""
    park = Parked()

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then_scope(
            parked_body(park),
            name="guarded",
            settings=cf.ScopeSettings(uninterruptible=True, timeout=SHORT),
        ).connect(scope.terminate)

    root, child = ("wf",), ("wf", "guarded[0]")
    with anyio.fail_after(5):
        async with wf.start(1) as session:
            await park.started.wait()
            session.cancel("stop")
            assert session.state is cf.SessionState.CANCELLING
            assert park.log == []  # the child was not interrupted
            error = await outcome(session)
    assert isinstance(error, cf.WorkflowCancelled)
    assert error.cancellation == cf.Cancellation(cf.UserCancelled("stop"))
    assert park.log == ["finally"]
    user = cf.Cancellation(cf.UserCancelled("stop"))
    timed_out = cf.Cancellation(cf.TimedOut("guarded", SHORT))
    assert untimed(session.events) == [
        ev.SessionStarted(0.0, root, "wf"),
        ev.SessionStarted(0.0, child, "guarded"),
        ev.OperationStarted(0.0, child, "park"),
        ev.CancellationRequested(0.0, root, cf.UserCancelled("stop"), True),
        ev.CleanupStarted(0.0, root, user),
        ev.ChildCancellationRequested(0.0, root, "guarded", child, True),
        ev.CancellationRequested(0.0, child, cf.Interrupted("wf"), False),
        ev.ChildCancellationFailed(0.0, root, "guarded", child, "it is uninterruptible"),
        ev.CleanupStarted(0.0, child, timed_out),
        ev.TaskCancelled(0.0, child, "park", True),
        ev.CleanupFinished(0.0, child),
        ev.Cancelled(0.0, child, timed_out),
        ev.CleanupFinished(0.0, root),
        ev.Cancelled(0.0, root, user),
    ]


async def test_an_uninterruptible_root_with_a_timeout_ignores_cancel_but_times_out() -> None:
    """S6.5, S6.4, S9.1: `session.cancel()` on an uninterruptible root only records the
    request (state stays RUNNING); the timeout still cancels it with TimedOut."""
    park = Parked()

    @cf.workflow(settings=cf.ScopeSettings(uninterruptible=True, timeout=SHORT))
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(park, name="park").connect(scope.terminate)

    with anyio.fail_after(5):
        async with wf.start(1) as session:
            await park.started.wait()
            session.cancel("stop")
            assert session.cancel_requested
            assert session.state is cf.SessionState.RUNNING
            error = await outcome(session)
    assert isinstance(error, cf.WorkflowCancelled)
    timed_out = cf.Cancellation(cf.TimedOut("wf", SHORT))
    assert error.cancellation == timed_out
    assert park.log == ["finally"]
    p = ("wf",)
    assert untimed(session.events) == [
        ev.SessionStarted(0.0, p, "wf"),
        ev.OperationStarted(0.0, p, "park"),
        ev.CancellationRequested(0.0, p, cf.UserCancelled("stop"), False),
        ev.CleanupStarted(0.0, p, timed_out),
        ev.TaskCancelled(0.0, p, "park", True),
        ev.CleanupFinished(0.0, p),
        ev.Cancelled(0.0, p, timed_out),
    ]


async def test_an_uninterruptible_root_with_a_timeout_outlives_its_cancelled_caller() -> None:
    """S6.5, S6.4, API §2: the caller's task is cancelled while an uninterruptible root
    with a timeout parks: the run goes on until the timeout ends it, then the caller's
    own cancellation propagates (not WorkflowCancelled)."""
    park = Parked()

    @cf.workflow(settings=cf.ScopeSettings(uninterruptible=True, timeout=SHORT))
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(park, name="park").connect(scope.terminate)

    async def cancel_when_started(caller: anyio.CancelScope) -> None:
        await park.started.wait()
        caller.cancel()

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            with anyio.CancelScope() as caller:
                tg.start_soon(cancel_when_started, caller)
                async with wf.start(1) as session:
                    await anyio.sleep_forever()
    assert caller.cancelled_caught
    assert park.log == ["finally"]
    assert session.state is cf.SessionState.CANCELLED
    with pytest.raises(cf.WorkflowCancelled) as info:
        await session.result()
    assert info.value.cancellation == cf.Cancellation(cf.TimedOut("wf", SHORT))
    requested = [e for e in session.events if isinstance(e, ev.CancellationRequested)]
    assert [e.honoured for e in requested] == [False]
    assert isinstance(requested[0].cause, cf.UserCancelled)


# --------------------------------------------------------------------------- values


@pytest.mark.parametrize("bad", [0, 0.0, -1, -0.5, math.nan, "1", True, False, [1]])
def test_a_bad_timeout_is_rejected_at_once(bad: Any) -> None:
    """S6.5, API §5: a timeout must be a positive number of seconds (or None):
    InvalidArgument when the settings are made, naming the value."""
    with pytest.raises(cf.InvalidArgument, match="timeout") as info:
        cf.ScopeSettings(timeout=bad)
    assert repr(bad) in str(info.value)


def test_good_timeouts_are_kept() -> None:
    """S6.5: ints, floats, None and infinity are accepted as given."""
    assert cf.ScopeSettings().timeout is None
    assert cf.ScopeSettings(timeout=2).timeout == 2
    assert cf.ScopeSettings(timeout=0.25).timeout == 0.25
    assert cf.ScopeSettings(timeout=math.inf).timeout == math.inf


async def test_an_infinite_timeout_is_no_timeout() -> None:
    """S6.5: `timeout=float("inf")` behaves as no timeout: work that takes a while still
    responds, and a session cancelled from outside is cancelled for that reason."""

    async def slow(x: int) -> int:
        await anyio.sleep(SHORT * 2)  # models slow work
        return x + 1

    @cf.workflow(settings=cf.ScopeSettings(timeout=math.inf))
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(slow).connect(scope.terminate)

    assert await run(wf, 1) == 2

    park = Parked()

    @cf.workflow(settings=cf.ScopeSettings(timeout=math.inf))
    def parked(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then_scope(
            parked_body(park), settings=cf.ScopeSettings(timeout=math.inf)
        ).connect(scope.terminate)

    with anyio.fail_after(5):
        async with parked.start(1) as session:
            await park.started.wait()
            session.cancel("enough")
            error = await outcome(session)
    assert isinstance(error, cf.WorkflowCancelled)
    assert error.cancellation == cf.Cancellation(cf.UserCancelled("enough"))
    assert not any(
        isinstance(e, ev.Cancelled) and isinstance(e.cancellation.cause, cf.TimedOut)
        for e in session.events
    )
