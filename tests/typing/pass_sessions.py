"""Sessions, delays, policies and events type-check the way users expect (API §3, §6)."""

from __future__ import annotations

from typing import assert_type

import crossflow as cf
from crossflow import events


async def parse(text: str) -> int:
    return int(text)


@cf.workflow(settings=cf.ScopeSettings(uninterruptible=True, timeout=5))
def parsing(scope: cf.Scope[str, int], builder: cf.Builder) -> None:
    chain = builder.chain(scope.start).delay(0.1)
    assert_type(chain, cf.Chain[str])
    node = builder.create_node(parse, cancellation=cf.CancellationPolicy.TRY_CANCEL)
    assert_type(node, cf.Node[str, int])
    chain.connect(node.input)
    builder.chain(node.output).then(
        lambda n: n + 1, cancellation=cf.CancellationPolicy.WAIT
    ).connect(scope.terminate)


async def watch() -> None:
    session = parsing.start("41", events=True)
    assert_type(session, cf.Session[int])
    async with session as running:
        assert_type(running, cf.Session[int])
        assert_type(running.state, cf.SessionState)
        assert_type(running.cancel_requested, bool)
        running.cancel("no longer needed")
        assert_type(await running.result(), int)
        for event in running.events:
            assert_type(event, cf.Event)
            if isinstance(event, events.Cancelled):
                assert_type(event.cancellation, cf.Cancellation)
    try:
        await parsing.run("1", events=False)
    except cf.WorkflowCancelled as error:
        assert_type(error.events, cf.EventLog)
        logged: tuple[cf.Event, ...] = error.events  # an EventLog is a tuple of events
        assert_type(logged[0], cf.Event)
