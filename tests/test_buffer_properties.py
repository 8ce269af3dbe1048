"""Properties of buffers and joins, checked on random inputs and interleavings (S7.1, S7.2,
S6.3).

Every property runs on asyncio and on trio (the `anyio_backend` fixture of conftest.py);
the anyio pytest plugin runs hypothesis' examples of an `async def` test inside one event
loop per backend. The number of examples comes from the active hypothesis profile.
"""

from __future__ import annotations

from typing import Any

import anyio
import anyio.lowlevel
import pytest
from hypothesis import given
from hypothesis import strategies as st

import crossflow as cf

# every run recounts its bookkeeping after each step (see `audited` in conftest.py)
pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("audited")]

TIMEOUT = 10  # seconds; the services only yield to the event loop, they never sleep


# --------------------------------------------------------------------------- join pairs


async def _yield(times: int) -> None:
    for _ in range(times):
        await anyio.lowlevel.checkpoint()


async def push_through_key(pair: tuple[tuple[list[int], list[int]], cf.BufferKey[int]]) -> None:
    """Push each item in its own `with` block, yielding to the loop the drawn number of times
    before each one."""
    (items, yields), key = pair
    for item, times in zip(items, yields, strict=True):
        await _yield(times)
        with key.access() as view:
            view.push(item)


@cf.service(streams={"items": int})
async def send_on_stream(request: tuple[list[int], list[int]], *, streams: cf.Streams) -> None:
    """Send each item into the buffer's input slot, yielding first as drawn."""
    items, yields = request
    for item, times in zip(items, yields, strict=True):
        await _yield(times)
        streams.items.send(item)


def pairing_workflow(left_by_stream: bool) -> cf.Workflow[Any, list[tuple[int, int]]]:
    """Two async branches fill two `keep_all` buffers; a join pairs them, a collect gathers
    the pairs. The request is `((items, left_yields), (items, right_yields))`."""

    def build(scope: cf.Scope[Any, list[tuple[int, int]]], builder: cf.Builder) -> None:
        left: cf.Buffer[int] = builder.create_buffer(cf.BufferSettings.keep_all())
        right: cf.Buffer[int] = builder.create_buffer(cf.BufferSettings.keep_all())
        left_request, right_request = builder.chain(scope.start).unzip(2)
        if left_by_stream:
            node: cf.Node[Any, None] = left_request.then_node(send_on_stream)
            builder.connect(node.streams.items, left)
            builder.chain(node.output).dispose()
        else:
            left_request.with_access(left).then(push_through_key).dispose()
        right_request.with_access(right).then(push_through_key).dispose()
        builder.join((left, right)).collect_all().connect(scope.terminate)

    return cf.Workflow.build(build, name="pairing")


PAIRING = {False: pairing_workflow(False), True: pairing_workflow(True)}


@given(
    # (item, yields before the left push, yields before the right push)
    drawn=st.lists(
        st.tuples(
            st.integers(),
            st.integers(min_value=0, max_value=4),
            st.integers(min_value=0, max_value=4),
        ),
        max_size=50,
        unique_by=lambda t: t[0],
    ),
    left_by_stream=st.booleans(),
)
async def test_keep_all_join_pairs_items_in_order(
    drawn: list[tuple[int, int, int]], left_by_stream: bool
) -> None:
    """Two branches push the same n items into two `keep_all` buffers with independently
    drawn yields between pushes, so arrivals interleave differently each time; the join
    emits exactly n pairs, the i-th item of each side together, in order (S7.1, S7.2)."""
    items = [item for item, _, _ in drawn]
    left_yields = [times for _, times, _ in drawn]
    right_yields = [times for _, _, times in drawn]
    with anyio.fail_after(TIMEOUT):
        pairs = await PAIRING[left_by_stream].run(((items, left_yields), (items, right_yields)))
    assert pairs == [(x, x) for x in items]


# --------------------------------------------------------------------------- stale keys

ENDINGS = ("terminate", "triggered", "unreachable", "failed", "user")

retention = st.one_of(
    st.integers(min_value=0, max_value=3).map(cf.BufferSettings.keep_last),
    st.integers(min_value=0, max_value=3).map(cf.BufferSettings.keep_first),
    st.just(cf.BufferSettings.keep_all()),
)


class Failure(Exception):
    """Raised on purpose by a service."""


def kept(settings: cf.BufferSettings, pushed: list[int]) -> list[int]:
    """What a buffer with `settings` holds after `pushed` went in, oldest first."""
    if settings.n is None:
        return pushed
    if settings.retention == "keep_first":
        return pushed[: settings.n]
    return pushed[max(0, len(pushed) - settings.n) :] if settings.n else []


