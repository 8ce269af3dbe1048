"""Uninterruptible scopes: outside cancellation is ignored, internal cancellation is not
(S6.4, S4.5)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import anyio.lowlevel
import pytest

import crossflow as cf
from crossflow.testing import assert_cancelled
from crossflow.testing import assert_completes as run

pytestmark = pytest.mark.anyio

UNINTERRUPTIBLE = cf.ScopeSettings(uninterruptible=True)

BuildFn = Callable[[cf.Scope[Any, Any], cf.Builder], None]


def recorder(log: list[Any], tag: str) -> BuildFn:
    """A cleanup workflow that records `tag`."""

    def build(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        builder.chain(scope.start).map(lambda _: log.append(tag)).connect(scope.terminate)

    return build


class Gate:
    """A child step that says when it started and finishes only when let go."""

    def __init__(self, log: list[Any], name: str) -> None:
        self.log = log
        self.name = name
        self.started = anyio.Event()
        self.go = anyio.Event()

    async def step(self, x: Any) -> Any:
        self.started.set()
        try:
            await self.go.wait()
            # a cancellation that reached this task would be delivered here
            await anyio.lowlevel.checkpoint()
        except anyio.get_cancelled_exc_class():
            self.log.append(f"{self.name} cancelled")
            raise
        self.log.append(f"{self.name} finished")
        return x


def child_scope(log: list[Any], gate: Gate) -> BuildFn:
    """`[s] -> fork_clone{ buf ; gate.step -> [t] }` with the three cleanup workflows."""

    def build(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        buf = builder.create_buffer()
        builder.chain(scope.start).fork_clone(
            lambda c: c.connect(buf),
            lambda c: c.then(gate.step).connect(scope.terminate),
        )
        builder.on_cancel(buf, recorder(log, "child on_cancel"))
        builder.on_terminate(buf, recorder(log, "child on_terminate"))
        builder.on_cleanup(buf, recorder(log, "child on_cleanup"))

    return build


def parent_ending_early(
    log: list[Any], gate: Gate, child: BuildFn | cf.Workflow[Any, Any], ended: anyio.Event
) -> cf.Workflow[int, str]:
    """`[start] -> fork_clone{ child -> [dispose] ; (child started) -> "done" -> [terminate] }`.

    `ended` is set by the blocking step right before terminate: the parent has reached
    terminate before any other task runs again.
    """

    async def when_started(_: int) -> int:
        await gate.started.wait()
        return 0

    def done(_: int) -> str:
        ended.set()
        return "done"

    @cf.workflow
    def parent(scope: cf.Scope[int, str], builder: cf.Builder) -> None:
        def to_child(c: cf.Chain[int]) -> None:
            if isinstance(child, cf.Workflow):
                c.then(child).dispose()
            else:
                c.then_scope(child, settings=UNINTERRUPTIBLE).dispose()

        builder.chain(scope.start).fork_clone(
            to_child,
            lambda c: c.then(when_started).map(done).connect(scope.terminate),
        )
        builder.on_terminate(builder.create_buffer(), recorder(log, "parent on_terminate"))

    return parent


async def run_cancelled_by_caller(wf: cf.Workflow[int, Any], log: list[Any], gate: Gate) -> None:
    """Run `wf`, cancel the caller once the gated step started, then let the step go.

    Logs "let go" when the step is released and "run raised" when `run` re-raises the
    backend's cancellation (which must happen: the caller was cancelled).
    """

    async def cancel_then_let_go(caller: anyio.CancelScope) -> None:
        await gate.started.wait()
        caller.cancel()
        for _ in range(10):
            await anyio.lowlevel.checkpoint()
        log.append("let go")
        gate.go.set()

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            with anyio.CancelScope() as caller:
                tg.start_soon(cancel_then_let_go, caller)
                try:
                    await wf.run(3)
                except anyio.get_cancelled_exc_class():
                    log.append("run raised")
                    raise
    assert caller.cancelled_caught


async def let_go_after(ended: anyio.Event, gate: Gate) -> None:
    await ended.wait()
    gate.go.set()


# --------------------------------------------------------------------------- S6.4


async def test_an_uninterruptible_child_finishes_before_the_parents_response() -> None:
    """CL-9 (S6.4): the parent terminates while its uninterruptible child runs. The child
    runs on to its own terminate and is cleaned up as terminated (`on_terminate`, not
    `on_cancel`), and the parent's cleanup and response wait for it."""
    log: list[Any] = []
    gate = Gate(log, "child")
    ended = anyio.Event()
    parent = parent_ending_early(log, gate, child_scope(log, gate), ended)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(let_go_after, ended, gate)
            assert await parent.run(1) == "done"
    assert log[:1] == ["child finished"]
    assert sorted(log[1:3]) == ["child on_cleanup", "child on_terminate"]
    assert log[3:] == ["parent on_terminate"]


