"""Workflows that use every kind of operation, shared by the tests of the graph model
and of what is drawn from it."""

from __future__ import annotations

from typing import Any

import anyio.lowlevel

import crossflow as cf

TRY_CANCEL = cf.CancellationPolicy.TRY_CANCEL


def double(x: int) -> int:
    return x * 2


async def checkpoint(x: Any) -> Any:
    await anyio.lowlevel.checkpoint()
    return x


@cf.service(streams={"progress": float})
def with_progress(x: int, *, streams: cf.Streams) -> int:
    streams.progress.send(0.5)
    return x


def drain(keys: dict[str, cf.BufferKey[Any]]) -> int:
    with keys["items"].access() as view:
        return len(view.drain())


def innermost(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
    builder.chain(scope.start).map(double).delay(0, name="wait").connect(scope.terminate)


def middle(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
    builder.chain(scope.start).then_scope(innermost, cancellation=TRY_CANCEL).connect(
        scope.terminate
    )
    builder.on_cancel((), lambda s, b: b.chain(s.start).connect(s.terminate))


def every_kind(scope: cf.Scope[int, Any], builder: cf.Builder) -> None:
    """One of each kind of operation, a scope nested three deep, cleanup workflows."""
    items: cf.Buffer[int] = builder.create_buffer(cf.BufferSettings.keep_all(), name="items")
    last: cf.Buffer[int] = builder.create_buffer(name="last")
    node = builder.chain(scope.start).then_node(with_progress)
    builder.chain(node.streams.progress).connect(scope.streams.progress)
    a, _, _, _ = builder.chain(node.output).fork_clone(
        lambda ch: ch.map(lambda x: (x, x)).unzip(2),
        lambda ch: ch.then(checkpoint).then_push(items).dispose(),
        lambda ch: ch.then_scope(middle).connect(last),
        lambda ch: ch.map(lambda x: cf.Ok(x) if x else cf.Err("zero")).fork_result(
            ok=lambda ok: ok.map(lambda x: x if x > 1 else None).fork_option(
                some=lambda s: s.dispose_on_none().connect(scope.terminate),
                none=lambda n: n.then_cancel(),
            ),
            err=lambda err: err.then_quiet_cancel(),
        ),
    )
    first, second = a
    first.map(lambda x: [x, x + 1]).spread().collect(min=1, max=2).split_outputs(
        keys=(0,), sequence=1
    )
    second.then_gate_open(items).then_trim(cf.TrimBranch.single_point(node)).dispose()
    builder.listen({"items": items}).map(drain).disposal_filter(lambda n: n or None).dispose()
    builder.join((items, last.join_by_cloning())).with_access(last).dispose()
    builder.on_cleanup(items, lambda s, b: b.chain(s.start).connect(s.terminate))


EVERY_KIND = cf.Workflow.build(every_kind, name="every_kind", streams={"progress": float})
