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


async def wrong_run() -> None:
    result: str = await wrong_terminate.run("x")  # E: Incompatible types in assignment
    await wrong_terminate.run(3)  # E: incompatible type
