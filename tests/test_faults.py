"""Nothing lost, nothing hangs: regressions found under faults, load and bad input.

Each test reproduces one way a user could lose work, hang, or get a raw internal
exception, through the public API only, on asyncio and trio.
"""

from __future__ import annotations

import gc
import json
import threading
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


# --------------------------------------------------------------------------- S4.3 messages


class Conn:
    """A message that cannot be deep-copied, like a client holding a lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()


async def fetch(conn: Conn) -> Conn:
    await anyio.lowlevel.checkpoint()
    return conn


def fork_after_async(s: cf.Scope[Conn, str], b: cf.Builder) -> None:
    b.chain(s.start).then(fetch).fork_clone(
        lambda c: c.map(lambda conn: "a").connect(s.terminate),
        lambda c: c.map(lambda conn: "b").connect(s.terminate),
    )


def fork_inline(s: cf.Scope[Conn, str], b: cf.Builder) -> None:
    b.chain(s.start).fork_clone(
        lambda c: c.map(lambda conn: "a").connect(s.terminate),
        lambda c: c.map(lambda conn: "b").connect(s.terminate),
    )


def join_by_cloning(s: cf.Scope[Conn, str], b: cf.Builder) -> None:
    buf = b.create_buffer()
    b.chain(s.start).connect(buf)
    b.join((buf.join_by_cloning(),)).map(lambda t: "joined").connect(s.terminate)


@pytest.mark.parametrize("build", [fork_after_async, fork_inline, join_by_cloning])
async def test_a_message_that_cannot_be_copied_fails_the_operation(build: Any) -> None:
    """S4.3: a fork_clone or a join by cloning that cannot copy its message cancels the
    session with ServiceFailed naming the operation; the error says how to fix it."""
    wf = cf.Workflow.build(build, name="copying")
    with anyio.fail_after(5), pytest.raises(cf.WorkflowCancelled) as caught:
        await wf.run(Conn())
    cause = caught.value.cancellation.cause
    assert isinstance(cause, cf.ServiceFailed)
    assert cause.operation.startswith("fork_clone" if "fork" in build.__name__ else "join")
    error = cause.error
    assert isinstance(error, cf.UncopyableMessage) and isinstance(error, TypeError)
    assert isinstance(error.__cause__, TypeError)  # what copy.deepcopy raised
    assert "Make the message copyable" in str(error)
    assert caught.value.__cause__ is error


async def test_an_uncopyable_message_in_a_nested_scope_is_a_disposal() -> None:
    """S1.7: the nested session that failed to copy is cancelled; its parent records it."""

    def outer(s: cf.Scope[Conn, str], b: cf.Builder) -> None:
        b.chain(s.start).then_scope(fork_after_async).connect(s.terminate)

    wf = cf.Workflow.build(outer, name="outer")
    with anyio.fail_after(5), pytest.raises(cf.WorkflowCancelled) as caught:
        await wf.run(Conn())
    root = caught.value.cancellation.root_cause()
    assert isinstance(root, cf.ServiceFailed) and isinstance(root.error, cf.UncopyableMessage)


async def test_an_uncopyable_request_when_a_session_starts() -> None:
    """A copy that fails inside `async with wf.start(...)` entry is a cancellation of the
    session, and the event loop carries on (no task group is left open)."""
    wf = cf.Workflow.build(fork_inline, name="entry")
    with anyio.fail_after(5):
        async with wf.start(Conn()) as session:
            with pytest.raises(cf.WorkflowCancelled):
                await session.result()
        assert await wf.run(Conn.__new__(Conn)) in ("a", "b")  # a copyable Conn


class Row:
    """A message whose repr and str fail, like an ORM row of a closed session."""

    def __repr__(self) -> str:
        raise RuntimeError("repr of a detached row")

    __str__ = __repr__


class WeirdError(Exception):
    def __str__(self) -> str:
        raise RuntimeError("str of the exception fails")


def raise_weird(x: object) -> object:
    raise WeirdError


async def passing(x: object) -> object:
    await anyio.lowlevel.checkpoint()
    return x


BAD_RENDERING = {
    "dispose_on_some": lambda s, b: (
        b.chain(s.start).dispose_on_some().map(lambda _: 1).connect(s.terminate)
    ),
    "cancellation_filter": lambda s, b: (
        b.chain(s.start).cancellation_filter(lambda m: None).connect(s.terminate)
    ),
    "disposal_filter": lambda s, b: (
        b.chain(s.start).disposal_filter(lambda m: None).connect(s.terminate)
    ),
    "then_cancel": lambda s, b: b.chain(s.start).then_cancel(),
    "unzip": lambda s, b: b.chain(s.start).unzip(2)[0].connect(s.terminate),
    "spread": lambda s, b: b.chain(s.start).spread().connect(s.terminate),
    "after_async_task": lambda s, b: (
        b.chain(s.start).then(passing).dispose_on_some().map(lambda _: 1).connect(s.terminate)
    ),
    "service_raises_weird_error": lambda s, b: (
        b.chain(s.start).then(raise_weird).connect(s.terminate)
    ),
}


@pytest.mark.parametrize("case", list(BAD_RENDERING))
async def test_messages_and_errors_that_cannot_render(case: str) -> None:
    """User objects are never trusted to render: a message or an exception whose repr
    and str raise still gives a WorkflowCancelled, with readable text and events."""
    wf = cf.Workflow.build(BAD_RENDERING[case], name=case)
    seen: list[ev.Event] = []
    with anyio.fail_after(5), pytest.raises(cf.WorkflowCancelled) as caught:
        await wf.run(Row(), on_event=seen.append)
    text = str(caught.value)
    assert text and "Traceback" not in text
    json.dumps(caught.value.cancellation.to_dict())
    for event in seen:
        assert event.describe()
        json.dumps(event.to_dict())


# --------------------------------------------------------------------------- S4.3 phantom


async def test_a_cancelled_error_of_someone_elses_task_is_a_service_failure(
    anyio_backend: str,
) -> None:
    """S4.3 (asyncio): a service that awaits a task cancelled by its owner sees
    CancelledError; that is a failure of the service, never a cancellation of the caller."""
    import asyncio

    if anyio_backend != "asyncio":
        pytest.skip("only asyncio lets a task see another task's cancellation")

    async def fetch(x: int) -> int:
        helper = asyncio.create_task(asyncio.sleep(10))
        await asyncio.sleep(0)
        helper.cancel()
        return await helper

    async def other(x: int) -> int:
        await anyio.lowlevel.checkpoint()
        return x

    lone = cf.Workflow.build(lambda s, b: b.chain(s.start).then(fetch).connect(s.terminate))
    fork = cf.Workflow.build(
        lambda s, b: b.chain(s.start).fork_clone(
            lambda c: c.then(fetch).connect(s.terminate), lambda c: c.then(other).dispose()
        )
    )
    for wf in (lone, fork):
        with anyio.fail_after(5), pytest.raises(cf.WorkflowCancelled) as caught:
            await wf.run(1)
        cause = caught.value.cancellation.cause
        assert isinstance(cause, cf.ServiceFailed), cause
        assert isinstance(cause.error, asyncio.CancelledError)
        async with wf.start(1) as session:
            with pytest.raises(cf.WorkflowCancelled) as caught:
                await session.result()
        assert isinstance(caught.value.cancellation.cause, cf.ServiceFailed)
    current = asyncio.current_task()
    assert current is not None and current.cancelling() == 0


# --------------------------------------------------------------------------- BaseException


class Stop(BaseException):
    """Like KeyboardInterrupt or SystemExit: asks the program to stop."""


@pytest.mark.parametrize("exc", [KeyboardInterrupt, SystemExit, Stop])
@pytest.mark.parametrize("shape", ["lone", "fork", "nested", "blocking"])
async def test_exceptions_that_stop_the_program_come_out_as_themselves(
    exc: type[BaseException], shape: str
) -> None:
    """KeyboardInterrupt, SystemExit and other BaseExceptions a service raises come out of
    `run` as themselves (never in an exception group), after the run is cleaned up."""
    cleaned: list[str] = []

    async def boom(x: int) -> int:
        await anyio.lowlevel.checkpoint()
        raise exc("from service")

    def boom_now(x: int) -> int:
        raise exc("from service")

    async def slow(x: int) -> int:
        try:
            await anyio.sleep_forever()
        finally:
            cleaned.append("slow")
        return x  # pragma: no cover

    def build(s: cf.Scope[int, int], b: cf.Builder) -> None:
        if shape == "lone":
            b.chain(s.start).then(boom).connect(s.terminate)
        elif shape == "blocking":
            b.chain(s.start).fork_clone(
                lambda c: c.then(slow).connect(s.terminate),
                lambda c: c.then(passing).map(boom_now).connect(s.terminate),
            )
        elif shape == "fork":
            b.chain(s.start).fork_clone(
                lambda c: c.then(boom).connect(s.terminate),
                lambda c: c.then(slow).connect(s.terminate),
            )
        else:
            b.chain(s.start).fork_clone(
                lambda c: c.then_scope(
                    lambda s2, b2: b2.chain(s2.start).then(boom).connect(s2.terminate)
                ).connect(s.terminate),
                lambda c: c.then(slow).connect(s.terminate),
            )

    wf = cf.Workflow.build(build, name="stopping")
    with anyio.fail_after(5), pytest.raises(exc, match="from service"):
        await wf.run(1)
    if shape != "lone":
        assert cleaned == ["slow"]  # cleanup ran first
    with anyio.fail_after(5), pytest.raises(exc, match="from service"):
        async with wf.start(1):
            await anyio.sleep_forever()


# --------------------------------------------------------------------------- S7.5 threads


def test_a_serial_service_used_from_several_threads() -> None:
    """S7.5: `run_sync` of workflows with a serial or instructed service, from several
    threads at once: each thread's event loop has queues of its own; none waits for
    another, and every run ends."""

    @cf.service(serial=True)
    async def slow(x: int) -> int:
        await anyio.sleep(0.01)
        return x

    serial = cf.Workflow.build(lambda s, b: b.chain(s.start).then(slow).connect(s.terminate))
    labelled = cf.Workflow.build(
        lambda s, b: b.chain(s.start).then(slow.instruct(label="L")).connect(s.terminate)
    ).instruct(label="W")
    results: dict[tuple[str, int], object] = {}

    def worker(name: str, wf: cf.Workflow[int, int], i: int, backend: str) -> None:
        try:
            results[(name, i)] = wf.run_sync(i, backend=backend)  # type: ignore[arg-type]
        except BaseException as error:  # reported below
            results[(name, i)] = error

    threads = [
        threading.Thread(target=worker, args=(name, wf, i, backend), daemon=True)
        for name, wf in (("serial", serial), ("labelled", labelled))
        for i, backend in enumerate(["asyncio", "trio", "asyncio", "trio"])
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads), "a thread hangs"
    assert results == {(name, i): i for name in ("serial", "labelled") for i in range(4)}, results


# --------------------------------------------------------------------------- S9.2 order


async def test_a_gate_closed_from_a_blocking_service_is_logged_after_it() -> None:
    """S9.2: the disposal a blocking service causes through a key (closing a gate) is
    recorded after that service's OperationStarted/OperationFinished, in time order."""

    def closer(pair: tuple[int, cf.BufferKey[int]]) -> int:
        msg, key = pair
        with key.access() as view:
            view.gate_close()
        return msg

    def build(s: cf.Scope[int, int], b: cf.Builder) -> None:
        buf = b.create_buffer(name="buffer")
        b.chain(s.start).with_access(buf).map(closer, name="closer").connect(s.terminate)

    wf = cf.Workflow.build(build, name="order")
    async with wf.start(1) as session:
        assert await session.result() == 1
    events = list(session.events)
    kinds = [type(e).__name__ for e in events]
    assert kinds[:4] == ["SessionStarted", "OperationStarted", "OperationFinished", "Disposed"]
    times = [e.time for e in events]
    assert times == sorted(times)


