"""Buffers, keys and views: retention, access through keys, key lifecycle (S7.1, S2.1-S2.2,
S6.3, S1.5)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import attrs
import pytest

import crossflow as cf
from crossflow.testing import assert_cancelled
from crossflow.testing import assert_completes as run

pytestmark = pytest.mark.anyio

keep_last = cf.BufferSettings.keep_last
keep_first = cf.BufferSettings.keep_first
keep_all = cf.BufferSettings.keep_all


async def unreachable_disposals(wf: cf.Workflow[Any, Any], request: Any) -> tuple[cf.Disposal, ...]:
    cause = (await assert_cancelled(wf, request)).cancellation.cause
    assert isinstance(cause, cf.Unreachable), cause
    return cause.disposals


def stale(action: Callable[[], object]) -> bool:
    """Whether `action` raises `cf.StaleBufferKey`."""
    try:
        action()
    except cf.StaleBufferKey:
        return True
    return False


def open_key(key: cf.BufferKey[Any]) -> None:
    with key.access():
        pass


# --------------------------------------------------------------------------- settings


def test_settings_shapes() -> None:
    """`BufferSettings` constructors give the retention and capacity asked for; the default
    is `keep_last(1)` (S7.1)."""
    assert keep_last() == cf.BufferSettings("keep_last", 1)
    assert keep_last(3) == cf.BufferSettings("keep_last", 3)
    assert keep_first(2) == cf.BufferSettings("keep_first", 2)
    assert keep_all() == cf.BufferSettings("keep_all", None)
    assert cf.BufferSettings() == keep_last(1)
    assert repr(keep_first(2)) == "BufferSettings.keep_first(2)"
    assert repr(keep_all()) == "BufferSettings.keep_all()"


@pytest.mark.parametrize("make", [lambda: keep_last(-1), lambda: keep_first(-2)])
def test_settings_reject_negative_capacity(make: Callable[[], cf.BufferSettings]) -> None:
    """A negative capacity is an `InvalidArgument` (S7.1)."""
    with pytest.raises(cf.InvalidArgument):
        make()


# --------------------------------------------------------------------------- retention (S7.1)

# (case, settings, pushed, contents oldest first)
RETENTION = [
    ("BU-1", None, [1, 2, 3], [3]),
    ("BU-2", keep_last(2), [1, 2, 3], [2, 3]),
    ("BU-3", keep_first(2), [1, 2, 3], [1, 2]),
    ("BU-4", keep_all(), [1, 2, 3], [1, 2, 3]),
    ("BU-5", keep_last(0), [1, 2], []),
    ("BU-5", keep_first(0), [1, 2], []),
]


@pytest.mark.parametrize(
    ("settings", "pushed", "contents"),
    [pytest.param(s, p, c, id=f"{case}-{s!r}") for case, s, p, c in RETENTION],
)
async def test_retention_through_the_input_slot(
    settings: cf.BufferSettings | None, pushed: list[int], contents: list[int]
) -> None:
    """Messages sent into a buffer's input slot are kept by its retention rule; a key issued
    afterwards sees them oldest first (BU-1..BU-5, S7.1)."""

    def read(key: cf.BufferKey[int]) -> list[int]:
        with key.access() as view:
            assert len(view) == len(contents)
            assert view.oldest() == (contents[0] if contents else None)
            assert view.newest() == (contents[-1] if contents else None)
            return list(view)

    @cf.workflow
    def wf(scope: cf.Scope[list[int], list[int]], builder: cf.Builder) -> None:
        buf: cf.Buffer[int] = builder.create_buffer(settings)
        builder.chain(scope.start).spread().fork_clone(
            lambda c: c.connect(buf),
            # the collect emits once every item has reached the buffer (S5.2)
            lambda c: c.collect_all().then_access(buf).map(read).connect(scope.terminate),
        )

    assert await run(wf, pushed) == contents


# (case, settings, already in the buffer, pushed through the key, push returns, contents)
KEY_RETENTION = [
    ("BU-1", None, [], [1, 2, 3], [None, 1, 2], [3]),
    ("BU-2", keep_last(2), [], [1, 2, 3], [None, None, 1], [2, 3]),
    ("BU-3", keep_first(2), [], [1, 2, 3], [None, None, 3], [1, 2]),
    ("BU-4", keep_all(), [], [1, 2, 3], [None, None, None], [1, 2, 3]),
    ("BU-5", keep_last(0), [], [1, 2], [1, 2], []),
    ("BU-5", keep_first(0), [], [1, 2], [1, 2], []),
    # a full keep_first buffer hands the new item back; a full keep_last one the oldest
    ("BU-6", keep_first(2), [1, 2], [0], [0], [1, 2]),
    ("BU-7", keep_last(2), [1, 2], [0], [1], [2, 0]),
]


@pytest.mark.parametrize(
    ("settings", "before", "pushed", "returns", "contents"),
    [pytest.param(s, b, p, r, c, id=f"{case}-{s!r}") for case, s, b, p, r, c in KEY_RETENTION],
)
async def test_retention_through_a_key(
    settings: cf.BufferSettings | None,
    before: list[int],
    pushed: list[int],
    returns: list[int | None],
    contents: list[int],
) -> None:
    """`view.push(x)` keeps items by the retention rule and returns what did not fit: the
    evicted oldest item (`keep_last`), the rejected item (`keep_first`, capacity 0), else
    `None` (BU-1..BU-7, S7.1)."""

    def push_all(key: cf.BufferKey[int]) -> tuple[list[int | None], list[int]]:
        with key.access() as view:
            for item in before:
                view.push(item)
            assert list(view) == before
            got = [view.push(item) for item in pushed]
            return got, list(view)

    @cf.workflow
    def wf(scope: cf.Scope[None, Any], builder: cf.Builder) -> None:
        buf: cf.Buffer[int] = builder.create_buffer(settings)
        builder.chain(scope.start).then_access(buf).map(push_all).connect(scope.terminate)

    assert await run(wf, None) == (returns, contents)


async def test_view_reads_and_changes() -> None:
    """A view reads oldest first and changes the buffer: `pull`, `pull_newest` (each `None`
    when empty), `drain` and `clear` (S7.1)."""

    def exercise(key: cf.BufferKey[int]) -> list[Any]:
        seen: list[Any] = []
        with key.access() as view:
            seen.append((view.pull(), view.pull_newest(), view.oldest(), view.newest()))
            for i in range(1, 6):
                view.push(i)
            seen.append((len(view), list(view), view.oldest(), view.newest()))
            seen.append((view.pull(), view.pull_newest(), list(view)))
            seen.append((view.drain(), len(view), view.drain()))
            view.push(7)
            view.push(8)
            view.clear()
            seen.append((len(view), list(view)))
        return seen

    @cf.workflow
    def wf(scope: cf.Scope[None, list[Any]], builder: cf.Builder) -> None:
        buf: cf.Buffer[int] = builder.create_buffer(keep_all())
        builder.chain(scope.start).then_access(buf).map(exercise).connect(scope.terminate)

    assert await run(wf, None) == [
        (None, None, None, None),
        (5, [1, 2, 3, 4, 5], 1, 5),
        (1, 5, [2, 3, 4]),
        ([2, 3, 4], 0, []),
        (0, []),
    ]


async def test_iteration_is_a_snapshot() -> None:
    """Iterating a view gives the items as they were when iteration began, oldest first, so
    the buffer may be changed inside the loop (S7.1)."""

    def rotate(key: cf.BufferKey[int]) -> tuple[list[int], list[int]]:
        with key.access() as view:
            for i in (1, 2, 3):
                view.push(i)
            seen = []
            for item in view:
                seen.append(item)
                view.push(item * 10)
            return seen, list(view)

    @cf.workflow
    def wf(scope: cf.Scope[None, Any], builder: cf.Builder) -> None:
        buf: cf.Buffer[int] = builder.create_buffer(keep_all())
        builder.chain(scope.start).then_access(buf).map(rotate).connect(scope.terminate)

    assert await run(wf, None) == ([1, 2, 3], [1, 2, 3, 10, 20, 30])


async def test_access_example() -> None:
    """`with_access` twice on one buffer: the first service pushes every value, the second
    reads the largest (BU-8, S7.1)."""

    def push_values(pair: tuple[list[int], cf.BufferKey[int]]) -> None:
        values, key = pair
        with key.access() as view:
            for v in values:
                view.push(v)

    def largest(pair: tuple[None, cf.BufferKey[int]]) -> int | None:
        msg, key = pair
        assert msg is None
        with key.access() as view:
            return max(view, default=None)

    @cf.workflow
    def wf(scope: cf.Scope[list[int], int | None], builder: cf.Builder) -> None:
        buf: cf.Buffer[int] = builder.create_buffer(keep_all())
        (
            builder.chain(scope.start)
            .with_access(buf)
            .map(push_values)
            .with_access(buf)
            .map(largest)
            .connect(scope.terminate)
        )

    assert await run(wf, [-3, 2, 10]) == 10
    assert await run(wf, [-3, -7]) == -3


async def test_key_passed_on_as_a_message() -> None:
    """A key is a message like any other: one service pushes through it and passes it on,
    the next one counts (BU-9, S7.1)."""

    def push_five(pair: tuple[int, cf.BufferKey[int]]) -> cf.BufferKey[int]:
        value, key = pair
        with key.access() as view:
            for _ in range(5):
                view.push(value)
        return key

    async def count(key: cf.BufferKey[int]) -> tuple[int, list[int]]:
        await anyio.lowlevel.checkpoint()
        with key.access() as view:
            return len(view), list(view)

    @cf.workflow
    def wf(scope: cf.Scope[int, Any], builder: cf.Builder) -> None:
        buf: cf.Buffer[int] = builder.create_buffer(keep_all())
        (
            builder.chain(scope.start)
            .with_access(buf)
            .map(push_five)
            .then(count)
            .connect(scope.terminate)
        )

    assert await run(wf, 4) == (5, [4, 4, 4, 4, 4])


async def test_buffer_with_several_producers() -> None:
    """Two producers feed one `keep_all` buffer; a listener answers once it holds both
    items, in arrival order (BU-12, S7.1, S8.1)."""

    def both(key: cf.BufferKey[str]) -> str | None:
        with key.access() as view:
            if len(view) < 2:
                return None
            return " ".join(view.drain())

    @cf.workflow
    def wf(scope: cf.Scope[None, str], builder: cf.Builder) -> None:
        buf: cf.Buffer[str] = builder.create_buffer(keep_all())
        builder.chain(scope.start).fork_clone(
            lambda c: c.map(lambda _: "hello").connect(buf),
            lambda c: c.map(lambda _: "world").connect(buf),
        )
        builder.listen(buf).map(both).dispose_on_none().connect(scope.terminate)

    assert await run(wf, None) == "hello world"


# --------------------------------------------------------------------------- keys


async def test_keys_come_in_the_shape_given() -> None:
    """`then_access` gives one key for one buffer, a tuple for a tuple and a dict for a
    dict; each key names its buffer (S7)."""
    shapes: list[Any] = []

    @cf.workflow
    def wf(scope: cf.Scope[None, None], builder: cf.Builder) -> None:
        a: cf.Buffer[int] = builder.create_buffer(name="apples")
        b: cf.Buffer[int] = builder.create_buffer(name="bananas")
        (
            builder.chain(scope.start)
            .then_access(a)
            .map(shapes.append)
            .then_access((a, b))
            .map(shapes.append)
            .then_access({"x": b, "y": a})
            .map(shapes.append)
            .connect(scope.terminate)
        )

    assert await run(wf, None) is None
    one, pair, named = shapes
    assert isinstance(one, cf.BufferKey) and one.buffer == "apples"
    assert isinstance(pair, tuple) and [k.buffer for k in pair] == ["apples", "bananas"]
    assert all(isinstance(k, cf.BufferKey) for k in pair)
    assert isinstance(named, dict) and list(named) == ["x", "y"]
    assert [k.buffer for k in named.values()] == ["bananas", "apples"]
    assert all(isinstance(k, cf.BufferKey) for k in named.values())


async def test_with_access_pairs_the_message_with_keys() -> None:
    """`with_access` emits `(msg, keys)`; the keys reach the same buffers of the session
    as those of `then_access` (S7)."""

    def push(pair: tuple[int, tuple[cf.BufferKey[int], cf.BufferKey[int]]]) -> int:
        msg, (ka, kb) = pair
        with ka.access() as a, kb.access() as b:
            a.push(msg)
            b.push(msg * 10)
        return msg

    def read(keys: dict[str, cf.BufferKey[int]]) -> dict[str, list[int]]:
        out = {}
        for name, key in keys.items():
            with key.access() as view:
                out[name] = list(view)
        return out

    @cf.workflow
    def wf(scope: cf.Scope[int, dict[str, list[int]]], builder: cf.Builder) -> None:
        a: cf.Buffer[int] = builder.create_buffer(keep_all())
        b: cf.Buffer[int] = builder.create_buffer(keep_all())
        (
            builder.chain(scope.start)
            .with_access((a, b))
            .map(push)
            .then_access({"a": a, "b": b})
            .map(read)
            .connect(scope.terminate)
        )

    assert await run(wf, 3) == {"a": [3], "b": [30]}


async def test_then_push() -> None:
    """`then_push` stores the message in the buffer and continues with `None` (S7.1)."""
    passed: list[Any] = []

    def read(key: cf.BufferKey[int]) -> list[int]:
        with key.access() as view:
            return list(view)

    @cf.workflow
    def wf(scope: cf.Scope[int, list[int]], builder: cf.Builder) -> None:
        buf: cf.Buffer[int] = builder.create_buffer(keep_all())
        (
            builder.chain(scope.start)
            .then_push(buf)
            .map(lambda m: passed.append(m) or 5)
            .then_push(buf)
            .then_access(buf)
            .map(read)
            .connect(scope.terminate)
        )

    assert await run(wf, 4) == [4, 5]
    assert passed == [None]


async def test_then_push_wakes_listeners() -> None:
    """A push by `then_push` is a change: the buffer's listener wakes (S7.3)."""

    def pull(key: cf.BufferKey[int]) -> int | None:
        with key.access() as view:
            return view.pull()

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        buf: cf.Buffer[int] = builder.create_buffer()
        builder.chain(scope.start).map(lambda x: x + 1).then_push(buf).dispose()
        builder.listen(buf).map(pull).dispose_on_none().connect(scope.terminate)

    assert await run(wf, 4) == 5


