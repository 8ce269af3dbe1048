"""Every operation can be named where it is made (API §1, §10): the name is what events,
causes, pictures and `workflow.graph` call it; without one it is `kind#N`; a name taken
twice in a scope gets `#2`; a name that is not a non-empty str is refused at once."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

import crossflow as cf

pytestmark = pytest.mark.anyio


def named_everything(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
    """One operation of each kind that can be named, each named after its kind."""
    items: cf.Buffer[int] = builder.create_buffer(name="items")
    clone = builder.create_fork_clone(name="copy")
    builder.connect(scope.start, clone.input)
    unzip = builder.create_unzip(2, name="pair")
    result = builder.create_fork_result(name="checked")
    option = builder.create_fork_option(name="maybe")
    collect = builder.create_collect(name="gather")
    split = builder.create_split(keys=["a"], name="parts")
    builder.create_cancel(name="stop")
    builder.create_quiet_cancel(name="hush")
    builder.create_gate_open(items, name="open up")
    builder.create_gate_close(items, name="shut")
    builder.create_trim(cf.TrimBranch.single_point(collect), name="cut")
    chain = builder.chain(clone.clone_output()).spread(name="each")
    chain.collect(name="again").collect_all(name="all").collect_n(1, name="one").dispose()
    keyed = builder.chain(clone.clone_output()).with_access(items, name="keyed")
    keyed.then_access(items, name="keys").dispose()
    builder.chain(clone.clone_output()).fork_clone(
        lambda c: c.connect(scope.terminate), lambda c: c.dispose(), name="copy"
    )
    del unzip, result, option, split


def test_every_kind_takes_a_name() -> None:
    """API §10: the names given are the names in the graph, a repeated one with `#2`
    (most of them are connected to nothing, which the build warns about by name)."""
    with pytest.warns(cf.UnreachableWarning, match="'pair', 'checked', 'maybe'"):
        graph = cf.Workflow.build(named_everything, name="names").graph
    kinds = {op.name: op.kind for op in graph}
    assert {
        "copy": "fork_clone",
        "copy#2": "fork_clone",
        "pair": "unzip",
        "checked": "fork_result",
        "maybe": "fork_option",
        "gather": "collect",
        "parts": "split",
        "stop": "cancel",
        "hush": "cancel",
        "open up": "gate",
        "shut": "gate",
        "cut": "trim",
        "each": "spread",
        "again": "collect",
        "all": "collect",
        "one": "collect",
        "keyed": "access",
        "keys": "access",
    }.items() <= kinds.items()


async def test_a_named_cancel_is_named_in_its_cause() -> None:
    """S2.2, API §4: a `Triggered` cause names the cancel operation by its given name."""

    def build(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.connect(scope.start, builder.create_cancel(name="give up"))

    with anyio.fail_after(10), pytest.raises(cf.WorkflowCancelled) as caught:
        await cf.Workflow.build(build, name="quitter").run(3)
    assert caught.value.cancellation.cause == cf.Triggered("give up", "3")


@pytest.mark.parametrize("bad", [5, b"x", "", ("a",)])
def test_a_name_that_is_not_a_non_empty_str_is_refused(bad: Any) -> None:
    """API §1: a bad name is an InvalidArgument naming the call, raised where it is given."""
    seen: list[str] = []

    def build(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        for make in (
            lambda: builder.create_fork_clone(name=bad),
            lambda: builder.create_cancel(name=bad),
            lambda: builder.chain(scope.start).spread(name=bad),
            lambda: builder.create_collect(name=bad),
        ):
            with pytest.raises(cf.InvalidArgument, match=r"name"):
                make()
            seen.append("refused")
        builder.chain(scope.start).connect(scope.terminate)

    cf.Workflow.build(build, name="strict")
    assert seen == ["refused"] * 4


async def test_named_filters_and_cancels_name_their_causes() -> None:
    """API §1, §4: a filter's `name` is the operation a `Filtered` disposal or cancellation
    names, and a chain's cancel is named in its `Triggered` cause."""

    def build(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        chain = builder.chain(scope.start).map(lambda x: None if x > 5 else x)
        chain.cancel_on_none(name="too big").then_cancel(name="halt")

    with anyio.fail_after(10), pytest.raises(cf.WorkflowCancelled) as caught:
        await cf.Workflow.build(build, name="limits").run(9)
    cause = caught.value.cancellation.cause
    assert isinstance(cause, cf.Filtered) and cause.operation == "too big", cause
    with anyio.fail_after(10), pytest.raises(cf.WorkflowCancelled) as caught:
        await cf.Workflow.build(build, name="limits").run(1)
    assert caught.value.cancellation.cause == cf.Triggered("halt", "1")


def test_every_filter_takes_a_name() -> None:
    """API §10: each filter step of a chain takes `name=`, and the graph shows it."""

    def build(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        chain: cf.Chain[Any] = builder.chain(scope.start)
        chain = chain.cancel_on_err(name="a").dispose_on_err(name="b").dispose_on_ok(name="c")
        chain = chain.cancel_on_none(name="d").dispose_on_none(name="e")
        chain = chain.dispose_on_some(name="f").trigger(name="g").noop(name="h")
        chain = chain.cancellation_filter(lambda x: x, name="i")
        chain.disposal_filter(lambda x: x, name="j").then_quiet_cancel(name="k")

    graph = cf.Workflow.build(build, name="filters").graph
    named = {op.name: op.kind for op in graph if len(op.name) == 1}
    assert named == dict.fromkeys("abcdefghij", "filter") | {"k": "cancel"}
    settings = graph["j"].settings
    assert isinstance(settings, cf.FilterSettings) and settings.mode == "disposal_filter"
