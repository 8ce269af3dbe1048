"""Gates: a closed buffer stores items but wakes nobody until it opens (S7.3, S7.4, S2.2)."""

from __future__ import annotations

from typing import Any

import anyio
import anyio.lowlevel
import pytest

import crossflow as cf
from crossflow.testing import assert_cancelled
from crossflow.testing import assert_completes as run

pytestmark = pytest.mark.anyio

keep_all = cf.BufferSettings.keep_all


async def unreachable_disposals(wf: cf.Workflow[Any, Any], request: Any) -> tuple[cf.Disposal, ...]:
    cause = (await assert_cancelled(wf, request)).cancellation.cause
    assert isinstance(cause, cf.Unreachable), cause
    return cause.disposals


def drain(key: cf.BufferKey[Any]) -> list[Any]:
    with key.access() as view:
        return view.drain()


async def test_gate_collects_then_releases() -> None:
    """While the gate is closed, items are stored without waking the listener; opening the
    gate wakes it, and it finds both items (GA-1, S7.3, S7.4)."""

    def push_value(pair: tuple[int, cf.BufferKey[int]]) -> int:
        value, key = pair
        with key.access() as view:
            view.push(value)
        return value

    @cf.workflow
    def wf(scope: cf.Scope[int, list[int]], builder: cf.Builder) -> None:
        buf: cf.Buffer[int] = builder.create_buffer(keep_all())
        builder.chain(scope.start).fork_clone(
            lambda c: c.then_gate_close(buf).connect(buf),
            lambda c: c.with_access(buf).map(push_value).then_gate_open(buf).dispose(),
        )
        builder.listen(buf).map(drain).connect(scope.terminate)

    assert await run(wf, 2) == [2, 2]


async def test_closed_gate_only_silences_its_own_buffer() -> None:
    """A change of another buffer wakes the join, which then also takes the item waiting in
    the closed buffer, before the gate ever opens (GA-2a, S7.2, S7.4)."""
    opened: list[Any] = []

    async def never(x: Any) -> Any:
        await anyio.sleep_forever()
        return x  # pragma: no cover

    async def later(x: Any) -> Any:
        await anyio.wait_all_tasks_blocked()
        return x

    @cf.workflow
    def wf(scope: cf.Scope[int, tuple[int, int]], builder: cf.Builder) -> None:
        a: cf.Buffer[int] = builder.create_buffer()
        b: cf.Buffer[int] = builder.create_buffer()
        builder.chain(scope.start).fork_clone(
            lambda c: c.then_gate_close(a).connect(a),
            lambda c: c.then(later).connect(b),
            lambda c: c.then(never).map(opened.append).then_gate_open(a).dispose(),
        )
        builder.join((a, b)).connect(scope.terminate)

    assert await run(wf, 7) == (7, 7)
    assert opened == []


async def test_join_held_until_the_gate_opens() -> None:
    """An item that reaches a closed buffer does not wake the join; opening the gate does,
    and the join fires then (GA-2b, S7.3, S7.4)."""
    log: list[str] = []
    arrived = anyio.Event()

    def signal(_: Any) -> None:
        log.append("arrived")
        arrived.set()

    async def open_after_arrival(x: int) -> int:
        await arrived.wait()
        log.append("opening")
        return x

    async def slowly(x: int) -> int:
        await anyio.lowlevel.checkpoint()
        return x

    @cf.workflow
    def wf(scope: cf.Scope[int, tuple[int, int]], builder: cf.Builder) -> None:
        a: cf.Buffer[int] = builder.create_buffer()
        b: cf.Buffer[int] = builder.create_buffer()
        builder.chain(scope.start).fork_clone(
            lambda c: c.connect(b),
            lambda c: (
                c.then_gate_close(a)
                .then(slowly)
                .fork_clone(lambda d: d.connect(a), lambda d: d.map(signal).dispose())
            ),
            lambda c: c.then(open_after_arrival).then_gate_open(a).dispose(),
        )
        builder.join((a, b)).map(lambda t: log.append("joined") or t).connect(scope.terminate)

    assert await run(wf, 3) == (3, 3)
    assert log == ["arrived", "opening", "joined"]


