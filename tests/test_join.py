"""Join: waiting for one item of each buffer and emitting them together (S7.2, S2.2)."""

from __future__ import annotations

import dataclasses
from typing import Any

import anyio
import anyio.lowlevel
import attrs
import pytest

import crossflow as cf
from crossflow.testing import assert_cancelled
from crossflow.testing import assert_completes as run

pytestmark = pytest.mark.anyio

keep_last = cf.BufferSettings.keep_last
keep_all = cf.BufferSettings.keep_all


async def unreachable_disposals(wf: cf.Workflow[Any, Any], request: Any) -> tuple[cf.Disposal, ...]:
    cause = (await assert_cancelled(wf, request)).cancellation.cause
    assert isinstance(cause, cf.Unreachable), cause
    return cause.disposals


# --------------------------------------------------------------------------- firing


async def test_fork_then_join() -> None:
    """Both copies of a fork, joined as plain outputs, give one tuple (JO-1, S7.2)."""

    @cf.workflow
    def wf(scope: cf.Scope[int, tuple[int, int]], builder: cf.Builder) -> None:
        a, b = builder.chain(scope.start).fork_clone(lambda c: c.output(), lambda c: c.output())
        builder.join((a, b)).connect(scope.terminate)

    assert await run(wf, 5) == (5, 5)


async def test_unequal_timing() -> None:
    """A join waits for its slower input (JO-2, S7.2)."""

    async def slow(v: float) -> float:
        await anyio.sleep(v / 100)
        return v

    @cf.workflow
    def wf(scope: cf.Scope[tuple[float, float], float], builder: cf.Builder) -> None:
        a, b = builder.chain(scope.start).fork_unzip(
            lambda c: c.then(slow).output(), lambda c: c.map(lambda v: 2 * v).output()
        )
        builder.join((a, b)).map(lambda pair: pair[0] + pair[1]).connect(scope.terminate)

    assert await run(wf, (2.0, 2.0)) == 6.0


@cf.service(streams={"s": str})
def three_then_b(_: Any, *, streams: cf.Streams) -> str:
    for item in ("a1", "a2", "a3"):
        streams.s.send(item)
    return "b1"


async def later(x: Any) -> Any:
    await anyio.lowlevel.checkpoint()
    return x


async def test_keep_last_drops_extra_items() -> None:
    """Items that arrive in a `keep_last(1)` buffer before the other input are replaced:
    the join emits the newest with the late item, once (JO-3, S7.1, S7.2)."""

    @cf.workflow
    def wf(scope: cf.Scope[None, list[tuple[str, str]]], builder: cf.Builder) -> None:
        a: cf.Buffer[str] = builder.create_buffer(keep_last(1))
        b: cf.Buffer[str] = builder.create_buffer(keep_last(1))
        node: cf.Node[Any, str] = builder.chain(scope.start).then_node(three_then_b)
        builder.connect(node.streams.s, a)
        builder.chain(node.output).then(later).connect(b)
        builder.join((a, b)).collect_all().connect(scope.terminate)

    assert await run(wf, None) == [("a3", "b1")]


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
async def test_keep_all_pairs_in_order(n: int) -> None:
    """Two `keep_all` buffers filled through keys in separate branches join pairwise, oldest
    first: one firing per pair (JO-4, CO-8, S7.2)."""

    def fill(key: cf.BufferKey[int]) -> None:
        with key.access() as view:
            for i in range(1, n + 1):
                view.push(i)

    @cf.workflow
    def wf(scope: cf.Scope[None, list[tuple[int, int]]], builder: cf.Builder) -> None:
        left: cf.Buffer[int] = builder.create_buffer(keep_all())
        right: cf.Buffer[int] = builder.create_buffer(keep_all())
        builder.chain(scope.start).fork_clone(
            lambda c: c.then_access(left).map(fill).dispose(),
            lambda c: c.then_access(right).map(fill).dispose(),
        )
        builder.join((left, right)).collect_all().connect(scope.terminate)

    assert await run(wf, None) == [(i, i) for i in range(1, n + 1)]


