"""The code of the how-to "Test that your cleanup always runs" (docs/how-to/test-cleanup.md),
run as tests (API §11): a booking workflow whose cleanup releases the seat it holds,
explored at every point; a broken variant that explore catches; time skipping; points
drawn by hypothesis.
"""

from __future__ import annotations

# --8<-- [start:imports]
import anyio
import pytest
from hypothesis import given
from trio.testing import MockClock

import crossflow as cf
from crossflow import testing as cft

# --8<-- [end:imports]
# --8<-- [start:fixture]
pytestmark = pytest.mark.anyio


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> object:
    """Both backends; trio with a clock that can skip time."""
    if request.param == "trio":
        return ("trio", {"clock": MockClock(rate=1.0)})
    return "asyncio"


# --8<-- [end:fixture]
# --8<-- [start:workflow]
class Seats:
    """A seat-booking service (here a fake one): the orders that hold a seat."""

    def __init__(self) -> None:
        self.held: set[str] = set()


def booking(seats: Seats) -> cf.Workflow[str, str]:
    """Hold a seat for an order, take the payment, confirm; release the seat if cancelled."""

    def hold(todo: tuple[str, cf.BufferKey[str]]) -> str:
        order, key = todo
        seats.held.add(order)
        with key.access() as orders:  # remembered for the cleanup, in the same step
            orders.push(order)
        return order

    async def pay(order: str) -> str:
        await anyio.sleep(30)  # the payment provider takes its time
        return f"{order}: paid"

    def release(key: cf.BufferKey[str]) -> None:
        with key.access() as orders:
            for order in orders.drain():
                seats.held.discard(order)

    def clean_up(scope: cf.Scope[cf.BufferKey[str], None], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(release, name="release").connect(scope.terminate)

    @cf.workflow(name="booking")
    def workflow(scope: cf.Scope[str, str], builder: cf.Builder) -> None:
        orders: cf.Buffer[str] = builder.create_buffer(name="orders")
        builder.on_cancel(orders, clean_up)
        (
            builder.chain(scope.start)
            .with_access(orders)
            .then(hold, name="hold")
            .then(pay, name="pay")
            .map(lambda receipt: f"{receipt}, confirmed", name="confirm")
            .connect(scope.terminate)
        )

    return workflow


# --8<-- [end:workflow]
# --8<-- [start:explore]
class Bookings:
    """A fresh seat service and workflow for each run; `check` looks at that run's seats."""

    def __init__(self) -> None:
        self.seats = Seats()

    def workflow(self) -> cf.Workflow[str, str]:
        self.seats = Seats()
        return booking(self.seats)

    def check(self, outcome: cft.Outcome[str]) -> None:
        if outcome.responded:
            assert self.seats.held == {"order-1"}
        else:
            assert self.seats.held == set(), f"seats left held: {self.seats.held}"


async def test_no_seat_is_left_held() -> None:
    """Cancelled at any moment, or with any step failing, the booking holds no seat."""
    bookings = Bookings()
    report = await cft.explore(bookings.workflow, "order-1", check=bookings.check)
    assert report.points == 13  # 10 cancel points, 3 failure points (hold, pay, confirm)


# --8<-- [end:explore]
def test_the_report_says_what_was_tried() -> None:
    """The how-to prints the report of an exploration."""
    bookings = Bookings()
    report = cft.explore_sync(bookings.workflow, "order-1", check=bookings.check)
    # --8<-- [start:report]
    assert str(report) == (
        "explored 'booking' on asyncio in virtual time: 14 runs, "
        "10 cancel points and 3 failure points; every check passed"
    )
    # --8<-- [end:report]


# --8<-- [start:broken]
def forgetful_booking(seats: Seats) -> cf.Workflow[str, str]:
    """The same booking, but the seat is held in one step and remembered in the next."""

    def hold(order: str) -> str:
        seats.held.add(order)
        return order

    def remember(todo: tuple[str, cf.BufferKey[str]]) -> str:
        order, key = todo
        with key.access() as orders:
            orders.push(order)
        return order

    def release(key: cf.BufferKey[str]) -> None:
        with key.access() as orders:
            for order in orders.drain():
                seats.held.discard(order)

    def clean_up(scope: cf.Scope[cf.BufferKey[str], None], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(release, name="release").connect(scope.terminate)

    @cf.workflow(name="booking")
    def workflow(scope: cf.Scope[str, str], builder: cf.Builder) -> None:
        orders: cf.Buffer[str] = builder.create_buffer(name="orders")
        builder.on_cancel(orders, clean_up)
        (
            builder.chain(scope.start)
            .then(hold, name="hold")
            .with_access(orders)
            .then(remember, name="remember")
            .connect(scope.terminate)
        )

    return workflow


class ForgetfulBookings(Bookings):
    """`Bookings` of the forgetful workflow."""

    def workflow(self) -> cf.Workflow[str, str]:
        self.seats = Seats()
        return forgetful_booking(self.seats)


async def test_explore_finds_the_gap() -> None:
    """Held in one step and remembered in the next: cancelled in between, a seat is lost."""
    bookings = ForgetfulBookings()
    with pytest.raises(cft.ExplorationFailed) as caught:
        await cft.explore(bookings.workflow, "order-1", check=bookings.check)
    assert str(caught.value.point) == "cancelled right after `hold` started, in session booking"
    # --8<-- [end:broken]
    message = str(caught.value).splitlines()
    events = message[message.index("the events of that run:") :]
    # --8<-- [start:message]
    assert message[:2] == [
        "'booking' failed its check at cancel point 2 of 8: cancelled right after `hold` "
        f"started, in session booking ({caught.value.outcome.backend})",
        "    AssertionError: seats left held: {'order-1'}",
    ]
    assert events == [
        "the events of that run:",
        "  booking: SessionStarted: scope 'booking'",
        "  booking: OperationStarted: hold    <-- cancelled here",
        "  booking: OperationFinished: hold",
        "  booking: CancellationRequested: cancelled from outside: no reason given",
        "  booking: CleanupStarted: cancelled: cancelled from outside: no reason given",
        "  booking/on_cancel[0]: SessionStarted: scope 'booking/on_cancel#1'",
        "  booking/on_cancel[0]: OperationStarted: release",
        "  booking/on_cancel[0]: OperationFinished: release",
        "  booking/on_cancel[0]: CleanupStarted: after terminate",
        "  booking/on_cancel[0]: CleanupFinished",
        "  booking/on_cancel[0]: Terminated",
        "  booking: CleanupFinished",
        "  booking: Cancelled: cancelled from outside: no reason given",
    ]
    # --8<-- [end:message]


# --8<-- [start:skipping]
def test_a_booking_takes_no_time() -> None:
    """Half a minute of payment, skipped."""
    assert cft.run_skipping_time(booking(Seats()), "order-1") == "order-1: paid, confirmed"


async def test_the_payment_waits_half_a_minute() -> None:
    """Inside `virtual_clock()`, the wait passes at once, and the clock moves on."""
    with cft.virtual_clock():
        started = anyio.current_time()
        assert await booking(Seats()).run("order-1") == "order-1: paid, confirmed"
        assert anyio.current_time() - started >= 30


# --8<-- [end:skipping]
# --8<-- [start:hypothesis]
bookings = Bookings()
points = cft.cancellation_points(bookings.workflow, "order-1")
failures = cft.failure_points(bookings.workflow, "order-1")


@given(point=points | failures)
async def test_a_drawn_point(point: cft.Point) -> None:
    """At any point hypothesis draws, the booking holds no seat once cancelled."""
    outcome = await cft.run_at(bookings.workflow, "order-1", point, timeout=60)
    bookings.check(outcome)


# --8<-- [end:hypothesis]
