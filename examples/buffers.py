"""Hold state in buffers: join branches, count with keys, open sealed bids, trim a race."""

from __future__ import annotations

from dataclasses import dataclass

import anyio

import crossflow as cf

# --8<-- [start:join]
PRICES_EUR = {"tea": 4.0, "mug": 12.0, "teapot": 30.0}


@dataclass
class Line:
    item: str
    rate: float

    def __str__(self) -> str:
        return f"{self.item} {PRICES_EUR[self.item] * self.rate:.2f}"


async def exchange_rate(currency: str) -> float:
    await anyio.sleep(0.01)  # a slow lookup: the items wait for it in their buffer
    return {"USD": 1.1, "GBP": 0.85}[currency]


@cf.workflow
def price_basket(scope: cf.Scope[tuple[list[str], str], list[str]], builder: cf.Builder) -> None:
    items, currency = builder.chain(scope.start).unzip(2)
    basket: cf.Buffer[str] = builder.create_buffer(cf.BufferSettings.keep_all(), name="basket")
    rate: cf.Buffer[float] = builder.create_buffer(name="rate")
    items.spread().connect(basket)
    currency.then(exchange_rate).connect(rate)
    # one Line per item; every item gets a copy of the same rate
    (
        builder.join({"item": basket, "rate": rate.join_by_cloning()}, into=Line)
        .map(str)
        .collect_all()
        .connect(scope.terminate)
    )


# --8<-- [end:join]
# --8<-- [start:access]
def take_ticket(request: tuple[str, cf.BufferKey[int]]) -> str:
    name, counter = request
    with counter.access() as count:
        number = (count.pull() or 0) + 1
        count.push(number)
    return f"#{number} {name}"


@cf.workflow
def queue_up(scope: cf.Scope[list[str], list[str]], builder: cf.Builder) -> None:
    counter: cf.Buffer[int] = builder.create_buffer(name="counter")
    (
        builder.chain(scope.start)
        .spread()
        .with_access(counter)  # (name, key): each session counts for itself
        .then(take_ticket)
        .collect_all()
        .connect(scope.terminate)
    )


# --8<-- [end:access]
# --8<-- [start:listen]
async def place_bid(bidder: str) -> int:
    await anyio.sleep(0.01 * len(bidder))  # bidders take their time
    return 10 * len(bidder)


def award(key: cf.BufferKey[int]) -> int | None:
    with key.access() as bids:
        if len(bids) < 2:
            return None  # not enough bids to sell: wait for the next change
        return max(bids.drain())


@cf.workflow
def sealed_auction(scope: cf.Scope[list[str], int], builder: cf.Builder) -> None:
    bids: cf.Buffer[int] = builder.create_buffer(cf.BufferSettings.keep_all(), name="bids")
    (
        builder.chain(scope.start)
        .then_gate_close(bids)  # sealed: bids are stored, the listener is not woken
        .spread()
        .then(place_bid)
        .then_push(bids)
        .collect_all()  # every bid is in
        .then_gate_open(bids)  # opening the gate wakes the listener once
        .dispose()
    )
    builder.listen(bids).then(award).dispose_on_none().connect(scope.terminate)


# --8<-- [end:listen]
# --8<-- [start:trim]
async def download(mirror: str) -> str:
    try:
        await anyio.sleep(0.01 if mirror == "near" else 10)
    except anyio.get_cancelled_exc_class():
        print(f"stopped the download from {mirror}")
        raise
    return f"file from {mirror}"


def verify(file: str) -> str:
    print(f"verifying {file}")  # the other download has stopped by now
    return f"verified {file}"


@cf.workflow
def download_fastest(scope: cf.Scope[tuple[str, str], str], builder: cf.Builder) -> None:
    first, second = builder.chain(scope.start).unzip(2)
    a = first.then_node(download)
    b = second.then_node(download)
    # the first file to arrive stops both downloads, then goes on
    trim = builder.create_trim(cf.TrimBranch.single_point(a), cf.TrimBranch.single_point(b))
    builder.connect(a.output, trim.input)
    builder.connect(b.output, trim.input)
    builder.chain(trim.output).then(verify).connect(scope.terminate)


# --8<-- [end:trim]
async def main() -> None:
    print(await price_basket.run((["tea", "mug", "teapot"], "USD")))
    print(await queue_up.run(["ada", "grace", "alan"]))
    print(await sealed_auction.run(["ann", "bob", "carla"]))
    try:
        await sealed_auction.run(["ann"])
    except cf.WorkflowCancelled as err:
        match err.cancellation.cause:
            case cf.Unreachable(disposals=disposals):
                print(f"no sale after {', '.join(type(d.cause).__name__ for d in disposals)}")
    print(await download_fastest.run(("far", "near")))


if __name__ == "__main__":
    anyio.run(main)