async def test_an_uninterruptible_workflow_node_behaves_like_an_uninterruptible_scope() -> None:
    """S1.1, S6.4: a workflow built with `ScopeSettings(uninterruptible=True)` and used as
    a node is waited for like an uninterruptible scope."""
    log: list[Any] = []
    gate = Gate(log, "child")
    ended = anyio.Event()
    child = cf.Workflow.build(child_scope(log, gate), name="child", settings=UNINTERRUPTIBLE)
    parent = parent_ending_early(log, gate, child, ended)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(let_go_after, ended, gate)
            assert await parent.run(1) == "done"
    assert log[:1] == ["child finished"]
    assert sorted(log[1:3]) == ["child on_cleanup", "child on_terminate"]
    assert log[3:] == ["parent on_terminate"]


@pytest.mark.parametrize("instructed", [False, True])
async def test_an_uninterruptible_root_runs_on_when_the_caller_cancels(instructed: bool) -> None:
    """CL-10 (S6.4, API §2): the caller's task is cancelled while an uninterruptible root
    runs. The session runs to its end (`on_terminate`, not `on_cancel`), and only then does
    `run` re-raise the backend's cancellation; also for a workflow run with delivery
    instructions (S7.5)."""
    log: list[Any] = []
    gate = Gate(log, "root")

    wf = cf.Workflow.build(child_scope(log, gate), name="root", settings=UNINTERRUPTIBLE)
    if instructed:
        wf = wf.instruct(label="L")

    await run_cancelled_by_caller(wf, log, gate)
    assert log[:2] == ["let go", "root finished"]
    assert sorted(log[2:4]) == ["child on_cleanup", "child on_terminate"]
    assert log[4:] == ["run raised"]