async def test_collect_after_a_join_waits_for_async_key_holders() -> None:
    """An async service that will push through a key lies upstream of the join of that
    buffer, so a collect below the join waits for it (S5.2, S7.2)."""

    async def push_later(key: cf.BufferKey[int]) -> None:
        await anyio.lowlevel.checkpoint()
        with key.access() as view:
            view.push(1)

    @cf.workflow
    def wf(scope: cf.Scope[int, list[tuple[int, int]]], builder: cf.Builder) -> None:
        a: cf.Buffer[int] = builder.create_buffer()
        b: cf.Buffer[int] = builder.create_buffer()
        builder.chain(scope.start).fork_clone(
            lambda c: c.then_access(a).then(push_later).dispose(),
            lambda c: c.connect(b),
        )
        builder.join((a, b)).collect_all().connect(scope.terminate)

    assert await run(wf, 2) == [(1, 2)]


async def test_keep_all_pairs_with_different_arrival_rates() -> None:
    """A fast and a slow producer still pair item i with item i (JO-4, S7.2)."""

    @cf.service(streams={"s": int})
    async def produce(delay: float, *, streams: cf.Streams) -> None:
        for i in range(4):
            await anyio.sleep(delay)
            streams.s.send(i)

    @cf.workflow
    def wf(scope: cf.Scope[None, list[tuple[int, int]]], builder: cf.Builder) -> None:
        left: cf.Buffer[int] = builder.create_buffer(keep_all())
        right: cf.Buffer[int] = builder.create_buffer(keep_all())
        fast: cf.Node[float, None] = builder.create_node(produce)
        slow: cf.Node[float, None] = builder.create_node(produce)
        builder.chain(scope.start).fork_clone(
            lambda c: c.map(lambda _: 0.0).connect(fast.input),
            lambda c: c.map(lambda _: 0.005).connect(slow.input),
        )
        builder.connect(fast.streams.s, left)
        builder.connect(slow.streams.s, right)
        builder.join((left, right)).collect_all().connect(scope.terminate)

    assert await run(wf, None) == [(i, i) for i in range(4)]


async def test_join_by_cloning_loop() -> None:
    """A buffer joined by cloning keeps its item: the counter loops through the join ten
    times with the same message (JO-5, S7.2)."""

    def step(j: dict[str, Any]) -> cf.Ok[dict[str, Any]] | cf.Err[int]:
        return cf.Err(j["count"] + 1) if j["count"] < 10 else cf.Ok(j)

    @cf.workflow
    def wf(scope: cf.Scope[tuple[str, int], dict[str, Any]], builder: cf.Builder) -> None:
        msg: cf.Buffer[str] = builder.create_buffer()
        count: cf.Buffer[int] = builder.create_buffer()
        builder.chain(scope.start).fork_unzip(lambda c: c.connect(msg), lambda c: c.connect(count))
        builder.join({"count": count, "message": msg.join_by_cloning()}).map(step).fork_result(
            ok=lambda c: c.connect(scope.terminate), err=lambda c: c.connect(count)
        )

    assert await run(wf, ("hello", 0)) == {"count": 10, "message": "hello"}


async def test_join_by_cloning_copies_the_item() -> None:
    """A cloned item is a copy: changing the joined value does not change the buffer
    (S7.2)."""

    def change(pair: tuple[list[int], int]) -> list[int]:
        items, _ = pair
        items.append(99)
        return items

    def read(key: cf.BufferKey[list[int]]) -> list[int] | None:
        with key.access() as view:
            return view.oldest()

    @cf.workflow
    def wf(scope: cf.Scope[list[int], Any], builder: cf.Builder) -> None:
        shared: cf.Buffer[list[int]] = builder.create_buffer()
        trigger: cf.Buffer[int] = builder.create_buffer()
        builder.chain(scope.start).fork_clone(
            lambda c: c.connect(shared),
            lambda c: c.map(lambda _: 1).connect(trigger),
        )
        (
            builder.join((shared.join_by_cloning(), trigger))
            .map(change)
            .then_access(shared)
            .map(read)
            .connect(scope.terminate)
        )

    assert await run(wf, [1, 2]) == [1, 2]