async def test_closed_gate_does_not_block_access() -> None:
    """Keys still read and change a closed buffer (GA-3, S7.4)."""

    def read(key: cf.BufferKey[int]) -> tuple[list[int], bool]:
        with key.access() as view:
            view.push(5)
            return list(view), view.is_open

    @cf.workflow
    def wf(scope: cf.Scope[int, Any], builder: cf.Builder) -> None:
        buf: cf.Buffer[int] = builder.create_buffer(keep_all())
        (
            builder.chain(scope.start)
            .then_gate_close(buf)
            .then_push(buf)
            .then_access(buf)
            .map(read)
            .connect(scope.terminate)
        )

    assert await run(wf, 4) == ([4, 5], False)


async def test_gate_operations_pass_the_message_on() -> None:
    """Gate operations pass their message on unchanged (S7.3, S7.4)."""

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        buf: cf.Buffer[int] = builder.create_buffer()
        close = builder.create_gate_close(buf)
        reopen = builder.create_gate_open((buf,))
        builder.connect(scope.start, close.input)
        builder.chain(close.output).map(lambda x: x * 2).connect(reopen.input)
        builder.chain(reopen.output).then_gate_close({"b": buf}).then_gate_open(buf).connect(
            scope.terminate
        )

    assert await run(wf, 21) == 42


async def test_closed_gate_with_nothing_to_reopen_it() -> None:
    """A closed buffer that nothing can reopen is unreachable: its listener will never
    wake, and the closing is recorded as a `ClosedGate` disposal (RE-20, S7.4, S3)."""

    @cf.workflow
    def wf(scope: cf.Scope[int, Any], builder: cf.Builder) -> None:
        buf: cf.Buffer[int] = builder.create_buffer()
        builder.chain(scope.start).then_gate_close(buf).connect(buf)
        builder.listen(buf).connect(scope.terminate)

    (disposal,) = await unreachable_disposals(wf, 1)
    assert disposal.cause == cf.ClosedGate(disposal.operation)
    assert disposal.operation == "gate_close"


async def test_closed_gate_reopened_later_stays_reachable() -> None:
    """A closed buffer stays reachable while a gate-open operation can still run (S7.4)."""

    async def wait_then(x: int) -> int:
        await anyio.lowlevel.checkpoint()
        return x

    @cf.workflow
    def wf(scope: cf.Scope[int, list[int]], builder: cf.Builder) -> None:
        buf: cf.Buffer[int] = builder.create_buffer(keep_all())
        builder.chain(scope.start).fork_clone(
            lambda c: c.then_gate_close(buf).connect(buf),
            lambda c: c.then(wait_then).then_gate_open(buf).dispose(),
        )
        builder.listen(buf).map(drain).connect(scope.terminate)

    assert await run(wf, 8) == [8]


async def test_opening_wakes_listeners_closing_does_not() -> None:
    """Opening a closed gate wakes the listener even without new data; closing does not,
    and opening an open gate changes nothing (S7.3)."""
    wakes: list[tuple[int, bool]] = []

    def look(key: cf.BufferKey[int]) -> None:
        with key.access() as view:
            wakes.append((len(view), view.is_open))

    @cf.workflow
    def wf(scope: cf.Scope[int, list[None]], builder: cf.Builder) -> None:
        buf: cf.Buffer[int] = builder.create_buffer()
        (
            builder.chain(scope.start)
            .then_push(buf)  # a change: wake
            .then_gate_open(buf)  # already open: nothing
            .then_gate_close(buf)  # closing: no wake
            .then_gate_close(buf)  # already closed: nothing
            .then_gate_open(buf)  # opening: wake
            .dispose()
        )
        builder.listen(buf).map(look).collect_all().connect(scope.terminate)

    assert await run(wf, 1) == [None, None]
    assert len(wakes) == 2
    assert wakes[-1] == (1, True)


