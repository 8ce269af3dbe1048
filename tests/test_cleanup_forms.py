"""Cleanups in one line and `cf.Ending`: a cleanup is a `(scope, builder)` build function
or a service called once with a `cf.Ending` (the keys and how the session ended)
(API §5; S6.1, S6.2)."""

from __future__ import annotations

from typing import Any

import anyio
import anyio.lowlevel
import attrs
import pytest

import crossflow as cf
from crossflow.testing import assert_cancelled, assert_completes


def none(_: object) -> None:
    return None


def keys_only(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
    builder.chain(scope.start).map(none).connect(scope.terminate)


# --------------------------------------------------------------------------- cf.Ending


def test_ending_is_a_frozen_value() -> None:
    """`cf.Ending` is a frozen attrs class compared by value and matched positionally:
    `keys`, then `cancellation` (API §5)."""
    cancellation = cf.Cancellation(cf.UserCancelled("stop"))
    ending = cf.Ending(("k",), cancellation)
    assert attrs.has(cf.Ending)
    assert ending == cf.Ending(("k",), cf.Cancellation(cf.UserCancelled("stop")))
    assert ending != cf.Ending(("k",))
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        ending.keys = ()  # type: ignore[misc]
    assert cf.Ending.__match_args__ == ("keys", "cancellation")
    match ending:
        case cf.Ending(keys, cf.Cancellation(cf.UserCancelled(reason))):
            assert (keys, reason) == (("k",), "stop")
        case _:
            pytest.fail("did not match")


def test_ending_says_how_the_session_ended() -> None:
    """`terminated` and `cancelled` tell the two endings apart; `cancellation` is `None`
    after terminate (API §5, S6.2)."""
    terminated: cf.Ending[tuple[()]] = cf.Ending(())
    cancelled = cf.Ending((), cf.Cancellation(cf.Triggered("cancel#3", "late")))
    assert terminated.terminated and not terminated.cancelled
    assert terminated.cancellation is None
    assert cancelled.cancelled and not cancelled.terminated


def test_ending_reads_well() -> None:
    """`str()` is a sentence saying how the session ended and which keys came with it;
    the repr shows the fields (API §5)."""
    cancelled = cf.Ending("key", cf.Cancellation(cf.Triggered("cancel#3", "late")))
    assert str(cf.Ending(())) == "the session terminated (no keys)"
    text = str(cancelled)
    assert text.startswith("the session was cancelled: ")
    assert "cancel#3" in text and "'key'" in text
    assert repr(cancelled).startswith("Ending(keys='key', cancellation=Cancellation(")


def test_ending_never_trusts_the_keys_repr() -> None:
    """An `Ending` renders even when what it holds cannot render itself (API §4)."""

    class Broken:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    assert "Broken" in str(cf.Ending(Broken()))


# --------------------------------------------------------------------------- forms at build


async def undo_async(ending: cf.Ending[Any]) -> None:
    await anyio.lowlevel.checkpoint()


def _ending_workflow(scope: cf.Scope[cf.Ending[Any], None], builder: cf.Builder) -> None:
    builder.chain(scope.start).map(none).connect(scope.terminate)


ending_workflow = cf.Workflow.build(_ending_workflow, name="undo_flow")

ONE_LINE_FORMS: list[Any] = [none, undo_async, cf.service(none), ending_workflow]


def _cleanups(wf: cf.Workflow[Any, Any]) -> list[Any]:
    # the record the runtime reads when the cleanup starts (crossflow._graph.Cleanup)
    return list(wf._graph.cleanups)


@pytest.mark.parametrize("form", ONE_LINE_FORMS, ids=["plain", "async", "service", "workflow"])
@pytest.mark.parametrize("when", ["on_cancel", "on_terminate", "on_cleanup"])
def test_one_line_forms_build_a_cleanup_that_gets_the_ending(form: Any, when: str) -> None:
    """A function of one argument (plain or async), a `cf.Service` or a `cf.Workflow`
    given to a cleanup method builds a cleanup workflow that calls it once, recorded as
    receiving a `cf.Ending` (API §5)."""

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        buf = builder.create_buffer()
        builder.chain(scope.start).fork_clone(
            lambda c: c.connect(buf), lambda c: c.connect(scope.terminate)
        )
        getattr(builder, when)(buf, form)

    (cleanup,) = _cleanups(wf)
    assert cleanup.ending is True
    assert cleanup.when == when.removeprefix("on_")


@pytest.mark.parametrize("ending", [False, True])
def test_a_build_function_gets_the_keys_unless_it_asks_for_the_ending(ending: bool) -> None:
    """The build-function form keeps receiving the keys; `ending=True` opts into a
    `cf.Ending` (API §5)."""

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.connect(scope.start, scope.terminate)
        builder.on_cancel((), keys_only, ending=ending)

    (cleanup,) = _cleanups(wf)
    assert cleanup.ending is ending


def three(a: Any, b: Any, c: Any) -> None:
    pass


def nothing() -> None:
    pass


async def async_build(scope: Any, builder: Any) -> None:
    pass


@pytest.mark.parametrize(
    ("cleanup", "says"),
    [
        (42, "42 of type int is no cleanup"),
        (three, "needs 3 arguments"),
        (nothing, "takes no arguments"),
        ("keys_only", "'keys_only' of type str is no cleanup"),
    ],
    ids=["int", "three-arguments", "no-argument", "str"],
)
def test_anything_else_is_explained_with_both_forms(cleanup: Any, says: str) -> None:
    """A cleanup that is neither form raises `cf.InvalidArgument` explaining both: a
    `(scope, builder)` build function, or a service called once with a `cf.Ending`
    (API §5)."""

    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.connect(scope.start, scope.terminate)
        builder.on_cancel((), cleanup)

    with pytest.raises(cf.InvalidArgument) as info:
        cf.Workflow.build(wf)
    message = str(info.value)
    assert says in message
    assert "build function `def build(scope, builder)`" in message
    assert "called once with a cf.Ending" in message


def test_an_async_build_function_as_cleanup_is_refused() -> None:
    """An `async def (scope, builder)` cleanup is a build function that cannot run: it
    is refused, saying to make it a plain function (API §5)."""

    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.connect(scope.start, scope.terminate)
        builder.on_terminate((), async_build)

    with pytest.raises(cf.InvalidArgument, match="async function 'async_build'"):
        cf.Workflow.build(wf)


def test_a_coroutine_object_as_cleanup_is_refused() -> None:
    """`on_cancel(buf, undo(...))` (the call, not the function) is refused and the
    coroutine closed, so no "never awaited" warning follows (API §5)."""

    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.connect(scope.start, scope.terminate)
        builder.on_cancel((), undo_async(cf.Ending(())))

    with pytest.raises(cf.InvalidArgument, match="coroutine object"):
        cf.Workflow.build(wf)


# --------------------------------------------------------------------------- at run time

pytestmark = pytest.mark.anyio


def cancelling(received: list[Any], cleanup: Any, **options: Any) -> cf.Workflow[int, int]:
    """Stores the request in a buffer, then cancels itself (`cancel_on_none`); the
    cleanup is added with `on_cancel`."""

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        buf = builder.create_buffer(cf.BufferSettings.keep_all(), name="pans")
        builder.chain(scope.start).fork_clone(
            lambda c: c.connect(buf),
            lambda c: c.map(none).cancel_on_none().connect(scope.terminate),
        )
        builder.on_cancel(buf, cleanup, **options)

    return wf


def recording(received: list[Any]) -> Any:
    """A one-line cleanup that records its request and what the keys hold."""

    def record(ending: cf.Ending[cf.BufferKey[int]]) -> None:
        received.append(ending)
        with ending.keys.access() as view:
            received.append(list(view))

    return record


async def test_a_one_line_cleanup_receives_the_ending_on_cancel() -> None:
    """`on_cancel(buf, undo)`: `undo` is called once with a `cf.Ending` whose
    cancellation is the session's and whose key reads the buffer (S6.1, S6.2)."""
    received: list[Any] = []
    with anyio.fail_after(5):
        error = await assert_cancelled(cancelling(received, recording(received)), 7)
    assert len(received) == 2
    ending, items = received
    assert isinstance(ending, cf.Ending)
    assert ending.cancelled
    assert ending.cancellation == error.cancellation
    assert isinstance(ending.cancellation.cause, cf.Filtered)
    assert items == [7]


async def test_a_one_line_cleanup_receives_the_ending_on_terminate() -> None:
    """`on_terminate(buf, record)`: the `cf.Ending` says the session terminated
    (`cancellation is None`) and its key reads the buffer (S6.2)."""
    received: list[Any] = []

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        buf = builder.create_buffer()
        builder.chain(scope.start).fork_clone(
            lambda c: c.connect(buf), lambda c: c.connect(scope.terminate)
        )
        builder.on_terminate(buf, recording(received))

    with anyio.fail_after(5):
        assert await assert_completes(wf, 3) == 3
    assert len(received) == 2
    ending, items = received
    assert isinstance(ending, cf.Ending)
    assert ending.terminated and ending.cancellation is None
    assert items == [3]


async def test_the_ending_holds_keys_in_the_shape_of_the_buffers() -> None:
    """A dict of buffers gives a dict of keys in `ending.keys`, `()` gives `()`, and
    `on_cleanup` runs one-line cleanups for both endings (S6.1, API §5)."""
    received: list[Any] = []

    def record(ending: cf.Ending[Any]) -> None:
        received.append(ending)

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        pans = builder.create_buffer()
        oven = builder.create_buffer()
        builder.chain(scope.start).fork_clone(
            lambda c: c.connect(pans),
            lambda c: c.connect(oven),
            lambda c: c.connect(scope.terminate),
        )
        builder.on_cleanup({"pans": pans, "oven": oven}, record)
        builder.on_cleanup((), record)

    with anyio.fail_after(5):
        await assert_completes(wf, 1)
    assert len(received) == 2
    assert all(isinstance(e, cf.Ending) and e.terminated for e in received)
    shapes = sorted(
        (sorted(e.keys) if isinstance(e.keys, dict) else e.keys for e in received), key=str
    )
    assert shapes == [(), ["oven", "pans"]]


@pytest.mark.parametrize("kind", ["service", "workflow"])
async def test_a_service_or_workflow_cleanup_receives_the_ending(kind: str) -> None:
    """A `cf.Service` (async here) or a `cf.Workflow` given as the cleanup is called once
    with the `cf.Ending` (API §5)."""
    received: list[Any] = []

    async def note(ending: Any) -> None:
        await anyio.lowlevel.checkpoint()
        received.append(ending)

    def flow(scope: cf.Scope[Any, None], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(note).connect(scope.terminate)

    cleanup: Any = cf.service(note) if kind == "service" else cf.Workflow.build(flow)
    with anyio.fail_after(5):
        await assert_cancelled(cancelling(received, cleanup), 1)
    assert len(received) == 1
    assert isinstance(received[0], cf.Ending) and received[0].cancelled


async def test_a_build_function_with_ending_true_receives_the_ending() -> None:
    """`on_cancel(buf, build_fn, ending=True)`: the cleanup workflow's request is the
    `cf.Ending` instead of the keys (API §5)."""
    received: list[Any] = []

    def cleanup(scope: cf.Scope[Any, None], builder: cf.Builder) -> None:
        builder.chain(scope.start).map(received.append).connect(scope.terminate)

    with anyio.fail_after(5):
        await assert_cancelled(cancelling(received, cleanup, ending=True), 1)
    assert len(received) == 1
    assert isinstance(received[0], cf.Ending)
    assert isinstance(received[0].keys, cf.BufferKey)


async def test_a_build_function_still_receives_the_keys() -> None:
    """Without `ending=True`, a build-function cleanup receives the keys as before
    (S6.1)."""
    received: list[Any] = []

    def cleanup(scope: cf.Scope[Any, None], builder: cf.Builder) -> None:
        builder.chain(scope.start).map(received.append).connect(scope.terminate)

    with anyio.fail_after(5):
        await assert_cancelled(cancelling(received, cleanup), 1)
    assert len(received) == 1
    assert isinstance(received[0], cf.BufferKey)
