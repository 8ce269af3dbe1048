"""`assert_completes` and `assert_cancelled`: clear messages when a run did not end as expected."""

from __future__ import annotations

import anyio
import pytest

import crossflow as cf
from crossflow.testing import assert_cancelled, assert_completes

pytestmark = pytest.mark.anyio


@cf.workflow
def echo(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
    builder.connect(scope.start, scope.terminate)


@cf.workflow
def refuse(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
    builder.chain(scope.start).then_cancel()


async def forever(_: int) -> int:
    await anyio.sleep_forever()
    raise AssertionError("unreachable")


@cf.workflow
def hang(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
    builder.chain(scope.start).then(forever).connect(scope.terminate)


async def test_assert_completes_returns_the_response() -> None:
    """A run that responds gives its response."""
    assert await assert_completes(echo, 3) == 3


async def test_assert_completes_explains_a_cancellation() -> None:
    """A cancelled run fails the assertion with the cancellation's cause."""
    with pytest.raises(AssertionError, match=r"expected 'refuse' to respond to 3.*cancelled"):
        await assert_completes(refuse, 3)


async def test_assert_cancelled_returns_the_exception() -> None:
    """A cancelled run gives the `WorkflowCancelled`, to inspect its cause."""
    error = await assert_cancelled(refuse, 3)
    assert isinstance(error.cancellation.cause, cf.Triggered)
    assert error.cancellation.cause.value == "3"


async def test_assert_cancelled_explains_a_response() -> None:
    """A run that responds fails the assertion with the response."""
    with pytest.raises(AssertionError, match="but it responded 3"):
        await assert_cancelled(echo, 3)


@pytest.mark.parametrize("helper", [assert_completes, assert_cancelled])
async def test_a_run_that_does_not_end_fails_after_the_timeout(helper: object) -> None:
    """A run that never ends fails the assertion once `timeout` has passed."""
    assert callable(helper)
    with pytest.raises(AssertionError, match=r"did not end within 0.01 s"):
        await helper(hang, 1, timeout=0.01)
