"""Forks, filters and single-message operations (API §1)."""

from __future__ import annotations

from typing import Any

import anyio
import anyio.lowlevel
import pytest

import crossflow as cf
from crossflow.testing import assert_completes as run

pytestmark = pytest.mark.anyio


# --------------------------------------------------------------------------- fork_clone


async def test_fork_clone_gives_later_branches_a_deep_copy() -> None:
    """The first branch receives the message itself, later ones a deep copy: mutating it in
    the first branch does not affect the second (FK-1, API §1)."""
    request: list[list[int]] = [[1], [2]]
    first: list[Any] = []
    second: list[Any] = []

    def mutate(xs: list[list[int]]) -> None:
        first.append(xs)
        xs[0].append(99)
        xs.append([3])

    def look(xs: list[list[int]]) -> list[list[int]]:
        second.append(xs)
        return xs

    @cf.workflow
    def wf(scope: cf.Scope[list[list[int]], list[list[int]]], builder: cf.Builder) -> None:
        builder.chain(scope.start).fork_clone(
            lambda c: c.then(mutate).dispose(),
            lambda c: c.then(look).connect(scope.terminate),
        )

    result = await run(wf, request)
    assert result == [[1], [2]]
    assert first[0] is request
    assert second[0] is not request
    assert request == [[1, 99], [2], [3]]


async def test_fork_clone_returns_what_the_build_functions_return() -> None:
    """`fork_clone(*build_fns)` returns the tuple of their return values (API §1)."""
    returned: list[Any] = []

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        outputs = builder.chain(scope.start).fork_clone(
            lambda c: c.map(lambda x: x + 1).output(),
            lambda c: c.map(lambda x: x + 2).output(),
        )
        returned.append(outputs)
        first, second = outputs
        builder.chain(first).dispose()
        builder.connect(second, scope.terminate)

    assert await run(wf, 1) == 3
    (outputs,) = returned
    assert len(outputs) == 2 and all(isinstance(o, cf.Output) for o in outputs)


async def test_branch_clone_continues_with_the_original() -> None:
    """`branch_clone(fn)` builds one clone branch and continues the chain (API §1)."""
    branch: list[int] = []

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        (
            builder.chain(scope.start)
            .branch_clone(lambda c: c.map(branch.append).dispose())
            .map(lambda x: x * 2)
            .connect(scope.terminate)
        )

    assert await run(wf, 4) == 8
    assert branch == [4]


async def test_create_fork_clone() -> None:
    """`builder.create_fork_clone()` makes outputs with `clone_output()` (API §1)."""

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        fork = builder.create_fork_clone()
        builder.connect(scope.start, fork.input)
        builder.chain(fork.clone_output()).map(lambda x: None).dispose_on_none().connect(
            scope.terminate
        )
        builder.chain(fork.clone_output()).map(lambda x: x + 1).connect(scope.terminate)

    assert await run(wf, 1) == 2


# --------------------------------------------------------------------------- unzip


def multiply3_5(x: int) -> tuple[int, int]:
    return 3 * x, 5 * x


