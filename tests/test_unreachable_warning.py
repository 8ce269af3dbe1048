"""`cf.UnreachableWarning`: a workflow, nested scope or cleanup workflow whose start can
reach neither terminate nor an explicit cancel builds, but warns at build naming the
chains that end nowhere; operations no message can reach are reported too (API §10,
S2.3)."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

import crossflow as cf
from crossflow.testing import assert_cancelled, assert_completes


def double(x: int) -> int:
    return x * 2


def bake(x: int) -> int:
    return x + 1


def only_warning(record: pytest.WarningsRecorder) -> str:
    """The text of the one `UnreachableWarning` recorded."""
    found = [w for w in record if issubclass(w.category, cf.UnreachableWarning)]
    assert len(found) == 1, [str(w.message) for w in found]
    return str(found[0].message)


def test_the_warning_is_a_crossflow_warning() -> None:
    """`cf.UnreachableWarning` is a `cf.CrossflowWarning` (API §10)."""
    assert issubclass(cf.UnreachableWarning, cf.CrossflowWarning)
    assert issubclass(cf.UnreachableWarning, UserWarning)


def test_a_forgotten_terminate_warns_naming_the_chain() -> None:
    """A chain left unconnected warns at build: the message names the workflow, the
    chain from start to where it stops, and how to fix it; the workflow is built
    anyway (API §10, S2.3)."""
    with pytest.warns(cf.UnreachableWarning) as record:

        @cf.workflow
        def pie(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
            builder.chain(scope.start).then(double).then(bake)

    message = only_warning(record)
    assert isinstance(pie, cf.Workflow)
    assert "workflow 'pie'" in message
    assert "start -> 'double' -> 'bake': output 'out' is not connected" in message
    assert "chain.connect(scope.terminate)" in message
    assert "then_cancel()" in message
    assert "S2.3" not in message  # a user cannot look rule numbers up in a message


def test_the_warning_points_at_the_line_that_built_the_workflow() -> None:
    """The warning is attributed to the user's code that built the workflow, not to
    crossflow's internals, however deeply scopes nest (API §10)."""

    def dead(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(double).dispose()

    def outer(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then_scope(dead).connect(scope.terminate)

    with pytest.warns(cf.UnreachableWarning) as record:
        cf.Workflow.build(outer)
    assert record[0].filename == __file__


async def run_cancelled(wf: cf.Workflow[Any, Any], request: Any) -> cf.Cancellation:
    return (await assert_cancelled(wf, request)).cancellation


@pytest.mark.anyio
async def test_a_warned_workflow_still_runs_as_before() -> None:
    """Running a workflow that warned is cancelled with `Unreachable(disposals=())`
    before any operation runs, as without the warning (S2.3)."""
    calls: list[int] = []

    def record(x: int) -> int:
        calls.append(x)
        return x

    with pytest.warns(cf.UnreachableWarning):

        @cf.workflow
        def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
            builder.chain(scope.start).then(record).output()

    cancellation = await run_cancelled(wf, 1)
    assert cancellation.cause == cf.Unreachable("wf", ())
    assert calls == []


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (lambda s, b: b.chain(s.start).then(double).dispose(), "is ended with dispose()"),
        (lambda s, b: None, "start: output 'out' is not connected"),
        (
            lambda s, b: b.chain(s.start).connect(b.create_buffer(name="pans")),
            "no join or listener reads",
        ),
        (
            lambda s, b: b.chain(s.start).fork_option(
                some=lambda c: c.then(double).output(), none=lambda c: c.dispose()
            ),
            "start -> 'fork_option#2' -> 'double': output 'out' is not connected",
        ),
        (
            lambda s, b: b.chain(s.start).then(double).cancel_on_none().dispose(),
            "ended with dispose()",
        ),
    ],
    ids=["dispose", "empty", "unread-buffer", "fork", "implicit-cancel-only"],
)
def test_every_kind_of_dead_end_is_named(body: Any, says: str) -> None:
    """Dead ends are unconnected outputs, outputs ended with `dispose()`, buffers nobody
    reads and forks whose branches end nowhere; an implicit cancel does not count as an
    end (S2.2, S2.3)."""
    with pytest.warns(cf.UnreachableWarning) as record:
        cf.Workflow.build(body, name="wf")
    assert says in only_warning(record)


