"""Cleanup workflows: `on_cancel`, `on_terminate`, `on_cleanup` (S6.1-S6.3, S4.3, S4.4)."""

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

BuildFn = Callable[[cf.Scope[Any, Any], cf.Builder], None]


def recorder(log: list[Any], tag: str, *, asynchronous: bool = False) -> BuildFn:
    """A cleanup workflow that records `(tag, contents of its buffer)` and ends.

    Its request is one key; with `asynchronous`, it records from an async service after
    a few checkpoints.
    """

    def read(key: cf.BufferKey[Any]) -> None:
        with key.access() as view:
            log.append((tag, list(view)))

    async def read_later(key: cf.BufferKey[Any]) -> None:
        for _ in range(3):
            await anyio.lowlevel.checkpoint()
        read(key)

    def build(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        chain = builder.chain(scope.start)
        (chain.then(read_later) if asynchronous else chain.map(read)).connect(scope.terminate)

    return build


def drainer(log: list[Any], tag: str) -> BuildFn:
    """A cleanup workflow that drains its buffer and records `(tag, items)`."""

    def drain(key: cf.BufferKey[Any]) -> None:
        with key.access() as view:
            log.append((tag, view.drain()))

    def build(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        builder.chain(scope.start).map(drain).connect(scope.terminate)

    return build


def none(_: object) -> None:
    return None


# --------------------------------------------------------------------------- S6.1, S6.2


async def test_on_cancel_drains_the_buffer_of_a_cancelled_session() -> None:
    """CL-1 (S6.1, S6.2): a cancelled session runs its `on_cancel` workflow, which finds
    the buffer's contents through its key; the cancellation is delivered unchanged."""
    log: list[Any] = []

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        buf = builder.create_buffer(cf.BufferSettings.keep_all())
        builder.chain(scope.start).fork_clone(
            lambda c: c.connect(buf),
            lambda c: c.map(none).cancel_on_none().connect(scope.terminate),
        )
        builder.on_cancel(buf, drainer(log, "on_cancel"))

    error = await assert_cancelled(wf, 5)
    assert isinstance(error.cancellation.cause, cf.Filtered)
    assert error.cancellation.while_cancelling == ()
    assert log == [("on_cancel", [5])]


@pytest.mark.parametrize(
    ("request_", "outcome", "expected"),
    [
        (3, "cancelled", [("cancel", [3]), ("cleanup", [3])]),
        (6, 6, [("terminate", [6]), ("cleanup", [6])]),
    ],
)
async def test_which_cleanup_workflows_run_depends_on_the_outcome(
    request_: int, outcome: object, expected: list[tuple[str, list[int]]]
) -> None:
    """CL-2 (S6.2): `on_terminate` runs after terminate, `on_cancel` after a cancellation,
    `on_cleanup` always; each sees its own buffer."""
    log: list[Any] = []

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        cancel_buf = builder.create_buffer(name="CB")
        terminate_buf = builder.create_buffer(name="TB")
        cleanup_buf = builder.create_buffer(name="XB")
        builder.chain(scope.start).fork_clone(
            lambda c: c.connect(cancel_buf),
            lambda c: c.connect(terminate_buf),
            lambda c: c.connect(cleanup_buf),
            lambda c: (
                c.map(lambda v: v if v >= 5 else None).cancel_on_none().connect(scope.terminate)
            ),
        )
        builder.on_cancel(cancel_buf, drainer(log, "cancel"))
        builder.on_terminate(terminate_buf, drainer(log, "terminate"))
        builder.on_cleanup(cleanup_buf, drainer(log, "cleanup"))

    if outcome == "cancelled":
        error = await assert_cancelled(wf, request_)
        assert isinstance(error.cancellation.cause, cf.Filtered)
    else:
        assert await run(wf, request_) == outcome
    # each workflow that applies ran exactly once, the others not at all
    assert sorted(log) == sorted(expected)


async def test_cleanup_workflows_run_together_and_gate_the_response() -> None:
    """CL-5 (S6.1, S6.3): cleanup workflows start together, and the response is delivered
    only after all of them ended.

    Each cleanup workflow waits until the other one has started: run one after the
    other, they would wait forever.
    """
    log: list[str] = []
    started = {"a": anyio.Event(), "b": anyio.Event()}

    def waiter(me: str, other: str) -> BuildFn:
        async def step(_: object) -> None:
            started[me].set()
            await started[other].wait()
            await anyio.lowlevel.checkpoint()
            log.append(me)

        def build(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
            builder.chain(scope.start).then(step).connect(scope.terminate)

        return build

    @cf.workflow
    def wf(scope: cf.Scope[str, str], builder: cf.Builder) -> None:
        buf = builder.create_buffer()
        builder.connect(scope.start, scope.terminate)
        builder.on_cleanup(buf, waiter("a", "b"))
        builder.on_cleanup(buf, waiter("b", "a"))

    assert await run(wf, "response") == "response"
    assert sorted(log) == ["a", "b"]


async def test_a_cleanup_workflow_has_its_own_buffers_and_cleanup() -> None:
    """CL-6 (S6.1, S6.3): a cleanup workflow is an ordinary scope: its own buffer and its
    own `on_cleanup` run, and finish before the outer response is delivered."""
    log: list[Any] = []

    def body(key: cf.BufferKey[int]) -> int:
        with key.access() as view:
            value = view.newest()
        assert value is not None
        log.append(("body", value))
        return value * 10

    def cleanup_workflow(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        inner = builder.create_buffer(cf.BufferSettings.keep_all(), name="inner")
        builder.chain(scope.start).map(body).fork_clone(
            lambda c: c.connect(inner),
            lambda c: c.connect(scope.terminate),
        )
        builder.on_cleanup(inner, drainer(log, "inner on_cleanup"))

    @cf.workflow
    def wf(scope: cf.Scope[int, str], builder: cf.Builder) -> None:
        buf = builder.create_buffer()
        builder.chain(scope.start).fork_clone(
            lambda c: c.connect(buf),
            lambda c: c.map(lambda _: "done").connect(scope.terminate),
        )
        builder.on_cleanup(buf, cleanup_workflow)

    assert await run(wf, 4) == "done"
    assert log == [("body", 4), ("inner on_cleanup", [40])]


async def test_cleanup_workflows_with_async_services() -> None:
    """S6.1, S6.3: cleanup workflows made of async services run to their end before the
    response (or the cancellation) is delivered."""
    log: list[Any] = []

    def build(fail: bool) -> cf.Workflow[int, int]:
        @cf.workflow
        def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
            buf = builder.create_buffer()
            end = builder.chain(scope.start).branch_clone(lambda c: c.connect(buf))
            if fail:
                end = end.map(none).cancel_on_none()
            end.connect(scope.terminate)
            builder.on_cancel(buf, recorder(log, "on_cancel", asynchronous=True))
            builder.on_terminate(buf, recorder(log, "on_terminate", asynchronous=True))
            builder.on_cleanup(buf, recorder(log, "on_cleanup", asynchronous=True))

        return wf

    assert await run(build(False), 1) == 1
    assert sorted(log) == [("on_cleanup", [1]), ("on_terminate", [1])]
    log.clear()
    await assert_cancelled(build(True), 2)
    assert sorted(log) == [("on_cancel", [2]), ("on_cleanup", [2])]


# --------------------------------------------------------------------------- S4.3, S4.4


async def test_while_cancelling_holds_the_cleanup_workflows_cancellation() -> None:
    """CA-11 (S4.4): a cleanup workflow of a cancelled session that cancels itself is
    recorded in `while_cancelling`, exactly once; the cause stays the session's own."""

    def cancels(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        builder.chain(scope.start).then_quiet_cancel()

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        buf = builder.create_buffer()
        builder.chain(scope.start).fork_clone(
            lambda c: c.connect(buf),
            lambda c: c.map(none).cancel_on_none().connect(scope.terminate),
        )
        builder.on_cancel(buf, cancels)

    cancellation = (await assert_cancelled(wf, 1)).cancellation
    assert isinstance(cancellation.cause, cf.Filtered)
    assert cancellation.cause.reason is not None
    assert "None" in cancellation.cause.reason
    (during,) = cancellation.while_cancelling
    assert isinstance(during.cause, cf.Triggered)
    assert during.cause.value is None
    assert during.while_cancelling == ()


async def test_a_cleanup_workflow_cancelling_after_terminate_only_warns() -> None:
    """CA-12 (S4.3, S4.4): after terminate, a cleanup workflow that cancels does not change
    the response; it is reported as a `CrossflowWarning`, and the other cleanup workflow
    still runs."""
    log: list[Any] = []

    def cancels(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        builder.chain(scope.start).map(none).cancel_on_none().connect(scope.terminate)

    @cf.workflow
    def wf(scope: cf.Scope[float, float], builder: cf.Builder) -> None:
        buf = builder.create_buffer()
        builder.connect(scope.start, scope.terminate)
        builder.on_cleanup(buf, recorder(log, "fine"))
        builder.on_cleanup(buf, cancels)

    with pytest.warns(cf.CrossflowWarning, match="cleanup workflow") as warned:
        assert await run(wf, 1.0) == 1.0
    assert len(warned) == 1
    assert log == [("fine", [])]


async def test_a_service_failing_in_a_cleanup_workflow_lands_in_while_cancelling() -> None:
    """S4.3, S4.4: a service that raises inside a cleanup workflow cancels that cleanup
    workflow with `ServiceFailed`, which the cancelled session keeps in
    `while_cancelling`; errors are never swallowed."""
    error = RuntimeError("cleanup broke")

    def boom(_: object) -> None:
        raise error

    def failing(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(boom, name="boom").connect(scope.terminate)

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        buf = builder.create_buffer()
        builder.chain(scope.start).branch_clone(lambda c: c.connect(buf)).then_cancel()
        builder.on_cancel(buf, failing)

    cancellation = (await assert_cancelled(wf, 7)).cancellation
    assert isinstance(cancellation.cause, cf.Triggered)
    assert cancellation.cause.value == "7"
    (during,) = cancellation.while_cancelling
    assert isinstance(during.cause, cf.ServiceFailed)
    assert during.cause.operation == "boom"
    assert during.cause.error is error


async def test_a_service_failing_in_a_cleanup_workflow_after_terminate_warns() -> None:
    """S4.3: after terminate, a failing cleanup workflow is reported as a
    `CrossflowWarning`; the response is delivered unchanged."""

    def boom(_: object) -> None:
        raise RuntimeError("cleanup broke")

    def failing(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(boom).connect(scope.terminate)

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        buf = builder.create_buffer()
        builder.connect(scope.start, scope.terminate)
        builder.on_terminate(buf, failing)

    with pytest.warns(cf.CrossflowWarning, match="cleanup broke|cleanup workflow"):
        assert await run(wf, 3) == 3


@pytest.mark.parametrize("ending", ["cancelled", "terminated"])
async def test_a_task_failing_while_it_is_cleaned_up_is_never_swallowed(ending: str) -> None:
    """S4.3, S6.1: a task whose `finally` raises while operation cleanup cancels it is
    recorded: in `while_cancelling` of a cancelled session, as a `CrossflowWarning`
    after terminate (the response is delivered unchanged)."""
    started = anyio.Event()
    error = RuntimeError("finally broke")

    async def park(x: int) -> int:
        started.set()
        try:
            await anyio.sleep_forever()
        finally:
            raise error
        return x

    async def when_started(_: int) -> int | None:
        await started.wait()
        return None if ending == "cancelled" else 5

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).fork_clone(
            lambda c: c.then(park, name="park").connect(scope.terminate),
            lambda c: c.then(when_started).cancel_on_none().connect(scope.terminate),
        )

    if ending == "terminated":
        with pytest.warns(cf.CrossflowWarning, match="finally broke"):
            assert await run(wf, 1) == 5
        return
    cancellation = (await assert_cancelled(wf, 1)).cancellation
    assert isinstance(cancellation.cause, cf.Filtered)
    (during,) = cancellation.while_cancelling
    assert isinstance(during.cause, cf.ServiceFailed)
    assert during.cause.operation == "park"
    assert during.cause.error is error
    assert during.while_cancelling == ()


# --------------------------------------------------------------------------- interruptions


async def test_an_interrupted_child_runs_on_cancel_before_the_parents_response() -> None:
    """NS-6 (S6.1-S6.3): the parent terminates while a child session runs. The child is
    interrupted: its task is cancelled (its `finally` runs), then its `on_cancel` and
    `on_cleanup` workflows run, not `on_terminate`; all this before the parent's
    response is delivered."""
    log: list[Any] = []
    child_started = anyio.Event()

    async def child_work(x: int) -> int:
        child_started.set()
        try:
            await anyio.sleep_forever()
        finally:
            log.append("child task finally")
        return x

    def child(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        buf = builder.create_buffer()
        builder.chain(scope.start).fork_clone(
            lambda c: c.connect(buf),
            lambda c: c.then(child_work).connect(scope.terminate),
        )
        builder.on_cancel(buf, recorder(log, "child on_cancel"))
        builder.on_terminate(buf, recorder(log, "child on_terminate"))

    async def when_child_started(_: int) -> str:
        await child_started.wait()
        return "done"

    @cf.workflow
    def parent(scope: cf.Scope[int, str], builder: cf.Builder) -> None:
        builder.chain(scope.start).fork_clone(
            lambda c: c.then_scope(child).dispose(),
            lambda c: c.then(when_child_started).connect(scope.terminate),
        )

    assert await run(parent, 9) == "done"
    assert log == ["child task finally", ("child on_cancel", [9])]


@pytest.mark.parametrize("instructed", [False, True])
async def test_on_cancel_runs_before_run_reraises_the_callers_cancellation(
    instructed: bool,
) -> None:
    """S6.2, S4.2 (`UserCancelled`): when the caller's task is cancelled, the session's
    task is cancelled, `on_cancel` and `on_cleanup` run (asynchronously here), and only
    then does `run` re-raise the backend's cancellation; also for a workflow run with
    delivery instructions (S7.5)."""
    log: list[Any] = []
    started = anyio.Event()

    async def park(x: int) -> int:
        started.set()
        try:
            await anyio.sleep_forever()
        finally:
            log.append("task finally")
        return x

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        buf = builder.create_buffer()
        builder.chain(scope.start).fork_clone(
            lambda c: c.connect(buf),
            lambda c: c.then(park).connect(scope.terminate),
        )
        builder.on_cancel(buf, recorder(log, "on_cancel", asynchronous=True))
        builder.on_terminate(buf, recorder(log, "on_terminate", asynchronous=True))
        builder.on_cleanup(buf, recorder(log, "on_cleanup", asynchronous=True))

    async def cancel_when_started(scope: anyio.CancelScope) -> None:
        await started.wait()
        scope.cancel()

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            with anyio.CancelScope() as caller:
                tg.start_soon(cancel_when_started, caller)
                try:
                    await (wf.instruct(label="L") if instructed else wf).run(8)
                except anyio.get_cancelled_exc_class():
                    log.append("run raised")
                    raise
    assert caller.cancelled_caught
    assert log[0] == "task finally"
    assert sorted(log[1:3]) == [("on_cancel", [8]), ("on_cleanup", [8])]
    assert log[3:] == ["run raised"]


# --------------------------------------------------------------------------- keys, S6.3


async def test_cleanup_keys_see_every_item_in_order_in_the_shape_given() -> None:
    """S6.1: a cleanup workflow gets keys in the shape of the buffers it asked for (one,
    tuple, dict), and through them every item still stored, oldest first."""
    seen: dict[str, Any] = {}

    def tuple_reader(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        def read(keys: tuple[cf.BufferKey[int], cf.BufferKey[str]]) -> None:
            numbers, words = keys
            with numbers.access() as n, words.access() as w:
                seen["tuple"] = (list(n), list(w))

        builder.chain(scope.start).map(read).connect(scope.terminate)

    def dict_reader(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        def read(keys: dict[str, cf.BufferKey[Any]]) -> None:
            assert sorted(keys) == ["n", "w"]
            with keys["n"].access() as n, keys["w"].access() as w:
                seen["dict"] = (list(n), list(w))

        builder.chain(scope.start).map(read).connect(scope.terminate)

    async def later(_: object) -> str:
        await anyio.lowlevel.checkpoint()
        return "ok"

    @cf.workflow
    def wf(scope: cf.Scope[list[int], str], builder: cf.Builder) -> None:
        numbers = builder.create_buffer(cf.BufferSettings.keep_all(), name="numbers")
        words = builder.create_buffer(cf.BufferSettings.keep_last(2), name="words")
        builder.chain(scope.start).fork_clone(
            lambda c: c.spread().fork_clone(
                lambda c: c.connect(numbers),
                lambda c: c.map(lambda v: f"w{v}").connect(words),
            ),
            # an async step: every blocking operation has run before it responds
            lambda c: c.then(later).connect(scope.terminate),
        )
        builder.on_terminate((numbers, words), tuple_reader)
        builder.on_cleanup({"n": numbers, "w": words}, dict_reader)

    assert await run(wf, [1, 2, 3]) == "ok"
    assert seen == {"tuple": ([1, 2, 3], ["w2", "w3"]), "dict": ([1, 2, 3], ["w2", "w3"])}


async def test_keys_are_stale_after_the_outcome() -> None:
    """S6.3: once the outcome is delivered, the session's buffers are gone: a key kept by
    a cleanup workflow, or by a service of the session, raises `StaleBufferKey`."""
    kept: list[cf.BufferKey[int]] = []

    def keep(key: cf.BufferKey[int]) -> None:
        with key.access() as view:
            assert list(view) == [5]
        kept.append(key)

    def keeper(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        builder.chain(scope.start).map(keep).connect(scope.terminate)

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        buf = builder.create_buffer()
        builder.chain(scope.start).then_push(buf).then_access(buf).map(
            lambda key: kept.append(key) or 0
        ).connect(scope.terminate)
        builder.on_cleanup(buf, keeper)

    assert await run(wf, 5) == 0
    assert len(kept) == 2
    for key in kept:
        with pytest.raises(cf.StaleBufferKey), key.access():
            pass


async def test_each_session_cleans_up_only_its_own_buffers() -> None:
    """S6.3, S1.5: buffers are emptied after the outcome; the next session's cleanup
    workflow sees only that session's items."""
    log: list[Any] = []

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        buf = builder.create_buffer(cf.BufferSettings.keep_all())
        builder.chain(scope.start).branch_clone(lambda c: c.connect(buf)).connect(scope.terminate)
        builder.on_cleanup(buf, recorder(log, "cleanup"))

    assert await run(wf, 1) == 1
    assert await run(wf, 2) == 2
    assert log == [("cleanup", [1]), ("cleanup", [2])]