async def test_key_after_the_session_ended_is_stale() -> None:
    """A key used after its session ended raises `StaleBufferKey`: the session's buffers are
    gone (S6.3), whether it terminated or was cancelled."""
    keys: list[cf.BufferKey[int]] = []

    def keep(pair: tuple[int, cf.BufferKey[int]]) -> int:
        msg, key = pair
        keys.append(key)
        with key.access() as view:
            view.push(msg)
        return msg

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        buf: cf.Buffer[int] = builder.create_buffer()
        (
            builder.chain(scope.start)
            .with_access(buf)
            .map(keep)
            .map(lambda x: x if x > 0 else None)
            .cancel_on_none()
            .connect(scope.terminate)
        )

    assert await run(wf, 1) == 1
    await assert_cancelled(wf, 0)
    assert len(keys) == 2
    for key in keys:
        with pytest.raises(cf.StaleBufferKey) as info, key.access():
            pass  # pragma: no cover
        assert isinstance(info.value, cf.CrossflowError)
        assert repr(key).startswith("<BufferKey 'buffer'")


async def test_view_used_after_its_block_is_stale() -> None:
    """A view works only inside its `with key.access()` block; afterwards every use raises
    `StaleBufferKey`, even while the session runs (S7)."""
    checks: dict[str, bool] = {}

    def escape(key: cf.BufferKey[int]) -> int:
        with key.access() as view:
            view.push(1)
        for name, action in {
            "len": lambda: len(view),
            "iter": lambda: list(view),
            "newest": view.newest,
            "oldest": view.oldest,
            "pull": view.pull,
            "pull_newest": view.pull_newest,
            "push": lambda: view.push(2),
            "drain": view.drain,
            "clear": view.clear,
            "is_open": lambda: view.is_open,
            "gate_open": view.gate_open,
            "gate_close": view.gate_close,
        }.items():
            checks[name] = stale(action)
        with key.access() as again:
            return len(again)  # the buffer itself is untouched

    @cf.workflow
    def wf(scope: cf.Scope[None, int], builder: cf.Builder) -> None:
        buf: cf.Buffer[int] = builder.create_buffer(keep_all())
        builder.chain(scope.start).then_access(buf).map(escape).connect(scope.terminate)

    assert await run(wf, None) == 1
    assert checks == dict.fromkeys(checks, True)
    assert len(checks) == 12