# --------------------------------------------------------------------------- cycles


@pytest.mark.parametrize("how", ["plain", "events off", "watched", "streams"])
async def test_start_leaves_no_reference_cycle(how: str) -> None:
    """A session started with `start()` leaves nothing for the cyclic garbage collector:
    memory is freed as soon as the handle goes, with the collector off too."""

    @cf.service(streams={"sent": int})
    async def step(x: int, *, streams: cf.Streams) -> int:
        streams.sent.send(x)
        await anyio.lowlevel.checkpoint()
        return x + 1

    def build(s: cf.Scope[int, int], b: cf.Builder) -> None:
        node = b.chain(s.start).map(lambda x: x + 1).then_node(step)
        b.chain(node.streams.sent).connect(s.streams.sent)
        b.chain(node.output).connect(s.terminate)

    wf = cf.Workflow.build(build, name="w", streams={"sent": int})

    async def once(i: int) -> None:
        session = wf.start(i, events=how != "events off")
        async with session:
            if how == "watched":
                session.watch(lambda e: None)
            if how == "streams":
                assert [m async for m in session.streams.sent] == [i + 1]
            assert await session.result() == i + 2

    await once(0)  # warm-up: caches, plans
    gc.collect()
    gc.disable()
    try:
        for i in range(20):
            await once(i)
        found = gc.collect()
    finally:
        gc.enable()
    assert found == 0


