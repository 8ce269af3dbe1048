"""`cft.cancellation_points` and `cft.failure_points` (API §11): hypothesis strategies
that draw the points `explore` tries, to combine with a test's own strategies; a failing
example shrinks to the earliest point. `cft.run_at` runs a workflow at a drawn point."""

from __future__ import annotations

import anyio
import pytest
import virtual_backends
from hypothesis import find, given, settings
from hypothesis import strategies as st

import crossflow as cf
from crossflow import testing as cft
from crossflow.testing._points import event_key

pytestmark = pytest.mark.anyio
anyio_backend = virtual_backends.anyio_backend

TIMEOUT = 120  # seconds of virtual time: a run waits a minute


async def twice(x: int) -> int:
    await anyio.sleep(60)
    return x * 2


@cf.workflow
def doubling(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
    """inc (blocking) -> twice (async, sleeps a minute) -> dec (blocking)."""
    (
        builder.chain(scope.start)
        .map(lambda x: x + 1, name="inc")
        .then(twice)
        .map(lambda x: x - 1, name="dec")
        .connect(scope.terminate)
    )


@cf.workflow
def echo(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
    builder.connect(scope.start, scope.terminate)


@settings(max_examples=30)
@given(
    point=cft.cancellation_points(doubling, 1) | cft.failure_points(doubling, 1),
    request=st.integers(0, 100),
)
async def test_a_drawn_point_is_reached(point: cft.Point, request: int) -> None:
    """API §11: the points drawn are those of a plain run; combined with a drawn request
    (that does not change which events happen), `run_at` interrupts the run there: a
    cancelled run repeats the plain run's events up to its point; a failed one carries the
    injected failure."""
    outcome = await cft.run_at(doubling, request, point, reason="drawn", timeout=TIMEOUT)
    assert outcome.point == point
    if point.kind == "cancel":
        assert event_key(outcome.events[point.index]) == event_key(point.event)
        if not outcome.responded:
            assert outcome.cancellation is not None
            assert outcome.cancellation.cause == cf.UserCancelled("drawn")
        else:
            assert outcome.response == request * 2 + 1
    else:
        assert outcome.cancellation is not None
        cause = outcome.cancellation.cause
        assert isinstance(cause, cf.ServiceFailed)
        assert isinstance(cause.error, cft.InjectedFailure)
        assert cause.error.point == point


def test_points_shrink_to_the_earliest() -> None:
    """API §11: a failing example shrinks towards the earliest point: the least point
    that makes a property fail is the one hypothesis reports."""
    first_async = find(
        cft.cancellation_points(doubling, 1), lambda point: point.operation == "twice"
    )
    assert str(first_async) == "cancelled right after `twice` started, in session doubling"
    latest = find(cft.failure_points(doubling, 1, backend="trio"), lambda p: p.index >= 1)
    assert str(latest) == "`twice` raised an injected failure, in session doubling"


def test_a_workflow_without_services_has_no_failure_points() -> None:
    """`failure_points` of a workflow whose plain run activates no service says so."""
    with pytest.raises(cf.CrossflowError, match="no service activation"):
        find(cft.failure_points(echo, 1), lambda point: True)


@given(data=st.data())
async def test_points_are_not_drawn_inside_a_running_event_loop(data: st.DataObject) -> None:
    """Finding the points runs the workflow in an event loop of its own: drawn inside a
    running one (`data.draw` in an async test), the strategy says to use `@given`."""
    with pytest.raises(cf.CrossflowError, match=r"draw it with @given\(...\)"):
        data.draw(cft.cancellation_points(doubling, 1))


async def test_run_at_rejects_what_is_not_a_point() -> None:
    """`run_at(point=...)` takes a `cft.Point`."""
    with pytest.raises(cf.InvalidArgument, match=r"run_at\(point=...\) takes a cft.Point, got 3"):
        await cft.run_at(doubling, 1, 3)  # type: ignore[arg-type]


def test_strategies_reject_a_bad_backend() -> None:
    """`cf.InvalidArgument` at once, naming the argument."""
    with pytest.raises(cf.InvalidArgument, match=r"backend=\.\.\.\) must be"):
        cft.cancellation_points(doubling, 1, backend="curio")  # type: ignore[arg-type]
