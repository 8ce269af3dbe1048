"""Properties of sessions started with `wf.start` (API §3, S9.1, S9.2, S8.3, S6.6).

A workflow of 1-4 async steps in a row, each waiting for its own event, is started and
driven step by step; `session.cancel()` is called at a drawn moment (or never, or after
the end), each step has a drawn cancellation policy, and the workflow may be
uninterruptible. Every property runs on asyncio and on trio (the `anyio_backend`
fixture of conftest.py); the number of examples comes from the active hypothesis
profile.
"""

from __future__ import annotations

from typing import Any

import anyio
import anyio.lowlevel
import attrs
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

import crossflow as cf
from crossflow import events as ev

# every run recounts its bookkeeping after each step (see `audited` in conftest.py)
pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("audited")]

TIMEOUT = 5

RUNNING = cf.SessionState.RUNNING
TERMINATED = cf.SessionState.TERMINATED
CANCELLED = cf.SessionState.CANCELLED
POLICIES = list(cf.CancellationPolicy)


@attrs.define
class Scenario:
    """What is drawn for one run."""

    # the cancellation policy of each step (1-4 steps)
    policies: list[cf.CancellationPolicy]
    # None: never cancel; i < n: once step i started; n: once the last step was let go;
    # n + 1: after the session ended
    cancel_at: int | None
    # cancel before letting step `cancel_at` go (else right after)
    before_go: bool
    # checkpoints between step `cancel_at` starting and the cancel
    pause: int
    uninterruptible: bool
    # the steps run in a nested scope with this policy, or in the root (None)
    nested: cf.CancellationPolicy | None


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    policies = draw(st.lists(st.sampled_from(POLICIES), min_size=1, max_size=4))
    n = len(policies)
    return Scenario(
        policies=policies,
        cancel_at=draw(st.sampled_from([None, *range(n + 2)])),
        before_go=draw(st.booleans()),
        pause=draw(st.integers(0, 3)),
        uninterruptible=draw(st.booleans()),
        nested=draw(st.sampled_from([None, *POLICIES])),
    )


@attrs.define
class Record:
    """What one run showed."""

    session: cf.Session[int]
    # the state when `cancel()` was called, or None when it was not
    state_at_cancel: cf.SessionState | None
    # the step whose body was surely running when `cancel()` was called
    running_at_cancel: int | None
    # stream messages: (message, whether the root was RUNNING when it was sent)
    sent: list[tuple[str, bool]]
    # what `async for` over `session.streams.s` yielded during the block
    streamed: list[str]
    started: list[int]
    finally_ran: list[int]
    tasks_left: int
    # the outcome seen in the block: ("response", value) or ("cancelled", error)
    outcome: tuple[str, Any]


