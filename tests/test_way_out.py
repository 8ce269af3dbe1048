"""There is always a way out: `cleanup_timeout` bounds cleanup workflows (S6.5) and
`session.cancel(force=True)` stops what nothing else stops (S6.7)."""

from __future__ import annotations

import anyio
import anyio.lowlevel
import pytest

import crossflow as cf
from crossflow import events as ev

pytestmark = pytest.mark.anyio

UNINTERRUPTIBLE = cf.ScopeSettings(uninterruptible=True)


async def parked(x: object) -> object:
    await anyio.sleep_forever()
    raise AssertionError("unreachable")  # pragma: no cover


def stuck_cleanup(s: cf.Scope[object, object], b: cf.Builder) -> None:
    b.chain(s.start).then(parked, name="stuck").connect(s.terminate)


def guarded(settings: cf.ScopeSettings) -> cf.Workflow[int, int]:
    def build(s: cf.Scope[int, int], b: cf.Builder) -> None:
        b.chain(s.start).then(parked).connect(s.terminate)
        b.on_cancel((), stuck_cleanup)

    return cf.Workflow.build(build, name="guarded", settings=settings)


async def test_cleanup_timeout_bounds_a_cleanup_that_never_ends() -> None:
    """S6.5: an uninterruptible scope with a timeout whose on_cancel workflow waits
    forever ends when `cleanup_timeout` is up; the cleanup's TimedOut is kept in
    `while_cancelling`."""
    wf = guarded(cf.ScopeSettings(uninterruptible=True, timeout=0.01, cleanup_timeout=0.01))
    with anyio.fail_after(5), pytest.raises(cf.WorkflowCancelled) as caught:
        await wf.run(1)
    cancellation = caught.value.cancellation
    assert cancellation.cause == cf.TimedOut("guarded", 0.01)
    (cleanup,) = cancellation.while_cancelling
    assert isinstance(cleanup.cause, cf.TimedOut) and cleanup.cause.seconds == 0.01


async def test_cleanup_timeout_after_terminate_warns() -> None:
    """S6.5, S4.3: after terminate, a cleanup workflow cut short by `cleanup_timeout` is a
    CleanupFailed event and a CrossflowWarning; the response is delivered anyway."""

    def build(s: cf.Scope[int, int], b: cf.Builder) -> None:
        b.chain(s.start).connect(s.terminate)
        b.on_terminate((), stuck_cleanup)

    wf = cf.Workflow.build(build, name="done", settings=cf.ScopeSettings(cleanup_timeout=0.01))
    seen: list[ev.Event] = []
    with anyio.fail_after(5), pytest.warns(cf.CrossflowWarning, match="timed out"):
        assert await wf.run(1, on_event=seen.append) == 1
    assert any(isinstance(e, ev.CleanupFailed) for e in seen)


async def test_force_stops_an_uninterruptible_session() -> None:
    """S6.7: a plain cancel is recorded and the uninterruptible session runs on; a forced
    cancel stops it, nested uninterruptible scopes included, and says it was forced."""

    def inner(s: cf.Scope[int, int], b: cf.Builder) -> None:
        b.chain(s.start).then(parked).connect(s.terminate)

    def build(s: cf.Scope[int, int], b: cf.Builder) -> None:
        b.chain(s.start).then_scope(inner, settings=UNINTERRUPTIBLE).connect(s.terminate)

    wf = cf.Workflow.build(build, name="stubborn", settings=UNINTERRUPTIBLE)
    with anyio.fail_after(5):
        async with wf.start(1) as session:
            await anyio.wait_all_tasks_blocked()
            session.cancel("please")
            await anyio.wait_all_tasks_blocked()
            assert session.state is cf.SessionState.RUNNING  # S6.4
            session.cancel("now", force=True)
            with pytest.raises(cf.WorkflowCancelled) as caught:
                await session.result()
    assert caught.value.cancellation.cause == cf.UserCancelled("now")
    forced = [e for e in session.events if isinstance(e, ev.CancellationRequested) and e.forced]
    assert {e.path for e in forced} == {("stubborn",), ("stubborn", "inner[0]")}
    assert all("(forced)" in e.describe() for e in forced)


async def test_force_stops_a_cleanup_workflow_that_never_ends() -> None:
    """S6.7: a running cleanup workflow is cancelled by force; its cancellation is kept."""
    wf = guarded(cf.ScopeSettings(uninterruptible=True, timeout=0.01))
    with anyio.fail_after(5):
        async with wf.start(1) as session:
            while not any(
                isinstance(e, ev.OperationStarted) and e.operation == "stuck"
                for e in session.events
            ):
                await anyio.lowlevel.checkpoint()
            session.cancel("out", force=True)
            with pytest.raises(cf.WorkflowCancelled) as caught:
                await session.result()
    cancellation = caught.value.cancellation
    assert cancellation.cause == cf.TimedOut("guarded", 0.01)
    assert [c.cause for c in cancellation.while_cancelling] == [cf.UserCancelled("out")]


async def test_force_also_stops_cleanup_workflows_that_start_later() -> None:
    """S6.7: a cleanup workflow that starts after a forced cancel, once the task it waited
    for has ended, is forced as it starts; it does not keep the caller waiting."""

    async def slow_to_stop(x: int) -> int:
        try:
            await anyio.sleep_forever()
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.sleep(0.01)  # the task's own cleanup takes a moment
        return x  # pragma: no cover

    def build(s: cf.Scope[int, int], b: cf.Builder) -> None:
        b.chain(s.start).then(slow_to_stop).connect(s.terminate)
        b.on_cancel((), stuck_cleanup)

    wf = cf.Workflow.build(build, name="later")
    with anyio.fail_after(5):
        async with wf.start(1) as session:
            await anyio.wait_all_tasks_blocked()
            session.cancel("out", force=True)
            with pytest.raises(cf.WorkflowCancelled) as caught:
                await session.result()
    assert [c.cause for c in caught.value.cancellation.while_cancelling] == [
        cf.UserCancelled("out")
    ]
    forced = [e for e in session.events if isinstance(e, ev.CancellationRequested) and e.forced]
    assert [e.path for e in forced] == [("later",), ("later", "on_cancel[0]")]


async def test_force_stops_abandoned_work() -> None:
    """S6.7, S6.6: work left running by ABANDON is stopped by force too."""
    finished: list[str] = []

    async def stubborn(x: int) -> int:
        try:
            await anyio.sleep_forever()
        finally:
            finished.append("stubborn")
        return x  # pragma: no cover

    def build(s: cf.Scope[int, int], b: cf.Builder) -> None:
        b.chain(s.start).fork_clone(
            lambda c: c.then(stubborn, cancellation=cf.CancellationPolicy.ABANDON).dispose(),
            lambda c: c.then(parked).connect(s.terminate),
        )

    wf = cf.Workflow.build(build, name="abandoning")
    with anyio.fail_after(5):
        async with wf.start(1) as session:
            await anyio.wait_all_tasks_blocked()
            session.cancel("out", force=True)
    assert finished == ["stubborn"]


async def test_force_must_be_a_bool() -> None:
    """`force=` is checked where it is given."""
    async with guarded(cf.ScopeSettings()).start(1) as session:
        with pytest.raises(cf.InvalidArgument, match="force"):
            session.cancel(force="yes")  # type: ignore[arg-type]
        session.cancel(force=True)  # the cleanup of this workflow never ends otherwise