# --------------------------------------------------------------------------- unawaited


async def later(x: int) -> int:
    await anyio.lowlevel.checkpoint()
    return x


@pytest.mark.parametrize("events", [True, False])
@pytest.mark.parametrize("where", ["chain", "end", "streams"])
async def test_a_plain_function_returning_a_coroutine_fails_clearly(
    events: bool, where: str
) -> None:
    """A plain function that calls an async function without awaiting it fails its step
    with cf.UnawaitedCoroutine; no coroutine is passed on, none is left never awaited."""

    def forgetful(x: int) -> Any:
        return later(x)  # the newcomer's mistake: no await

    @cf.service(streams={"s": int})
    def forgetful_streams(x: int, *, streams: cf.Streams) -> Any:
        return later(x)

    def build(s: cf.Scope[int, Any], b: cf.Builder) -> None:
        if where == "chain":
            b.chain(s.start).map(forgetful).connect(s.terminate)
        elif where == "streams":
            b.chain(s.start).then(forgetful_streams).connect(s.terminate)
        else:
            b.chain(s.start).fork_clone(
                lambda c: c.map(forgetful).dispose(),
                lambda c: c.then(later).connect(s.terminate),
            )

    wf = cf.Workflow.build(build, name="unawaited")
    with anyio.fail_after(5), pytest.raises(cf.WorkflowCancelled) as caught:
        await wf.run(1, events=events)
    cause = caught.value.cancellation.cause
    assert isinstance(cause, cf.ServiceFailed)
    assert isinstance(cause.error, cf.UnawaitedCoroutine)
    assert "without awaiting" in str(cause.error)
