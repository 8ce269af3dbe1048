"""Cancellation causes and the cancellation/disposal data classes (S4; API §2,
§4)."""

from __future__ import annotations

import json
from typing import Any

import anyio
import anyio.lowlevel
import attrs
import pytest

import crossflow as cf
from crossflow.testing import assert_cancelled as cancelled
from crossflow.testing import assert_completes as run

pytestmark = pytest.mark.anyio


class Boom(Exception):
    """A service's own error."""


# --------------------------------------------------------------------------- Triggered


async def test_cancel_with_value() -> None:
    """A message reaching `then_cancel` cancels with `Triggered(op, value=str(msg))`, and the
    root cause is not wrapped (CA-1, S4.1, S4.2, D1)."""

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then_cancel()

    error = await cancelled(wf, 42)
    cause = error.cancellation.cause
    assert isinstance(cause, cf.Triggered)
    assert cause.value == "42"
    assert isinstance(cause.operation, str) and cause.operation
    assert error.cancellation.while_cancelling == ()


async def test_quiet_cancel() -> None:
    """`then_quiet_cancel` cancels with `Triggered(value=None)` (CA-2, S4.2)."""

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then_quiet_cancel()

    cause = (await cancelled(wf, 42)).cancellation.cause
    assert isinstance(cause, cf.Triggered)
    assert cause.value is None


async def test_builder_cancel_operations() -> None:
    """`builder.create_cancel()` / `create_quiet_cancel()` are the same operations as input
    slots (API §1, S4.2)."""

    @cf.workflow
    def loud(scope: cf.Scope[str, str], builder: cf.Builder) -> None:
        builder.connect(scope.start, builder.create_cancel())

    @cf.workflow
    def quiet(scope: cf.Scope[str, str], builder: cf.Builder) -> None:
        builder.connect(scope.start, builder.create_quiet_cancel())

    loud_cause = (await cancelled(loud, "stop")).cancellation.cause
    quiet_cause = (await cancelled(quiet, "stop")).cancellation.cause
    assert isinstance(loud_cause, cf.Triggered) and loud_cause.value == "stop"
    assert isinstance(quiet_cause, cf.Triggered) and quiet_cause.value is None


async def test_cancel_before_terminate_delivers_no_response() -> None:
    """A session cancelled before its terminate fires never delivers a response, even though
    terminate would be reached later (S4.1)."""
    log: list[int] = []

    async def later(x: int) -> int:
        await anyio.sleep(0.01)
        log.append(x)
        return x

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).fork_clone(
            lambda c: c.then_cancel(),
            lambda c: c.then(later).connect(scope.terminate),
        )

    cause = (await cancelled(wf, 1)).cancellation.cause
    assert isinstance(cause, cf.Triggered)
    assert log == []


# --------------------------------------------------------------------------- Filtered


