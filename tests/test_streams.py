"""Streams: services that send several messages, and scopes that forward them (API §1;
S1.6, S3, S8.2)."""

from __future__ import annotations

from typing import Any

import anyio
import anyio.lowlevel
import pytest

import crossflow as cf
from crossflow.testing import assert_completes as run

pytestmark = pytest.mark.anyio


def recorder(log: list[Any]) -> Any:
    def record(x: Any) -> Any:
        log.append(x)
        return x

    return record


@cf.service(streams={"count": int})
def count_blocking(n: int, *, streams: cf.Streams) -> int:
    for i in range(n):
        streams.count.send(i)
    return n


@cf.service(streams={"count": int})
async def count_async(n: int, *, streams: cf.Streams) -> int:
    for i in range(n):
        streams.count.send(i)
        await anyio.lowlevel.checkpoint()
    return n


@pytest.mark.parametrize("service", [count_blocking, count_async], ids=["blocking", "async"])
async def test_counting_stream(service: cf.Service[int, int]) -> None:
    """A service sends `0..n-1` on its stream and answers `n`; the stream reaches its target
    in order (ST-1, S8.2)."""
    log: list[int] = []

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        node: cf.Node[int, int] = builder.create_node(service)
        builder.connect(scope.start, node.input)
        builder.chain(node.streams.count).map(recorder(log)).dispose()
        builder.connect(node.output, scope.terminate)

    assert await run(wf, 10) == 10
    assert log == list(range(10))


@cf.service(streams={"u": int, "i": int, "f": float})
def parse(text: str, *, streams: cf.Streams) -> None:
    try:
        value = int(text)
    except ValueError:
        pass
    else:
        if value >= 0:
            streams.u.send(value)
        streams.i.send(value)
    try:
        streams.f.send(float(text))
    except ValueError:
        pass


@pytest.mark.parametrize(
    ("text", "u", "i", "f"),
    [
        ("5", [5], [5], [5.0]),
        ("-2", [], [-2], [-2.0]),
        ("6.7", [], [], [6.7]),
        ("hello", [], [], []),
    ],
)
async def test_three_typed_streams(text: str, u: list[int], i: list[int], f: list[float]) -> None:
    """Each declared stream carries only what was sent on it (ST-2)."""
    logs: dict[str, list[Any]] = {"u": [], "i": [], "f": []}

    @cf.workflow
    def wf(scope: cf.Scope[str, None], builder: cf.Builder) -> None:
        node: cf.Node[str, None] = builder.chain(scope.start).then_node(parse)
        for name, log in logs.items():
            builder.chain(getattr(node.streams, name)).map(recorder(log)).dispose()
        builder.connect(node.output, scope.terminate)

    assert await run(wf, text) is None
    assert logs == {"u": u, "i": i, "f": f}


async def test_async_streams_are_delivered_while_the_task_runs() -> None:
    """An async service's stream message is delivered while the service still runs: the
    service waits for the downstream operation to have seen it (S8.2)."""
    seen = anyio.Event()

    @cf.service(streams={"s": int})
    async def ping(x: int, *, streams: cf.Streams) -> int:
        streams.s.send(x)
        await seen.wait()
        return x + 1

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        node = builder.chain(scope.start).then_node(ping)
        builder.chain(node.streams.s).map(lambda _: seen.set()).dispose()
        builder.connect(node.output, scope.terminate)

    assert await run(wf, 1) == 2


# --------------------------------------------------------------------------- scope stream-out


async def test_nested_scope_streams() -> None:
    """A nested scope's stream-out messages appear on the scope operation's stream output in
    the parent, in order (NS-8, S1.6)."""
    log: list[int] = []

    @cf.service(streams={"s": int})
    def emit(xs: list[int], *, streams: cf.Streams) -> int:
        for x in xs:
            streams.s.send(x)
        return len(xs)

    def child(scope: cf.Scope[list[int], int], builder: cf.Builder) -> None:
        node: cf.Node[list[int], int] = builder.chain(scope.start).then_node(emit)
        builder.connect(node.streams.s, scope.streams.s)
        builder.connect(node.output, scope.terminate)

    @cf.workflow
    def wf(scope: cf.Scope[list[int], int], builder: cf.Builder) -> None:
        node = builder.create_scope(child, streams={"s": int})
        builder.connect(scope.start, node.input)
        builder.chain(node.streams.s).map(recorder(log)).dispose()
        builder.connect(node.output, scope.terminate)

    assert await run(wf, [5, 10, -3]) == 3
    assert log == [5, 10, -3]