async def test_sessions_do_not_share_buffers() -> None:
    """Concurrent sessions each see only their own buffer contents (S1.5)."""
    both_pushed = anyio.Event()
    pushed = 0

    async def push_then_wait(pair: tuple[int, cf.BufferKey[int]]) -> cf.BufferKey[int]:
        nonlocal pushed
        msg, key = pair
        with key.access() as view:
            view.push(msg)
        pushed += 1
        if pushed == 2:
            both_pushed.set()
        await both_pushed.wait()
        return key

    def read(key: cf.BufferKey[int]) -> list[int]:
        with key.access() as view:
            return list(view)

    @cf.workflow
    def wf(scope: cf.Scope[int, list[int]], builder: cf.Builder) -> None:
        buf: cf.Buffer[int] = builder.create_buffer(keep_all())
        builder.chain(scope.start).with_access(buf).then(push_then_wait).map(read).connect(
            scope.terminate
        )

    results: dict[int, list[int]] = {}

    async def one(x: int) -> None:
        results[x] = await run(wf, x)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(one, 1)
            tg.start_soon(one, 2)
    assert results == {1: [1], 2: [2]}
    # and a later session starts empty
    assert await run(wf, 3) == [3]


async def test_cleanup_sees_the_buffers_then_they_are_emptied() -> None:
    """The buffers of a session still hold their items while its cleanup workflows run;
    after the outcome is delivered they are gone (S6.1, S6.3)."""
    keys: list[cf.BufferKey[int]] = []
    seen: list[list[int]] = []

    def in_cleanup(key: cf.BufferKey[int]) -> None:
        keys.append(key)
        with key.access() as view:
            seen.append(list(view))

    def cleanup(scope: cf.Scope[cf.BufferKey[int], None], builder: cf.Builder) -> None:
        builder.chain(scope.start).map(in_cleanup).connect(scope.terminate)

    @cf.workflow
    def wf(scope: cf.Scope[list[int], int], builder: cf.Builder) -> None:
        buf: cf.Buffer[int] = builder.create_buffer(keep_all())
        builder.on_cleanup(buf, cleanup)
        builder.chain(scope.start).spread().fork_clone(
            lambda c: c.connect(buf),
            lambda c: c.collect_all().map(len).connect(scope.terminate),
        )

    assert await run(wf, [1, 2, 3]) == 3
    assert seen == [[1, 2, 3]]
    assert len(keys) == 1
    assert stale(lambda: open_key(keys[0]))


