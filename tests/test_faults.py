"""Nothing lost, nothing hangs: regressions found under faults, load and bad input.

Each test reproduces one way a user could lose work, hang, or get a raw internal
exception, through the public API only, on asyncio and trio.
"""

from __future__ import annotations

from typing import Any

import anyio
import anyio.lowlevel
import pytest

import crossflow as cf
from crossflow import events as ev

pytestmark = pytest.mark.anyio

TRY_CANCEL = cf.CancellationPolicy.TRY_CANCEL
ABANDON = cf.CancellationPolicy.ABANDON


def described(events: list[ev.Event]) -> list[str]:
    return [e.describe() for e in events]


# --------------------------------------------------------------------------- S6.6


@pytest.mark.parametrize("policy", [TRY_CANCEL, ABANDON])
async def test_run_waits_for_a_left_child_whose_work_had_not_started(
    policy: cf.CancellationPolicy,
) -> None:
    """S6.6, API §6: a TRY_CANCEL/ABANDON child whose async activation was asked for
    before any task existed still runs its cleanup and ends before `run` returns."""
    ran: list[str] = []

    async def work(x: int) -> int:
        ran.append("work")
        await anyio.lowlevel.checkpoint()
        return x

    async def clean(keys: object) -> None:
        ran.append("on_cleanup")

    def child(s: cf.Scope[int, int], b: cf.Builder) -> None:
        b.chain(s.start).then(work).connect(s.terminate)
        b.on_cleanup((), lambda cs, cb: cb.chain(cs.start).then(clean).connect(cs.terminate))

    def parent(s: cf.Scope[int, int], b: cf.Builder) -> None:
        b.chain(s.start).fork_clone(
            lambda c: c.map(lambda x: x).map(lambda x: x).connect(s.terminate),
            lambda c: c.then_scope(child, name="child", cancellation=policy).dispose(),
        )

    wf = cf.Workflow.build(parent, name="parent")
    seen: list[ev.Event] = []
    with anyio.fail_after(5):
        assert await wf.run(1, on_event=seen.append) == 1
    assert "on_cleanup" in ran
    child_path = ("parent", "child[0]")
    ends = [
        e for e in seen if e.path == child_path and isinstance(e, (ev.Terminated, ev.Cancelled))
    ]
    assert len(ends) == 1, described(seen)


async def test_run_waits_for_the_cleanup_of_a_try_cancel_child() -> None:
    """S6.1, S6.6: the on_cancel workflow of a TRY_CANCEL child runs to its end before
    `run` returns, even when the parent terminated first."""
    ran: list[str] = []

    async def on_cancel_work(keys: object) -> None:
        ran.append("on_cancel")

    def child(s: cf.Scope[int, int], b: cf.Builder) -> None:
        b.chain(s.start).map(lambda x: x).connect(s.terminate)
        b.on_cancel(
            (), lambda cs, cb: cb.chain(cs.start).then(on_cancel_work).connect(cs.terminate)
        )

    def parent(s: cf.Scope[int, int], b: cf.Builder) -> None:
        b.chain(s.start).fork_clone(
            lambda c: c.then_scope(child, name="child", cancellation=TRY_CANCEL).connect(
                s.terminate
            ),
            lambda c: c.map(lambda x: x).connect(s.terminate),
        )

    wf = cf.Workflow.build(parent, name="parent")
    seen: list[ev.Event] = []
    with anyio.fail_after(5):
        assert await wf.run(1, on_event=seen.append) == 1
    assert ran == ["on_cancel"]
    assert "parent/child[0]/on_cancel[0]: Terminated" in described(seen)
    assert any(e.path == ("parent", "child[0]") and isinstance(e, ev.Cancelled) for e in seen), (
        described(seen)
    )


# --------------------------------------------------------------------------- S6.7 depth


async def parked(x: int) -> int:
    await anyio.sleep_forever()
    raise AssertionError("unreachable")  # pragma: no cover


def nested(leaf: Any, depth: int) -> cf.Workflow[int, int]:
    """`depth` workflows, each using the previous one as a node (built without recursion)."""
    wf: cf.Workflow[int, int] = cf.Workflow.build(
        lambda s, b: b.chain(s.start).then(leaf).connect(s.terminate), name="leaf"
    )
    for i in range(depth):
        wf = cf.Workflow.build(
            lambda s, b, inner=wf: b.chain(s.start).then(inner).connect(s.terminate),
            name=f"level{i}",
        )
    return wf


DEEP = 300  # a few frames per level used to exhaust Python's default recursion limit


async def test_cancelling_hundreds_of_nested_sessions() -> None:
    """S6.7: `session.cancel()` returns at once and the cancellation passes through 300
    nested workflow sessions as through one: no RecursionError, no hang."""
    wf = nested(parked, DEEP)
    seen: list[ev.Event] = []
    with anyio.fail_after(10):
        async with wf.start(1, on_event=seen.append) as session:
            await anyio.wait_all_tasks_blocked()
            session.cancel("stop")
        with pytest.raises(cf.WorkflowCancelled) as caught:
            await session.result()
    assert caught.value.cancellation.cause == cf.UserCancelled("stop")
    ends = [e for e in seen if isinstance(e, ev.Cancelled)]
    assert len(ends) == DEEP + 1  # every nested session ended, and the root
    assert max(len(e.path) for e in ends) == DEEP + 1