async def test_unzip_infers_n_from_the_annotation() -> None:
    """`chain.unzip()` returns a tuple of chains, one per tuple element; `n` is read from the
    previous function's return annotation (FK-2, API §1)."""
    chains: list[Any] = []

    @cf.workflow
    def second(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        parts = builder.chain(scope.start).then(multiply3_5).unzip()
        chains.append(parts)
        parts[0].dispose()
        parts[1].connect(scope.terminate)

    assert await run(second, 4) == 20
    (parts,) = chains
    assert isinstance(parts, tuple) and len(parts) == 2
    assert all(isinstance(c, cf.Chain) for c in parts)


@pytest.mark.parametrize(("index", "expected"), [(0, 36), (1, 60)])
async def test_unzip_element_goes_to_its_branch(index: int, expected: int) -> None:
    """Element `i` goes to branch `i` (FK-2)."""

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        parts = builder.chain(scope.start).then(multiply3_5).unzip(2)
        for i, part in enumerate(parts):
            if i == index:
                part.map(lambda v: 3 * v).connect(scope.terminate)
            else:
                part.dispose()

    assert await run(wf, 4) == expected


async def test_fork_unzip_and_create_unzip() -> None:
    """`fork_unzip(*fns)` builds one branch per element; `create_unzip(n)` has
    `.outputs[i]` (API §1)."""

    @cf.workflow
    def forked(scope: cf.Scope[tuple[int, int], int], builder: cf.Builder) -> None:
        builder.chain(scope.start).fork_unzip(
            lambda c: c.dispose(),
            lambda c: c.map(lambda v: v + 1).connect(scope.terminate),
        )

    assert await run(forked, (1, 2)) == 3

    @cf.workflow
    def created(scope: cf.Scope[tuple[int, int, int], int], builder: cf.Builder) -> None:
        unzip = builder.create_unzip(3)
        assert len(unzip.outputs) == 3
        builder.connect(scope.start, unzip.input)
        builder.connect(unzip.outputs[2], scope.terminate)

    assert await run(created, (1, 2, 3)) == 3


# --------------------------------------------------------------------------- fork_result / fork_option


def check_even(x: int) -> cf.Result[str, str]:
    return cf.Ok("even") if x % 2 == 0 else cf.Err("odd")


@pytest.mark.parametrize(("request_", "expected"), [(4, "ok:even"), (3, "err:odd")])
async def test_fork_result(request_: int, expected: str) -> None:
    """`fork_result` sends `Ok.value` down `ok` and `Err.error` down `err` (FK-3, API §1)."""

    @cf.workflow
    def wf(scope: cf.Scope[int, str], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(check_even).fork_result(
            ok=lambda c: c.map(lambda v: f"ok:{v}").connect(scope.terminate),
            err=lambda c: c.map(lambda e: f"err:{e}").connect(scope.terminate),
        )

    assert await run(wf, request_) == expected


async def test_fork_result_with_disposed_err_branch() -> None:
    """`fork_result{ok: terminate; err: dispose}` with `Ok(5.0)` answers `5.0` (FK-3)."""

    @cf.workflow
    def wf(scope: cf.Scope[Any, float], builder: cf.Builder) -> None:
        builder.chain(scope.start).fork_result(
            ok=lambda c: c.connect(scope.terminate), err=lambda c: c.dispose()
        )

    assert await run(wf, cf.Ok(5.0)) == 5.0


async def test_unused_branch_and_spread() -> None:
    """`spread -> fork_result{ok: terminate; err: unused}` answers the first `Ok` (FK-4)."""

    @cf.workflow
    def wf(scope: cf.Scope[list[Any], int], builder: cf.Builder) -> None:
        builder.chain(scope.start).spread().fork_result(
            ok=lambda c: c.connect(scope.terminate), err=lambda c: None
        )

    request = [cf.Err("a"), cf.Err("b"), cf.Ok(5), cf.Err("c"), cf.Ok(10)]
    assert await run(wf, request) == 5


@pytest.mark.parametrize(("request_", "expected"), [(3, ("some", 3)), (None, ("none", None))])
async def test_fork_option(request_: int | None, expected: tuple[str, Any]) -> None:
    """`fork_option` sends `None` down `none` (as `None`) and anything else down `some`
    (API §1)."""

    @cf.workflow
    def wf(scope: cf.Scope[int | None, tuple[str, Any]], builder: cf.Builder) -> None:
        builder.chain(scope.start).fork_option(
            some=lambda c: c.map(lambda v: ("some", v)).connect(scope.terminate),
            none=lambda c: c.map(lambda v: ("none", v)).connect(scope.terminate),
        )

    assert await run(wf, request_) == expected


async def test_falsy_values_are_some() -> None:
    """Only `None` is "none": `0`, `""` and `[]` go down the some branch (API §1)."""

    @cf.workflow
    def wf(scope: cf.Scope[Any, str], builder: cf.Builder) -> None:
        builder.chain(scope.start).fork_option(
            some=lambda c: c.map(lambda _: "some").connect(scope.terminate),
            none=lambda c: c.map(lambda _: "none").connect(scope.terminate),
        )

    values: tuple[Any, ...] = (0, "", [], False)
    for value in values:
        assert await run(wf, value) == "some"


async def test_create_fork_result_and_option() -> None:
    """The builder forms have named outputs `.ok`/`.err` and `.some`/`.none` (API §1)."""

    @cf.workflow
    def wf(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        result = builder.create_fork_result()
        option = builder.create_fork_option()
        builder.connect(scope.start, result.input)
        builder.connect(result.ok, option.input)
        builder.chain(result.err).map(lambda e: f"err {e}").connect(scope.terminate)
        builder.chain(option.some).map(lambda v: f"some {v}").connect(scope.terminate)
        builder.chain(option.none).map(lambda v: f"none {v}").connect(scope.terminate)

    assert await run(wf, cf.Ok(1)) == "some 1"
    assert await run(wf, cf.Ok(None)) == "none None"
    assert await run(wf, cf.Err("x")) == "err x"


async def test_branch_for_err_and_branch_for_none() -> None:
    """`branch_for_err` / `branch_for_none` build the err/none branch and continue with the
    ok/some value (API §1)."""

    @cf.workflow
    def wf(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        (
            builder.chain(scope.start)
            .branch_for_err(lambda c: c.map(lambda e: f"err {e}").connect(scope.terminate))
            .branch_for_none(lambda c: c.map(lambda _: "none").connect(scope.terminate))
            .map(lambda v: f"value {v}")
            .connect(scope.terminate)
        )

    assert await run(wf, cf.Ok(2)) == "value 2"
    assert await run(wf, cf.Ok(None)) == "none"
    assert await run(wf, cf.Err("bad")) == "err bad"


# --------------------------------------------------------------------------- filters (passing)


@pytest.mark.parametrize(
    ("method", "request_", "expected"),
    [
        ("cancel_on_err", cf.Ok(1), 1),
        ("dispose_on_err", cf.Ok(1), 1),
        ("dispose_on_ok", cf.Err("e"), "e"),
        ("cancel_on_none", 0, 0),
        ("dispose_on_none", "", ""),
        ("dispose_on_some", None, None),
        ("trigger", "anything", None),
        ("noop", [1, 2], [1, 2]),
    ],
)
async def test_single_message_operations_pass_values(
    method: str, request_: Any, expected: Any
) -> None:
    """The filters and single-message operations pass on what API §1 says: the ok value,
    the error, the value unchanged, or `None`."""

    @cf.workflow
    def wf(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        getattr(builder.chain(scope.start), method)().connect(scope.terminate)

    assert await run(wf, request_) == expected


async def test_map_sync_and_async() -> None:
    """`.map(fn)` accepts a plain function (inline) and an async one (a task) (API §1)."""

    async def double(x: int) -> int:
        await anyio.lowlevel.checkpoint()
        return 2 * x

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).map(lambda x: x + 1).map(double).connect(scope.terminate)

    assert await run(wf, 1) == 4


async def test_spread_any_iterable() -> None:
    """`spread` sends one message per element of any iterable, in iteration order."""

    @cf.workflow
    def wf(scope: cf.Scope[Any, list[Any]], builder: cf.Builder) -> None:
        builder.chain(scope.start).spread().collect_all().connect(scope.terminate)

    assert await run(wf, range(3)) == [0, 1, 2]
    assert await run(wf, (x * x for x in range(3))) == [0, 1, 4]
    assert await run(wf, "ab") == ["a", "b"]


# --------------------------------------------------------------------------- split


async def test_split_list_by_key_seq_and_remaining() -> None:
    """For a list, an int key takes that position; the other elements are numbered in order
    for `seq` outputs; the rest go to `remaining`, one message each (API §1 Split)."""

    def tag(name: str) -> Any:
        return lambda v: (name, v)

    @cf.workflow
    def wf(scope: cf.Scope[list[int], list[tuple[str, int]]], builder: cf.Builder) -> None:
        collect = builder.create_collect()
        split = builder.chain(scope.start).split_outputs(keys=(1,), sequence=2)
        builder.chain(split.key(1)).map(tag("key1")).connect(collect.input)
        builder.chain(split.seq(0)).map(tag("seq0")).connect(collect.input)
        builder.chain(split.seq(1)).map(tag("seq1")).connect(collect.input)
        builder.chain(split.remaining).map(tag("rest")).connect(collect.input)
        builder.connect(collect.output, scope.terminate)

    result = await run(wf, [10, 20, 30, 40, 50])
    assert sorted(result) == sorted(
        [("key1", 20), ("seq0", 10), ("seq1", 30), ("rest", 40), ("rest", 50)]
    )
    assert [v for t, v in result if t == "rest"] == [40, 50]


async def test_split_dict() -> None:
    """For a dict, a key takes its value; unmatched entries go as `(key, value)` pairs, in
    iteration order, to `seq` outputs and then to `remaining` (API §1 Split)."""

    def tag(name: str) -> Any:
        return lambda v: (name, v)

    @cf.workflow
    def wf(scope: cf.Scope[dict[str, int], list[Any]], builder: cf.Builder) -> None:
        collect = builder.create_collect()
        split = builder.chain(scope.start).split_outputs(keys=("b",), sequence=1)
        builder.chain(split.key("b")).map(tag("b")).connect(collect.input)
        builder.chain(split.seq(0)).map(tag("seq0")).connect(collect.input)
        builder.chain(split.remaining).map(tag("rest")).connect(collect.input)
        builder.connect(collect.output, scope.terminate)

    result = await run(wf, {"a": 1, "b": 2, "c": 3, "d": 4})
    assert sorted(result) == sorted(
        [("b", 2), ("seq0", ("a", 1)), ("rest", ("c", 3)), ("rest", ("d", 4))]
    )
    assert [v for t, v in result if t == "rest"] == [("c", 3), ("d", 4)]


async def test_split_list_cases() -> None:
    """`[1, 2, 3]`: `seq(0)` gives 1; key `1` gives 2; with `seq(0)` disposed, `remaining`
    gives 2 (FK-7 list cases, API §1 Split)."""

    @cf.workflow
    def by_seq(scope: cf.Scope[list[int], int], builder: cf.Builder) -> None:
        split = builder.chain(scope.start).split_outputs(sequence=1)
        builder.connect(split.seq(0), scope.terminate)

    @cf.workflow
    def by_key(scope: cf.Scope[list[int], int], builder: cf.Builder) -> None:
        split = builder.chain(scope.start).split_outputs(keys=(1,))
        builder.connect(split.key(1), scope.terminate)

    @cf.workflow
    def by_remaining(scope: cf.Scope[list[int], int], builder: cf.Builder) -> None:
        split = builder.chain(scope.start).split_outputs(sequence=1)
        builder.chain(split.seq(0)).dispose()
        builder.connect(split.remaining, scope.terminate)

    assert await run(by_seq, [1, 2, 3]) == 1
    assert await run(by_key, [1, 2, 3]) == 2
    assert await run(by_remaining, [1, 2, 3]) == 2


async def test_split_dict_keyed_items_do_not_consume_sequence_numbers() -> None:
    """`{a: 1, b: 2}` with key `a` disposed and `seq(0)` to terminate gives `("b", 2)`
    (FK-7 map case, API §1 Split)."""

    @cf.workflow
    def wf(scope: cf.Scope[dict[str, int], Any], builder: cf.Builder) -> None:
        split = builder.chain(scope.start).split_outputs(keys=("a",), sequence=1)
        builder.chain(split.key("a")).dispose()
        builder.connect(split.seq(0), scope.terminate)

    assert await run(wf, {"a": 1, "b": 2}) == ("b", 2)


async def test_split_array_mixed_branches() -> None:
    """Split `[5, 4, 3, 2, 1]`: `seq(0)+0`, `seq(2)` async `+2`, `seq(4)+4`, collected, gives
    `[5, 5, 5]` (FK-5)."""

    async def add2(v: int) -> int:
        await anyio.lowlevel.checkpoint()
        return v + 2

    @cf.workflow
    def wf(scope: cf.Scope[list[int], list[int]], builder: cf.Builder) -> None:
        collect = builder.create_collect()

        def build(split: cf.SplitOutputs) -> None:
            builder.chain(split.seq(0)).map(lambda v: v + 0).connect(collect.input)
            builder.chain(split.seq(2)).then(add2).connect(collect.input)
            builder.chain(split.seq(4)).map(lambda v: v + 4).connect(collect.input)

        builder.chain(scope.start).split(build, sequence=5)
        builder.connect(collect.output, scope.terminate)

    assert await run(wf, [5, 4, 3, 2, 1]) == [5, 5, 5]


def test_split_bad_outputs() -> None:
    """Asking a split for an undeclared key or an out-of-range `seq` raises `InvalidArgument`
    naming the split; a key listed twice is a `BuildError` (API §1 Split)."""

    def undeclared(scope: cf.Scope[list[int], int], builder: cf.Builder) -> None:
        split = builder.chain(scope.start).split_outputs(keys=("a",), sequence=1)
        split.key("zzz")

    with pytest.raises(cf.InvalidArgument, match=r"no key 'zzz'"):
        cf.Workflow.build(undeclared)

    def out_of_range(scope: cf.Scope[list[int], int], builder: cf.Builder) -> None:
        split = builder.chain(scope.start).split_outputs(sequence=2)
        split.seq(2)

    with pytest.raises(cf.InvalidArgument, match=r"seq\(2\) is out of range"):
        cf.Workflow.build(out_of_range)

    def twice(scope: cf.Scope[list[int], int], builder: cf.Builder) -> None:
        builder.chain(scope.start).split_outputs(keys=(1, 1))

    with pytest.raises(cf.BuildError, match=r"listed twice"):
        cf.Workflow.build(twice)


# --------------------------------------------------------------------------- names


async def test_automatic_operation_names() -> None:
    """Operations without a node name get automatic names like `"fork_result#3"`; nodes are
    named after the function's `__qualname__` (API §1, §4)."""
    names: list[str] = []

    def bake(x: int) -> int:
        return x

    @cf.workflow
    def wf(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        fork = builder.create_fork_result()
        names.append(fork.name)
        node = builder.create_node(bake)
        names.append(node.name)
        named = builder.create_node(bake, name="oven")
        names.append(named.name)
        builder.connect(scope.start, fork.input)
        builder.connect(fork.ok, node.input)
        builder.connect(node.output, named.input)
        builder.connect(named.output, scope.terminate)

    fork_name, node_name, named_name = names
    assert fork_name.startswith("fork_result#")
    assert fork_name.split("#")[1].isdigit()
    assert node_name == bake.__qualname__
    assert named_name == "oven"
    assert await run(wf, cf.Ok(1)) == 1


async def test_callable_objects_and_partials_are_providers() -> None:
    """Callable objects (sync or async `__call__`) and `functools.partial`s are providers;
    an async one runs as a task (API §1)."""
    import functools

    class Add:
        def __init__(self, n: int) -> None:
            self.n = n

        def __call__(self, x: int) -> int:
            return x + self.n

    class AsyncMul:
        async def __call__(self, x: int) -> int:
            await anyio.lowlevel.checkpoint()
            return x * 10

    async def sub(a: int, x: int) -> int:
        await anyio.lowlevel.checkpoint()
        return x - a

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        (
            builder.chain(scope.start)
            .then(Add(1))
            .then(AsyncMul())
            .then(functools.partial(sub, 5))
            .connect(scope.terminate)
        )

    assert await run(wf, 1) == 15