async def test_workflow_node_streams() -> None:
    """A workflow declared with `streams=` forwards its stream-out messages to the stream
    outputs of a node that runs it, also when doubly nested (NS-8, ST-3, S1.6)."""
    log: list[str] = []

    @cf.service(streams={"text": str})
    def echo(xs: list[str], *, streams: cf.Streams) -> None:
        for x in xs:
            streams.text.send(x)

    @cf.workflow(streams={"text": str})
    def inner(scope: cf.Scope[list[str], None], builder: cf.Builder) -> None:
        node: cf.Node[list[str], None] = builder.chain(scope.start).then_node(echo)
        builder.connect(node.streams.text, scope.streams.text)
        builder.connect(node.output, scope.terminate)

    @cf.workflow(streams={"text": str})
    def middle(scope: cf.Scope[list[str], None], builder: cf.Builder) -> None:
        node = builder.chain(scope.start).then_node(inner)
        builder.connect(node.streams.text, scope.streams.text)
        builder.connect(node.output, scope.terminate)

    @cf.workflow
    def outer(scope: cf.Scope[list[str], None], builder: cf.Builder) -> None:
        node = builder.create_node(middle)
        builder.connect(scope.start, node.input)
        builder.chain(node.streams.text).map(recorder(log)).dispose()
        builder.connect(node.output, scope.terminate)

    assert inner.streams == {"text": str}
    assert await run(outer, ["5", "10", "hello"]) is None
    assert log == ["5", "10", "hello"]


async def test_create_scope_streams() -> None:
    """`create_scope(build_fn, streams=...)` declares the child's stream-outs; a message the
    fork sends straight to the stream-out, ahead of terminate, reaches the parent (API §1,
    S8.1, S8.3)."""
    log: list[int] = []

    def child(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).fork_clone(
            lambda c: c.connect(scope.streams.hundred),
            lambda c: c.connect(scope.terminate),
        )

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        node = builder.create_scope(child, streams={"hundred": int})
        builder.connect(scope.start, node.input)
        builder.chain(node.streams.hundred).map(recorder(log)).dispose()
        builder.connect(node.output, scope.terminate)

    assert await run(wf, 2) == 2
    assert log == [2]


async def test_root_workflow_streams_do_not_disturb_run() -> None:
    """A root workflow with streams answers `run` normally (its stream messages are for
    sessions, API §3) (S1.6)."""

    @cf.workflow(streams={"s": int})
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).fork_clone(
            lambda c: c.connect(scope.streams.s),
            lambda c: c.map(lambda x: x + 1).connect(scope.terminate),
        )

    assert await run(wf, 1) == 2


# --------------------------------------------------------------------------- errors


def test_unknown_stream_names() -> None:
    """Asking for a stream that was not declared raises `AttributeError` listing the
    declared ones (API §1)."""

    def build(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        node = builder.create_node(count_blocking)
        node.streams.nope  # noqa: B018

    with pytest.raises(AttributeError, match=r"'nope'.*count"):
        cf.Workflow.build(build)

    def build_scope(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        scope.streams.nope  # noqa: B018

    with pytest.raises(AttributeError, match=r"'nope'"):
        cf.Workflow.build(build_scope, streams={"s": int})


async def test_sending_on_an_undeclared_stream_fails_the_service() -> None:
    """Inside a service, `streams.<undeclared>` raises, which is a service failure
    (`ServiceFailed`, S4.3)."""

    @cf.service(streams={"s": int})
    def wrong(x: int, *, streams: cf.Streams) -> int:
        streams.other.send(x)
        return x

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(wrong).connect(scope.terminate)

    with anyio.fail_after(5):
        with pytest.raises(cf.WorkflowCancelled) as info:
            await wf.run(1)
    cause = info.value.cancellation.cause
    assert isinstance(cause, cf.ServiceFailed)
    assert isinstance(cause.error, AttributeError)


def test_service_attributes() -> None:
    """`cf.service` keeps the function, its default name and declared streams (API §1)."""

    def bake(x: int, *, streams: cf.Streams) -> int:
        return x

    svc = cf.service(streams={"progress": float}, name="oven")(bake)
    assert isinstance(svc, cf.Service)
    assert svc.fn is bake
    assert svc.name == "oven"
    assert svc.streams == {"progress": float}

    def plain(x: int) -> int:
        return x

    assert cf.service(plain).name == plain.__qualname__
    assert cf.service(plain).streams == {}
