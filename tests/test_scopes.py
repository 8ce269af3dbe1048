"""Sessions and scopes: start, terminate, nested scopes (S1)."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

import crossflow as cf
from crossflow.testing import assert_cancelled
from crossflow.testing import assert_completes as run

pytestmark = pytest.mark.anyio


async def cancellation_of(wf: cf.Workflow[Any, Any], request: Any) -> cf.Cancellation:
    return (await assert_cancelled(wf, request)).cancellation


# --------------------------------------------------------------------------- S1.1-S1.4


async def test_identity() -> None:
    """`[start] -> [terminate]` answers with the request itself (SC-1, S1.3)."""

    @cf.workflow
    def identity(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.connect(scope.start, scope.terminate)

    assert await run(identity, 4) == 4
    assert await run(identity, 5) == 5


async def test_start_emits_once_even_in_a_cycle() -> None:
    """`start` yields the request exactly once per session, also when its target lies on a
    cycle (S1.2)."""
    seen: list[int] = []

    def step(x: int) -> int:
        seen.append(x)
        return x + 1

    @cf.workflow
    def loop(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        node = builder.create_node(step)
        builder.connect(scope.start, node.input)
        fork = builder.create_fork_option()
        builder.chain(node.output).map(lambda v: v if v >= 3 else None).connect(fork.input)
        builder.connect(fork.some, scope.terminate)
        # None: go round again with the value the loop has reached so far
        builder.chain(fork.none).map(lambda _: len(seen)).connect(node.input)

    assert await run(loop, 0) == 3
    assert seen == [0, 1, 2]


async def test_fork_to_terminate_twice() -> None:
    """Two copies reaching terminate give one response (SC-2, S1.3)."""

    @cf.workflow
    def twice(scope: cf.Scope[float, float], builder: cf.Builder) -> None:
        builder.chain(scope.start).fork_clone(
            lambda c: c.connect(scope.terminate),
            lambda c: c.connect(scope.terminate),
        )

    assert await run(twice, 5.0) == 5.0


async def test_first_message_to_terminate_wins() -> None:
    """The first message that reaches terminate is the response; later ones are ignored
    (SC-3, S1.3)."""

    @cf.workflow
    def first(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).fork_clone(
            lambda c: c.map(lambda x: x * 2).connect(scope.terminate),
            lambda c: c.map(lambda x: x * 3).connect(scope.terminate),
        )

    assert await run(first, 1) == 2


async def test_loser_is_cancelled_before_the_response() -> None:
    """The faster of two async branches answers the nested scope without waiting for the slow
    one; the losing task is cancelled and its `finally` block has run before the response is
    delivered; it never completes (SC-4, SC-5, S1.3, S1.4, S1.6)."""
    log: list[str] = []

    async def slow(_: None) -> str:
        try:
            await anyio.sleep(10)
            log.append("slow-done")
            return "slow"
        finally:
            log.append("slow-cancelled")

    async def fast(_: None) -> str:
        await anyio.sleep(0.01)
        return "fast"

    def race(scope: cf.Scope[None, str], builder: cf.Builder) -> None:
        builder.chain(scope.start).fork_clone(
            lambda c: c.then(slow).connect(scope.terminate),
            lambda c: c.then(fast).connect(scope.terminate),
        )

    @cf.workflow
    def outer(scope: cf.Scope[None, str], builder: cf.Builder) -> None:
        builder.chain(scope.start).then_scope(race).connect(scope.terminate)

    assert await run(outer, None) == "fast"
    assert log == ["slow-cancelled"]


async def test_root_terminate_cancels_running_tasks_before_returning() -> None:
    """After the root session's terminate, running tasks are cancelled and their `finally`
    blocks have run before `run` returns (S1.4, S6.1)."""
    log: list[str] = []
    started = anyio.Event()

    async def sleeper(_: int) -> None:
        started.set()
        try:
            await anyio.sleep(10)
        finally:
            log.append("finally")

    async def wait_then(x: int) -> int:
        await started.wait()
        return x

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).fork_clone(
            lambda c: c.then(sleeper).dispose(),
            lambda c: c.then(wait_then).connect(scope.terminate),
        )

    assert await run(wf, 3) == 3
    assert log == ["finally"]


async def test_race_inside_a_larger_chain() -> None:
    """A nested race feeds the rest of the parent chain (SC-6, S1.6)."""

    async def wait_then(v: float) -> float:
        await anyio.sleep(0.01 * v)
        return v

    def race(scope: cf.Scope[float, float], builder: cf.Builder) -> None:
        builder.chain(scope.start).fork_clone(
            lambda c: c.then(wait_then).connect(scope.terminate),
            lambda c: c.map(lambda v: v + v).connect(scope.terminate),
        )

    @cf.workflow
    def wf(scope: cf.Scope[tuple[float, float], float], builder: cf.Builder) -> None:
        (
            builder.chain(scope.start)
            .map(lambda ab: ab[0] + ab[1])
            .then_scope(race)
            .map(lambda v: v + v)
            .connect(scope.terminate)
        )

    assert await run(wf, (2.0, 2.0)) == 16.0


async def test_operations_queued_behind_terminate_never_run() -> None:
    """Once terminate fires, no operation of the session starts: an input queued behind it
    is dropped (EX-3, S1.4, S8.3)."""
    log: list[int] = []

    def record(x: int) -> int:
        log.append(x)
        return x

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).fork_clone(
            lambda c: c.connect(scope.terminate),
            lambda c: c.then(record).dispose(),
        )

    assert await run(wf, 7) == 7
    assert log == []


async def test_terminate_before_a_cancel_gives_the_response() -> None:
    """A cancel queued behind terminate never runs: the staged response is delivered
    (S1.3, S1.4)."""

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).fork_clone(
            lambda c: c.connect(scope.terminate),
            lambda c: c.then_cancel(),
        )

    assert await run(wf, 7) == 7


async def test_workflow_can_be_run_many_times() -> None:
    """Every `run` opens a new root session of the same workflow (S1.1)."""

    @cf.workflow
    def double(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).map(lambda x: 2 * x).connect(scope.terminate)

    assert [await run(double, i) for i in range(4)] == [0, 2, 4, 6]


# --------------------------------------------------------------------------- nested scopes


async def test_one_child_session_per_message() -> None:
    """Every message entering a nested scope opens its own child session, and each child's
    response is the scope operation's output in the parent (NS-1, S1.1, S1.6)."""

    def times_ten(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).map(lambda x: x * 10).connect(scope.terminate)

    @cf.workflow
    def wf(scope: cf.Scope[list[int], list[int]], builder: cf.Builder) -> None:
        builder.chain(scope.start).spread().then_scope(times_ten).collect_all().connect(
            scope.terminate
        )

    assert await run(wf, [1, 2, 3]) == [10, 20, 30]


