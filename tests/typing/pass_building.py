"""What users see when building and running workflows (checked by mypy, never run)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import assert_type

import crossflow as cf


def parse(text: str) -> int:
    return int(text)


async def fetch(n: int) -> bytes:
    return b"x" * n


def check(n: int) -> cf.Result[int, str]:
    return cf.Ok(n) if n > 0 else cf.Err("not positive")


def maybe(n: int) -> int | None:
    return n or None


@cf.service(streams={"progress": float})
def bake(n: int, *, streams: cf.Streams) -> str:
    streams.progress.send(0.5)
    return str(n)


@cf.workflow
def fetcher(scope: cf.Scope[str, bytes], builder: cf.Builder) -> None:
    chain = builder.chain(scope.start)
    assert_type(chain, cf.Chain[str])
    numbers = chain.then(parse)
    assert_type(numbers, cf.Chain[int])
    data = numbers.then(fetch)
    assert_type(data, cf.Chain[bytes])
    data.connect(scope.terminate)


assert_type(fetcher, cf.Workflow[str, bytes])


@cf.workflow(name="pipeline")
def pipeline(scope: cf.Scope[str, list[bytes]], builder: cf.Builder) -> None:
    nested = builder.chain(scope.start).then(fetcher)
    assert_type(nested, cf.Chain[bytes])
    nested.map(lambda b: [b]).connect(scope.terminate)


assert_type(pipeline, cf.Workflow[str, list[bytes]])


@cf.workflow
def results(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
    checked = builder.chain(scope.start).then(check)
    assert_type(checked, cf.Chain[cf.Ok[int] | cf.Err[str]])
    ok = checked.branch_for_err(lambda err: err.map(len).connect(scope.terminate))
    assert_type(ok, cf.Chain[int])
    ok.then(maybe).cancel_on_none().connect(scope.terminate)


@cf.workflow
def collecting(scope: cf.Scope[list[int], list[str]], builder: cf.Builder) -> None:
    items = builder.chain(scope.start).spread()
    assert_type(items, cf.Chain[int])
    node = items.then_node(bake)
    assert_type(node, cf.Node[int, str])
    builder.chain(node.output).collect_all().connect(scope.terminate)
    assert_type(builder.chain(scope.start).collect_n(2), cf.Chain[list[list[int]]])


@cf.workflow
def pairs(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
    a, b = builder.chain(scope.start).map(lambda x: (x, str(x))).unzip()
    assert_type(a, cf.Chain[int])
    assert_type(b, cf.Chain[str])
    b.dispose()
    inner = a.then_scope(_double)
    assert_type(inner, cf.Chain[int])
    inner.connect(scope.terminate)


def _double(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
    builder.chain(scope.start).map(lambda x: x * 2).connect(scope.terminate)


@dataclass
class Labelled:
    number: int
    label: str


def describe(pair: tuple[int, str]) -> str:
    return f"{pair[1]}={pair[0]}"


def newest(key: cf.BufferKey[int]) -> int | None:
    with key.access() as view:
        assert_type(view, cf.BufferView[int])
        assert_type(len(view), int)
        assert_type(view.push(3), int | None)
        assert_type(view.drain(), list[int])
        return view.newest()


def record(request: tuple[str, cf.BufferKey[int]]) -> str:
    text, key = request
    with key.access() as view:
        view.push(len(text))
    return text


@cf.workflow
def buffered(scope: cf.Scope[int, str], builder: cf.Builder) -> None:
    numbers: cf.Buffer[int] = builder.create_buffer(cf.BufferSettings.keep_all())
    labels: cf.Buffer[str] = builder.create_buffer(name="labels")
    a, b = builder.chain(scope.start).map(lambda x: (x, str(x))).unzip()
    a.connect(numbers)
    builder.connect(b.output(), labels)
    pairs = builder.join((numbers, labels.join_by_cloning()))
    assert_type(pairs, cf.Chain[tuple[int, str]])
    pairs.then(describe).connect(scope.terminate)
    objects = builder.join({"number": numbers, "label": labels}, into=Labelled)
    assert_type(objects, cf.Chain[Labelled])
    objects.map(lambda obj: obj.label).connect(scope.terminate)
    keys = builder.listen(numbers)
    assert_type(keys, cf.Chain[cf.BufferKey[int]])
    keys.then(newest).dispose_on_none().map(str).connect(scope.terminate)
    both = builder.listen((numbers, labels))
    assert_type(both, cf.Chain[tuple[cf.BufferKey[int], cf.BufferKey[str]]])
    both.dispose()
    texts = builder.chain(scope.start).map(str)
    accessed = texts.with_access(numbers)
    assert_type(accessed, cf.Chain[tuple[str, cf.BufferKey[int]]])
    pushed = accessed.then(record).map(len).then_push(numbers)
    assert_type(pushed, cf.Chain[None])
    pushed.then_gate_open(numbers).then_gate_close(labels).dispose()


async def main() -> None:
    data = await fetcher.run("3")
    assert_type(data, bytes)
    assert_type(pipeline.run_sync("2"), list[bytes])
    try:
        await results.run(1)
    except cf.WorkflowCancelled as error:
        assert_type(error.cancellation, cf.Cancellation)