async def test_all_cloned_join_fires_once_per_wake() -> None:
    """A join whose buffers are all cloned never runs dry: it fires at most once per wake,
    here once for each of the two arrivals (S7.2)."""

    @cf.workflow
    def wf(scope: cf.Scope[int, list[tuple[int, int]]], builder: cf.Builder) -> None:
        a: cf.Buffer[int] = builder.create_buffer()
        b: cf.Buffer[int] = builder.create_buffer()
        builder.chain(scope.start).fork_clone(
            lambda c: c.connect(a), lambda c: c.map(lambda x: x + 1).connect(b)
        )
        builder.join((a.join_by_cloning(), b.join_by_cloning())).collect_all().connect(
            scope.terminate
        )

    # the first arrival finds `b` empty; the second fires once
    assert await run(wf, 3) == [(3, 4)]


async def test_all_cloned_join_fires_once_per_later_wake() -> None:
    """Each later change wakes an all-cloned join again: one firing per wake (S7.2)."""

    def push_twice(key: cf.BufferKey[int]) -> None:
        for v in (10, 20):
            with key.access() as view:
                view.push(v)

    @cf.workflow
    def wf(scope: cf.Scope[int, list[tuple[int, int]]], builder: cf.Builder) -> None:
        a: cf.Buffer[int] = builder.create_buffer()
        b: cf.Buffer[int] = builder.create_buffer()
        builder.chain(scope.start).fork_clone(
            lambda c: c.connect(a),
            lambda c: c.then_access(b).map(push_twice).dispose(),
        )
        builder.join((a.join_by_cloning(), b.join_by_cloning())).collect_all().connect(
            scope.terminate
        )

    # `a` arrives while `b` is empty; then two changes of `b` (two `with` blocks) wake the
    # join twice, after the service returned: each wake fires exactly once
    assert await run(wf, 3) == [(3, 20), (3, 20)]


# --------------------------------------------------------------------------- shapes


@attrs.define
class AttrsRecord:
    integer: int
    float_: float
    string: str
    generic: str
    any_: Any


@dataclasses.dataclass
class DataRecord:
    integer: int
    float_: float
    string: str
    generic: str
    any_: Any


def make_record(*, integer: int, float_: float, string: str, generic: str, any_: Any) -> Any:
    return ("made", integer, float_, string, generic, any_)


FIELDS = ("integer", "float_", "string", "generic", "any_")
VALUES = (5, 3.14, "hello", "world", 42)


@pytest.mark.parametrize(
    ("into", "expected"),
    [
        (None, dict(zip(FIELDS, VALUES, strict=True))),
        (AttrsRecord, AttrsRecord(*VALUES)),
        (DataRecord, DataRecord(*VALUES)),
        (make_record, ("made", *VALUES)),
    ],
    ids=["dict", "attrs", "dataclass", "function"],
)
async def test_keyed_join(into: Any, expected: Any) -> None:
    """A keyed join gives a dict, or calls `into` with one keyword argument per key: an
    attrs class, a dataclass or a plain function (JO-6, S7.2)."""

    @cf.workflow
    def wf(scope: cf.Scope[tuple[Any, ...], Any], builder: cf.Builder) -> None:
        buffers = {name: builder.create_buffer() for name in FIELDS}
        outputs = builder.chain(scope.start).unzip(5)
        for name, chain in zip(FIELDS, outputs, strict=True):
            chain.connect(buffers[name])
        joined = builder.join(buffers) if into is None else builder.join(buffers, into=into)
        joined.connect(scope.terminate)

    assert await run(wf, VALUES) == expected


