"""`crossflow.testing.event_kinds` and `untimed`: asserting on event logs (S9.2)."""

from __future__ import annotations

import pytest

import crossflow as cf
from crossflow import events as ev
from crossflow.testing import event_kinds, untimed

pytestmark = pytest.mark.anyio


@cf.workflow
def nested(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
    builder.chain(scope.start).then_scope(
        lambda s, b: b.chain(s.start).map(lambda x: x + 1, name="inc").connect(s.terminate),
        name="child",
    ).connect(scope.terminate)


async def test_event_kinds_of_the_whole_log_and_of_one_session() -> None:
    """The kinds in order; with `path`, only that session's."""
    async with nested.start(1) as session:
        assert await session.result() == 2
    child = ("nested", "child[0]")
    assert event_kinds(session.events, child) == [
        "SessionStarted",
        "OperationStarted",
        "OperationFinished",
        "CleanupStarted",
        "CleanupFinished",
        "Terminated",
    ]
    everything = event_kinds(session.events)
    assert everything[0] == "SessionStarted"
    assert everything[-1] == "Terminated"
    assert len(everything) == len(session.events) == 6 + 4


async def test_untimed_events_compare_by_what_happened() -> None:
    """Two runs of the same workflow give equal logs once the clock is taken out."""
    logs = []
    for _ in range(2):
        async with nested.start(1) as session:
            await session.result()
        logs.append(session.events)
    assert logs[0] != logs[1]  # the times differ
    assert untimed(logs[0]) == untimed(logs[1])
    assert untimed(logs[0])[-1] == ev.Terminated(0.0, ("nested",))
    assert all(e.time == 0.0 for e in untimed(logs[0]))
