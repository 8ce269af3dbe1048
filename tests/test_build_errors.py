"""Build errors: wrong graphs and wrong arguments are rejected while building, with
messages that name the operations involved and say how to fix them (API §1)."""

from __future__ import annotations

from typing import Any

import pytest

import crossflow as cf


def build(fn: Any, **kwargs: Any) -> cf.Workflow[Any, Any]:
    return cf.Workflow.build(fn, **kwargs)


# --------------------------------------------------------------------------- hierarchy


def test_exception_hierarchy() -> None:
    """Every crossflow exception derives from `CrossflowError`; build errors from
    `BuildError`; `InvalidArgument` is also a `TypeError` (API §1)."""
    for cls in (cf.OutputAlreadyConnected, cf.IncompatibleLayout, cf.CircularCollectError):
        assert issubclass(cls, cf.BuildError)
    for base in (cf.BuildError, cf.InvalidArgument, cf.WorkflowCancelled):
        assert issubclass(base, cf.CrossflowError)
    assert issubclass(cf.InvalidArgument, TypeError)
    assert issubclass(cf.CrossflowError, Exception)


# --------------------------------------------------------------------------- OutputAlreadyConnected


def test_connecting_an_output_twice() -> None:
    """An output connects to at most one input slot: a second `connect` raises
    `OutputAlreadyConnected`, naming the output and suggesting a fork (API §1 Ports)."""

    def absolute(x: int) -> int:
        return abs(x)

    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        node = builder.create_node(absolute, name="absolute")
        builder.connect(scope.start, node.input)
        builder.connect(node.output, scope.terminate)
        builder.connect(node.output, scope.terminate)

    with pytest.raises(cf.OutputAlreadyConnected, match=r"'absolute'.*already connected") as info:
        build(wf)
    assert "fork_clone" in str(info.value)


def test_chaining_from_a_used_output() -> None:
    """Continuing two chains from one output raises `OutputAlreadyConnected` (API §1)."""

    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).connect(scope.terminate)
        builder.chain(scope.start).map(lambda x: x).connect(scope.terminate)

    with pytest.raises(cf.OutputAlreadyConnected, match=r"'start'.*already connected"):
        build(wf)


def test_reusing_a_chain() -> None:
    """A chain's output is used once: calling two methods on the same chain raises
    `OutputAlreadyConnected` (API §1 Chains)."""

    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        chain = builder.chain(scope.start)
        chain.map(lambda x: x).connect(scope.terminate)
        chain.map(lambda x: x + 1).connect(scope.terminate)

    with pytest.raises(cf.OutputAlreadyConnected):
        build(wf)


def test_disposing_a_connected_output() -> None:
    """`.dispose()` also uses the output (API §1 Chains)."""

    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.connect(scope.start, scope.terminate)
        builder.chain(scope.start).dispose()

    with pytest.raises(cf.OutputAlreadyConnected):
        build(wf)


def test_many_outputs_may_share_an_input_slot() -> None:
    """Any number of outputs may connect to one input slot (API §1 Ports)."""

    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        a, b, c = builder.chain(scope.start).fork_clone(
            lambda ch: ch.output(), lambda ch: ch.output(), lambda ch: ch.output()
        )
        for output in (a, b, c):
            builder.connect(output, scope.terminate)

    assert isinstance(build(wf), cf.Workflow)


# --------------------------------------------------------------------------- IncompatibleLayout


