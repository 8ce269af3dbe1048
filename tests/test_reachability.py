"""Reachability: when a session can still reach terminate (S2)."""

from __future__ import annotations

from typing import Any

import anyio
import anyio.lowlevel
import pytest

import crossflow as cf
from crossflow.testing import assert_cancelled
from crossflow.testing import assert_completes as run

pytestmark = pytest.mark.anyio


async def cancellation_of(wf: cf.Workflow[Any, Any], request: Any) -> cf.Cancellation:
    return (await assert_cancelled(wf, request)).cancellation


def disposal_causes(cancellation: cf.Cancellation) -> list[Any]:
    """Every disposal's cause, a repeated one as often as it happened (S2.4)."""
    assert isinstance(cancellation.cause, cf.Unreachable), cancellation
    return [d.cause for d in cancellation.cause.disposals for _ in range(d.count)]


# --------------------------------------------------------------------------- S2.3 inherent


async def test_nothing_connected_to_terminate() -> None:
    """With no path from start to terminate the session is cancelled with
    `Unreachable(disposals=())` before any operation runs (RE-1, S2.3)."""
    log: list[int] = []

    def record(x: int) -> int:
        log.append(x)
        return x

    with pytest.warns(cf.UnreachableWarning, match="can never reach its end"):

        @cf.workflow
        def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
            builder.chain(scope.start).then(record).dispose()

    cancellation = await cancellation_of(wf, 1)
    assert cancellation.cause == cf.Unreachable("wf", ())
    assert log == []


