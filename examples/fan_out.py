"""Fan out over a list, run each item in its own nested session, and gather the results."""

from __future__ import annotations

import anyio

import crossflow as cf


@cf.service(streams={"progress": str})
async def fetch_price(item: str, *, streams: cf.Streams) -> float:
    streams.progress.send(f"fetching {item}")
    await anyio.sleep(0.01)
    if item == "unicorn":
        raise LookupError(f"no price for {item!r}")
    return float(len(item))


def per_item(scope: cf.Scope[str, float], builder: cf.Builder) -> None:
    # one child session per item: a failure cancels only that child session
    node = builder.chain(scope.start).then_node(fetch_price)
    builder.chain(node.streams.progress).dispose()
    builder.chain(node.output).map(lambda price: round(price * 1.2, 2)).connect(scope.terminate)


@cf.workflow
def quote(scope: cf.Scope[list[str], list[float]], builder: cf.Builder) -> None:
    # each failed child is a ScopeCancelled disposal here, not a cancellation of the quote
    builder.chain(scope.start).spread().then_scope(per_item).collect_all().connect(scope.terminate)


if __name__ == "__main__":
    print(quote.run_sync(["apple", "pear", "unicorn", "fig"]))
