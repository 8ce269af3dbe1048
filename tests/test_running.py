"""Running a workflow: `run` on asyncio and trio, `run_sync`, concurrent runs, and
cancellation from outside (API §2; S1.1, S1.5, S4.2, S6.1)."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

import crossflow as cf


async def later(x: int) -> int:
    await anyio.sleep(0.001 * (x % 5))
    return x


@cf.workflow
def double(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
    builder.chain(scope.start).then(later).map(lambda x: 2 * x).connect(scope.terminate)


# --------------------------------------------------------------------------- run / run_sync


@pytest.mark.anyio
async def test_run() -> None:
    """`await wf.run(request)` returns the response inside any anyio loop (API §2)."""
    with anyio.fail_after(5):
        assert await double.run(21) == 42


@pytest.mark.anyio
async def test_run_raises_workflow_cancelled() -> None:
    """A cancelled session makes `run` raise `WorkflowCancelled` with `.cancellation`
    (API §2, S4.1)."""

    @cf.workflow
    def refuse(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(later).then_cancel()

    with anyio.fail_after(5):
        with pytest.raises(cf.WorkflowCancelled) as info:
            await refuse.run(3)
    assert isinstance(info.value.cancellation, cf.Cancellation)
    assert info.value.cancellation.cause == cf.Triggered(
        info.value.cancellation.cause.operation,  # type: ignore[union-attr]
        "3",
    )


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_run_sync(backend: Any) -> None:
    """`wf.run_sync(request)` starts an event loop of the chosen backend (API §2)."""
    assert double.run_sync(5, backend=backend) == 10
    assert double.run_sync(6) == 12


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_run_sync_raises_workflow_cancelled(backend: Any) -> None:
    """`run_sync` raises `WorkflowCancelled` like `run` (API §2)."""

    @cf.workflow
    def refuse(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then_quiet_cancel()

    with pytest.raises(cf.WorkflowCancelled):
        refuse.run_sync(1, backend=backend)


def test_run_sync_bad_backend() -> None:
    """An unknown backend name raises `InvalidArgument` (API §2)."""
    with pytest.raises(cf.InvalidArgument, match=r"backend"):
        double.run_sync(1, backend="curio")  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_run_sync_inside_a_running_loop() -> None:
    """`run_sync` called from inside a running event loop raises a `CrossflowError` (every
    exception the library raises is one, API §1) telling to `await run` instead (API §2)."""
    with pytest.raises(cf.CrossflowError, match=r"await double\.run"):
        double.run_sync(1)


# --------------------------------------------------------------------------- concurrency


@pytest.mark.anyio
async def test_concurrent_runs_are_isolated() -> None:
    """Any number of runs may go on concurrently; each is its own session with its own
    collect progress and staged response (API §2, S1.5, EX-5)."""

    @cf.workflow
    def wf(scope: cf.Scope[int, tuple[int, list[int]]], builder: cf.Builder) -> None:
        (
            builder.chain(scope.start)
            .map(lambda n: [n] * n)
            .spread()
            .then(later)
            .collect_all()
            .map(lambda xs: (xs[0], xs))
            .connect(scope.terminate)
        )

    results: dict[int, Any] = {}

    async def one(n: int) -> None:
        results[n] = await wf.run(n)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            for n in range(1, 21):
                tg.start_soon(one, n)
    assert results == {n: (n, [n] * n) for n in range(1, 21)}


@pytest.mark.anyio
async def test_concurrent_runs_do_not_cancel_each_other() -> None:
    """A run that is cancelled does not disturb a concurrent run of the same workflow
    (API §2, S1.5)."""
    gate = anyio.Event()

    async def wait_gate(x: int) -> int:
        await gate.wait()
        return x

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(wait_gate).map(
            lambda x: x if x > 0 else None
        ).cancel_on_none().connect(scope.terminate)

    outcomes: dict[int, Any] = {}

    async def one(n: int) -> None:
        try:
            outcomes[n] = await wf.run(n)
        except cf.WorkflowCancelled as error:
            outcomes[n] = type(error.cancellation.cause)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            for n in (-1, 1, 2):
                tg.start_soon(one, n)
            await anyio.wait_all_tasks_blocked()
            gate.set()
    assert outcomes == {-1: cf.Filtered, 1: 1, 2: 2}


# --------------------------------------------------------------------------- outer cancellation


def _sleeper_workflow(started: anyio.Event, log: list[str], nested: bool) -> cf.Workflow[int, int]:
    async def sleeper(x: int) -> int:
        started.set()
        try:
            await anyio.sleep(10)
            log.append("finished")
            return x
        finally:
            log.append("finally")

    def body(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(sleeper).connect(scope.terminate)

    if not nested:
        return cf.Workflow.build(body, name="sleepy")

    def outer(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then_scope(body).connect(scope.terminate)

    return cf.Workflow.build(outer, name="sleepy_outer")


@pytest.mark.anyio
@pytest.mark.parametrize("nested", [False, True], ids=["root", "nested"])
async def test_outer_cancellation_reraises_the_backend_cancellation(nested: bool) -> None:
    """Cancelling the task that awaits `run` cancels the session, waits for its cleanup (the
    service's `finally` has run) and re-raises the backend's own cancellation, not
    `WorkflowCancelled` (API §2, S4.2, S6.1)."""
    started = anyio.Event()
    log: list[str] = []
    wf = _sleeper_workflow(started, log, nested)
    outcome: list[Any] = []

    async def runner() -> None:
        try:
            await wf.run(1)
        except cf.WorkflowCancelled:
            outcome.append(("workflow-cancelled", list(log)))
            raise
        except anyio.get_cancelled_exc_class():
            outcome.append(("backend-cancelled", list(log)))
            raise
        else:
            outcome.append(("returned", list(log)))

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(runner)
            await started.wait()
            tg.cancel_scope.cancel()
    assert outcome == [("backend-cancelled", ["finally"])]
    assert log == ["finally"]


@pytest.mark.anyio
async def test_cancel_scope_around_run() -> None:
    """An anyio cancel scope around `run` in the same task is honoured: the scope catches
    its cancellation and cleanup has finished when it exits (API §2)."""
    started = anyio.Event()
    log: list[str] = []
    wf = _sleeper_workflow(started, log, nested=False)

    async def cancel_when_started(scope: anyio.CancelScope) -> None:
        await started.wait()
        scope.cancel()

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            with anyio.CancelScope() as scope:
                tg.start_soon(cancel_when_started, scope)
                await wf.run(1)
                pytest.fail("run returned although it was cancelled")
    assert scope.cancelled_caught
    assert log == ["finally"]


@pytest.mark.anyio
async def test_outer_cancellation_cancels_every_task() -> None:
    """With many activations running, an outer cancellation cleans up all of them before
    the cancellation propagates (API §2, S6.1)."""
    log: list[int] = []
    running: list[int] = []
    all_running = anyio.Event()

    async def sleeper(x: int) -> int:
        running.append(x)
        if len(running) == 5:
            all_running.set()
        try:
            await anyio.sleep(10)
            return x
        finally:
            log.append(x)

    @cf.workflow
    def wf(scope: cf.Scope[list[int], list[int]], builder: cf.Builder) -> None:
        builder.chain(scope.start).spread().then(sleeper).collect_all().connect(scope.terminate)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(wf.run, [1, 2, 3, 4, 5])
            await all_running.wait()
            tg.cancel_scope.cancel()
    assert sorted(log) == [1, 2, 3, 4, 5]


@pytest.mark.anyio
async def test_workflow_runs_again_after_outer_cancellation() -> None:
    """An outer cancellation ends only that session: later runs in the same loop work
    normally (API §2, S1.1)."""
    started = anyio.Event()
    log: list[str] = []
    wf = _sleeper_workflow(started, log, nested=False)

    async def cancel_when_started(scope: anyio.CancelScope) -> None:
        await started.wait()
        scope.cancel()

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            with anyio.CancelScope() as scope:
                tg.start_soon(cancel_when_started, scope)
                await wf.run(1)
        assert log == ["finally"]
        assert await double.run(4) == 8


@pytest.mark.anyio
async def test_many_concurrent_runs_with_nested_scopes() -> None:
    """Many concurrent runs of a workflow with nested scopes each get their own answer
    (API §2, S1.5)."""

    def child(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(later).map(lambda x: x + 1).connect(scope.terminate)

    @cf.workflow
    def wf(scope: cf.Scope[int, list[int]], builder: cf.Builder) -> None:
        (
            builder.chain(scope.start)
            .map(lambda n: list(range(n)))
            .spread()
            .then_scope(child)
            .collect_all()
            .map(sorted)
            .connect(scope.terminate)
        )

    results: dict[int, list[int]] = {}

    async def one(n: int) -> None:
        results[n] = await wf.run(n)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            for n in range(1, 101):
                tg.start_soon(one, n % 10 + 1)
    assert results == {n: list(range(1, n + 1)) for n in range(1, 11)}


@pytest.mark.anyio
async def test_outer_cancellation_waits_for_shielded_cleanup() -> None:
    """After an outer cancellation, `run` re-raises only once a service's shielded cleanup
    has finished (API §2, S6.1)."""
    started = anyio.Event()
    log: list[str] = []
    seen: list[list[str]] = []

    async def slow(x: int) -> int:
        started.set()
        try:
            await anyio.sleep(10)
            return x
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.sleep(0.01)
                log.append("cleaned")

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(slow).connect(scope.terminate)

    async def runner() -> None:
        try:
            await wf.run(1)
        except anyio.get_cancelled_exc_class():
            seen.append(list(log))
            raise

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(runner)
            await started.wait()
            tg.cancel_scope.cancel()
    assert seen == [["cleaned"]]