async def test_empty_workflow_is_unreachable_every_time() -> None:
    """A workflow with no connections is cancelled with `Unreachable` on every run, not
    only the first (RE-2, S2.3)."""

    with pytest.warns(cf.UnreachableWarning, match="can never reach its end"):

        @cf.workflow
        def empty(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
            pass

    for _ in range(3):
        cancellation = await cancellation_of(empty, 1)
        assert cancellation.cause == cf.Unreachable("empty", ())


async def test_self_loop_without_terminate() -> None:
    """A node feeding itself with terminate unconnected is inherently unreachable; the node
    never runs (RE-3, S2.3)."""
    calls: list[int] = []

    def step(x: int) -> int:
        calls.append(x)
        return x + 1

    with pytest.warns(cf.UnreachableWarning, match="can never reach its end"):

        @cf.workflow
        def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
            node = builder.create_node(step)
            builder.connect(scope.start, node.input)
            builder.connect(node.output, node.input)

    for _ in range(3):
        cancellation = await cancellation_of(wf, 0)
        assert isinstance(cancellation.cause, cf.Unreachable)
        assert cancellation.cause.disposals == ()
    assert calls == []


async def test_islands_are_unreachable() -> None:
    """Operations that feed terminate but are fed by nothing do not keep the session alive;
    no operation runs (RE-4, S2.3)."""
    log: list[str] = []

    def rec(tag: str) -> Any:
        def f(x: Any) -> Any:
            log.append(tag)
            return x

        return f

    with pytest.warns(cf.UnreachableWarning, match="can never reach its end"):

        @cf.workflow
        def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
            builder.chain(scope.start).map(rec("entry")).fork_clone(
                lambda c: c.map(rec("a")).map(rec("a2")).dispose(),
                lambda c: c.map(rec("b")).map(rec("b2")).dispose(),
                lambda c: c.map(rec("c")).map(rec("c2")).dispose(),
            )
            exit_node = builder.create_node(rec("exit"))
            builder.connect(exit_node.output, scope.terminate)

    cancellation = await cancellation_of(wf, 1)
    assert cancellation.cause == cf.Unreachable("wf", ())
    assert log == []


async def test_path_only_to_an_implicit_cancel_is_inherently_unreachable() -> None:
    """Implicit cancels (`cancel_on_none`) never keep a scope alive, so a start whose only
    path ends in one is inherently unreachable (S2.2, S2.3)."""
    log: list[Any] = []

    def record(x: Any) -> Any:
        log.append(x)
        return x

    with pytest.warns(cf.UnreachableWarning, match="can never reach its end"):

        @cf.workflow
        def wf(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
            builder.chain(scope.start).then(record).cancel_on_none().dispose()

    cancellation = await cancellation_of(wf, None)
    assert cancellation.cause == cf.Unreachable("wf", ())
    assert log == []


async def test_path_to_an_explicit_cancel_is_not_inherently_unreachable() -> None:
    """An explicit cancel keeps a scope alive like terminate: a start whose only path leads
    to `then_cancel` runs and is cancelled with `Triggered` (S2.2, S2.3)."""

    async def later(x: int) -> int:
        await anyio.sleep(0.001)
        return x

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(later).then_cancel()

    cancellation = await cancellation_of(wf, 9)
    assert isinstance(cancellation.cause, cf.Triggered)
    assert cancellation.cause.value == "9"


# --------------------------------------------------------------------------- S2.4 conditional


async def test_conditional_unreachability() -> None:
    """A fork_result that takes the err branch, whose path ends in a dispose, leaves
    terminate unreachable: `Unreachable` lists the `Branching` of the ok branch (RE-7, S2.4)."""
    forks: list[str] = []

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        fork = builder.create_fork_result()
        forks.append(fork.name)
        builder.chain(scope.start).map(lambda x: cf.Err(x)).connect(fork.input)
        builder.chain(fork.ok).map(lambda v: v).connect(scope.terminate)
        builder.chain(fork.err).map(lambda e: e).map(lambda e: e).dispose()

    cancellation = await cancellation_of(wf, 1)
    (name,) = forks
    assert cancellation.cause == cf.Unreachable(
        "wf", (cf.Disposal(name, cf.Branching(name, "ok")),)
    )


async def test_conditional_path_fixed_by_routing_to_terminate() -> None:
    """Routing the err branch to terminate as well makes the same workflow answer (RE-8)."""

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).map(lambda x: cf.Err(x)).fork_result(
            ok=lambda c: c.connect(scope.terminate),
            err=lambda c: c.map(lambda e: e + 1).map(lambda e: e * 10).connect(scope.terminate),
        )

    assert await run(wf, 1) == 20


async def test_explicit_cancel_keeps_the_scope_alive() -> None:
    """The err branch leads to an explicit quiet cancel: it runs and cancels with
    `Triggered(value=None)`; on `Ok` the ok branch answers and the err branch never runs
    (RE-9, S2.2)."""
    ok_log: list[float] = []
    err_log: list[float] = []

    def rec_ok(x: float) -> float:
        ok_log.append(x)
        return x

    def rec_err(x: float) -> float:
        err_log.append(x)
        return x

    @cf.workflow
    def wf(scope: cf.Scope[cf.Result[None, None], float], builder: cf.Builder) -> None:
        builder.chain(scope.start).fork_result(
            ok=lambda c: c.map(lambda _: 5.0).then(rec_ok).connect(scope.terminate),
            err=lambda c: c.map(lambda _: 2.0).then(rec_err).then_quiet_cancel(),
        )

    cancellation = await cancellation_of(wf, cf.Err(None))
    assert isinstance(cancellation.cause, cf.Triggered)
    assert cancellation.cause.value is None
    assert err_log == [2.0]
    assert ok_log == []

    err_log.clear()
    assert await run(wf, cf.Ok(None)) == 5.0
    assert ok_log == [5.0]
    assert err_log == []


async def test_implicit_cancel_does_not_keep_the_scope_alive() -> None:
    """An err branch that can only end in an implicit cancel does not keep the scope alive:
    the session is cancelled with `Unreachable([Branching])` at once, and the branch's
    running task is cancelled before it records anything (RE-10, S2.2)."""
    err_log: list[str] = []

    async def slow(_: None) -> None:
        await anyio.sleep(10)
        err_log.append("slow-done")

    # the err branch ends in an implicit cancel: nothing after it leads to terminate
    @cf.workflow
    def wf2(scope: cf.Scope[cf.Result[None, None], None], builder: cf.Builder) -> None:
        builder.chain(scope.start).fork_result(
            ok=lambda c: c.connect(scope.terminate),
            err=lambda c: c.then(slow).map(lambda _: None).cancel_on_none().dispose(),
        )

    cancellation = await cancellation_of(wf2, cf.Err(None))
    assert [type(c) for c in disposal_causes(cancellation)] == [cf.Branching]
    assert err_log == []

    # with an explicit cancel at the end of the err branch, the branch is waited for
    async def short(_: None) -> None:
        await anyio.sleep(0.001)
        err_log.append("short-done")

    @cf.workflow
    def wf3(scope: cf.Scope[cf.Result[None, None], None], builder: cf.Builder) -> None:
        builder.chain(scope.start).fork_result(
            ok=lambda c: c.connect(scope.terminate),
            err=lambda c: c.then(short).then_quiet_cancel(),
        )

    cancellation = await cancellation_of(wf3, cf.Err(None))
    assert isinstance(cancellation.cause, cf.Triggered)
    assert err_log == ["short-done"]


async def test_disposal_on_the_only_path() -> None:
    """A `dispose_on_none` on the only path to terminate cancels with
    `Unreachable([Filtered])` (RE-11, S2.4)."""

    @cf.workflow
    def wf(scope: cf.Scope[float, float], builder: cf.Builder) -> None:
        (
            builder.chain(scope.start)
            .map(lambda v: (v, v))
            .map(lambda ab: ab[0] + ab[1])
            .map(lambda _: None)
            .dispose_on_none()
            .connect(scope.terminate)
        )

    cancellation = await cancellation_of(wf, 2.0)
    assert [type(c) for c in disposal_causes(cancellation)] == [cf.Filtered]


async def test_disposal_on_one_of_two_paths_is_harmless() -> None:
    """A disposal on a redundant path does not cancel anything; when both paths are
    disposed, every disposal is listed (RE-12, S2.4, S2.5)."""

    @cf.workflow
    def wf(scope: cf.Scope[Any, float], builder: cf.Builder) -> None:
        builder.chain(scope.start).fork_result(
            ok=lambda c: c.connect(scope.terminate),
            err=lambda c: c.dispose_on_err().connect(scope.terminate),
        )

    assert await run(wf, cf.Ok(1.0)) == 1.0
    assert await run(wf, cf.Err(cf.Ok(5.0))) == 5.0
    cancellation = await cancellation_of(wf, cf.Err(cf.Err(ValueError("e"))))
    causes = disposal_causes(cancellation)
    assert sorted(type(c).__name__ for c in causes) == ["Branching", "Filtered"]
    # the ok branch was the one not taken
    (branching,) = [c for c in causes if isinstance(c, cf.Branching)]
    assert branching.branch == "ok"


async def test_every_disposal_is_listed_in_order() -> None:
    """`Unreachable` carries every disposal recorded in the session, in the order they
    happened, including several from the same operation (S2.4, D3, DI-12); a repeat of
    the same operation and cause is one entry with its count."""

    @cf.workflow
    def wf(scope: cf.Scope[list[Any], Any], builder: cf.Builder) -> None:
        builder.chain(scope.start).spread().dispose_on_none().connect(scope.terminate)

    cancellation = await cancellation_of(wf, [None, None, None])
    causes = disposal_causes(cancellation)
    assert [type(c) for c in causes] == [cf.Filtered] * 3
    assert len({c.operation for c in causes}) == 1
    assert isinstance(cancellation.cause, cf.Unreachable)
    (entry,) = cancellation.cause.disposals
    assert entry.count == 3

    forks: list[str] = []

    @cf.workflow
    def wf2(scope: cf.Scope[list[Any], Any], builder: cf.Builder) -> None:
        fork = builder.create_fork_result()
        forks.append(fork.name)
        builder.chain(scope.start).spread().connect(fork.input)
        builder.chain(fork.ok).dispose_on_none().connect(scope.terminate)
        builder.chain(fork.err).dispose_on_none().connect(scope.terminate)

    # Ok(None): Branching(err) then Filtered(ok filter); Err(None): Branching(ok) then
    # Filtered(err filter). Breadth-first: both forks run before either filter.
    cancellation = await cancellation_of(wf2, [cf.Ok(None), cf.Err(None)])
    (name,) = forks
    causes = disposal_causes(cancellation)
    assert causes[:2] == [cf.Branching(name, "err"), cf.Branching(name, "ok")]
    assert [type(c) for c in causes[2:]] == [cf.Filtered, cf.Filtered]
    ok_filter, err_filter = causes[2], causes[3]
    assert ok_filter.operation != err_filter.operation
    assert [d.operation for d in cancellation.cause.disposals][:2] == [name, name]  # type: ignore[union-attr]


async def test_explicit_dispose_records_no_disposal() -> None:
    """`.dispose()` and an output left unconnected discard messages without a disposal: the
    only disposal listed is the filter's (S2.5)."""

    @cf.workflow
    def wf(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        builder.chain(scope.start).fork_clone(
            lambda c: c.map(lambda x: x).dispose(),
            lambda c: c.map(lambda x: x),  # output never connected
            lambda c: c.dispose_on_none().connect(scope.terminate),
        )

    cancellation = await cancellation_of(wf, None)
    assert [type(c) for c in disposal_causes(cancellation)] == [cf.Filtered]


async def test_disposal_alone_does_not_cancel() -> None:
    """A disposal never cancels anything by itself: while an async branch can still reach
    terminate, the session waits for it (S2.5, S2.1)."""

    async def later(x: int) -> int:
        await anyio.sleep(0.01)
        return x

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).fork_clone(
            lambda c: c.map(lambda _: None).dispose_on_none().connect(scope.terminate),
            lambda c: c.then(later).connect(scope.terminate),
        )

    assert await run(wf, 3) == 3


async def test_active_child_session_keeps_the_parent_alive() -> None:
    """A running child session is activity: the parent waits for its response even after a
    disposal on another path (S2.1)."""

    async def later(x: int) -> int:
        await anyio.sleep(0.01)
        return x + 1

    def child(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(later).connect(scope.terminate)

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).fork_clone(
            lambda c: c.map(lambda _: None).dispose_on_none().connect(scope.terminate),
            lambda c: c.then_scope(child).connect(scope.terminate),
        )

    assert await run(wf, 1) == 2


async def test_unreachability_cancels_running_tasks() -> None:
    """When reachability fails, tasks of the session that can no longer matter are cancelled
    and their `finally` blocks have run before `run` raises (S2.4, S6.1)."""
    log: list[str] = []
    started = anyio.Event()

    async def sleeper(_: int) -> None:
        started.set()
        try:
            await anyio.sleep(10)
        finally:
            log.append("finally")

    async def wait_then_none(_: int) -> None:
        await started.wait()
        return None

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).fork_clone(
            lambda c: c.then(sleeper).dispose(),
            lambda c: c.then(wait_then_none).dispose_on_none().connect(scope.terminate),
        )

    cancellation = await cancellation_of(wf, 1)
    assert [type(c) for c in disposal_causes(cancellation)] == [cf.Filtered]
    assert log == ["finally"]


