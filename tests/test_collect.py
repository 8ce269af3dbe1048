"""Collect: gathering messages into lists (S5)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import anyio
import anyio.lowlevel
import pytest

import crossflow as cf
from crossflow.testing import assert_completes as run

pytestmark = pytest.mark.anyio


async def disposals_of(wf: cf.Workflow[Any, Any], request: Any) -> tuple[cf.Disposal, ...]:
    with anyio.fail_after(5):
        with pytest.raises(cf.WorkflowCancelled) as info:
            await wf.run(request)
    cause = info.value.cancellation.cause
    assert isinstance(cause, cf.Unreachable), cause
    return cause.disposals


@cf.service(streams={"s": int})
def repeat(v: int, *, streams: cf.Streams) -> int:
    """Send `v` on stream `s`, `v` times."""
    for _ in range(v):
        streams.s.send(v)
    return v


@cf.service(streams={"s": int})
def one_to_five(_: Any, *, streams: cf.Streams) -> None:
    for i in range(1, 6):
        streams.s.send(i)


async def at_the_end(x: Any) -> Any:
    """A slower path to terminate: answers once every other task is blocked."""
    await anyio.wait_all_tasks_blocked()
    return x


# --------------------------------------------------------------------------- basics


async def test_collect_a_stream() -> None:
    """`collect_all` of a blocking service's stream gives every message, in order
    (CO-1, S5.1)."""

    @cf.workflow
    def wf(scope: cf.Scope[int, list[int]], builder: cf.Builder) -> None:
        node: cf.Node[int, int] = builder.chain(scope.start).then_node(repeat)
        builder.chain(node.streams.s).collect_all().connect(scope.terminate)

    assert await run(wf, 8) == [8] * 8


@pytest.mark.parametrize("v", [2, 3])
async def test_collect_min_not_reached(v: int) -> None:
    """A collect with `min=4` that gets fewer items records `DeficientCollection` on the
    only path (CO-2, S5.2)."""

    @cf.workflow
    def wf(scope: cf.Scope[int, list[int]], builder: cf.Builder) -> None:
        node: cf.Node[int, int] = builder.chain(scope.start).then_node(repeat)
        builder.chain(node.streams.s).collect(min=4).connect(scope.terminate)

    (disposal,) = await disposals_of(wf, v)
    assert isinstance(disposal.cause, cf.DeficientCollection)
    assert (disposal.cause.needed, disposal.cause.got) == (4, v)


async def test_collect_min_with_nothing_at_all() -> None:
    """With no item at all, both the unused stream and the deficient collect are recorded
    (CO-2, S3, S5.2)."""

    @cf.workflow
    def wf(scope: cf.Scope[int, list[int]], builder: cf.Builder) -> None:
        node: cf.Node[int, int] = builder.chain(scope.start).then_node(repeat)
        builder.chain(node.streams.s).collect(min=4).connect(scope.terminate)

    disposals = await disposals_of(wf, 0)
    assert [type(d.cause) for d in disposals] == [cf.UnusedStreams, cf.DeficientCollection]
    deficient = disposals[1].cause
    assert isinstance(deficient, cf.DeficientCollection)
    assert (deficient.needed, deficient.got) == (4, 0)


@pytest.mark.parametrize("v", [4, 5, 8])
async def test_collect_min_does_not_cap(v: int) -> None:
    """`min` is a floor, not a cap: a collect with `min=4` emits every item it got
    (CO-2, S5.2)."""

    @cf.workflow
    def wf(scope: cf.Scope[int, list[int]], builder: cf.Builder) -> None:
        node: cf.Node[int, int] = builder.chain(scope.start).then_node(repeat)
        builder.chain(node.streams.s).collect(min=4).connect(scope.terminate)

    assert await run(wf, v) == [v] * v


async def test_unrelated_island_collect_is_ignored() -> None:
    """A collect whose upstream is an unfed island never fires and does not disturb the
    collect on the live path (CO-3, S5.2)."""

    async def passthrough(v: int) -> int:
        await anyio.lowlevel.checkpoint()
        return v

    def never(_: Any) -> Any:
        raise AssertionError("must not run")

    with pytest.warns(cf.UnreachableWarning, match="no message can ever reach"):

        @cf.workflow
        def wf(scope: cf.Scope[int, list[int]], builder: cf.Builder) -> None:
            bogus = builder.create_node(lambda x: x)
            builder.chain(bogus.output).collect_all().connect(scope.terminate)
            builder.chain(scope.start).map(lambda v: v).fork_option(
                some=lambda c: c.then(passthrough).collect_all().connect(scope.terminate),
                none=lambda c: c.map(never).dispose(),
            )

    assert await run(wf, 2) == [2]


@pytest.mark.parametrize(("request_", "expected"), [(2, []), (5, [5])])
async def test_min_zero_emits_empty_list_on_upstream_disposal(
    request_: int, expected: list[int]
) -> None:
    """With `min=0`, an upstream disposal that leaves nothing upstream active emits an
    empty list (CO-4, S5.3)."""

    @cf.workflow
    def wf(scope: cf.Scope[int, list[int]], builder: cf.Builder) -> None:
        (
            builder.chain(scope.start)
            .map(lambda v: None if v < 4 else v)
            .dispose_on_none()
            .collect_all()
            .connect(scope.terminate)
        )

    assert await run(wf, request_) == expected


@pytest.mark.parametrize(("request_", "expected"), [(None, "fallback"), ("a", "a")])
async def test_catch_unreachability(request_: str | None, expected: str) -> None:
    """`collect(min=0, max=1)` turns "that branch can no longer happen" into `[]`, so a
    fallback can be taken (CO-6, S5.3)."""

    @cf.workflow
    def wf(scope: cf.Scope[str | None, str], builder: cf.Builder) -> None:
        (
            builder.chain(scope.start)
            .dispose_on_none()
            .collect(min=0, max=1)
            .map(lambda xs: xs[0] if xs else "fallback")
            .connect(scope.terminate)
        )

    assert await run(wf, request_) == expected


# --------------------------------------------------------------------------- max


async def test_max_emits_exactly_max() -> None:
    """When `max` is reached, exactly `max` items are emitted (CO-5, S5.1)."""

    @cf.workflow
    def wf(scope: cf.Scope[None, list[int]], builder: cf.Builder) -> None:
        node: cf.Node[Any, None] = builder.chain(scope.start).then_node(one_to_five)
        builder.chain(node.streams.s).collect(min=0, max=2).connect(scope.terminate)

    assert await run(wf, None) == [1, 2]


async def test_max_starts_a_new_collection() -> None:
    """After emitting `max` items the collect starts a new list; the rest is emitted when
    upstream falls quiet (S5.1, S5.2)."""
    lists: list[list[int]] = []

    def record(xs: list[int]) -> None:
        lists.append(xs)

    @cf.workflow
    def wf(scope: cf.Scope[None, None], builder: cf.Builder) -> None:
        node: cf.Node[Any, None] = builder.chain(scope.start).then_node(one_to_five)
        builder.chain(node.streams.s).collect(min=0, max=2).then(record).dispose()
        builder.chain(node.output).then(at_the_end).connect(scope.terminate)

    assert await run(wf, None) is None
    assert lists == [[1, 2], [3, 4], [5]]


async def test_collect_n_leftover_is_deficient() -> None:
    """`collect_n(2)` emits `[1, 2]` and `[3, 4]`; the leftover `5` can never make a pair and
    records `DeficientCollection(needed=2, got=1)` (CO-5, S5.1, S5.2)."""
    lists: list[list[int]] = []

    def record(xs: list[int]) -> None:
        lists.append(xs)
        return None

    @cf.workflow
    def wf(scope: cf.Scope[None, Any], builder: cf.Builder) -> None:
        node: cf.Node[Any, None] = builder.chain(scope.start).then_node(one_to_five)
        (
            builder.chain(node.streams.s)
            .collect_n(2)
            .then(record)
            .dispose_on_none()
            .connect(scope.terminate)
        )

    disposals = await disposals_of(wf, None)
    assert lists == [[1, 2], [3, 4]]
    assert Counter(type(d.cause) for d in disposals for _ in range(d.count)) == {
        cf.Filtered: 2,
        cf.DeficientCollection: 1,
    }
    (deficient,) = [d.cause for d in disposals if isinstance(d.cause, cf.DeficientCollection)]
    assert (deficient.needed, deficient.got) == (2, 1)


# --------------------------------------------------------------------------- S5.2 / S5.4


async def test_collect_about_to_emit_keeps_the_scope_alive() -> None:
    """After the last upstream disposal, the collect reacts before the scope's reachability
    check, and a collect about to emit counts as activity: `[1, None]` gives `[1]`
    (S5.2, S2.1)."""

    @cf.workflow
    def wf(scope: cf.Scope[list[Any], list[int]], builder: cf.Builder) -> None:
        builder.chain(scope.start).spread().dispose_on_none().collect_all().connect(scope.terminate)

    assert await run(wf, [1, None]) == [1]
    assert await run(wf, [None, 1, None, 2, None]) == [1, 2]


async def test_collect_with_min_after_trailing_disposal() -> None:
    """A collect with `min=1` holding one item emits it when the last upstream message is
    disposed; holding none, it is deficient (S5.2)."""

    @cf.workflow
    def wf(scope: cf.Scope[list[Any], list[int]], builder: cf.Builder) -> None:
        builder.chain(scope.start).spread().dispose_on_none().collect(min=1).connect(
            scope.terminate
        )

    assert await run(wf, [1, None]) == [1]
    disposals = await disposals_of(wf, [None])
    assert [type(d.cause) for d in disposals] == [cf.Filtered, cf.DeficientCollection]


async def test_no_empty_re_emission() -> None:
    """A collect emits at most once each time its upstream falls quiet: `[None, 5]` gives
    exactly one `[5]`, never a trailing `[]` (CO-13, S5.4, D5)."""
    lists: list[list[int]] = []

    def record(xs: list[int]) -> None:
        lists.append(xs)

    @cf.workflow
    def wf(scope: cf.Scope[list[Any], Any], builder: cf.Builder) -> None:
        builder.chain(scope.start).fork_clone(
            lambda c: c.spread().dispose_on_none().collect_all().then(record).dispose(),
            lambda c: c.then(at_the_end).connect(scope.terminate),
        )

    await run(wf, [None, 5])
    assert lists == [[5]]


async def test_collects_are_per_session() -> None:
    """Collect progress is kept per session: concurrent runs each get only their own items
    (S5.1, S1.5)."""

    async def later(x: int) -> int:
        await anyio.sleep(0.001 * (x % 3))
        return x

    @cf.workflow
    def wf(scope: cf.Scope[list[int], list[int]], builder: cf.Builder) -> None:
        builder.chain(scope.start).spread().then(later).collect_all().map(sorted).connect(
            scope.terminate
        )

    results: dict[int, list[int]] = {}

    async def one(n: int) -> None:
        results[n] = await wf.run(list(range(n)))

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            for n in range(1, 6):
                tg.start_soon(one, n)
    assert results == {n: list(range(n)) for n in range(1, 6)}


# --------------------------------------------------------------------------- chained / cycles


async def _delayed(v: int) -> int:
    await anyio.sleep(0.01)
    return v


def _upstream(builder: cf.Builder, start: cf.Output[list[int]], earlier: cf.InputSlot[int]) -> None:
    (
        builder.chain(start)
        .spread()
        .then(_delayed)
        .map(lambda v: v if v <= 4 else None)
        .dispose_on_none()
        .connect(earlier)
    )


async def test_chained_collects() -> None:
    """A collect downstream of another waits for the upstream one: it does not flush while
    the upstream collect can still emit (CO-9, S5.2)."""

    @cf.workflow
    def wf(scope: cf.Scope[list[int], list[int]], builder: cf.Builder) -> None:
        later = builder.create_collect()  # created first on purpose
        earlier = builder.create_collect()
        _upstream(builder, scope.start, earlier.input)
        builder.chain(earlier.output).spread().connect(later.input)
        builder.connect(later.output, scope.terminate)

    assert sorted(await run(wf, [1, 2, 3, 4, 5])) == [1, 2, 3, 4]


def test_circular_collect_is_a_build_error() -> None:
    """Two collects each upstream of the other in one scope raise `CircularCollectError` at
    build time, naming both (CO-10, S5.5, D5)."""
    names: list[str] = []

    def build(scope: cf.Scope[list[int], list[int]], builder: cf.Builder) -> None:
        later = builder.create_collect()
        earlier = builder.create_collect()
        names.extend([earlier.name, later.name])
        _upstream(builder, scope.start, earlier.input)
        builder.chain(earlier.output).spread().connect(later.input)
        builder.chain(later.output).spread().fork_clone(
            lambda c: c.connect(earlier.input),
            lambda c: c.connect(scope.terminate),
        )

    with pytest.raises(cf.CircularCollectError) as info:
        cf.Workflow.build(build, name="circular")
    earlier_name, later_name = names
    message = str(info.value)
    assert earlier_name in message and later_name in message
    assert "nested scope" in message
    assert [set(pair) for pair in info.value.conflicts] == [{earlier_name, later_name}]
    assert isinstance(info.value, cf.BuildError)


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        ([1, 2, 3, 4], [1, 2, 3, 4]),
        ([1, 2, 3, 4, 5, 6], [1, 2, 3, 4]),
        ([1, 8, 2, 7, 3, 6], [1, 2, 3]),
        ([8, 7, 6, 5, 4, 3, 2, 1], [1, 2, 3, 4]),
        ([6, 7, 8, 9, 10], []),
    ],
)
async def test_scoped_cycle(request_: list[int], expected: list[int]) -> None:
    """Isolating one collect of a cycle in a nested scope resolves the circularity: the
    collect in the cycle emits again on the next turn (CO-11, S5.2, S5.5)."""

    def inner(scope: cf.Scope[list[int], list[int]], builder: cf.Builder) -> None:
        builder.chain(scope.start).spread().collect_all().connect(scope.terminate)

    @cf.workflow
    def wf(scope: cf.Scope[list[int], list[int]], builder: cf.Builder) -> None:
        earlier = builder.create_collect()
        _upstream(builder, scope.start, earlier.input)
        builder.chain(earlier.output).then_scope(inner).fork_clone(
            lambda c: c.spread().connect(earlier.input),
            lambda c: c.connect(scope.terminate),
        )

    assert sorted(await run(wf, request_)) == expected


# --------------------------------------------------------------------------- builder forms


async def test_collect_all_and_collect_n_are_shorthands() -> None:
    """`collect_all()` is `collect(0, None)` and `collect_n(n)` is `collect(n, n)`
    (API §1, S5.1)."""

    @cf.workflow
    def wf(scope: cf.Scope[list[int], list[list[int]]], builder: cf.Builder) -> None:
        builder.chain(scope.start).spread().collect_n(2).collect_all().connect(scope.terminate)

    assert await run(wf, [1, 2, 3, 4]) == [[1, 2], [3, 4]]


async def test_create_collect_node() -> None:
    """`builder.create_collect(min, max)` returns a node with `.input` and `.output`
    (API §1)."""

    @cf.workflow
    def wf(scope: cf.Scope[list[int], list[int]], builder: cf.Builder) -> None:
        collect = builder.create_collect(min=1, max=3)
        builder.chain(scope.start).spread().connect(collect.input)
        builder.connect(collect.output, scope.terminate)

    assert await run(wf, [1, 2, 3, 4]) == [1, 2, 3]
    assert await run(wf, [1, 2]) == [1, 2]


def test_collect_min_greater_than_max_is_a_build_error() -> None:
    """`collect(min=3, max=2)` raises `BuildError` while building (CO-14, API §1)."""

    def build(scope: cf.Scope[list[int], list[int]], builder: cf.Builder) -> None:
        builder.chain(scope.start).spread().collect(min=3, max=2).connect(scope.terminate)

    with pytest.raises(cf.BuildError, match=r"min=3 is greater than max=2"):
        cf.Workflow.build(build)

    def build2(scope: cf.Scope[list[int], list[int]], builder: cf.Builder) -> None:
        builder.create_collect(min=3, max=2)

    with pytest.raises(cf.BuildError, match=r"min=3 is greater than max=2"):
        cf.Workflow.build(build2)


@pytest.mark.parametrize(("min_", "max_"), [(0, 0), (-1, None), (1.5, None)])
def test_collect_bad_bounds(min_: Any, max_: Any) -> None:
    """`max=0`, a negative `min` or a non-int bound are rejected while building, with an
    `InvalidArgument` (CO-14, API §1)."""

    def build(scope: cf.Scope[list[int], list[list[int]]], builder: cf.Builder) -> None:
        builder.chain(scope.start).collect(min=min_, max=max_).connect(scope.terminate)

    with pytest.raises(cf.InvalidArgument):
        cf.Workflow.build(build)


async def test_no_empty_emission_after_a_max_emission() -> None:
    """Reaching `max` is an emission: with no new upstream activity afterwards, the collect
    does not emit a trailing `[]` when its upstream falls quiet (S5.4, S5.1)."""
    lists: list[list[int]] = []

    def record(xs: list[int]) -> None:
        lists.append(xs)

    @cf.workflow
    def wf(scope: cf.Scope[list[int], Any], builder: cf.Builder) -> None:
        builder.chain(scope.start).fork_clone(
            lambda c: c.spread().collect(min=0, max=2).then(record).dispose(),
            lambda c: c.then(at_the_end).connect(scope.terminate),
        )

    await run(wf, [1, 2])
    assert lists == [[1, 2]]
    lists.clear()
    await run(wf, [1, 2, 3])
    assert lists == [[1, 2], [3]]


async def test_collect_that_already_emitted_does_not_keep_the_scope_alive() -> None:
    """A collect that emitted (here by reaching `max`) holds nothing it will still emit, so
    it is not activity: when its output is disposed downstream, the session is cancelled
    with `Unreachable([Filtered])` instead of waiting forever (S2.1, S5.4)."""

    @cf.workflow
    def wf(scope: cf.Scope[int, Any], builder: cf.Builder) -> None:
        (
            builder.chain(scope.start)
            .collect(min=0, max=1)
            .map(lambda xs: None)
            .dispose_on_none()
            .connect(scope.terminate)
        )

    with anyio.fail_after(1):  # shorter than usual: the failure mode is a hang
        with pytest.raises(cf.WorkflowCancelled) as info:
            await wf.run(1)
    cause = info.value.cancellation.cause
    assert isinstance(cause, cf.Unreachable)
    assert [type(d.cause) for d in cause.disposals] == [cf.Filtered]


async def test_downstream_collect_gets_no_trailing_empty_list() -> None:
    """`collect(0, 2)` feeding `collect_all` gives `[[1, 2], [3, 4]]`: the first collect
    does not add an empty list once its upstream falls quiet after a `max` emission
    (S5.4, S5.1)."""

    @cf.workflow
    def wf(scope: cf.Scope[list[int], list[list[int]]], builder: cf.Builder) -> None:
        builder.chain(scope.start).spread().collect(min=0, max=2).collect_all().connect(
            scope.terminate
        )

    assert await run(wf, [1, 2, 3, 4]) == [[1, 2], [3, 4]]
    assert await run(wf, [1, 2, 3]) == [[1, 2], [3]]


async def test_exact_collection_records_no_deficiency() -> None:
    """A collect that emitted every item it received (by reaching `max`) and then sees no
    new upstream activity records no `DeficientCollection`: it lost nothing (S5.4, S3)."""

    @cf.workflow
    def wf(scope: cf.Scope[list[int], Any], builder: cf.Builder) -> None:
        (
            builder.chain(scope.start)
            .spread()
            .collect_n(2)
            .map(lambda xs: None)
            .dispose_on_none()
            .connect(scope.terminate)
        )

    disposals = await disposals_of(wf, [1, 2])
    assert [type(d.cause) for d in disposals] == [cf.Filtered]