async def test_a_child_of_an_uninterruptible_root_keeps_running_when_the_caller_cancels() -> None:
    """S6.4: an uninterruptible root ignores the caller's cancellation, so it does not
    interrupt its (ordinary) child either: the child finishes and is cleaned up as
    terminated, the root responds internally, then `run` re-raises."""
    log: list[Any] = []
    gate = Gate(log, "child")

    @cf.workflow(settings=UNINTERRUPTIBLE)
    def root(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then_scope(child_scope(log, gate)).map(
            lambda x: log.append("root got the child's response") or x
        ).connect(scope.terminate)
        buf = builder.create_buffer()
        builder.on_cancel(buf, recorder(log, "root on_cancel"))
        builder.on_terminate(buf, recorder(log, "root on_terminate"))

    await run_cancelled_by_caller(root, log, gate)
    assert log[:2] == ["let go", "child finished"]
    assert sorted(log[2:4]) == ["child on_cleanup", "child on_terminate"]
    assert log[4:] == ["root got the child's response", "root on_terminate", "run raised"]


async def test_an_uninterruptible_child_keeps_running_when_the_caller_cancels() -> None:
    """S6.4: the caller cancels an ordinary root whose uninterruptible child runs. The
    root is cancelled (`on_cancel`), but its cleanup waits for the child, which finishes
    and is cleaned up as terminated; then `run` re-raises."""
    log: list[Any] = []
    gate = Gate(log, "child")

    @cf.workflow
    def root(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then_scope(
            child_scope(log, gate), settings=UNINTERRUPTIBLE
        ).connect(scope.terminate)
        buf = builder.create_buffer()
        builder.on_cancel(buf, recorder(log, "root on_cancel"))
        builder.on_terminate(buf, recorder(log, "root on_terminate"))

    await run_cancelled_by_caller(root, log, gate)
    assert log[:2] == ["let go", "child finished"]
    assert sorted(log[2:4]) == ["child on_cleanup", "child on_terminate"]
    assert log[4:] == ["root on_cancel", "run raised"]


async def test_trimming_an_uninterruptible_scope_waits_for_it() -> None:
    """S6.4: a trim interrupts the nested sessions of its span; an uninterruptible one runs
    to its end (cleaned up as terminated) before the trim passes its message on."""
    log: list[Any] = []
    gate = Gate(log, "child")

    async def when_started(x: int) -> int:
        await gate.started.wait()
        return x

    def trimmed(x: int) -> int:
        log.append("trim passed")
        return x * 10

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        node = builder.create_scope(child_scope(log, gate), settings=UNINTERRUPTIBLE)
        builder.chain(node.output).map(lambda x: log.append("child responded") or x).dispose()
        builder.chain(scope.start).fork_clone(
            lambda c: c.connect(node.input),
            lambda c: (
                c.then(when_started)
                .then_trim(cf.TrimBranch.single_point(node))
                .map(trimmed)
                .connect(scope.terminate)
            ),
        )

    async def let_go() -> None:
        await gate.started.wait()
        for _ in range(10):
            await anyio.lowlevel.checkpoint()
        gate.go.set()

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(let_go)
            assert await wf.run(2) == 20
    assert log[:1] == ["child finished"]
    assert sorted(log[1:3]) == ["child on_cleanup", "child on_terminate"]
    assert log[3:] == ["trim passed"]


# --------------------------------------------------------------------------- S4.5


INTERNAL = ["cancel_on_none", "then_cancel", "unreachable", "service_failed"]


def internal_cancel(how: str, log: list[Any]) -> BuildFn:
    """A scope that cancels itself (`how`) after an async step, and records its cleanup."""

    async def step(x: int) -> int:
        await anyio.lowlevel.checkpoint()
        return x

    def boom(_: int) -> int:
        raise ValueError("boom")

    def build(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        buf = builder.create_buffer()
        chain = builder.chain(scope.start).branch_clone(lambda c: c.connect(buf)).then(step)
        if how == "cancel_on_none":
            chain.map(lambda _: None).cancel_on_none().connect(scope.terminate)
        elif how == "then_cancel":
            chain.then_cancel()
        elif how == "unreachable":
            chain.map(lambda _: None).dispose_on_none().connect(scope.terminate)
        else:
            chain.then(boom, name="boom").connect(scope.terminate)
        builder.on_cancel(buf, recorder(log, "on_cancel"))
        builder.on_terminate(buf, recorder(log, "on_terminate"))

    return build


def check_cause(how: str, cancellation: cf.Cancellation) -> None:
    cause = cancellation.cause
    if how == "cancel_on_none":
        assert isinstance(cause, cf.Filtered)
    elif how == "then_cancel":
        assert isinstance(cause, cf.Triggered)
        assert cause.value == "4"
    elif how == "unreachable":
        assert isinstance(cause, cf.Unreachable)
        assert [type(d.cause) for d in cause.disposals] == [cf.Filtered]
    else:
        assert isinstance(cause, cf.ServiceFailed)
        assert cause.operation == "boom"
        assert str(cause.error) == "boom"


@pytest.mark.parametrize("how", INTERNAL)
async def test_internal_cancellation_cancels_an_uninterruptible_root(how: str) -> None:
    """CA-13 (S4.5): cancel operations, filters, unreachability and service failures
    still cancel an uninterruptible root, which runs `on_cancel`."""
    log: list[Any] = []
    wf = cf.Workflow.build(internal_cancel(how, log), name="root", settings=UNINTERRUPTIBLE)
    error = await assert_cancelled(wf, 4)
    check_cause(how, error.cancellation)
    assert log == ["on_cancel"]


@pytest.mark.parametrize("how", INTERNAL)
async def test_internal_cancellation_cancels_an_uninterruptible_nested_scope(how: str) -> None:
    """CA-13 (S4.5, S1.7): the same inside an uninterruptible nested scope: it is cancelled
    and the parent records `ScopeCancelled` with that cancellation."""
    log: list[Any] = []

    @cf.workflow
    def parent(scope: cf.Scope[int, list[int]], builder: cf.Builder) -> None:
        builder.chain(scope.start).then_scope(
            internal_cancel(how, log), settings=UNINTERRUPTIBLE
        ).collect(min=0, max=1).connect(scope.terminate)

    assert await run(parent, 4) == []
    assert log == ["on_cancel"]

    @cf.workflow
    def strict(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then_scope(
            internal_cancel(how, log), settings=UNINTERRUPTIBLE, name="inner"
        ).connect(scope.terminate)

    cause = (await assert_cancelled(strict, 4)).cancellation.cause
    assert isinstance(cause, cf.Unreachable)
    (disposal,) = cause.disposals
    assert isinstance(disposal.cause, cf.ScopeCancelled)
    check_cause(how, disposal.cause.cancellation)


@pytest.mark.parametrize("how", ["direct", "node"])
async def test_supplanting_cancels_an_uninterruptible_workflow(how: str) -> None:
    """S4.5, S7.5: pre-emption is not an outside interruption: a running uninterruptible
    workflow that is supplanted is cancelled with `Supplanted` and runs `on_cancel`,
    whether it runs directly or as a node of another workflow."""
    log: list[Any] = []
    started = anyio.Event()

    async def step(x: int) -> int:
        if x == 1:
            started.set()
            try:
                await anyio.sleep_forever()
            finally:
                log.append("step finally")
        return x

    @cf.workflow(settings=UNINTERRUPTIBLE)
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        buf = builder.create_buffer()
        builder.chain(scope.start).branch_clone(lambda c: c.connect(buf)).then(step).connect(
            scope.terminate
        )
        builder.on_cancel(buf, recorder(log, "on_cancel"))
        builder.on_terminate(buf, recorder(log, "on_terminate"))

    @cf.workflow
    def parent(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(wf.instruct(label="L")).connect(scope.terminate)

    outcomes: list[cf.Cancellation] = []

    async def first() -> None:
        try:
            if how == "direct":
                await wf.instruct(label="L").run(1)
            else:
                await parent.run(1)
        except cf.WorkflowCancelled as error:
            outcomes.append(error.cancellation)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(first)
            await started.wait()
            assert await wf.instruct(label="L", preempt=True).run(2) == 2
    (cancellation,) = outcomes
    if how == "node":
        cause = cancellation.cause
        assert isinstance(cause, cf.Unreachable)
        (disposal,) = cause.disposals
        assert isinstance(disposal.cause, cf.ScopeCancelled)
        cancellation = disposal.cause.cancellation
    assert isinstance(cancellation.cause, cf.Supplanted)
    assert log == ["step finally", "on_cancel", "on_terminate"]