async def test_disposals_across_time_are_listed_in_order() -> None:
    """Reachability is re-checked after every disposal: the first disposal leaves an async
    path alive; when that path is disposed too, both disposals are listed, first one first
    (S2.4)."""
    names: list[str] = []

    async def later(_: int) -> None:
        await anyio.sleep(0.001)
        return None

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        first = builder.create_fork_option()
        second = builder.create_fork_option()
        names.extend([first.name, second.name])
        builder.chain(scope.start).fork_clone(
            lambda c: c.map(lambda _: None).connect(first.input),
            lambda c: c.then(later).connect(second.input),
        )
        builder.connect(first.some, scope.terminate)
        builder.connect(second.some, scope.terminate)

    cancellation = await cancellation_of(wf, 1)
    first_name, second_name = names
    assert disposal_causes(cancellation) == [
        cf.Branching(first_name, "some"),
        cf.Branching(second_name, "some"),
    ]


async def test_async_cycle_stays_alive_until_it_ends() -> None:
    """A task on a cycle that leads to terminate is activity: the session lives through every
    turn of an async loop and is cancelled only once the loop stops feeding itself (S2.1,
    S2.4)."""
    turns: list[int] = []

    async def decrement(x: int) -> int:
        turns.append(x)
        await anyio.lowlevel.checkpoint()
        return x - 1

    @cf.workflow
    def countdown(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        node = builder.create_node(decrement)
        builder.connect(scope.start, node.input)
        option = builder.create_fork_option()
        builder.chain(node.output).map(lambda v: v if v > 0 else None).connect(option.input)
        builder.chain(option.some).fork_clone(
            lambda c: c.connect(node.input),
            lambda c: (
                c.map(lambda v: v if v > 100 else None).dispose_on_none().connect(scope.terminate)
            ),
        )

    cancellation = await cancellation_of(countdown, 3)
    assert turns == [3, 2, 1]
    causes = disposal_causes(cancellation)
    assert [type(c) for c in causes if isinstance(c, cf.Filtered)] == [cf.Filtered] * 2
    assert causes[-1] == cf.Branching(causes[-1].operation, "some")

    @cf.workflow
    def countdown_to_terminate(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        node = builder.create_node(decrement)
        builder.connect(scope.start, node.input)
        builder.chain(node.output).map(lambda v: v if v > 0 else None).fork_option(
            some=lambda c: c.connect(node.input),
            none=lambda c: c.map(lambda _: len(turns)).connect(scope.terminate),
        )

    turns.clear()
    assert await run(countdown_to_terminate, 4) == 4