# --------------------------------------------------------------------------- AC-1


async def test_listen_and_read_by_copy() -> None:
    """A listener on two buffers reads the oldest item of each without pulling (AC-1 a,
    S7.3)."""

    def multiply(keys: tuple[cf.BufferKey[float], cf.BufferKey[float]]) -> float | None:
        ka, kb = keys
        with ka.access() as a, kb.access() as b:
            if not len(a) or not len(b):
                return None
            x, y = a.oldest(), b.oldest()
            assert x is not None and y is not None
            return x * y

    @cf.workflow
    def wf(scope: cf.Scope[tuple[float, float], float], builder: cf.Builder) -> None:
        a: cf.Buffer[float] = builder.create_buffer()
        b: cf.Buffer[float] = builder.create_buffer()
        builder.chain(scope.start).fork_unzip(lambda c: c.connect(a), lambda c: c.connect(b))
        builder.listen((a, b)).map(multiply).dispose_on_none().connect(scope.terminate)

    assert await run(wf, (2.0, 3.0)) == 6.0


async def test_listen_and_add_by_pull() -> None:
    """A listener pulls from two buffers once both hold an item (AC-1 b, S7.3)."""

    def add(keys: tuple[cf.BufferKey[float], cf.BufferKey[float]]) -> float | None:
        ka, kb = keys
        with ka.access() as a, kb.access() as b:
            if not len(a) or not len(b):
                return None
            x, y = a.pull(), b.pull()
            assert x is not None and y is not None
            return x + y

    @cf.workflow
    def wf(scope: cf.Scope[tuple[float, float], float], builder: cf.Builder) -> None:
        a: cf.Buffer[float] = builder.create_buffer()
        b: cf.Buffer[float] = builder.create_buffer()
        builder.chain(scope.start).fork_unzip(lambda c: c.connect(a), lambda c: c.connect(b))
        builder.listen((a, b)).map(add).dispose_on_none().connect(scope.terminate)

    assert await run(wf, (4.0, 5.0)) == 9.0