def test_a_stream_out_is_no_end() -> None:
    """A workflow that only sends stream messages never responds: its stream out is
    named as where the messages go (S1.6, S2.3)."""
    with pytest.warns(cf.UnreachableWarning) as record:
        cf.Workflow.build(
            lambda s, b: b.chain(s.start).connect(s.streams.ticks),
            name="ticker",
            streams={"ticks": int},
        )
    assert "leaves the scope on stream 'ticks'" in only_warning(record)


def test_a_nested_scope_that_ends_nowhere_warns() -> None:
    """A nested scope whose start reaches nothing warns, naming the nested scope (its
    sessions are cancelled and the parent records `ScopeCancelled`) (S1.7, S2.3)."""

    def pricing(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(double).output()

    with pytest.warns(cf.UnreachableWarning) as record:

        @cf.workflow
        def shop(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
            builder.chain(scope.start).then_scope(pricing).connect(scope.terminate)

    message = only_warning(record)
    assert "nested scope 'pricing'" in message
    assert "'double'" in message


def test_a_cleanup_workflow_that_ends_nowhere_warns() -> None:
    """A cleanup workflow whose start reaches nothing warns too: it would be cancelled
    before doing anything (S6.1, S2.3)."""

    def forgets(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(double).output()

    with pytest.warns(cf.UnreachableWarning) as record:

        @cf.workflow
        def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
            builder.connect(scope.start, scope.terminate)
            builder.on_cancel((), forgets)

    assert "cleanup workflow 'wf/on_cancel#1'" in only_warning(record)


def test_operations_no_message_can_reach_are_named() -> None:
    """Operations that nothing connects to `scope.start` never run: the warning names
    them even when the workflow can respond (API §10)."""
    with pytest.warns(cf.UnreachableWarning) as record:

        @cf.workflow
        def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
            island = builder.create_node(double, name="island")
            builder.connect(island.output, scope.terminate)
            builder.chain(scope.start).then(bake).connect(scope.terminate)

    message = only_warning(record)
    assert "no message can ever reach 'island'" in message
    assert "can never reach its end" not in message


def correct_workflows() -> list[cf.Workflow[Any, Any]]:
    """Workflows that are right as they are, some with unusual but valid shapes."""

    def cleanup(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        builder.chain(scope.start).map(lambda _: None).connect(scope.terminate)

    def joined(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        left = builder.create_buffer()
        right = builder.create_buffer()
        builder.chain(scope.start).fork_clone(lambda c: c.connect(left), lambda c: c.connect(right))
        builder.join((left, right)).map(lambda pair: pair[0] + pair[1]).connect(scope.terminate)

    def listened(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        buf: cf.Buffer[int] = builder.create_buffer()
        scratch: cf.Buffer[int] = builder.create_buffer()  # only the cleanup touches it
        builder.chain(scope.start).then_push(buf).dispose()
        builder.listen(buf).map(lambda key: 1).connect(scope.terminate)
        builder.on_cleanup(scratch, cleanup)

    def always_cancels(scope: cf.Scope[str, str], builder: cf.Builder) -> None:
        builder.chain(scope.start).then_cancel()

    def with_unused_stream(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).fork_result(
            ok=lambda c: c.connect(scope.terminate), err=lambda c: c.dispose()
        )

    def looping(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        node = builder.create_node(lambda x: None if x > 3 else x + 1)
        builder.connect(scope.start, node.input)
        builder.chain(node.output).fork_option(
            some=lambda c: c.connect(node.input), none=lambda c: c.connect(scope.terminate)
        )

    return [
        cf.Workflow.build(joined),
        cf.Workflow.build(listened),
        cf.Workflow.build(always_cancels),
        cf.Workflow.build(with_unused_stream, streams={"unused": int}),
        cf.Workflow.build(looping),
    ]


def test_correct_workflows_do_not_warn() -> None:
    """Joins, listeners, buffers kept for cleanup workflows, workflows that always
    cancel, declared streams left unused and loops build without a warning (API §10)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        built = correct_workflows()
    assert len(built) == 5


@pytest.mark.anyio
async def test_correct_workflows_run() -> None:
    """The workflows of `test_correct_workflows_do_not_warn` are really correct: each
    responds or cancels as built (S2.2)."""
    joined, listened, always_cancels, with_unused_stream, looping = correct_workflows()
    assert await assert_completes(joined, 2) == 4
    assert await assert_completes(listened, 2) == 1
    assert isinstance((await run_cancelled(always_cancels, "x")).cause, cf.Triggered)
    assert await assert_completes(with_unused_stream, cf.Ok(3)) == 3
    assert await assert_completes(looping, 0) is None