def test_handle_from_another_workflow() -> None:
    """Connecting an output of one workflow inside another raises `IncompatibleLayout`
    naming both scopes (API §1)."""
    stolen: list[cf.Output[Any]] = []

    def first(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        stolen.append(scope.start)
        builder.connect(scope.start, scope.terminate)

    build(first, name="first")

    def second(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.connect(stolen[0], scope.terminate)

    with pytest.raises(cf.IncompatibleLayout, match=r"'first'.*'second'"):
        build(second, name="second")


def test_input_slot_from_another_workflow() -> None:
    """An input slot of another workflow is rejected too (API §1)."""
    stolen: list[cf.InputSlot[Any]] = []

    def first(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        stolen.append(scope.terminate)
        builder.connect(scope.start, scope.terminate)

    build(first, name="first")

    def second(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).connect(stolen[0])

    with pytest.raises(cf.IncompatibleLayout, match=r"belongs to"):
        build(second, name="second")


def test_handle_from_the_enclosing_scope() -> None:
    """A nested scope's builder refuses handles of the enclosing scope with
    `IncompatibleLayout`, explaining that data comes in through the request (API §1)."""

    def outer(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        def inner(inner_scope: cf.Scope[int, int], inner_builder: cf.Builder) -> None:
            inner_builder.connect(inner_scope.start, scope.terminate)

        builder.chain(scope.start).then_scope(inner).connect(scope.terminate)

    with pytest.raises(cf.IncompatibleLayout, match=r"enclosing scope") as info:
        build(outer, name="outer")
    assert "request" in str(info.value)


def test_output_of_the_enclosing_scope_in_a_chain() -> None:
    """`builder.chain(output)` with an output of the enclosing scope is rejected (API §1)."""

    def outer(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        fork = builder.create_fork_clone()
        builder.connect(scope.start, fork.input)
        spare = fork.clone_output()

        def inner(inner_scope: cf.Scope[int, int], inner_builder: cf.Builder) -> None:
            inner_builder.chain(spare).connect(inner_scope.terminate)

        builder.chain(fork.clone_output()).then_scope(inner).connect(scope.terminate)

    with pytest.raises(cf.IncompatibleLayout, match=r"enclosing scope"):
        build(outer)


def test_builder_used_after_build() -> None:
    """A builder kept past its build function raises `BuildError` when used (API §1)."""
    kept: list[tuple[cf.Builder, cf.Scope[Any, Any]]] = []

    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        kept.append((builder, scope))
        builder.connect(scope.start, scope.terminate)

    build(wf)
    builder, _ = kept[0]
    with pytest.raises(cf.BuildError, match=r"after its build function returned"):
        builder.create_node(abs)


# --------------------------------------------------------------------------- collect


def test_collect_min_greater_than_max() -> None:
    """`collect(min > max)` raises `BuildError` saying how to fix it (CO-14, API §1)."""

    def wf(scope: cf.Scope[int, list[int]], builder: cf.Builder) -> None:
        builder.chain(scope.start).collect(min=5, max=1).connect(scope.terminate)

    with pytest.raises(cf.BuildError, match=r"min=5 is greater than max=1"):
        build(wf)


def test_circular_collect_names_both() -> None:
    """Two collects upstream of each other raise `CircularCollectError` naming both, with
    their pair in `.conflicts` (S5.5, CO-10)."""
    names: list[str] = []

    def wf(scope: cf.Scope[list[int], list[int]], builder: cf.Builder) -> None:
        a = builder.create_collect()
        b = builder.create_collect()
        names.extend([a.name, b.name])
        builder.chain(scope.start).spread().connect(a.input)
        builder.chain(a.output).spread().connect(b.input)
        builder.chain(b.output).fork_clone(
            lambda c: c.spread().connect(a.input),
            lambda c: c.connect(scope.terminate),
        )

    with pytest.raises(cf.CircularCollectError) as info:
        build(wf)
    a_name, b_name = names
    assert a_name in str(info.value) and b_name in str(info.value)
    assert [set(pair) for pair in info.value.conflicts] == [{a_name, b_name}]


def test_collect_in_a_cycle_alone_is_fine() -> None:
    """A single collect inside a cycle is not circular (S5.2, S5.5)."""

    def wf(scope: cf.Scope[list[int], list[int]], builder: cf.Builder) -> None:
        collect = builder.create_collect()
        builder.chain(scope.start).spread().connect(collect.input)
        builder.chain(collect.output).fork_clone(
            lambda c: c.spread().map(lambda v: v).connect(collect.input),
            lambda c: c.connect(scope.terminate),
        )

    assert isinstance(build(wf), cf.Workflow)


# --------------------------------------------------------------------------- InvalidArgument


@pytest.mark.parametrize("provider", [42, "abs", None, [abs]])
@pytest.mark.parametrize(
    "use",
    [
        lambda b, s, p: b.create_node(p),
        lambda b, s, p: b.chain(s.start).then(p),
        lambda b, s, p: b.chain(s.start).then_node(p),
        lambda b, s, p: b.chain(s.start).map(p),
    ],
    ids=["create_node", "then", "then_node", "map"],
)
def test_non_callable_provider(provider: Any, use: Any) -> None:
    """A provider that is not callable raises `InvalidArgument` (a `TypeError` too) saying
    what is expected (API §1)."""

    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        use(builder, scope, provider)

    with pytest.raises(cf.InvalidArgument, match=r"expects a function") as info:
        build(wf)
    assert isinstance(info.value, TypeError)


async def _fetch(x: int) -> int:
    return x


@pytest.mark.parametrize(
    "use",
    [
        lambda b, s, p: b.create_node(p),
        lambda b, s, p: b.chain(s.start).then(p),
        lambda b, s, p: b.chain(s.start).map(p),
    ],
    ids=["create_node", "then", "map"],
)
def test_coroutine_object_provider(use: Any) -> None:
    """Passing a coroutine object (`then(fetch(1))`) raises `InvalidArgument` whose message
    says it is a coroutine object and to pass the function itself (API §1)."""

    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        use(builder, scope, _fetch(1))

    with pytest.raises(cf.InvalidArgument, match=r"coroutine object") as info:
        build(wf)
    assert "_fetch" in str(info.value)
    assert isinstance(info.value, TypeError)


def test_service_of_a_coroutine_object() -> None:
    """`cf.service` rejects a coroutine object the same way (API §1)."""
    with pytest.raises(cf.InvalidArgument, match=r"coroutine object"):
        cf.service(_fetch(1))  # type: ignore[call-overload]


def test_generator_function_provider() -> None:
    """A generator function cannot be a service: `InvalidArgument` suggests streams or
    spread (API §1)."""

    def gen(x: int) -> Any:
        yield x

    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(gen).connect(scope.terminate)

    with pytest.raises(cf.InvalidArgument, match=r"streams"):
        build(wf)


def test_non_callable_build_function() -> None:
    """`Workflow.build`, `then_scope` and `create_scope` need a callable build function
    (API §1)."""
    with pytest.raises(cf.InvalidArgument, match=r"build function"):
        cf.Workflow.build(42)  # type: ignore[arg-type]

    def with_scope(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.create_scope(42)  # type: ignore[arg-type]

    with pytest.raises(cf.InvalidArgument, match=r"build function"):
        build(with_scope)

    def with_then_scope(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then_scope("nope")  # type: ignore[arg-type]

    with pytest.raises(cf.InvalidArgument, match=r"build function"):
        build(with_then_scope)


def test_connect_needs_an_input_slot() -> None:
    """`builder.connect(output, x)` with something that is not an input slot raises
    `InvalidArgument` (API §1 Ports)."""

    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.connect(scope.start, abs)  # type: ignore[arg-type]

    with pytest.raises(cf.InvalidArgument, match=r"InputSlot"):
        build(wf)


def test_bad_names_and_streams() -> None:
    """Names must be strings and stream names identifiers (API §1)."""

    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.create_node(abs, name=3)  # type: ignore[call-overload]

    with pytest.raises(cf.InvalidArgument, match=r"name"):
        build(wf)
    with pytest.raises(cf.InvalidArgument, match=r"identifiers"):
        cf.service(streams={"not an identifier": int})(abs)
    with pytest.raises(cf.InvalidArgument):
        build(lambda s, b: None, streams={"1bad": int})


def test_unzip_size_unknown() -> None:
    """`unzip()` without `n` on an unannotated function is a `BuildError` explaining to pass
    `n` or annotate the return type (API §1)."""

    def wf(scope: cf.Scope[int, Any], builder: cf.Builder) -> None:
        builder.chain(scope.start).map(lambda x: (x, x)).unzip()

    with pytest.raises(cf.BuildError, match=r"n=") as info:
        build(wf)
    assert "annotate" in str(info.value)


def test_unzip_bad_n() -> None:
    """`unzip(n)` needs an int >= 1 (API §1)."""

    def wf(scope: cf.Scope[int, Any], builder: cf.Builder) -> None:
        builder.chain(scope.start).unzip(0)

    with pytest.raises(cf.InvalidArgument):
        build(wf)


# --------------------------------------------------------------------------- decorator forms


def test_workflow_decorator_forms() -> None:
    """`cf.workflow` works bare and with keywords; `Workflow.build` is the same without the
    decorator; the default name is the build function's name (API §1)."""

    @cf.workflow
    def bare(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.connect(scope.start, scope.terminate)

    @cf.workflow(name="named", streams={"s": int})
    def with_options(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.connect(scope.start, scope.terminate)

    def fn(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.connect(scope.start, scope.terminate)

    built = cf.Workflow.build(fn, name="pie")
    assert isinstance(bare, cf.Workflow) and bare.name == "bare"
    assert with_options.name == "named"
    assert with_options.streams == {"s": int}
    assert built.name == "pie"
    assert bare.run_sync(3) == 3


@pytest.mark.parametrize("kind", ["service", "workflow"])
def test_map_takes_functions_and_points_services_to_then(kind: str) -> None:
    """`chain.map()` takes a plain or async function; a service or a workflow given to it is
    rejected with `InvalidArgument`, pointing to `chain.then()` (API §1)."""
    echo = cf.Workflow.build(lambda s, b: b.connect(s.start, s.terminate), name="echo")
    provider: object = cf.service(lambda x: x) if kind == "service" else echo

    def build(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).map(provider).connect(scope.terminate)  # type: ignore[call-overload]

    with pytest.raises(cf.InvalidArgument, match=r"use chain\.then\(\)"):
        cf.Workflow.build(build)