async def test_keyed_join_of_outputs_keeps_its_keys() -> None:
    """A dict of plain outputs joins into a dict with the same keys (JO-6, S7.2)."""

    @cf.workflow
    def wf(scope: cf.Scope[str, dict[str, str]], builder: cf.Builder) -> None:
        foo, bar = builder.chain(scope.start).fork_clone(
            lambda c: c.map(lambda _: "foo").output(), lambda c: c.map(lambda _: "bar").output()
        )
        builder.join({"bar": bar, "foo": foo}).connect(scope.terminate)

    result = await run(wf, "x")
    assert result == {"bar": "bar", "foo": "foo"}
    assert list(result) == ["bar", "foo"]


async def test_sequence_join() -> None:
    """A sequence join gives a tuple in the order the buffers were listed (JO-7, S7.2)."""

    @cf.workflow
    def wf(scope: cf.Scope[None, str], builder: cf.Builder) -> None:
        foo: cf.Buffer[str] = builder.create_buffer()
        bar: cf.Buffer[str] = builder.create_buffer()
        builder.chain(scope.start).fork_clone(
            lambda c: c.map(lambda _: "bar").connect(bar),
            lambda c: c.map(lambda _: "foo").connect(foo),
        )
        builder.join((foo, bar)).map(lambda t: (t, "".join(t))).connect(scope.terminate)

    assert await run(wf, None) == (("foo", "bar"), "foobar")


async def test_join_of_one_buffer() -> None:
    """A join of one buffer emits each item as a one-element tuple; a join of a bare buffer
    emits the item itself (S7.2)."""

    @cf.workflow
    def wf(scope: cf.Scope[list[int], Any], builder: cf.Builder) -> None:
        a: cf.Buffer[int] = builder.create_buffer(keep_all())
        b: cf.Buffer[int] = builder.create_buffer(keep_all())
        builder.chain(scope.start).spread().fork_clone(
            lambda c: c.connect(a), lambda c: c.connect(b)
        )
        left = builder.join((a,)).collect_all().output()
        right = builder.join(b).collect_all().output()
        builder.join((left, right)).connect(scope.terminate)

    assert await run(wf, [1, 2]) == ([(1,), (2,)], [1, 2])


async def test_two_joins_on_the_same_buffers() -> None:
    """Two joins that pull from the same buffers share their items: one joined value in all
    (JO-8, S7.2)."""

    @cf.workflow
    def wf(scope: cf.Scope[tuple[int, str], list[Any]], builder: cf.Builder) -> None:
        t: cf.Buffer[int] = builder.create_buffer()
        u: cf.Buffer[str] = builder.create_buffer()
        builder.chain(scope.start).fork_unzip(lambda c: c.connect(t), lambda c: c.connect(u))
        first = builder.join({"t": t, "u": u}).output()
        second = builder.join((t, u)).output()
        collect = builder.create_collect()
        builder.connect(first, collect.input)
        builder.connect(second, collect.input)
        builder.connect(collect.output, scope.terminate)

    (joined,) = await run(wf, (5, "hello"))
    assert joined in ({"t": 5, "u": "hello"}, (5, "hello"))


async def test_into_that_raises_cancels_the_session() -> None:
    """An `into` callable that raises fails like a service: `ServiceFailed` at the join
    (S4.3, S7.2)."""

    class Boom(Exception):
        pass

    def explode(*, a: int, b: int) -> int:
        raise Boom(a + b)

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        a, b = builder.chain(scope.start).fork_clone(lambda c: c.output(), lambda c: c.output())
        builder.join({"a": a, "b": b}, into=explode).connect(scope.terminate)

    error = await assert_cancelled(wf, 1)
    cause = error.cancellation.cause
    assert isinstance(cause, cf.ServiceFailed)
    assert isinstance(cause.error, Boom)
    assert isinstance(error.__cause__, Boom)