async def test_an_outer_deadline_reaches_hundreds_of_nested_sessions() -> None:
    """S6.7, API §2: an outer cancel scope around `run` of 300 nested workflows cancels
    them all and lets the caller's cancellation through."""
    wf = nested(parked, DEEP)
    with anyio.fail_after(10):
        with anyio.CancelScope() as scope:
            async with anyio.create_task_group() as tg:
                tg.start_soon(wf.run, 1)
                await anyio.wait_all_tasks_blocked()
                scope.cancel()
        assert scope.cancelled_caught


class Boom(Exception):
    pass


def fail(x: int) -> int:
    raise Boom("leaf failed")


async def afail(x: int) -> int:
    await anyio.lowlevel.checkpoint()
    raise Boom("leaf failed")


@pytest.mark.parametrize("leaf", [fail, afail], ids=["blocking", "async"])
async def test_a_failure_under_hundreds_of_nested_sessions(leaf: Any) -> None:
    """S6.7, S4.3: a service failure 300 workflows down is a WorkflowCancelled raised
    from the original exception; its text is summarised, its data complete."""
    wf = nested(leaf, DEEP)
    with anyio.fail_after(10), pytest.raises(cf.WorkflowCancelled) as caught:
        await wf.run(1)
    error = caught.value
    assert isinstance(error.__cause__, Boom)
    cancellation = error.cancellation
    assert isinstance(cancellation.cause, cf.Unreachable)
    root = cancellation.root_cause()
    assert isinstance(root, cf.ServiceFailed)
    assert root.operation == leaf.__name__
    text = str(error)
    assert "leaf failed" in text and "further down" in text
    assert len(text) < 2_000 and len(repr(cancellation)) < 2_000
    data = cancellation.to_dict()
    for _ in range(DEEP):  # the full chain, level by level
        data = data["cause"]["disposals"][0]["cause"]["cancellation"]
    assert data["cause"]["kind"] == "ServiceFailed"
    assert data["cause"]["error"] == {"type": "Boom", "message": "leaf failed"}


# --------------------------------------------------------------------------- S2.4 bound


async def test_a_loop_keeps_one_counted_disposal_per_repeat() -> None:
    """S2.4: a loop that exits through fork_option records a `Branching` every turn; the
    session keeps it once, with how many times it happened."""
    turns = 5_000

    def count_down(s: cf.Scope[int, int], b: cf.Builder) -> None:
        step = b.create_node(lambda x: x - 1, name="step")
        b.chain(s.start).connect(step.input)
        b.chain(step.output).map(lambda x: x if x > 0 else None, name="more").fork_option(
            some=lambda c: c.connect(step.input),
            none=lambda c: c.map(lambda _: "never").dispose_on_some().connect(s.terminate),
        )

    wf = cf.Workflow.build(count_down, name="count_down")
    with anyio.fail_after(10), pytest.raises(cf.WorkflowCancelled) as caught:
        await wf.run(turns, events=False)
    cause = caught.value.cancellation.cause
    assert isinstance(cause, cf.Unreachable)
    branching = [d for d in cause.disposals if isinstance(d.cause, cf.Branching)]
    # "none" not taken on every turn but the last, then "some" not taken once
    assert [(d.cause.branch, d.count) for d in branching] == [("none", turns - 1), ("some", 1)]
    assert sum(d.count for d in cause.disposals) == turns + 1
    assert f"{turns - 1} times" in str(cause)


async def test_disposals_that_never_repeat_keep_the_first_and_the_last() -> None:
    """S2.4: causes that differ every time are bounded too: the first and last entries are
    kept, in order, and `omitted` says how many were left out in between."""
    n = 1_000

    def filtered(s: cf.Scope[list[int], int], b: cf.Builder) -> None:
        b.chain(s.start).spread().disposal_filter(lambda x: None).connect(s.terminate)

    wf = cf.Workflow.build(filtered, name="filtered")
    with anyio.fail_after(10), pytest.raises(cf.WorkflowCancelled) as caught:
        await wf.run(list(range(n)), events=False)
    cause = caught.value.cancellation.cause
    assert isinstance(cause, cf.Unreachable)
    kept = cause.disposals
    assert len(kept) + cause.omitted == n
    assert len(kept) < n // 2
    reasons = [d.cause.reason for d in kept if isinstance(d.cause, cf.Filtered)]
    assert reasons[0] is not None and reasons[0].endswith(" 0")
    assert reasons[-1] is not None and reasons[-1].endswith(f" {n - 1}")
    assert f"and {n - len(kept) + 5} more" in str(cause) or "more" in str(cause)
    assert cause.to_dict()["omitted"] == cause.omitted