async def test_access_retry_loop() -> None:
    """Accessing a buffer in a loop: the first pull finds the other value, the second finds
    nothing and hands back what it has (AC-1 c, S7.1)."""

    def add_from_buffer(pair: tuple[float, cf.BufferKey[float]]) -> cf.Ok[float] | cf.Err[float]:
        lhs, key = pair
        with key.access() as view:
            rhs = view.pull()
        return cf.Err(lhs) if rhs is None else cf.Ok(lhs + rhs)

    @cf.workflow
    def wf(scope: cf.Scope[tuple[float, float], Any], builder: cf.Builder) -> None:
        buf: cf.Buffer[float] = builder.create_buffer(keep_first(10))
        add = builder.create_node(add_from_buffer)
        lhs, rhs = builder.chain(scope.start).unzip(2)
        lhs.with_access(buf).connect(add.input)
        rhs.connect(buf)
        builder.chain(add.output).fork_result(
            ok=lambda c: c.with_access(buf).map(add_from_buffer).connect(scope.terminate),
            err=lambda c: c.with_access(buf).connect(add.input),
        )

    assert await run(wf, (2.0, 3.0)) == cf.Err(5.0)


# --------------------------------------------------------------------------- AC-2 (S2.1)


@attrs.define
class Register:
    in_slot: int
    out_slot: int = 0