# --------------------------------------------------------------------------- build errors


def test_duplicate_buffer_is_a_build_error() -> None:
    """The same buffer twice in one join is a build error that names it (JO-9, S7.2)."""
    for shape in ("tuple", "dict", "cloned"):

        def build(scope: cf.Scope[int, Any], builder: cf.Builder, shape: str = shape) -> None:
            buf: cf.Buffer[int] = builder.create_buffer(name="pans")
            builder.connect(scope.start, buf)
            if shape == "tuple":
                chain = builder.join((buf, buf))
            elif shape == "dict":
                chain = builder.join({"a": buf, "b": buf})
            else:
                chain = builder.join((buf, buf.join_by_cloning()))
            chain.connect(scope.terminate)

        with pytest.raises(cf.BuildError, match="pans"):
            cf.Workflow.build(build)


@pytest.mark.parametrize("empty", [(), {}, []], ids=["tuple", "dict", "list"])
def test_empty_join_is_a_build_error(empty: Any) -> None:
    """A join of nothing could never fire: build error (JO-10, S7.2)."""

    def build(scope: cf.Scope[int, Any], builder: cf.Builder) -> None:
        builder.join(empty).connect(scope.terminate)

    with pytest.raises(cf.BuildError):
        cf.Workflow.build(build)


@attrs.frozen
class Pair:
    left: int
    right: int
    extra: int = 0


@dataclasses.dataclass
class DataPair:
    left: int
    right: int


def pair_fn(left: int, right: int) -> tuple[int, int]:
    return left, right


@pytest.mark.parametrize("into", [Pair, DataPair, pair_fn], ids=["attrs", "dataclass", "function"])
@pytest.mark.parametrize(
    ("keys", "named"),
    [(("left",), "right"), (("left", "right", "wrong"), "wrong"), (("left", "wrong"), "wrong")],
    ids=["missing", "unknown", "both"],
)
def test_keys_not_matching_into_are_a_build_error(
    into: Any, keys: tuple[str, ...], named: str
) -> None:
    """The keys of a keyed join must match the fields of `into`: a missing or an unknown
    key is a build error that names it (S7.2)."""

    def build(scope: cf.Scope[int, Any], builder: cf.Builder) -> None:
        buffers = {k: builder.create_buffer() for k in keys}
        builder.join(buffers, into=into).connect(scope.terminate)

    with pytest.raises(cf.BuildError, match=named):
        cf.Workflow.build(build)


async def test_optional_fields_of_into_may_be_left_out() -> None:
    """Fields with defaults need no buffer (S7.2)."""

    def build(scope: cf.Scope[int, Pair], builder: cf.Builder) -> None:
        a, b = builder.chain(scope.start).fork_clone(lambda c: c.output(), lambda c: c.output())
        builder.join({"left": a, "right": b}, into=Pair).connect(scope.terminate)

    assert await run(cf.Workflow.build(build), 4) == Pair(4, 4, 0)


def test_into_needs_a_dict() -> None:
    """`into=` with a tuple of buffers is a build error (S7.2)."""

    def build(scope: cf.Scope[int, Any], builder: cf.Builder) -> None:
        a, b = builder.chain(scope.start).fork_clone(lambda c: c.output(), lambda c: c.output())
        builder.join((a, b), into=pair_fn).connect(scope.terminate)  # type: ignore[call-overload]

    with pytest.raises(cf.BuildError):
        cf.Workflow.build(build)


