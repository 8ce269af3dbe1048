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
    ends = [e for e in seen if e.path == child_path and isinstance(e, (ev.Terminated, ev.Cancelled))]
    assert len(ends) == 1, described(seen)


async def test_run_waits_for_the_cleanup_of_a_try_cancel_child() -> None:
    """S6.1, S6.6: the on_cancel workflow of a TRY_CANCEL child runs to its end before
    `run` returns, even when the parent terminated first."""
    ran: list[str] = []

    async def on_cancel_work(keys: object) -> None:
        ran.append("on_cancel")

    def child(s: cf.Scope[int, int], b: cf.Builder) -> None:
        b.chain(s.start).map(lambda x: x).connect(s.terminate)
        b.on_cancel((), lambda cs, cb: cb.chain(cs.start).then(on_cancel_work).connect(cs.terminate))

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
    assert any(
        e.path == ("parent", "child[0]") and isinstance(e, ev.Cancelled) for e in seen
    ), described(seen)