class Capture:
    """Everything one run leaves behind: its keys and views, and what the service saw."""

    def __init__(self) -> None:
        self.keys: list[cf.BufferKey[int]] = []
        self.views: list[cf.BufferView[int]] = []
        self.seen: list[tuple[int, list[int]]] = []
        self.pushed = anyio.Event()


def keys_workflow(
    settings: cf.BufferSettings, count: int, ending: str, nested: bool, capture: Capture
) -> cf.Workflow[int, int]:
    """A session whose buffer is filled through a key, read by a listener and by a cleanup
    workflow, then ended the drawn way; every key and view is captured."""

    def fill(pair: tuple[int, cf.BufferKey[int]]) -> int:
        request, key = pair
        capture.keys.append(key)
        with key.access() as view:
            capture.views.append(view)
            before = len(view)
            for i in range(count):
                view.push(i)
            capture.seen.append((before, list(view)))
        if ending == "failed":
            raise Failure(request)
        return request

    async def wait_for_cancel(x: int) -> int:
        capture.pushed.set()
        await anyio.sleep_forever()
        return x  # pragma: no cover

    def listened(key: cf.BufferKey[int]) -> None:
        capture.keys.append(key)

    def in_cleanup(key: cf.BufferKey[int]) -> None:
        capture.keys.append(key)
        with key.access() as view:
            capture.views.append(view)

    def cleanup(scope: cf.Scope[cf.BufferKey[int], None], builder: cf.Builder) -> None:
        builder.chain(scope.start).map(in_cleanup).connect(scope.terminate)

    def session(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        buf: cf.Buffer[int] = builder.create_buffer(settings)
        builder.on_cleanup(buf, cleanup)
        builder.listen(buf).map(listened).dispose()
        chain = builder.chain(scope.start).with_access(buf).map(fill)
        if ending == "terminate" or ending == "failed":
            chain.connect(scope.terminate)
        elif ending == "triggered":
            chain.then_cancel()
        elif ending == "unreachable":
            chain.map(lambda _: None).dispose_on_none().connect(scope.terminate)
        else:
            chain.then(wait_for_cancel).connect(scope.terminate)

    if not nested:
        return cf.Workflow.build(session, name="keys")

    def outer(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then_scope(session).connect(scope.terminate)

    return cf.Workflow.build(outer, name="keys")


async def _outcome(wf: cf.Workflow[int, int], ending: str, capture: Capture) -> tuple[str, Any]:
    """("response", value), ("cancelled", cancellation) or ("outside", None) when the task
    awaiting `run` was cancelled (then `run` re-raised the backend's cancellation)."""
    outcome: tuple[str, Any] = ("outside", None)

    async def runner() -> None:
        nonlocal outcome
        try:
            outcome = ("response", await wf.run(1))
        except cf.WorkflowCancelled as error:
            outcome = ("cancelled", error.cancellation)

    with anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as tg:
            tg.start_soon(runner)
            if ending == "user":
                await capture.pushed.wait()
                tg.cancel_scope.cancel()
    return outcome


def _is_stale(key: cf.BufferKey[int]) -> bool:
    try:
        with key.access():
            return False
    except cf.StaleBufferKey:
        return True


@given(
    settings=retention,
    count=st.integers(min_value=0, max_value=6),
    ending=st.sampled_from(ENDINGS),
    nested=st.booleans(),
)
async def test_no_buffer_outlives_its_session(
    settings: cf.BufferSettings, count: int, ending: str, nested: bool
) -> None:
    """However a session ends (terminated, cancelled by an operation, unreachable, a failing
    service, or from outside: the task awaiting `run` cancelled), once `run` returns or
    raises, every key captured during the session is stale and so is every view: the
    session's buffers are gone (S6.3). A new session starts with empty buffers (S1.5)."""
    pushed = list(range(count))
    for _ in range(2):  # the second run must not see anything of the first
        capture = Capture()
        wf = keys_workflow(settings, count, ending, nested, capture)
        kind, value = await _outcome(wf, ending, capture)
        if ending == "terminate":
            assert (kind, value) == ("response", 1)
        elif ending == "user":
            assert (kind, value) == ("outside", None)
        else:
            assert kind == "cancelled"
            if not nested:
                expected = {
                    "triggered": cf.Triggered,
                    "unreachable": cf.Unreachable,
                    "failed": cf.ServiceFailed,
                }[ending]
                assert isinstance(value.cause, expected), value
        assert capture.seen == [(0, kept(settings, pushed))]
        # the access's key, the cleanup workflow's, and one per wake of the listener
        assert len(capture.keys) >= 2
        assert len(capture.views) == 2
        assert all(_is_stale(key) for key in capture.keys)
        for view in capture.views:
            with pytest.raises(cf.StaleBufferKey):
                len(view)