def test_buffer_of_another_workflow() -> None:
    """A buffer created by another workflow's builder cannot be joined (S7.2)."""
    foreign: list[cf.Buffer[int]] = []

    def other(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        buf: cf.Buffer[int] = builder.create_buffer(name="foreign")
        foreign.append(buf)
        builder.connect(scope.start, buf)
        builder.listen(buf).map(lambda _: 0).connect(scope.terminate)

    cf.Workflow.build(other)

    def build(scope: cf.Scope[int, Any], builder: cf.Builder) -> None:
        mine: cf.Buffer[int] = builder.create_buffer()
        builder.connect(scope.start, mine)
        builder.join((mine, foreign[0])).connect(scope.terminate)

    with pytest.raises(cf.IncompatibleLayout):
        cf.Workflow.build(build)
    assert issubclass(cf.IncompatibleLayout, cf.BuildError)


def test_buffer_of_the_enclosing_scope() -> None:
    """A nested scope cannot join a buffer of its enclosing scope (S7.2)."""

    def build(scope: cf.Scope[int, Any], builder: cf.Builder) -> None:
        outer: cf.Buffer[int] = builder.create_buffer(name="outer")

        def inner(s: cf.Scope[int, Any], b: cf.Builder) -> None:
            b.join((outer, s.start)).connect(s.terminate)

        builder.chain(scope.start).then_scope(inner).connect(scope.terminate)

    with pytest.raises(cf.IncompatibleLayout, match="enclosing"):
        cf.Workflow.build(build)


# --------------------------------------------------------------------------- reachability


async def test_item_waiting_keeps_join_reachable() -> None:
    """An item already stored in one buffer keeps the join reachable while the other is
    still coming, even when a stream can no longer carry anything (RE-16, S2.2)."""

    @cf.service(streams={"v": float})
    async def emit_then_return(v: float, *, streams: cf.Streams) -> float:
        streams.v.send(v)
        await anyio.sleep(0.001)
        return v

    @cf.workflow
    def wf(scope: cf.Scope[float, float], builder: cf.Builder) -> None:
        left: cf.Buffer[float] = builder.create_buffer()
        right: cf.Buffer[float] = builder.create_buffer()
        node: cf.Node[float, float] = builder.chain(scope.start).then_node(emit_then_return)
        builder.connect(node.streams.v, left)
        builder.connect(node.output, right)
        builder.join((left, right)).map(lambda p: p[0] + p[1]).connect(scope.terminate)

    assert await run(wf, 2.0) == 4.0


async def test_join_with_a_dead_empty_input() -> None:
    """A join one of whose buffers is empty and can no longer be fed is unreachable, even
    though the other buffer holds an item (RE-17, S2.2)."""

    @cf.workflow
    def wf(scope: cf.Scope[int, Any], builder: cf.Builder) -> None:
        a: cf.Buffer[int] = builder.create_buffer()
        b: cf.Buffer[int] = builder.create_buffer()
        builder.chain(scope.start).fork_clone(
            lambda c: c.connect(a),
            lambda c: c.map(lambda _: None).dispose_on_none().connect(b),
        )
        builder.join((a, b)).connect(scope.terminate)

    (disposal,) = await unreachable_disposals(wf, 1)
    assert isinstance(disposal.cause, cf.Filtered)


async def test_join_with_a_live_empty_input() -> None:
    """While a buffer of the join can still be fed, the join stays reachable (S2.2)."""
    gate = anyio.Event()

    async def wait(x: int) -> int:
        await gate.wait()
        return x * 10

    def release(x: int) -> int:
        gate.set()
        return x

    @cf.workflow
    def wf(scope: cf.Scope[int, Any], builder: cf.Builder) -> None:
        a: cf.Buffer[int] = builder.create_buffer()
        b: cf.Buffer[int] = builder.create_buffer()
        builder.chain(scope.start).fork_clone(
            lambda c: c.then(wait).connect(b),
            # a disposal while `b` is still empty: the join stays reachable
            lambda c: c.map(lambda _: None).dispose_on_none().connect(a),
            lambda c: c.map(release).connect(a),
        )
        builder.join((a, b)).connect(scope.terminate)

    assert await run(wf, 2) == (2, 20)