async def test_items_stored_while_closed_wake_nobody() -> None:
    """Arrivals in a closed buffer are stored but wake no listener (S7.4)."""
    wakes: list[list[int]] = []

    def look(key: cf.BufferKey[int]) -> None:
        with key.access() as view:
            wakes.append(list(view))

    @cf.workflow
    def wf(scope: cf.Scope[list[int], list[None]], builder: cf.Builder) -> None:
        buf: cf.Buffer[int] = builder.create_buffer(keep_all())
        builder.chain(scope.start).then_gate_close(buf).spread().fork_clone(
            lambda c: c.connect(buf),
            lambda c: c.collect_all().then_gate_open(buf).dispose(),
        )
        builder.listen(buf).map(look).collect_all().connect(scope.terminate)

    assert await run(wf, [1, 2, 3]) == [None]
    assert wakes == [[1, 2, 3]]


# --------------------------------------------------------------------------- keys


async def test_key_gate_control() -> None:
    """A key opens and closes the gate of its buffer: closing silences arrivals, opening
    through the key wakes the other listeners (S7.3, S7.4)."""
    wakes: list[tuple[list[int], bool]] = []

    def close(key: cf.BufferKey[int]) -> bool:
        with key.access() as view:
            view.gate_close()
            return view.is_open

    def reopen(key: cf.BufferKey[int]) -> bool:
        with key.access() as view:
            view.gate_open()
            return view.is_open

    def look(key: cf.BufferKey[int]) -> list[int]:
        with key.access() as view:
            wakes.append((list(view), view.is_open))
            return list(view)

    @cf.workflow
    def wf(scope: cf.Scope[int, list[int]], builder: cf.Builder) -> None:
        buf: cf.Buffer[int] = builder.create_buffer(keep_all())
        (
            builder.chain(scope.start)
            .then_access(buf)
            .map(close)
            .map(lambda closed_is_open: 10 + int(closed_is_open))
            .then_push(buf)  # stored, wakes nobody
            .then_access(buf)
            .map(reopen)
            .dispose()
        )
        builder.listen(buf).map(look).connect(scope.terminate)

    assert await run(wf, 1) == [10]
    assert wakes == [([10], True)]


async def test_closing_through_a_key_is_recorded() -> None:
    """Closing a gate through a key records a `ClosedGate` disposal; with nothing left to
    reopen the buffer, the session is unreachable (RE-20, S7.4)."""

    def close(key: cf.BufferKey[int]) -> None:
        with key.access() as view:
            view.gate_close()

    @cf.workflow
    def wf(scope: cf.Scope[int, Any], builder: cf.Builder) -> None:
        buf: cf.Buffer[int] = builder.create_buffer(name="pantry")
        builder.chain(scope.start).fork_clone(
            lambda c: c.then_access(buf).map(close).dispose(),
            lambda c: c.then(wait_a_little).connect(buf),
        )
        builder.listen(buf).connect(scope.terminate)

    (disposal,) = await unreachable_disposals(wf, 1)
    assert disposal == cf.Disposal("pantry", cf.ClosedGate("pantry"))


async def wait_a_little(x: Any) -> Any:
    await anyio.wait_all_tasks_blocked()
    return x


async def test_gate_state_is_per_session() -> None:
    """A gate closed in one session stays open in another (S1.5, S7.4)."""
    both_started = anyio.Event()
    started = 0

    async def maybe_close(pair: tuple[int, cf.BufferKey[int]]) -> int:
        nonlocal started
        x, key = pair
        if x == 1:
            with key.access() as view:
                view.gate_close()
        started += 1
        if started == 2:
            both_started.set()
        await both_started.wait()
        return x

    def is_open(key: cf.BufferKey[int]) -> bool:
        with key.access() as view:
            return view.is_open

    @cf.workflow
    def wf(scope: cf.Scope[int, bool], builder: cf.Builder) -> None:
        buf: cf.Buffer[int] = builder.create_buffer()
        (
            builder.chain(scope.start)
            .with_access(buf)
            .then(maybe_close)
            .then_access(buf)
            .map(is_open)
            .connect(scope.terminate)
        )

    results: dict[int, bool] = {}

    async def one(x: int) -> None:
        results[x] = await run(wf, x)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(one, 1)
            tg.start_soon(one, 2)
    assert results == {1: False, 2: True}
