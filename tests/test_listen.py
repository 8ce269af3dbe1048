"""Listeners: woken by buffer changes, they emit keys, never data (S7.3)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import anyio
import pytest

import crossflow as cf
from crossflow.testing import assert_cancelled
from crossflow.testing import assert_completes as run

pytestmark = pytest.mark.anyio

keep_all = cf.BufferSettings.keep_all


async def test_one_wake_per_pushed_message() -> None:
    """Each message spread into the buffer wakes the listener; it drains the buffer once it
    holds as many items as the value says (LI-1, S7.3)."""
    wakes: list[int] = []

    def drain_when_full(key: cf.BufferKey[int]) -> list[int] | None:
        with key.access() as view:
            wakes.append(len(view))
            newest = view.newest()
            if newest is None or len(view) < newest:
                return None
            return view.drain()

    @cf.workflow
    def wf(scope: cf.Scope[int, list[int]], builder: cf.Builder) -> None:
        buf: cf.Buffer[int] = builder.create_buffer(keep_all())
        builder.chain(scope.start).map(lambda v: [v] * v).spread().connect(buf)
        builder.listen(buf).map(drain_when_full).dispose_on_none().connect(scope.terminate)

    assert await run(wf, 7) == [7] * 7
    assert 1 <= len(wakes) <= 7


async def test_listener_emits_keys_not_data() -> None:
    """What a listener emits is keys to its buffers, in the shape given (S7.3)."""
    emitted: list[Any] = []

    @cf.workflow
    def wf(scope: cf.Scope[int, None], builder: cf.Builder) -> None:
        a: cf.Buffer[int] = builder.create_buffer(name="a")
        b: cf.Buffer[int] = builder.create_buffer(name="b")
        builder.chain(scope.start).fork_clone(lambda c: c.connect(a), lambda c: c.dispose())
        builder.listen(a).map(emitted.append).dispose()
        builder.listen((a, b)).map(emitted.append).dispose()
        builder.listen({"first": a}).map(emitted.append).map(lambda _: None).connect(
            scope.terminate
        )

    assert await run(wf, 3) is None
    one, pair, named = emitted
    assert isinstance(one, cf.BufferKey) and one.buffer == "a"
    assert isinstance(pair, tuple) and [k.buffer for k in pair] == ["a", "b"]
    assert isinstance(named, dict) and list(named) == ["first"]
    assert named["first"].buffer == "a"


async def test_keyed_listener() -> None:
    """A listener of a dict of buffers gets a dict of keys; the service pulls once every
    buffer holds an item (LI-2, S7.3)."""
    names = ("integer", "float", "string", "generic", "any")

    def pull_all(keys: dict[str, cf.BufferKey[Any]]) -> dict[str, Any] | None:
        for key in keys.values():
            with key.access() as view:
                if not len(view):
                    return None
        out = {}
        for name, key in keys.items():
            with key.access() as view:
                out[name] = view.pull()
        return out

    @cf.workflow
    def wf(scope: cf.Scope[tuple[Any, ...], dict[str, Any]], builder: cf.Builder) -> None:
        buffers = {name: builder.create_buffer() for name in names}
        for name, chain in zip(names, builder.chain(scope.start).unzip(5), strict=True):
            chain.connect(buffers[name])
        builder.listen(buffers).map(pull_all).dispose_on_none().connect(scope.terminate)

    assert await run(wf, (5, 3.14, "hello", "world", 42)) == {
        "integer": 5,
        "float": 3.14,
        "string": "hello",
        "generic": "world",
        "any": 42,
    }


async def test_own_key_changes_do_not_rewake() -> None:
    """A listener's service pulls and reopens the gate through its own key: neither wakes
    that listener again, so every wake finds exactly one item (LI-3, S7.3)."""
    pulled: list[Any] = []

    def step(key: cf.BufferKey[int]) -> tuple[int | None, int | None]:
        with key.access() as view:
            value = view.pull()
            pulled.append((value, view.is_open))
            view.gate_open()
        if value is None:
            return None, -1  # a spurious wake: end the run and let the test see it
        return (None, value) if value >= 5 else (value + 1, None)

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        buf: cf.Buffer[int] = builder.create_buffer(keep_all())
        builder.connect(scope.start, buf)
        builder.listen(buf).then_gate_close(buf).map(step).fork_unzip(
            lambda c: c.dispose_on_none().connect(buf),
            lambda c: c.dispose_on_none().connect(scope.terminate),
        )

    assert await run(wf, 0) == 5
    assert pulled == [(v, False) for v in range(6)]


async def test_own_key_changes_do_not_rewake_without_gates() -> None:
    """Pushing through its own key does not wake the listener that issued the key (S7.3)."""
    calls: list[list[int]] = []

    def push_back(key: cf.BufferKey[int]) -> int | None:
        with key.access() as view:
            calls.append(list(view))
            view.push(len(view))
        return None if len(calls) < 2 else len(calls)

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        buf: cf.Buffer[int] = builder.create_buffer(keep_all())
        builder.chain(scope.start).fork_clone(
            lambda c: c.connect(buf),
            # a second arrival, after the listener ran: one more wake
            lambda c: c.then(after_blocked).connect(buf),
        )
        builder.listen(buf).map(push_back).dispose_on_none().connect(scope.terminate)

    assert await run(wf, 7) == 2
    assert calls == [[7], [7, 1, 7]]


async def after_blocked(x: Any) -> Any:
    """Answers once every other task is blocked (the session is quiet)."""
    await anyio.wait_all_tasks_blocked()
    return x


async def test_allow_closed_loops_rewakes() -> None:
    """With `allow_closed_loops`, the listener's own pull wakes it again: it finds the
    buffer empty and ends before the delayed push comes back (LI-4, S7.3)."""
    calls: list[int | None] = []

    async def held_back(x: int) -> int:
        await anyio.sleep_forever()  # only a re-wake by the pull itself can end the run
        return x  # pragma: no cover

    def step(key: cf.BufferKey[int]) -> tuple[int | None, int | None]:
        with key.allow_closed_loops().access() as view:
            value = view.pull()
        calls.append(value)
        return (value + 1, None) if value is not None else (None, 0)

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        buf: cf.Buffer[int] = builder.create_buffer(keep_all())
        builder.connect(scope.start, buf)
        builder.listen(buf).map(step).fork_unzip(
            lambda c: c.dispose_on_none().then(held_back).connect(buf),
            lambda c: c.dispose_on_none().connect(scope.terminate),
        )

    assert await run(wf, 3) == 0
    assert calls[:2] == [3, None]


async def test_pulling_an_empty_buffer_is_no_change() -> None:
    """A pull that finds the buffer empty changes nothing, so it wakes no listener (S7.3).

    Counting it as a change makes a closed-loop listener that polls an empty buffer wake
    itself forever.
    """
    woken: list[int] = []

    def pull_nothing(key: cf.BufferKey[int]) -> int:
        with key.access() as view:
            assert view.pull() is None
            assert view.pull_newest() is None
            assert view.drain() == []
            view.clear()
        return 1

    def watch(key: cf.BufferKey[int]) -> None:
        with key.access() as view:
            woken.append(len(view))

    @cf.workflow
    def wf(scope: cf.Scope[int, list[int]], builder: cf.Builder) -> None:
        a: cf.Buffer[int] = builder.create_buffer()
        (
            builder.chain(scope.start)
            .then_access(a)
            .map(pull_nothing)
            .then(after_blocked)
            .then_push(a)  # the only change
            .then(after_blocked)
            .map(lambda _: list(woken))
            .connect(scope.terminate)
        )
        builder.listen(a).map(watch).dispose()

    assert await run(wf, 1) == [1]


@pytest.mark.parametrize(
    "settings",
    [cf.BufferSettings.keep_first(1), cf.BufferSettings.keep_last(0)],
    ids=["full", "no-capacity"],
)
async def test_rejected_push_through_a_key_is_no_change(settings: cf.BufferSettings) -> None:
    """A push that the buffer rejects leaves it unchanged: it wakes no listener, just as a
    rejected arrival through the input slot wakes none (S7.1, S7.3)."""
    woken: list[list[int]] = []

    def push_rejected(key: cf.BufferKey[int]) -> int:
        with key.access() as view:
            assert view.push(9) == 9  # handed back: nothing changed
        return 2

    def watch(key: cf.BufferKey[int]) -> None:
        with key.access() as view:
            woken.append(list(view))

    @cf.workflow
    def wf(scope: cf.Scope[int, list[list[int]]], builder: cf.Builder) -> None:
        a: cf.Buffer[int] = builder.create_buffer(settings)
        (
            builder.chain(scope.start)
            .then_push(a)  # fills a keep_first(1) buffer: one wake
            .then(after_blocked)
            .then_access(a)
            .map(push_rejected)
            .then(after_blocked)
            .then_push(a)  # rejected through the input slot: no wake
            .then(after_blocked)
            .map(lambda _: list(woken))
            .connect(scope.terminate)
        )
        builder.listen(a).map(watch).dispose()

    expected = [[1]] if settings.retention == "keep_first" else []
    assert await run(wf, 1) == expected


async def test_allow_closed_loops_key_is_a_copy() -> None:
    """`allow_closed_loops()` returns a new key for the same buffer; the original still
    does not wake its own listener (S7.3)."""
    seen: list[Any] = []

    def check(key: cf.BufferKey[int]) -> int:
        loops = key.allow_closed_loops()
        seen.append((loops is key, loops.buffer == key.buffer))
        with loops.access() as a, key.access() as b:
            return len(a) + len(b)

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        buf: cf.Buffer[int] = builder.create_buffer()
        builder.connect(scope.start, buf)
        builder.listen(buf).map(check).connect(scope.terminate)

    assert await run(wf, 1) == 2
    assert seen == [(False, True)]


async def test_two_listeners() -> None:
    """Two listeners of one buffer both wake on an arrival; a pull through the first one's
    key wakes the second again, not the first (LI-5, S7.3)."""
    records: list[tuple[str, Any]] = []

    def first(key: cf.BufferKey[int]) -> None:
        with key.access() as view:
            records.append(("first", view.pull()))

    def second(key: cf.BufferKey[int]) -> None:
        with key.access() as view:
            records.append(("second", len(view)))

    @cf.workflow
    def wf(scope: cf.Scope[int, list[Any]], builder: cf.Builder) -> None:
        buf: cf.Buffer[int] = builder.create_buffer(keep_all())
        builder.connect(scope.start, buf)
        done = builder.create_collect()
        builder.listen(buf).map(first).connect(done.input)
        builder.listen(buf).map(second).connect(done.input)
        builder.connect(done.output, scope.terminate)

    assert await run(wf, 7) == [None, None, None]
    assert Counter(name for name, _ in records) == {"first": 1, "second": 2}
    assert ("first", 7) in records


async def test_join_pull_wakes_listeners() -> None:
    """A join that pulls from a buffer changes it: the buffer's listener wakes (S7.3)."""
    lengths: list[int] = []

    def look(key: cf.BufferKey[int]) -> list[int] | None:
        with key.access() as view:
            lengths.append(len(view))
        # only the join's pull can leave the buffer empty after it held an item
        return lengths if lengths[-1] == 0 else None

    @cf.workflow
    def wf(scope: cf.Scope[int, list[int]], builder: cf.Builder) -> None:
        a: cf.Buffer[int] = builder.create_buffer()
        b: cf.Buffer[int] = builder.create_buffer()
        builder.chain(scope.start).fork_clone(
            lambda c: c.connect(a), lambda c: c.then(after_blocked).connect(b)
        )
        builder.listen(a).map(look).dispose_on_none().connect(scope.terminate)
        # the join also leads to terminate, but never gets there (its values are not None)
        builder.join((a, b)).map(lambda _: None).dispose_on_none().connect(scope.terminate)

    # woken by the arrival (one item), then by the join's pull (empty)
    assert await run(wf, 1) == [1, 0]


