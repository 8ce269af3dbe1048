"""Clean up after a checkout, finish a payment nobody may cut short, let the latest search win."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import anyio

import crossflow as cf

K = TypeVar("K")


# --8<-- [start:cleanup]
def calling(fn: Callable[[K], None]) -> Callable[[cf.Scope[K, None], cf.Builder], None]:
    """A cleanup workflow that calls `fn` with the keys it receives."""

    def build(scope: cf.Scope[K, None], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(fn).connect(scope.terminate)

    return build


def reserve(item: str) -> str:
    print(f"reserved {item}")
    return item


async def charge(card: str) -> str:
    await anyio.sleep(0.01)
    if card == "0000":
        raise PermissionError("card declined")
    return f"paid with card {card}"


def ship(key: cf.BufferKey[str]) -> None:
    with key.access() as held:
        print(f"shipped {', '.join(held.drain())}")


def release(key: cf.BufferKey[str]) -> None:
    with key.access() as held:
        for item in held.drain():
            if item == "teapot":
                raise ConnectionError("the teapot shelf is offline")
            print(f"released {item}")


def close(key: cf.BufferKey[str]) -> None:
    print("checkout closed")


@cf.workflow
def checkout(scope: cf.Scope[tuple[list[str], str], str], builder: cf.Builder) -> None:
    held: cf.Buffer[str] = builder.create_buffer(cf.BufferSettings.keep_all(), name="held")
    items, card = builder.chain(scope.start).unzip(2)
    items.spread().then(reserve).connect(held)
    card.then(charge).connect(scope.terminate)
    # they run once the session's operations are cleaned up, before its outcome
    builder.on_terminate(held, calling(ship))
    builder.on_cancel(held, calling(release))
    builder.on_cleanup(held, calling(close))


# --8<-- [end:cleanup]
# --8<-- [start:uninterruptible]
async def capture(amount: float) -> str:
    print(f"capturing {amount:.2f}")
    await anyio.sleep(0.1)  # the bank is slow, and this must not be cut short
    print(f"captured {amount:.2f}")
    return f"receipt for {amount:.2f}"


def send_receipt(key: cf.BufferKey[str]) -> None:
    with key.access() as receipts:
        print(f"sent {receipts.pull()}")


def report(key: cf.BufferKey[float]) -> None:
    with key.access() as pending:
        print(f"checkout of {pending.pull():.2f} interrupted")


def capture_payment(scope: cf.Scope[float, str], builder: cf.Builder) -> None:
    receipts: cf.Buffer[str] = builder.create_buffer(name="receipts")
    builder.chain(scope.start).then(capture).fork_clone(
        lambda receipt: receipt.connect(receipts),
        lambda receipt: receipt.connect(scope.terminate),
    )
    builder.on_terminate(receipts, calling(send_receipt))


@cf.workflow
def pay(scope: cf.Scope[float, str], builder: cf.Builder) -> None:
    pending: cf.Buffer[float] = builder.create_buffer(name="pending")
    builder.chain(scope.start).fork_clone(
        lambda amount: amount.connect(pending),
        lambda amount: amount.then_scope(
            capture_payment, settings=cf.ScopeSettings(uninterruptible=True)
        ).connect(scope.terminate),
    )
    builder.on_cancel(pending, calling(report))


# --8<-- [end:uninterruptible]
# --8<-- [start:delivery]
WORDS = ["cat", "crane", "crossflow", "crow", "dog"]


@cf.service
async def search(query: str) -> list[str]:
    await anyio.sleep(0.01)
    return [word for word in WORDS if word.startswith(query)]


@cf.workflow
def search_as_you_type(scope: cf.Scope[list[str], list[list[str]]], builder: cf.Builder) -> None:
    # each keystroke supplants the search of the same box that is still queued or running
    latest = search.instruct(label="search box", preempt=True)
    builder.chain(scope.start).spread().then(latest).collect_all().connect(scope.terminate)


@cf.service(serial=True)
async def print_label(order: str) -> str:
    print(f"printing {order}")
    await anyio.sleep(0.01)
    print(f"printed {order}")
    return order


@cf.workflow
def print_labels(scope: cf.Scope[list[str], list[str]], builder: cf.Builder) -> None:
    # one printer for every session: labels are printed one at a time, in arrival order
    builder.chain(scope.start).spread().then(print_label).collect_all().connect(scope.terminate)


# --8<-- [end:delivery]
async def main() -> None:
    print(await checkout.run((["tea", "mug"], "4242")))
    try:
        await checkout.run((["tea", "teapot"], "0000"))
    except cf.WorkflowCancelled as err:
        print(f"cancelled: {err.cancellation.cause}")
        for cleanup in err.cancellation.while_cancelling:
            print(f"while cancelling: {cleanup.cause}")

    with anyio.move_on_after(0.02) as deadline:  # the customer gives up after 20 ms
        await pay.run(46.0)
    print(f"customer gave up: {deadline.cancelled_caught}")

    print(await search_as_you_type.run(["c", "cr", "cro"]))
    print(await print_labels.run(["order 1", "order 2"]))


if __name__ == "__main__":
    anyio.run(main)
