"""Run a workflow in a test and say clearly what went wrong when it did not end as expected."""

from __future__ import annotations

from typing import Any, TypeVar

import anyio

import crossflow as cf

Req = TypeVar("Req")
Resp = TypeVar("Resp")


async def assert_completes(
    workflow: cf.Workflow[Req, Resp], request: Req, *, timeout: float = 5.0
) -> Resp:
    """Run `workflow` once and return its response.

    Raises:
        AssertionError: the run was cancelled (the message gives the cause), or did not
            end within `timeout` seconds.
    """
    __tracebackhide__ = True
    try:
        with anyio.fail_after(timeout):
            return await workflow.run(request)
    except cf.WorkflowCancelled as error:
        raise AssertionError(
            f"expected {workflow.name!r} to respond to {request!r}, but it was cancelled: "
            f"{error.cancellation}"
        ) from error
    except TimeoutError:
        raise AssertionError(
            f"{workflow.name!r} did not end within {timeout} s for request {request!r}"
        ) from None


async def assert_cancelled(
    workflow: cf.Workflow[Req, Any], request: Req, *, timeout: float = 5.0
) -> cf.WorkflowCancelled:
    """Run `workflow` once, expect it to be cancelled, and return the `WorkflowCancelled`.

    Raises:
        AssertionError: the run responded (the message gives the response), or did not
            end within `timeout` seconds.
    """
    __tracebackhide__ = True
    try:
        with anyio.fail_after(timeout):
            response = await workflow.run(request)
    except cf.WorkflowCancelled as error:
        return error
    except TimeoutError:
        raise AssertionError(
            f"{workflow.name!r} did not end within {timeout} s for request {request!r}"
        ) from None
    raise AssertionError(
        f"expected {workflow.name!r} to be cancelled for request {request!r}, "
        f"but it responded {response!r}"
    )
