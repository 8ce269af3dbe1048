"""Hypothesis strategies that draw the points of a workflow: combine them with your own."""

from __future__ import annotations

from functools import partial
from typing import TypeVar

from hypothesis import strategies as st

import crossflow as cf
import crossflow.testing._clock as _clock

from ._clock import Backend
from ._explore import WorkflowSource, plain_run
from ._points import Point, PointKind

Req = TypeVar("Req")
Resp = TypeVar("Resp")


def _points(
    wf: WorkflowSource[Req, Resp],
    request: Req,
    kind: PointKind,
    backend: Backend,
    where: str,
) -> st.SearchStrategy[Point]:
    chosen = _clock.check_backend(backend, where)

    def draw_from() -> st.SearchStrategy[Point]:
        running = _clock.running_backend()
        if running is not None:
            raise cf.CrossflowError(
                f"cft.{where}() runs the workflow once to find its points, in an event loop "
                f"of its own, when first drawn from; it was drawn from inside a running "
                f"{running} event loop: draw it with @given(...), not with data.draw() "
                "inside an async test"
            )
        points = _clock.run(partial(plain_run, wf, request, (kind,)), chosen, 0.0, where)
        if not points:
            raise cf.CrossflowError(
                f"cft.{where}(): the plain run of the workflow made no service activation, "
                "so it has no failure points"
            )
        # integers shrink towards 0: a failing example shrinks to the earliest point
        return st.integers(0, len(points) - 1).map(points.__getitem__)

    return st.deferred(draw_from)


def cancellation_points(
    wf: WorkflowSource[Req, Resp], request: Req, *, backend: Backend = "asyncio"
) -> st.SearchStrategy[Point]:
    """A hypothesis strategy that draws a cancel point of `wf` for `request`.

    The points are those `explore` tries: one after each event of a plain run, which
    this strategy makes (with virtual time, on `backend`) the first time it is drawn
    from. A failing example shrinks towards the earliest point. Run the workflow at the
    drawn point with `run_at`:

    ```python
    @given(point=cft.cancellation_points(make_workflow, request), why=st.sampled_from(REASONS))
    async def test_nothing_left_open(point, why):
        outcome = await cft.run_at(make_workflow, request, point, reason=why)
        ...
    ```

    `wf` is a workflow, or a function that builds a fresh one for each run (see
    `explore`).
    """
    return _points(wf, request, "cancel", backend, "cancellation_points")


def failure_points(
    wf: WorkflowSource[Req, Resp], request: Req, *, backend: Backend = "asyncio"
) -> st.SearchStrategy[Point]:
    """A hypothesis strategy that draws a failure point of `wf` for `request`: one of the
    service activations of a plain run, to make fail with `run_at`.

    Like `cancellation_points`, it shrinks towards the earliest point.

    Raises:
        CrossflowError: when first drawn from, if the plain run made no service
            activation.
    """
    return _points(wf, request, "fail", backend, "failure_points")