def dec(pair: tuple[Register, cf.BufferKey[Register]]) -> Register:
    """Move one unit from `in_slot` to `out_slot`; once `in_slot` is 0, push the register."""
    register, key = pair
    if register.in_slot == 0:
        with key.access() as view:
            view.push(register)
        return register
    return Register(register.in_slot - 1, register.out_slot + 1)


async def async_dec(pair: tuple[Register, cf.BufferKey[Register]]) -> Register | None:
    await anyio.lowlevel.checkpoint()
    return dec(pair)


def dec_and_pass_key(
    pair: tuple[Register, cf.BufferKey[Register]],
) -> tuple[Register, cf.BufferKey[Register]]:
    return dec(pair), pair[1]


async def async_dec_and_pass_key(
    pair: tuple[Register, cf.BufferKey[Register]],
) -> tuple[Register, cf.BufferKey[Register]] | None:
    await anyio.lowlevel.checkpoint()
    return dec(pair), pair[1]


def pull_register(key: cf.BufferKey[Register]) -> Register | None:
    with key.access() as view:
        return view.pull()


@cf.workflow
def register_chain(scope: cf.Scope[Register, Register], builder: cf.Builder) -> None:
    """Four stations, each with its own access to the register buffer."""
    buf: cf.Buffer[Register] = builder.create_buffer(keep_all())
    builder.listen(buf).map(pull_register).dispose_on_none().connect(scope.terminate)
    (
        builder.chain(scope.start)
        .with_access(buf)
        .map(dec)
        .with_access(buf)
        .then(async_dec)
        .dispose_on_none()
        .with_access(buf)
        .map(dec)
        .with_access(buf)
        .then(async_dec)
        .dispose()
    )