async def test_child_sessions_do_not_share_collect_progress() -> None:
    """Concurrent child sessions of one scope each collect only their own items and stage
    their own response (S1.5, EX-g)."""

    async def later(x: int) -> int:
        await anyio.sleep(0.001 * (x % 3))
        return x

    def expand(scope: cf.Scope[int, list[int]], builder: cf.Builder) -> None:
        (
            builder.chain(scope.start)
            .map(lambda n: [n] * n)
            .spread()
            .then(later)
            .collect_all()
            .connect(scope.terminate)
        )

    @cf.workflow
    def wf(scope: cf.Scope[list[int], list[list[int]]], builder: cf.Builder) -> None:
        builder.chain(scope.start).spread().then_scope(expand).collect_all().connect(
            scope.terminate
        )

    result = await run(wf, [1, 2, 3, 4])
    assert sorted(result) == [[1], [2, 2], [3, 3, 3], [4, 4, 4, 4]]


async def test_child_cancellation_does_not_cancel_the_parent() -> None:
    """A cancelled child session is a disposal for the parent, which carries on with the
    other children's responses (NS-3, CO-12, S1.7)."""

    def small_only(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        (
            builder.chain(scope.start)
            .map(lambda v: v if v < 3 else None)
            .cancel_on_none()
            .connect(scope.terminate)
        )

    @cf.workflow
    def wf(scope: cf.Scope[list[int], list[int]], builder: cf.Builder) -> None:
        builder.chain(scope.start).spread().then_scope(small_only).collect_all().connect(
            scope.terminate
        )

    assert await run(wf, [0, 1, 2, 3, 4, 5]) == [0, 1, 2]
    assert await run(wf, [5, 6]) == []


async def test_child_cancellation_escalates_when_terminate_is_unreachable() -> None:
    """A child cancelled by a quiet cancel leaves the parent with no way to terminate: the
    parent is cancelled with `Unreachable` carrying the `ScopeCancelled` disposal, and the
    root cause is not wrapped (NS-4, S1.7, D1)."""

    def quiet(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then_quiet_cancel()

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then_scope(quiet).connect(scope.terminate)

    cancellation = await cancellation_of(wf, 1)
    match cancellation.cause:
        case cf.Unreachable(
            _,
            (cf.Disposal(op, cf.ScopeCancelled(cf.Cancellation(cf.Triggered(_, None)))),),
        ):
            assert isinstance(op, str) and op
        case other:
            pytest.fail(f"unexpected cause {other!r}")
    assert cancellation.while_cancelling == ()


async def test_disposal_names_the_scope_operation() -> None:
    """The `ScopeCancelled` disposal is recorded at the scope operation, under its name
    (S1.7, API §4)."""

    def quiet(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then_quiet_cancel()

    names: list[str] = []

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        node = builder.create_scope(quiet, name="inner")
        names.append(node.name)
        builder.connect(scope.start, node.input)
        builder.connect(node.output, scope.terminate)

    cancellation = await cancellation_of(wf, 1)
    assert names == ["inner"]
    assert isinstance(cancellation.cause, cf.Unreachable)
    assert [d.operation for d in cancellation.cause.disposals] == ["inner"]


async def test_nested_unzip_race() -> None:
    """Inside a nested scope, the unzip branch that finishes first answers (NS-5)."""

    async def wait_then(v: float) -> float:
        await anyio.sleep(0.01)
        return v

    def race(scope: cf.Scope[tuple[float, float], float], builder: cf.Builder) -> None:
        first, second = builder.chain(scope.start).unzip(2)
        first.map(lambda v: v + 10).connect(scope.terminate)
        second.then(wait_then).connect(scope.terminate)

    @cf.workflow
    def wf(scope: cf.Scope[tuple[float, float], float], builder: cf.Builder) -> None:
        (
            builder.chain(scope.start)
            .map(lambda ab: ab[0] + ab[1])
            .map(lambda v: (v, 2 * v))
            .then_scope(race)
            .connect(scope.terminate)
        )

    assert await run(wf, (2.0, 3.0)) == 15.0


async def test_parent_terminating_cleans_up_a_running_child() -> None:
    """When the parent terminates while a child session still runs, the child is cleaned up
    (its task's `finally` has run) before the parent's response, and it never finishes
    (NS-6 without buffers, S1.4, S6.1)."""
    log: list[str] = []
    started = anyio.Event()

    async def slow(_: int) -> int:
        started.set()
        try:
            await anyio.sleep(10)
            log.append("child-finished")
            return 0
        finally:
            log.append("child-cleaned-up")

    async def after_start(_: int) -> str:
        await started.wait()
        return "done"

    def child(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(slow).connect(scope.terminate)

    @cf.workflow
    def wf(scope: cf.Scope[int, str], builder: cf.Builder) -> None:
        builder.chain(scope.start).fork_clone(
            lambda c: c.then_scope(child).dispose(),
            lambda c: c.then(after_start).connect(scope.terminate),
        )

    assert await run(wf, 1) == "done"
    assert log == ["child-cleaned-up"]


async def test_nested_scope_with_a_blocking_service() -> None:
    """A nested scope `start -> multiply3 -> terminate` answers for its parent (NS-9)."""

    def multiply3(x: int) -> int:
        return 3 * x

    def inner(s: cf.Scope[int, int], b: cf.Builder) -> None:
        b.chain(s.start).then(multiply3).connect(s.terminate)

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then_scope(inner).connect(scope.terminate)

    assert await run(wf, 4) == 12


async def test_create_scope_node() -> None:
    """`builder.create_scope` returns a node whose output is the child's response (API §1,
    S1.6)."""

    def add_one(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).map(lambda x: x + 1).connect(scope.terminate)

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        node = builder.create_scope(add_one)
        assert isinstance(node, cf.Node)
        builder.connect(scope.start, node.input)
        builder.connect(node.output, scope.terminate)

    assert await run(wf, 41) == 42


# --------------------------------------------------------------------------- workflows as nodes


async def test_workflow_used_as_a_node() -> None:
    """A workflow is a provider: used as a node, it runs a nested session per message and
    its response is the node's output (S1.1, API §1)."""

    @cf.workflow
    def inc(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).map(lambda x: x + 1).connect(scope.terminate)

    @cf.workflow
    def outer(scope: cf.Scope[list[int], list[int]], builder: cf.Builder) -> None:
        builder.chain(scope.start).spread().then(inc).then(inc).collect_all().connect(
            scope.terminate
        )

    assert await run(outer, [1, 2, 3]) == [3, 4, 5]


async def test_cancelled_workflow_node_is_a_scope_cancelled_disposal() -> None:
    """A workflow node whose session is cancelled behaves exactly like a nested scope: the
    parent records `ScopeCancelled` at the node, named after the workflow by default
    (S1.1, S1.7)."""

    @cf.workflow
    def refuse(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then_cancel()

    @cf.workflow
    def outer(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(refuse).connect(scope.terminate)

    cancellation = await cancellation_of(outer, 42)
    assert isinstance(cancellation.cause, cf.Unreachable)
    (disposal,) = cancellation.cause.disposals
    assert disposal.operation == "refuse"
    assert isinstance(disposal.cause, cf.ScopeCancelled)
    assert isinstance(disposal.cause.cancellation.cause, cf.Triggered)
    assert disposal.cause.cancellation.cause.value == "42"


async def test_doubly_nested_cancellation_chain() -> None:
    """Each nesting level that cannot terminate reports the level below as a
    `ScopeCancelled` disposal (S1.7, S2.4)."""

    def innermost(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then_quiet_cancel()

    def middle(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then_scope(innermost).connect(scope.terminate)

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then_scope(middle).connect(scope.terminate)

    cancellation = await cancellation_of(wf, 0)
    match cancellation.cause:
        case cf.Unreachable(
            "wf",
            (
                cf.Disposal(
                    _,
                    cf.ScopeCancelled(
                        cf.Cancellation(
                            cf.Unreachable(
                                _,
                                (
                                    cf.Disposal(
                                        _,
                                        cf.ScopeCancelled(cf.Cancellation(cf.Triggered(_, None))),
                                    ),
                                ),
                            )
                        )
                    ),
                ),
            ),
        ):
            pass
        case other:
            pytest.fail(f"unexpected cause {other!r}")


async def test_child_answers_once_per_session() -> None:
    """A child session whose terminate is reached twice still gives the scope operation one
    output (S1.3, S1.6)."""

    def twice(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).fork_clone(
            lambda c: c.connect(scope.terminate),
            lambda c: c.map(lambda x: -x).connect(scope.terminate),
        )

    @cf.workflow
    def wf(scope: cf.Scope[list[int], list[int]], builder: cf.Builder) -> None:
        builder.chain(scope.start).spread().then_scope(twice).collect_all().connect(scope.terminate)

    assert await run(wf, [1, 2, 3]) == [1, 2, 3]


async def test_inherently_unreachable_child() -> None:
    """A nested scope with no path to its terminate cancels each child session with
    `Unreachable(disposals=())` before any of its operations runs; the parent records it as
    `ScopeCancelled` (S2.3, S1.7)."""
    log: list[int] = []

    def record(x: int) -> int:
        log.append(x)
        return x

    def dead_end(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(record).dispose()

    with pytest.warns(cf.UnreachableWarning, match="nested scope 'dead_end'"):

        @cf.workflow
        def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
            builder.chain(scope.start).then_scope(dead_end, name="dead_end").connect(
                scope.terminate
            )

    cancellation = await cancellation_of(wf, 1)
    match cancellation.cause:
        case cf.Unreachable(
            "wf",
            (cf.Disposal("dead_end", cf.ScopeCancelled(cf.Cancellation(cf.Unreachable(_, ())))),),
        ):
            pass
        case other:
            pytest.fail(f"unexpected cause {other!r}")
    assert log == []


async def test_child_disposals_stay_in_the_child() -> None:
    """A disposal recorded in a child session that then terminates does not appear in the
    parent's disposal list (S1.5, S2.4)."""

    def child(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).fork_clone(
            lambda c: c.map(lambda _: None).dispose_on_none().connect(scope.terminate),
            lambda c: c.connect(scope.terminate),
        )

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        (
            builder.chain(scope.start)
            .then_scope(child)
            .map(lambda _: None)
            .dispose_on_none()
            .connect(scope.terminate)
        )

    cancellation = await cancellation_of(wf, 1)
    assert isinstance(cancellation.cause, cf.Unreachable)
    assert [type(d.cause) for d in cancellation.cause.disposals] == [cf.Filtered]


async def test_response_waits_for_shielded_cleanup() -> None:
    """A losing task whose `finally` needs time (a shielded await) has finished it before the
    response is delivered (S1.4, SC-5)."""
    log: list[str] = []
    started = anyio.Event()

    async def slow(_: int) -> str:
        started.set()
        try:
            await anyio.sleep(10)
            return "slow"
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.sleep(0.01)
                log.append("cleaned")

    async def fast(_: int) -> str:
        await started.wait()
        return "fast"

    def race(scope: cf.Scope[int, str], builder: cf.Builder) -> None:
        builder.chain(scope.start).fork_clone(
            lambda c: c.then(slow).connect(scope.terminate),
            lambda c: c.then(fast).connect(scope.terminate),
        )

    @cf.workflow
    def wf(scope: cf.Scope[int, str], builder: cf.Builder) -> None:
        builder.chain(scope.start).then_scope(race).connect(scope.terminate)

    assert await run(wf, 1) == "fast"
    assert log == ["cleaned"]


async def test_child_cancelled_before_its_task_group_opened_still_ends() -> None:
    """S6.1: a nested session cancelled while an activation waits for its task group
    drops that activation and ends (it used to wait for it forever)."""
    started: list[int] = []

    async def never(x: int) -> int:
        started.append(x)
        return x

    async def step(x: int) -> int:
        await anyio.lowlevel.checkpoint()
        return x

    def child(scope: cf.Scope[int, int], b: cf.Builder) -> None:
        b.chain(scope.start).fork_clone(
            lambda ch: ch.then(never).connect(scope.terminate),
            lambda ch: ch.then_cancel(),
        )

    def build(scope: cf.Scope[int, object], b: cf.Builder) -> None:
        b.chain(scope.start).fork_clone(
            lambda ch: ch.then(step).then_scope(child).connect(scope.terminate),
            lambda ch: ch.then(step).map(lambda _: None).dispose_on_none().connect(scope.terminate),
        )

    wf = cf.Workflow.build(build)
    with anyio.fail_after(5):
        with pytest.raises(cf.WorkflowCancelled) as info:
            await wf.run(1)
    cause = info.value.cancellation.cause
    assert isinstance(cause, cf.Unreachable)
    assert sorted(type(d.cause).__name__ for d in cause.disposals) == ["Filtered", "ScopeCancelled"]
    assert started == []
