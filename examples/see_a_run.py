"""See a workflow and its run: the pictures crossflow draws (how-to "See a workflow and
its run").

An order is checked item by item, priced, and paid for in a nested scope that releases
the payment hold if it is cancelled. Run it to print the workflow as Mermaid text, the
progress of a paid order and the cause of a declined one; given a directory, it also
writes the three pictures there:

    python examples/see_a_run.py [OUTPUT_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

import anyio

import crossflow as cf

# --8<-- [start:build]
PRICES = {"apple": 0.5, "flour": 2.0, "butter": 3.0, "oven": 250.0}


class PaymentDeclined(Exception):
    """The card was declined."""


async def check_stock(item: str) -> str | None:
    await anyio.lowlevel.checkpoint()  # a call to the warehouse
    return item if item in PRICES else None


def total(items: list[str]) -> float:
    return sum(PRICES[item] for item in items)


def charge(amount: float) -> str:
    if amount > 100:
        raise PaymentDeclined(f"{amount:.2f} is over the card's limit")
    return f"paid {amount:.2f}"


def payment(scope: cf.Scope[float, str], builder: cf.Builder) -> None:
    builder.chain(scope.start).map(charge).connect(scope.terminate)
    builder.on_cancel((), lambda s, b: b.chain(s.start).connect(s.terminate))


@cf.workflow
def order(scope: cf.Scope[list[str], str], builder: cf.Builder) -> None:
    (
        builder.chain(scope.start)
        .spread()
        .then(check_stock)
        .dispose_on_none()
        .collect(min=1)
        .map(total)
        .then_scope(payment, name="payment")
        .connect(scope.terminate)
    )


# --8<-- [end:build]


def pictures() -> dict[str, str]:
    """The workflow's picture, and the pictures of a paid and of a declined order."""
    drawn = {"order.svg": order.to_svg()}

    async def paid() -> None:
        async with order.start(["apple", "flour", "butter"]) as session:
            await session.result()
        drawn["order_paid.svg"] = session.to_svg()

    anyio.run(paid)
    try:
        order.run_sync(["apple", "oven", "cheese"])
    except cf.WorkflowCancelled as cancelled:
        drawn["order_declined.svg"] = cancelled.to_svg()
    return drawn


def main(out: Path | None) -> None:
    # --8<-- [start:run]
    print(order.to_mermaid())  # also: order.to_dot(), order.to_svg()

    async def paid() -> None:
        async with order.start(["apple", "flour", "butter"]) as session:
            print(await session.result())
        print(session.progress())  # what a progress display reads
        print(session.events)  # the event log, with times from the run's start

    anyio.run(paid)
    try:
        order.run_sync(["apple", "oven", "cheese"])
    except cf.WorkflowCancelled as cancelled:
        print(cancelled.cancellation.root_cause())
        picture = cancelled.to_svg()  # the run drawn over the workflow
        print(f"{len(picture.splitlines())} lines of SVG")
    # --8<-- [end:run]
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for name, svg in pictures().items():
            (out / name).write_text(svg, encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else None)