@cf.workflow
def register_key_passed(scope: cf.Scope[Register, Register], builder: cf.Builder) -> None:
    """One access; the key travels with the register, and a disposal happens on the way."""
    buf: cf.Buffer[Register] = builder.create_buffer(keep_all())
    builder.listen(buf).map(pull_register).dispose_on_none().connect(scope.terminate)
    loose_end, dead_end = (
        builder.chain(scope.start)
        .with_access(buf)
        .map(dec_and_pass_key)
        .then(async_dec_and_pass_key)
        .dispose_on_none()
        .map(lambda v: (v, None))
        .unzip(2)
    )
    dead_end.dispose_on_none().dispose()  # a disposal while the key is still in flight
    loose_end.then(async_dec_and_pass_key).dispose_on_none().map(dec_and_pass_key).dispose()


@pytest.mark.parametrize("wf", [register_chain, register_key_passed], ids=["chain", "passed"])
@pytest.mark.parametrize("in_slot", [0, 1, 2, 3])
async def test_key_holders_keep_the_workflow_alive(
    wf: cf.Workflow[Register, Register], in_slot: int
) -> None:
    """While a station that holds (or will get) a key can still push, the buffer and its
    listener stay reachable: the register reaches terminate (AC-2, S2.1, S2.2)."""
    assert await run(wf, Register(in_slot)) == Register(0, in_slot)


@pytest.mark.parametrize("wf", [register_chain, register_key_passed], ids=["chain", "passed"])
@pytest.mark.parametrize("in_slot", [4, 5, 6])
async def test_no_key_holder_left_is_unreachable(
    wf: cf.Workflow[Register, Register], in_slot: int
) -> None:
    """When every key holder has finished without pushing, the listener can never wake:
    the session is cancelled as unreachable (AC-2, S2.1, S2.2)."""
    disposals = await unreachable_disposals(wf, Register(in_slot))
    if wf is register_chain:
        assert disposals == ()
    else:
        assert [type(d.cause) for d in disposals] == [cf.Filtered]


# --------------------------------------------------------------------------- LI-6


async def test_access_is_not_a_listener() -> None:
    """`with_access` emits once per message it receives: changes of its buffer (arrivals,
    pushes through other keys) do not trigger it, while they do wake a listener (LI-6,
    S7.3)."""
    accessed: list[Any] = []
    woken: list[int] = []

    def record(pair: tuple[list[int], cf.BufferKey[int]]) -> None:
        msg, key = pair
        with key.access() as view:
            accessed.append((msg, list(view)))
            view.push(99)

    def watch(key: cf.BufferKey[int]) -> list[int] | None:
        with key.access() as view:
            woken.append(len(view))
            return list(view) if 99 in view else None

    @cf.workflow
    def wf(scope: cf.Scope[list[int], list[int]], builder: cf.Builder) -> None:
        buf: cf.Buffer[int] = builder.create_buffer(keep_all())
        builder.chain(scope.start).spread().fork_clone(
            lambda c: c.connect(buf),
            lambda c: c.collect_all().with_access(buf).map(record).dispose(),
        )
        builder.listen(buf).map(watch).dispose_on_none().connect(scope.terminate)

    assert await run(wf, [1, 2, 3]) == [1, 2, 3, 99]
    assert accessed == [([1, 2, 3], [1, 2, 3])]
    # three arrivals and the push through the access's key each wake the listener once
    assert len(woken) == 4
    assert woken[-1] == 4