async def drive(sc: Scenario) -> Record:
    """Run the scenario; return what it showed."""
    n = len(sc.policies)
    started_ev = [anyio.Event() for _ in range(n)]
    go = [anyio.Event() for _ in range(n)]
    box: dict[str, Any] = {"tasks": 0}
    sent: list[tuple[str, bool]] = []
    started: list[int] = []
    finally_ran: list[int] = []

    def send(streams: cf.Streams, msg: str) -> None:
        session: cf.Session[int] = box["session"]
        sent.append((msg, session.state is RUNNING))
        streams.s.send(msg)

    def make_step(i: int) -> cf.Service[int, int]:
        @cf.service(streams={"s": str})
        async def step(x: int, *, streams: cf.Streams) -> int:
            box["tasks"] += 1
            started.append(i)
            started_ev[i].set()
            send(streams, f"{i} started")
            try:
                await go[i].wait()
                await anyio.lowlevel.checkpoint()
                send(streams, f"{i} done")
                return x
            finally:
                send(streams, f"{i} finally")
                finally_ran.append(i)
                box["tasks"] -= 1

        return step

    steps = [make_step(i) for i in range(n)]

    def body(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        chain = builder.chain(scope.start)
        for i, (step, policy) in enumerate(zip(steps, sc.policies, strict=True)):
            node = builder.create_node(step, name=f"step{i}", cancellation=policy)
            chain.connect(node.input)
            builder.connect(node.streams.s, scope.streams.s)
            chain = builder.chain(node.output)
        chain.connect(scope.terminate)

    settings_ = cf.ScopeSettings(uninterruptible=sc.uninterruptible)
    nested = sc.nested

    def root(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        if nested is None:
            body(scope, builder)
            return
        node = builder.create_scope(body, name="inner", streams={"s": str}, cancellation=nested)
        builder.connect(scope.start, node.input)
        builder.connect(node.streams.s, scope.streams.s)
        builder.connect(node.output, scope.terminate)

    wf = cf.Workflow.build(root, name="wf", streams={"s": str}, settings=settings_)

    state_at_cancel: cf.SessionState | None = None
    running_at_cancel: int | None = None
    streamed: list[str] = []

    async def pause() -> None:
        for _ in range(sc.pause):
            await anyio.lowlevel.checkpoint()

    async def consume(session: cf.Session[int]) -> None:
        async for msg in session.streams.s:
            streamed.append(msg)

    with anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as tg, wf.start(1) as session:
            box["session"] = session
            tg.start_soon(consume, session)
            for i in range(n):
                if session.state is not RUNNING:
                    break  # cancelled: the next steps never start
                await started_ev[i].wait()
                if sc.cancel_at == i:
                    if not sc.before_go:
                        go[i].set()
                    await pause()
                    state_at_cancel = session.state
                    running_at_cancel = i if sc.pause == 0 else None
                    session.cancel()
                go[i].set()
            if sc.cancel_at == n:
                await pause()
                state_at_cancel = session.state
                running_at_cancel = n - 1 if sc.pause == 0 else None
                session.cancel()
            for g in go:
                g.set()  # abandoned steps may still wait for theirs
            try:
                outcome: tuple[str, Any] = ("response", await session.result())
            except cf.WorkflowCancelled as error:
                outcome = ("cancelled", error)
            if sc.cancel_at == n + 1:
                state_at_cancel = session.state
                session.cancel()  # ended: nothing happens
    return Record(
        session=session,
        state_at_cancel=state_at_cancel,
        running_at_cancel=running_at_cancel,
        sent=sent,
        streamed=streamed,
        started=started,
        finally_ran=finally_ran,
        tasks_left=box["tasks"],
        outcome=outcome,
    )


def expected_state(sc: Scenario, r: Record) -> cf.SessionState:
    honoured = r.state_at_cancel is RUNNING and not sc.uninterruptible
    return CANCELLED if honoured else TERMINATED


def root_events(session: cf.Session[Any]) -> list[cf.Event]:
    return [e for e in session.events if e.path == ("wf",)]


# --------------------------------------------------------------------------- properties


@settings(deadline=None)
@given(sc=scenarios())
async def test_every_session_ends_exactly_once_and_result_agrees_with_state(
    sc: Scenario,
) -> None:
    """S9.1, API §3, S6.6: whatever the moment `cancel()` is called and whatever the
    steps' policies, the session ends exactly once; it is CANCELLED exactly when the
    request came while it was RUNNING and it is not uninterruptible; `result()` agrees
    with the final state, during and after the block; after the block no step's task is
    still running and every step that started ran its `finally`."""
    r = await drive(sc)
    session = r.session
    event(f"cancel at {sc.cancel_at}, state {session.state.name}")
    assert session.state is expected_state(sc, r)
    ends = [e for e in root_events(session) if isinstance(e, ev.Terminated | ev.Cancelled)]
    assert len(ends) == 1
    if session.state is TERMINATED:
        assert r.outcome == ("response", 1)
        assert isinstance(ends[0], ev.Terminated)
        assert await session.result() == 1
        assert r.started == list(range(len(sc.policies)))
    else:
        kind, error = r.outcome
        assert kind == "cancelled"
        assert error.cancellation.cause == cf.UserCancelled(None)
        assert isinstance(ends[0], ev.Cancelled)
        assert ends[0].cancellation == error.cancellation
        with pytest.raises(cf.WorkflowCancelled) as again:
            await session.result()
        assert again.value.cancellation == error.cancellation
    assert r.tasks_left == 0
    assert sorted(r.finally_ran) == sorted(r.started)
    assert session.cancel_requested is (sc.cancel_at is not None)


@settings(deadline=None)
@given(sc=scenarios())
async def test_nothing_arrives_after_the_session_ends(sc: Scenario) -> None:
    """S8.3, API §3: the messages `session.streams.s` yields are exactly those the steps
    sent while the session was RUNNING (before terminate or the cancellation), in order;
    a fresh iteration after the block yields the same."""
    r = await drive(sc)
    expected = [msg for msg, running in r.sent if running]
    event(f"{len(r.sent) - len(expected)} messages sent after the end")
    assert r.streamed == expected
    replay = [msg async for msg in r.session.streams.s]
    assert replay == expected


@settings(deadline=None)
@given(sc=scenarios())
async def test_the_event_log_is_well_formed(sc: Scenario) -> None:
    """S9.2, S9.1: every session's events start with `SessionStarted` and end with one
    `Terminated` or `Cancelled` (the root's matching its final state); nothing is
    recorded for a session after its end; `CancellationRequested` is recorded for the root
    exactly when `cancel()` was called before the end, honoured exactly when the session
    was RUNNING and interruptible; a step whose task ran when the root was cancelled has
    the event its policy says."""
    r = await drive(sc)
    session = r.session
    events = session.events
    assert isinstance(events[0], ev.SessionStarted)
    assert events[0].path == ("wf",)
    assert events[0].scope == "wf"
    paths: dict[tuple[str, ...], list[cf.Event]] = {}
    for e in events:
        paths.setdefault(e.path, []).append(e)
    for path, own in paths.items():
        assert isinstance(own[0], ev.SessionStarted), path
        ends = [i for i, e in enumerate(own) if isinstance(e, ev.Terminated | ev.Cancelled)]
        assert ends == [len(own) - 1], (path, own)
    root = paths[("wf",)]
    final = ev.Terminated if session.state is TERMINATED else ev.Cancelled
    assert isinstance(root[-1], final)
    assert session.state.ended
    times = [e.time for e in events]
    assert times == sorted(times)

    requests = [e for e in root if isinstance(e, ev.CancellationRequested)]
    called_before_end = r.state_at_cancel is not None and not r.state_at_cancel.ended
    assert len(requests) == (1 if called_before_end else 0)
    if requests:
        assert requests[0].cause == cf.UserCancelled(None)
        assert requests[0].honoured is (r.state_at_cancel is RUNNING and not sc.uninterruptible)
    event(f"nested {sc.nested!r}, {len(paths)} sessions")

    honoured = bool(requests) and requests[0].honoured
    if sc.nested is not None and honoured:
        # the root's only activity was its child session: its cleanup deals with it
        child = ("wf", "inner[0]")
        dealt = [
            e for e in root if isinstance(e, ev.ChildCancellationRequested | ev.ChildAbandoned)
        ]
        assert len(dealt) == 1, root
        assert (dealt[0].operation, dealt[0].child) == ("inner", child)
        if sc.nested is cf.CancellationPolicy.ABANDON:
            assert isinstance(dealt[0], ev.ChildAbandoned)
            assert isinstance(paths[child][-1], ev.Terminated)
        else:
            assert isinstance(dealt[0], ev.ChildCancellationRequested)
            assert dealt[0].waited is (sc.nested is cf.CancellationPolicy.WAIT)
            assert isinstance(paths[child][-1], ev.Cancelled)

    if sc.nested is None and session.state is CANCELLED and r.running_at_cancel is not None:
        i = r.running_at_cancel
        policy = sc.policies[i]
        name = f"step{i}"
        left = [
            e
            for e in root
            if isinstance(e, ev.TaskCancelled | ev.TaskAbandoned) and e.operation == name
        ]
        assert len(left) == 1, root
        if policy is cf.CancellationPolicy.ABANDON:
            assert isinstance(left[0], ev.TaskAbandoned)
        else:
            assert isinstance(left[0], ev.TaskCancelled)
            assert left[0].waited is (policy is cf.CancellationPolicy.WAIT)
