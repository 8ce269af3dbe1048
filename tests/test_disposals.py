"""Disposals: which operation records which cause, and when (S3).

Each case puts the disposal on the only path to terminate, so it shows up in the
`Unreachable` list, and (where useful) on a redundant path, where it is harmless.
"""

from __future__ import annotations

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


# --------------------------------------------------------------------------- Branching


def option_workflow(names: list[str], seen: list[Any], to_terminate: str) -> cf.Workflow[Any, Any]:
    @cf.workflow
    def wf(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        fork = builder.create_fork_option()
        names.append(fork.name)
        builder.connect(scope.start, fork.input)

        def record(x: Any) -> Any:
            seen.append(x)
            return x

        if to_terminate == "some":
            builder.connect(fork.some, scope.terminate)
            builder.chain(fork.none).then(record).dispose()
        else:
            builder.chain(fork.some).then(record).dispose()
            builder.connect(fork.none, scope.terminate)

    return wf


async def test_fork_option_some_disposes_the_none_branch() -> None:
    """`fork_option` with a value records `Branching(op, "none")` for the none branch
    (DI-1, S3)."""
    names: list[str] = []
    seen: list[Any] = []
    wf = option_workflow(names, seen, to_terminate="none")
    (name,) = names
    assert await disposals_of(wf, 5) == (cf.Disposal(name, cf.Branching(name, "none")),)
    assert seen == [5]


async def test_fork_option_none_disposes_the_some_branch() -> None:
    """`fork_option` with `None` records `Branching(op, "some")`; the none branch receives
    `None` (DI-1, S3)."""
    names: list[str] = []
    seen: list[Any] = []
    wf = option_workflow(names, seen, to_terminate="some")
    (name,) = names
    assert await disposals_of(wf, None) == (cf.Disposal(name, cf.Branching(name, "some")),)
    assert seen == [None]


async def test_fork_option_branch_taken_is_harmless() -> None:
    """The branch taken answers; the Branching disposal of the other does not cancel
    (DI-1, S2.5)."""
    wf = option_workflow([], [], to_terminate="some")
    assert await run(wf, 7) == 7
    wf = option_workflow([], [], to_terminate="none")
    assert await run(wf, None) is None


async def test_fork_result_disposes_the_branch_not_taken() -> None:
    """`fork_result` records `Branching(op, "err")` on `Ok` and `Branching(op, "ok")` on
    `Err` (S3, RE-7)."""
    names: list[str] = []

    @cf.workflow
    def only_err(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        fork = builder.create_fork_result()
        names.append(fork.name)
        builder.connect(scope.start, fork.input)
        builder.chain(fork.ok).dispose()
        builder.connect(fork.err, scope.terminate)

    (name,) = names
    assert await disposals_of(only_err, cf.Ok(1)) == (cf.Disposal(name, cf.Branching(name, "err")),)
    assert await run(only_err, cf.Err("e")) == "e"


async def test_branch_for_err_and_none_record_branching() -> None:
    """`branch_for_err` / `branch_for_none` are forks too: the branch not taken records
    `Branching` (S3, API §1)."""

    @cf.workflow
    def for_err(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        builder.chain(scope.start).branch_for_err(lambda c: c.dispose()).connect(scope.terminate)

    (disposal,) = await disposals_of(for_err, cf.Err("bad"))
    assert isinstance(disposal.cause, cf.Branching)
    assert disposal.cause.branch == "ok"
    assert await run(for_err, cf.Ok(3)) == 3

    @cf.workflow
    def for_none(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        builder.chain(scope.start).branch_for_none(lambda c: c.dispose()).connect(scope.terminate)

    (disposal,) = await disposals_of(for_none, None)
    assert isinstance(disposal.cause, cf.Branching)
    assert disposal.cause.branch == "some"
    assert await run(for_none, 4) == 4


# --------------------------------------------------------------------------- Filtered


@pytest.mark.parametrize(
    ("method", "rejected", "accepted", "passed"),
    [
        ("dispose_on_none", None, 3, 3),
        ("dispose_on_some", 3, None, None),
        ("dispose_on_err", cf.Err("e"), cf.Ok(4), 4),
        ("dispose_on_ok", cf.Ok(4), cf.Err("e"), "e"),
    ],
)
async def test_dispose_filters(method: str, rejected: Any, accepted: Any, passed: Any) -> None:
    """Each `dispose_on_*` filter records `Filtered` for what it rejects and passes the
    rest on, unwrapped (DI-2, DI-3, S3)."""

    @cf.workflow
    def wf(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        getattr(builder.chain(scope.start), method)().connect(scope.terminate)

    (disposal,) = await disposals_of(wf, rejected)
    assert isinstance(disposal.cause, cf.Filtered)
    assert disposal.operation == disposal.cause.operation
    assert await run(wf, accepted) == passed


async def test_disposal_filter() -> None:
    """`disposal_filter(fn)` passes `fn(msg)` on, and records `Filtered` when it returns
    `None` (S3, API §1)."""

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).disposal_filter(lambda x: x * 10 if x > 0 else None).connect(
            scope.terminate
        )

    assert await run(wf, 2) == 20
    (disposal,) = await disposals_of(wf, -1)
    assert isinstance(disposal.cause, cf.Filtered)


# --------------------------------------------------------------------------- EmptySpread


async def test_empty_spread() -> None:
    """A spread of an empty iterable records `EmptySpread`; a one-element list answers
    with its element (DI-4, S3)."""

    @cf.workflow
    def wf(scope: cf.Scope[list[int], int], builder: cf.Builder) -> None:
        builder.chain(scope.start).spread().connect(scope.terminate)

    (disposal,) = await disposals_of(wf, [])
    assert isinstance(disposal.cause, cf.EmptySpread)
    assert disposal.cause == cf.EmptySpread(disposal.operation)
    assert await run(wf, [7]) == 7


# --------------------------------------------------------------------------- IncompleteSplit


async def test_incomplete_split() -> None:
    """A split whose connected `seq(1)` output receives nothing records
    `IncompleteSplit(op, ("seq:1",))` (DI-5, S3)."""
    names: list[str] = []

    @cf.workflow
    def wf(scope: cf.Scope[list[int], int], builder: cf.Builder) -> None:
        split = builder.chain(scope.start).split_outputs(sequence=2)
        names.append(split.name)
        builder.chain(split.seq(0)).map(lambda x: x).dispose()
        builder.connect(split.seq(1), scope.terminate)

    (name,) = names
    assert await disposals_of(wf, [1]) == (cf.Disposal(name, cf.IncompleteSplit(name, ("seq:1",))),)
    assert await run(wf, [1, 2]) == 2


async def test_incomplete_split_is_harmless_on_a_redundant_path() -> None:
    """With `seq(0)` leading to terminate, a missing `seq(1)` does not cancel (DI-5, S2.5)."""

    @cf.workflow
    def wf(scope: cf.Scope[list[int], int], builder: cf.Builder) -> None:
        split = builder.chain(scope.start).split_outputs(sequence=2)
        builder.connect(split.seq(0), scope.terminate)
        builder.chain(split.seq(1)).map(lambda x: x).connect(scope.terminate)

    assert await run(wf, [1]) == 1


# --------------------------------------------------------------------------- DeficientCollection


async def test_deficient_collection() -> None:
    """A collect with `min=2` that gets one item records `DeficientCollection(op, 2, 1)`
    (DI-6, S3, S5.2)."""

    @cf.workflow
    def wf(scope: cf.Scope[int, list[int]], builder: cf.Builder) -> None:
        builder.chain(scope.start).collect(min=2).connect(scope.terminate)

    (disposal,) = await disposals_of(wf, 1)
    assert isinstance(disposal.cause, cf.DeficientCollection)
    assert disposal.cause == cf.DeficientCollection(disposal.operation, needed=2, got=1)


# --------------------------------------------------------------------------- UnusedStreams


@cf.service(streams={"s": int})
def never_sends(x: int, *, streams: cf.Streams) -> int:
    return x


@cf.service(streams={"s": int})
def sends_three(x: int, *, streams: cf.Streams) -> int:
    streams.s.send(3)
    return x


async def test_unused_streams_on_a_stream_only_path() -> None:
    """A blocking service that never sends on its connected stream records
    `UnusedStreams(op, ("s",))`; when that stream was the only path, the session is
    cancelled (RE-13, S3)."""
    names: list[str] = []

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        node = builder.create_node(never_sends)
        names.append(node.name)
        builder.connect(scope.start, node.input)
        builder.chain(node.streams.s).map(lambda v: 2 * v).connect(scope.terminate)

    (name,) = names
    assert name == "never_sends"
    assert await disposals_of(wf, 1) == (cf.Disposal(name, cf.UnusedStreams(name, ("s",))),)


async def test_stream_only_path_that_emits() -> None:
    """The same shape with a service that sends `3` answers `6` (RE-15)."""

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        node = builder.chain(scope.start).then_node(sends_three)
        builder.chain(node.streams.s).map(lambda v: 2 * v).connect(scope.terminate)

    assert await run(wf, 1) == 6


async def test_unused_streams_lists_only_connected_streams() -> None:
    """`UnusedStreams` names only the connected streams the service never sent on (S3)."""

    @cf.service(streams={"a": int, "b": int})
    def silent(x: int, *, streams: cf.Streams) -> int:
        return x

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        node = builder.chain(scope.start).then_node(silent)
        builder.chain(node.streams.a).connect(scope.terminate)
        # node.streams.b and node.output are left unconnected

    (disposal,) = await disposals_of(wf, 1)
    assert silent.name.endswith("silent")  # the function's __qualname__
    assert disposal.cause == cf.UnusedStreams(silent.name, ("a",))


async def test_unconnected_streams_record_nothing() -> None:
    """A blocking service whose streams are all unconnected records no `UnusedStreams`
    (S3, S2.5)."""

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(never_sends).map(lambda _: None).dispose_on_none().connect(
            scope.terminate
        )

    (disposal,) = await disposals_of(wf, 1)
    assert isinstance(disposal.cause, cf.Filtered)


async def test_async_service_with_streams_records_no_disposal() -> None:
    """An async service with streams that finishes without sending makes reachability be
    re-checked without recording a disposal: `Unreachable(disposals=())` (RE-14, S3)."""

    @cf.service(streams={"s": int})
    async def async_silent(x: int, *, streams: cf.Streams) -> int:
        await anyio.lowlevel.checkpoint()
        return x

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        node = builder.chain(scope.start).then_node(async_silent)
        builder.chain(node.streams.s).map(lambda v: 2 * v).connect(scope.terminate)

    assert await disposals_of(wf, 1) == ()


# --------------------------------------------------------------------------- presentation


async def test_disposal_str_names_the_operation() -> None:
    """`str()` of a disposal, and of the `Unreachable` carrying it, is readable and names the
    operation (API §4)."""
    names: list[str] = []

    @cf.workflow
    def wf(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        fork = builder.create_fork_result()
        names.append(fork.name)
        builder.connect(scope.start, fork.input)
        builder.connect(fork.ok, scope.terminate)

    with anyio.fail_after(5):
        with pytest.raises(cf.WorkflowCancelled) as info:
            await wf.run(cf.Err(1))
    (name,) = names
    cause = info.value.cancellation.cause
    assert isinstance(cause, cf.Unreachable)
    (disposal,) = cause.disposals
    assert name in str(disposal)
    assert "ok" in str(disposal)
    assert name in str(cause)
    assert name in str(info.value)


async def test_incomplete_split_lists_every_missing_output() -> None:
    """`IncompleteSplit.missing` lists every connected output that got nothing: a key, a
    `seq` output and `remaining` (S3, API §1 Split)."""

    @cf.workflow
    def wf(scope: cf.Scope[list[int], int], builder: cf.Builder) -> None:
        split = builder.chain(scope.start).split_outputs(keys=(5,), sequence=2)
        builder.connect(split.key(5), scope.terminate)
        builder.chain(split.seq(0)).dispose()
        builder.chain(split.seq(1)).map(lambda v: v).dispose()
        builder.chain(split.remaining).map(lambda v: v).dispose()

    (disposal,) = await disposals_of(wf, [1])
    assert isinstance(disposal.cause, cf.IncompleteSplit)
    assert set(disposal.cause.missing) == {"key:5", "seq:1", "remaining"}


async def test_async_stream_only_path_that_emits() -> None:
    """An async service that does send on its stream keeps the stream-only path alive until
    the message arrives (RE-15, S3)."""

    @cf.service(streams={"s": int})
    async def async_sends(x: int, *, streams: cf.Streams) -> int:
        await anyio.lowlevel.checkpoint()
        streams.s.send(3)
        await anyio.lowlevel.checkpoint()
        return x

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        node = builder.chain(scope.start).then_node(async_sends)
        builder.chain(node.streams.s).map(lambda v: 2 * v).connect(scope.terminate)

    assert await run(wf, 1) == 6


async def test_cancelled_children_and_a_deficient_collect() -> None:
    """Children cancelled by a filter are `ScopeCancelled` disposals upstream of a collect
    with `min=2`, which then records `DeficientCollection(needed=2, got=1)` (S1.7, S3, S5.2)."""

    def child(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        builder.chain(scope.start).cancel_on_none().connect(scope.terminate)

    @cf.workflow
    def wf(scope: cf.Scope[list[Any], list[Any]], builder: cf.Builder) -> None:
        builder.chain(scope.start).spread().then_scope(child).collect(min=2).connect(
            scope.terminate
        )

    disposals = await disposals_of(wf, [1, None, None])
    kinds = [type(d.cause) for d in disposals for _ in range(d.count)]  # S2.4: counted
    assert kinds.count(cf.ScopeCancelled) == 2
    assert kinds[-1] is cf.DeficientCollection
    assert len(kinds) == 3
    deficient = disposals[-1].cause
    assert isinstance(deficient, cf.DeficientCollection)
    assert (deficient.needed, deficient.got) == (2, 1)
    assert await run(wf, [1, None, 2]) == [1, 2]
