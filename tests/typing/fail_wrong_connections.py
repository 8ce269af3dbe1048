"""Wrong connections are type errors (checked by mypy, never run)."""

from __future__ import annotations

import crossflow as cf


def parse(text: str) -> int:
    return int(text)


def shout(text: str) -> str:
    return text.upper()


@cf.workflow
def wrong_terminate(scope: cf.Scope[str, int], builder: cf.Builder) -> None:
    builder.connect(scope.start, scope.terminate)  # E: Cannot infer value of type parameter
    builder.chain(scope.start).connect(scope.terminate)  # E: incompatible type
    numbers = builder.chain(scope.start).then(parse)
    numbers.then(shout)  # E: has incompatible type "Callable[[str], str]"


@cf.workflow
def wrong_filters(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
    builder.chain(scope.start).cancel_on_err()  # E: Invalid self argument
    builder.chain(scope.start).spread()  # E: Invalid self argument


def count(pair: tuple[str, int]) -> int:
    return pair[1]


@cf.workflow
def wrong_buffers(scope: cf.Scope[str, int], builder: cf.Builder) -> None:
    numbers: cf.Buffer[int] = builder.create_buffer()
    words: cf.Buffer[str] = builder.create_buffer()
    builder.chain(scope.start).then_push(numbers)  # E: expected "Buffer[str]"
    builder.chain(scope.start).connect(numbers)  # E: expected "Buffer[str]"
    builder.chain(scope.start).then(parse).connect(words)  # E: expected "Buffer[int]"
    pairs = builder.join((numbers, words))
    pairs.then(count)  # E: expected "Callable[[tuple[int, str]],


async def wrong_run() -> None:
    result: str = await wrong_terminate.run("x")  # E: Incompatible types in assignment
    await wrong_terminate.run(3)  # E: incompatible type
