"""A property test over random workflows, with crossflow.testing and hypothesis."""

from __future__ import annotations

import contextlib

import anyio
from hypothesis import given, settings
from hypothesis import strategies as st

import crossflow as cf
from crossflow.testing import DrawnWorkflow, workflows


@settings(max_examples=25, deadline=None)
@given(drawn=workflows(max_operations=6), request=st.integers(-5, 5))
def test_every_run_ends_and_leaves_nothing_running(drawn: DrawnWorkflow, request: int) -> None:
    async def main() -> None:
        with anyio.fail_after(5):
            with contextlib.suppress(cf.WorkflowCancelled):
                await drawn.run(request)  # cancelled is a fine way to end; hanging is not
        assert drawn.probe.open_activations() == []

    anyio.run(main)


if __name__ == "__main__":
    test_every_run_ends_and_leaves_nothing_running()
    print("every random workflow ended, and left no service running")