async def test_cancel_on_none() -> None:
    """`cancel_on_none` cancels with `Filtered` whose reason says it was a None; values pass
    on unchanged (CA-3, S4.2)."""

    @cf.workflow
    def wf(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        builder.chain(scope.start).cancel_on_none().connect(scope.terminate)

    cause = (await cancelled(wf, None)).cancellation.cause
    assert isinstance(cause, cf.Filtered)
    assert cause.reason is not None and "none" in cause.reason.lower()
    assert await run(wf, 0) == 0


@pytest.mark.parametrize("error", [ValueError("boom text"), "plain error text"])
async def test_cancel_on_err(error: Any) -> None:
    """`cancel_on_err` cancels with `Filtered` whose reason carries the error's text;
    `Ok.value` passes on (CA-4, S4.2)."""

    @cf.workflow
    def wf(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        builder.chain(scope.start).cancel_on_err().connect(scope.terminate)

    cause = (await cancelled(wf, cf.Err(error))).cancellation.cause
    assert isinstance(cause, cf.Filtered)
    assert cause.reason is not None and str(error) in cause.reason
    assert await run(wf, cf.Ok("fine")) == "fine"


async def test_cancellation_filter() -> None:
    """`cancellation_filter(fn)` passes `fn(msg)` on; `None` cancels the scope with
    `Filtered` (S4.2)."""

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).cancellation_filter(lambda x: x + 1 if x >= 0 else None).connect(
            scope.terminate
        )

    assert await run(wf, 1) == 2
    cause = (await cancelled(wf, -1)).cancellation.cause
    assert isinstance(cause, cf.Filtered)


async def test_implicit_cancel_in_a_child_is_a_parent_disposal() -> None:
    """A filter that cancels a nested scope cancels only that child: the parent sees
    `ScopeCancelled(Cancellation(Filtered))` (S1.7, S4.2)."""

    def child(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        builder.chain(scope.start).cancel_on_none().connect(scope.terminate)

    @cf.workflow
    def wf(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        builder.chain(scope.start).then_scope(child).connect(scope.terminate)

    cause = (await cancelled(wf, None)).cancellation.cause
    match cause:
        case cf.Unreachable(
            _, (cf.Disposal(_, cf.ScopeCancelled(cf.Cancellation(cf.Filtered()))),)
        ):
            pass
        case _:
            pytest.fail(f"unexpected cause {cause!r}")


# --------------------------------------------------------------------------- ServiceFailed


async def test_blocking_service_failure() -> None:
    """A blocking service that raises cancels the session with `ServiceFailed(op, error)`;
    `WorkflowCancelled.__cause__` is the original exception (S4.3, API §2, D6)."""
    boom = Boom("kaput")

    def explode(_: int) -> int:
        raise boom

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(explode).connect(scope.terminate)

    error = await cancelled(wf, 1)
    cause = error.cancellation.cause
    assert isinstance(cause, cf.ServiceFailed)
    assert cause.error is boom
    assert cause.operation.endswith("explode")
    assert error.__cause__ is boom


async def test_async_service_failure() -> None:
    """An async service that raises cancels the session with `ServiceFailed`, raised `from`
    the original exception (S4.3, API §2)."""
    boom = Boom("async kaput")

    async def explode(_: int) -> int:
        await anyio.lowlevel.checkpoint()
        raise boom

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(explode, name="exploder").connect(scope.terminate)

    error = await cancelled(wf, 1)
    assert error.cancellation.cause == cf.ServiceFailed("exploder", boom)
    assert isinstance(error.cancellation.cause, cf.ServiceFailed)
    assert error.cancellation.cause.error is boom
    assert error.__cause__ is boom


async def test_service_failure_cancels_the_innermost_session() -> None:
    """A failure inside a nested scope cancels only that child session; the parent goes on
    with the other children (S4.3, S1.7)."""

    def fail_on_two(x: int) -> int:
        if x == 2:
            raise Boom("two")
        return x

    def child(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(fail_on_two).connect(scope.terminate)

    @cf.workflow
    def wf(scope: cf.Scope[list[int], list[int]], builder: cf.Builder) -> None:
        builder.chain(scope.start).spread().then_scope(child).collect_all().connect(scope.terminate)

    assert await run(wf, [1, 2, 3]) == [1, 3]


async def test_service_failure_in_a_child_escalates_with_its_exception() -> None:
    """When a child's failure leaves the parent unreachable, the root cause is `Unreachable`
    with the `ScopeCancelled(ServiceFailed)` disposal, and `__cause__` is still the
    original exception (S4.3, API §2)."""
    boom = Boom("deep")

    def explode(_: int) -> int:
        raise boom

    def child(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(explode).connect(scope.terminate)

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then_scope(child).connect(scope.terminate)

    error = await cancelled(wf, 1)
    match error.cancellation.cause:
        case cf.Unreachable(
            _, (cf.Disposal(_, cf.ScopeCancelled(cf.Cancellation(cf.ServiceFailed(_, err)))),)
        ):
            assert err is boom
        case other:
            pytest.fail(f"unexpected cause {other!r}")
    assert error.__cause__ is boom


async def test_service_failure_cancels_sibling_tasks() -> None:
    """After a service failure, the session's other running tasks are cancelled and their
    `finally` blocks have run before `run` raises (S4.3, S6.1)."""
    log: list[str] = []
    started = anyio.Event()

    async def sleeper(_: int) -> None:
        started.set()
        try:
            await anyio.sleep(10)
        finally:
            log.append("finally")

    async def explode(_: int) -> int:
        await started.wait()
        raise Boom("late")

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).fork_clone(
            lambda c: c.then(sleeper).connect(scope.terminate),
            lambda c: c.then(explode).connect(scope.terminate),
        )

    error = await cancelled(wf, 1)
    assert isinstance(error.cancellation.cause, cf.ServiceFailed)
    assert log == ["finally"]


# --------------------------------------------------------------------------- WorkflowCancelled


def test_workflow_cancelled_is_an_ordinary_exception() -> None:
    """`WorkflowCancelled` is a `CrossflowError` and an `Exception`, never a backend
    cancellation exception (API §2)."""
    import trio

    assert issubclass(cf.WorkflowCancelled, cf.CrossflowError)
    assert issubclass(cf.WorkflowCancelled, Exception)
    assert not issubclass(cf.WorkflowCancelled, trio.Cancelled)
    import asyncio

    assert not issubclass(cf.WorkflowCancelled, asyncio.CancelledError)
    error = cf.WorkflowCancelled(cf.Cancellation(cf.UserCancelled("why")))
    assert error.cancellation.cause == cf.UserCancelled("why")
    assert "why" in str(error)


async def test_workflow_cancelled_str_explains_the_cause() -> None:
    """The message of `WorkflowCancelled` is the readable form of its cancellation
    (API §2, §4)."""

    @cf.workflow
    def wf(scope: cf.Scope[str, str], builder: cf.Builder) -> None:
        builder.chain(scope.start).then_cancel()

    error = await cancelled(wf, "shipment lost")
    assert "shipment lost" in str(error)
    assert str(error) == str(error.cancellation)


# --------------------------------------------------------------------------- data classes


def _samples() -> list[Any]:
    disposal = cf.Disposal("fork_result#3", cf.Branching("fork_result#3", "ok"))
    inner = cf.Cancellation(cf.Triggered("cancel#1", None))
    return [
        cf.Cancellation(cf.Unreachable("wf", (disposal,)), while_cancelling=(inner,)),
        cf.Unreachable("wf", (disposal, cf.Disposal("pricing", cf.ScopeCancelled(inner)))),
        cf.Unreachable("wf", ()),
        cf.Triggered("cancel#1", "42"),
        cf.Triggered("cancel#1", None),
        cf.Filtered("filter#4", "rejected None"),
        cf.Supplanted("request 7"),
        cf.CircularCollect((("collect#1", "collect#2"),)),
        cf.UserCancelled("shipment was cancelled"),
        cf.UserCancelled(None),
        cf.ServiceFailed("bake", Boom("oven on fire")),
        cf.TimedOut("wf", 1.5),
        disposal,
        cf.Branching("fork_option#2", "none"),
        cf.ScopeCancelled(inner),
        cf.EmptySpread("spread#5"),
        cf.DeficientCollection("collect#6", needed=2, got=1),
        cf.IncompleteSplit("split#7", ("seq:1",)),
        cf.ClosedGate("gate#8"),
        cf.Trimming("trim#9"),
        cf.UnusedStreams("node", ("progress",)),
    ]


@pytest.mark.parametrize("value", _samples(), ids=lambda v: type(v).__name__)
def test_data_classes_are_frozen(value: Any) -> None:
    """Cancellation and disposal data are frozen attrs classes (API §4)."""
    assert attrs.has(type(value))
    field = attrs.fields(type(value))[0].name
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        setattr(value, field, None)


@pytest.mark.parametrize("value", _samples(), ids=lambda v: type(v).__name__)
def test_data_classes_to_dict_is_json(value: Any) -> None:
    """`to_dict()` returns data that `json.dumps` accepts, and it round-trips through JSON
    unchanged (API §4)."""
    data = value.to_dict()
    assert isinstance(data, dict)
    text = json.dumps(data)
    assert json.loads(text) == data


@pytest.mark.parametrize("value", _samples(), ids=lambda v: type(v).__name__)
def test_data_classes_str_is_readable(value: Any) -> None:
    """`str()` is a readable sentence, not the repr, and mentions the operation or scope
    it is about (API §4)."""
    text = str(value)
    assert text and text != repr(value)
    for name in ("operation", "scope"):
        if hasattr(value, name):
            assert getattr(value, name) in text


@pytest.mark.parametrize("value", _samples(), ids=lambda v: type(v).__name__)
def test_data_classes_compare_by_value(value: Any) -> None:
    """Equal fields make equal objects (API §4)."""
    assert value == attrs.evolve(value)


@pytest.mark.parametrize("value", _samples(), ids=lambda v: type(v).__name__)
def test_data_classes_have_match_args(value: Any) -> None:
    """Every class has `__match_args__` in field order, so it can be matched positionally
    (API §4)."""
    names = tuple(f.name for f in attrs.fields(type(value)))
    assert type(value).__match_args__ == names


def test_match_a_nested_cancellation() -> None:
    """A nested cancellation can be taken apart with one `match` statement (API §4, D1)."""
    cancellation = cf.Cancellation(
        cf.Unreachable(
            "wf",
            (
                cf.Disposal(
                    "pricing", cf.ScopeCancelled(cf.Cancellation(cf.Triggered("cancel#2", None)))
                ),
            ),
        )
    )
    match cancellation:
        case cf.Cancellation(
            cf.Unreachable(
                scope,
                (cf.Disposal(op, cf.ScopeCancelled(cf.Cancellation(cf.Triggered(_, value)))),),
            )
        ):
            assert (scope, op, value) == ("wf", "pricing", None)
        case _:
            pytest.fail("did not match")


def test_service_failed_to_dict_describes_the_error() -> None:
    """`ServiceFailed.to_dict()` turns the exception into JSON-ready text naming its type
    and message (API §4)."""
    data = cf.ServiceFailed("bake", Boom("oven on fire")).to_dict()
    text = json.dumps(data)
    assert "Boom" in text
    assert "oven on fire" in text


def test_cancellation_str_includes_while_cancelling() -> None:
    """`str(Cancellation)` shows the cause and the cancellations that happened while
    cancelling (API §4, S4.4)."""
    c = cf.Cancellation(
        cf.Filtered("filter#3", "rejected None"),
        while_cancelling=(cf.Cancellation(cf.Triggered("cancel#9", "cleanup")),),
    )
    text = str(c)
    assert "filter#3" in text
    assert "cancel#9" in text


def test_cancellation_causes_are_in_the_union() -> None:
    """`cf.CancellationCause` and `cf.DisposalCause` are usable with `isinstance` (API §4)."""
    for cause in (
        cf.Unreachable("wf", ()),
        cf.Triggered("c", None),
        cf.Filtered("f", None),
        cf.Supplanted("r"),
        cf.CircularCollect(()),
        cf.UserCancelled(None),
        cf.ServiceFailed("s", Boom()),
        cf.TimedOut("wf", 1.0),
    ):
        assert isinstance(cause, cf.CancellationCause)  # type: ignore[arg-type]
    for disposal_cause in (
        cf.Branching("f", "ok"),
        cf.ScopeCancelled(cf.Cancellation(cf.UserCancelled(None))),
        cf.EmptySpread("s"),
        cf.DeficientCollection("c", 1, 0),
        cf.IncompleteSplit("s", ()),
        cf.ClosedGate("g"),
        cf.Trimming("t"),
        cf.UnusedStreams("n", ("s",)),
        cf.Filtered("f", None),
        cf.Supplanted("r"),
    ):
        assert isinstance(disposal_cause, cf.DisposalCause)  # type: ignore[arg-type]


async def test_real_cancellation_to_dict_is_json() -> None:
    """The cancellation of a real nested failure serialises to JSON (API §4)."""

    def explode(_: int) -> int:
        raise Boom("kaput")

    def child(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(explode).connect(scope.terminate)

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then_scope(child).connect(scope.terminate)

    error = await cancelled(wf, 1)
    text = json.dumps(error.cancellation.to_dict())
    assert "kaput" in text
    assert "ScopeCancelled" in text


@pytest.mark.parametrize("where", ["map", "async map", "disposal_filter", "cancellation_filter"])
async def test_any_user_function_that_raises_is_a_service_failure(where: str) -> None:
    """Functions given to `map` and to the filters are services too: raising cancels with
    `ServiceFailed` whose error is the exception (S4.3)."""
    boom = Boom(where)

    def explode(_: Any) -> Any:
        raise boom

    async def explode_async(_: Any) -> Any:
        raise boom

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        chain = builder.chain(scope.start)
        if where == "map":
            chain = chain.map(explode)
        elif where == "async map":
            chain = chain.map(explode_async)
        elif where == "disposal_filter":
            chain = chain.disposal_filter(explode)
        else:
            chain = chain.cancellation_filter(explode)
        chain.connect(scope.terminate)

    error = await cancelled(wf, 1)
    cause = error.cancellation.cause
    assert isinstance(cause, cf.ServiceFailed)
    assert cause.error is boom
    assert error.__cause__ is boom


async def test_no_cause_when_no_service_failed() -> None:
    """When no service raised, `WorkflowCancelled.__cause__` is `None` (API §2)."""

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then_quiet_cancel()

    error = await cancelled(wf, 1)
    assert error.__cause__ is None


async def test_async_failure_in_one_child_leaves_siblings_running() -> None:
    """An async failure in one child session cancels only that child; concurrent sibling
    sessions run to completion (S4.3, S1.7)."""
    gate = anyio.Event()

    async def work(x: int) -> int:
        if x == 2:
            raise Boom("two")
        await gate.wait()
        return x

    async def open_gate(x: list[int]) -> list[int]:
        await anyio.sleep(0.01)
        gate.set()
        return x

    def child(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(work).connect(scope.terminate)

    @cf.workflow
    def wf(scope: cf.Scope[list[int], list[int]], builder: cf.Builder) -> None:
        builder.chain(scope.start).fork_clone(
            lambda c: (
                c.spread().then_scope(child).collect_all().map(sorted).connect(scope.terminate)
            ),
            lambda c: c.then(open_gate).dispose(),
        )

    with anyio.fail_after(5):
        assert await wf.run([1, 2, 3]) == [1, 3]


async def test_failure_during_cleanup_is_not_swallowed() -> None:
    """A task that raises while it is being cancelled during the cleanup of a cancelled
    session is recorded in `while_cancelling` as a `ServiceFailed` cancellation: errors are
    never swallowed (S4.3)."""
    started = anyio.Event()
    boom = Boom("failed while cleaning up")

    async def fragile(_: int) -> int:
        started.set()
        try:
            await anyio.sleep(10)
        finally:
            raise boom
        return 0  # pragma: no cover

    async def cancel_later(x: int) -> int:
        await started.wait()
        return x

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).fork_clone(
            lambda c: c.then(fragile).connect(scope.terminate),
            lambda c: c.then(cancel_later).then_cancel(),
        )

    error = await cancelled(wf, 1)
    cancellation = error.cancellation
    assert isinstance(cancellation.cause, cf.Triggered)
    failures = [
        c.cause for c in cancellation.while_cancelling if isinstance(c.cause, cf.ServiceFailed)
    ]
    assert [f.error for f in failures] == [boom], cancellation


async def test_failure_during_cleanup_after_terminate_is_a_warning() -> None:
    """A task that raises while it is cancelled because its session terminated cannot change
    the response, so it is reported as a `CrossflowWarning` naming the service: errors are
    never swallowed (S4.3)."""
    started = anyio.Event()

    async def fragile(_: int) -> int:
        started.set()
        try:
            await anyio.sleep(10)
        finally:
            raise Boom("failed while cleaning up")
        return 0  # pragma: no cover

    async def respond_later(x: int) -> int:
        await started.wait()
        return x

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).fork_clone(
            lambda c: c.then(fragile).connect(scope.terminate),
            lambda c: c.then(respond_later).connect(scope.terminate),
        )

    with pytest.warns(cf.CrossflowWarning, match=r"fragile raised Boom: failed while cleaning"):
        assert await run(wf, 7) == 7