async def test_join_pull_keeps_listeners_reachable() -> None:
    """A join that can still fire, and whose pull would wake a listener, keeps that listener
    reachable even when the join's own output leads nowhere (S2.2, S7.3)."""
    lengths: list[int] = []

    def look(key: cf.BufferKey[int]) -> list[int] | None:
        with key.access() as view:
            lengths.append(len(view))
        # only the join's pull can leave the buffer empty after it held an item
        return lengths if lengths[-1] == 0 else None

    @cf.workflow
    def wf(scope: cf.Scope[int, list[int]], builder: cf.Builder) -> None:
        a: cf.Buffer[int] = builder.create_buffer()
        b: cf.Buffer[int] = builder.create_buffer()
        builder.chain(scope.start).fork_clone(
            lambda c: c.connect(a), lambda c: c.then(after_blocked).connect(b)
        )
        builder.listen(a).map(look).dispose_on_none().connect(scope.terminate)
        builder.join((a, b)).dispose()

    # woken by the arrival (one item), then by the join's pull (empty)
    assert await run(wf, 1) == [1, 0]


async def test_listener_of_a_buffer_nothing_feeds() -> None:
    """A listener of a buffer that nothing feeds is unreachable from the start (S2.3, RE-5)."""
    ran: list[Any] = []

    with pytest.warns(cf.UnreachableWarning):

        @cf.workflow
        def wf(scope: cf.Scope[int, Any], builder: cf.Builder) -> None:
            fed: cf.Buffer[int] = builder.create_buffer(keep_all())
            never: cf.Buffer[int] = builder.create_buffer()
            builder.chain(scope.start).map(ran.append).map(lambda _: 1).connect(fed)
            builder.listen(never).map(lambda _: None).connect(scope.terminate)

    error = await assert_cancelled(wf, 1)
    assert error.cancellation.cause == cf.Unreachable("wf", ())
    assert ran == []
