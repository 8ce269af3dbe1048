"""Properties of the runtime, checked on random workflows (rules cited as S1.1 ... S8.4).

Every property runs on asyncio and on trio (the `anyio_backend` fixture of
conftest.py). The anyio pytest plugin runs hypothesis' examples of an `async def`
test inside one event loop per backend, so `@given` goes straight on the coroutine.
The number of examples comes from the active hypothesis profile (`dev` or `ci`).
"""

from __future__ import annotations

import asyncio
import warnings
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from hypothesis import HealthCheck, assume, event, example, given, settings
from hypothesis import strategies as st

import crossflow as cf
from crossflow.testing import DeliberateFailure, DrawnWorkflow, ProbeEvent, workflows
from crossflow.testing.strategies import (
    ROOT,
    AsyncMap,
    Collect,
    DisposeOnNone,
    DrawnPath,
    Map,
    NestedScope,
    Spread,
    Terminate,
    branches,
    walk,
)

# every run recounts its bookkeeping after each step (see `audited` in conftest.py)
pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("audited")]

TIMEOUT = 5  # seconds; a drawn workflow sleeps for a few milliseconds at most

requests = st.integers(min_value=-20, max_value=20)

# Minimal reproductions of engine bugs these properties found (kept as explicit
# examples so that they run every time, not only when hypothesis happens to draw them).
#
# A collect that reaches `max` stays armed (S5.4): when nothing lies upstream of it,
# it counts as activity forever, the session never becomes unreachable: the run hangs.
HANGS_AFTER_MAX_COLLECT = DrawnPath(
    (Collect("collect#1", 0, 1), DisposeOnNone("dispose_on_none#2", 0)), Terminate()
)
# ... and when something does, it emits a trailing `[]` once upstream falls quiet.
TRAILING_EMPTY_COLLECT = DrawnPath(
    (Map("map#1", 0), Collect("collect#2", 0, 1), AsyncMap("async#3", 0, 0.0)), Terminate()
)


# --------------------------------------------------------------------------- helpers


def _live_tasks() -> int:
    """How many tasks exist in the event loop right now."""
    try:
        return len(asyncio.all_tasks())
    except RuntimeError:  # no asyncio loop running: this is trio
        import trio

        def count(task: trio.lowlevel.Task) -> int:
            return 1 + sum(count(t) for n in task.child_nurseries for t in n.child_tasks)

        return count(trio.lowlevel.current_root_task())


async def _outcome(drawn: DrawnWorkflow, request: int, run: int = 0) -> tuple[str, Any]:
    """("response", value) or ("cancelled", WorkflowCancelled); anything else propagates.

    A service that fails while its session cleans up after terminate is reported as a
    `CrossflowWarning` when the run ends (S4.3): recorded here, not raised.
    """
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always", cf.CrossflowWarning)
        try:
            return ("response", await drawn.run(request, run=run))
        except cf.WorkflowCancelled as error:
            return ("cancelled", error)


def _summary(outcome: tuple[str, Any]) -> tuple[str, Any]:
    kind, value = outcome
    return (kind, str(value.cancellation) if kind == "cancelled" else value)


def _trace(events: list[ProbeEvent]) -> list[tuple[str, str, str, Any]]:
    """What a run's services saw, without the run and activation numbers."""
    return [(e.scope, e.operation, e.event, e.value) for e in events]


def _fmt(events: list[ProbeEvent]) -> str:
    return "\n".join(str(e) for e in events)


# --------------------------------------------------------------------------- properties


@settings(deadline=None)
@given(drawn=workflows(max_operations=12, allow_failures=True), request=requests)
@example(drawn=DrawnWorkflow(HANGS_AFTER_MAX_COLLECT), request=0)
async def test_every_run_ends_exactly_once(drawn: DrawnWorkflow, request: int) -> None:
    """A run ends once: with a response or with `WorkflowCancelled`, never hanging (API §2).

    The response is the message of the first root-level marker placed before
    `terminate` (S1.3: the first message to reach terminate is the response; the
    queue is FIFO, S8.1). A cancellation caused by a service carries that service's
    exception as `__cause__` (S4.3), and only the deliberately failing services raise.
    """
    drawn.probe.clear()  # explicit examples are shared between runs of the test
    with anyio.fail_after(TIMEOUT):
        kind, value = await _outcome(drawn, request)
    event(kind if kind == "response" else type(value.cancellation.cause).__name__)
    reached = [e for e in drawn.probe.events if e.scope == ROOT and e.operation == "terminate"]
    if kind == "response":
        assert reached, "a response without any message reaching terminate"
        assert value == reached[0].value
        return
    cause = value.cancellation.cause
    assert isinstance(cause, (cf.Unreachable, cf.Triggered, cf.Filtered, cf.ServiceFailed)), cause
    if isinstance(cause, cf.ServiceFailed):
        assert isinstance(cause.error, DeliberateFailure)
        assert value.__cause__ is cause.error
    if value.__cause__ is not None:
        assert isinstance(value.__cause__, DeliberateFailure)


@settings(deadline=None)
@given(drawn=workflows(max_operations=12, allow_failures=True), request=requests)
async def test_no_task_is_left_running(drawn: DrawnWorkflow, request: int) -> None:
    """When `run` returns or raises, nothing it started still runs (S6.6).

    The event loop has as many tasks as before the run, and every async service
    that started has finished, failed or been cancelled (its `finally` ran, S6.1).
    """
    drawn.probe.clear()  # explicit examples are shared between runs of the test
    before = _live_tasks()
    with anyio.fail_after(TIMEOUT):
        await _outcome(drawn, request)
    assert drawn.probe.open_activations() == []
    assert _live_tasks() == before


@settings(deadline=None)
@given(drawn=workflows(max_operations=12, allow_failures=True), request=requests)
async def test_no_async_service_starts_after_the_session_ended(
    drawn: DrawnWorkflow, request: int
) -> None:
    """After a message reaches terminate or a cancel, no async service of that session starts.

    What is observable: a blocking marker runs right before each `terminate` and
    each `then_cancel()` and records `reached`; its message is queued behind the
    messages already waiting (S8.1) and reaches terminate (or cancel) before the
    event loop runs any task. From then on the session is ending (S1.4, S6.1: no new
    operation of the session starts), so no async service of that session, or of a
    session nested in it, records `started` after the marker. (Blocking operations
    whose input was queued before the marker's message may still run first: that is
    the FIFO order, not a violation.) Checked for the scopes that open at most one
    session per run, where the probe can tell sessions apart.
    """
    drawn.probe.clear()  # explicit examples are shared between runs of the test
    with anyio.fail_after(TIMEOUT):
        await _outcome(drawn, request)
    events = drawn.probe.events
    for scope in drawn.single_session_scopes:
        ends = [i for i, e in enumerate(events) if e.scope == scope and e.event == "reached"]
        if not ends:
            continue
        event("a session ended while async services were possible")
        late = [
            e
            for e in events[ends[0] + 1 :]
            if e.is_async and e.event == "started" and e.in_scope(scope)
        ]
        assert late == [], f"started after {events[ends[0]]}:\n{_fmt(events)}"


# Most drawn workflows have a path that ends elsewhere, and are skipped: how many depends
# on the seed, so the health check that counts them is off (a flaky failure otherwise).
@settings(deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(drawn=workflows(allow_filters=False, allow_cancel=False), request=requests)
async def test_terminate_on_every_path_always_responds(drawn: DrawnWorkflow, request: int) -> None:
    """A workflow whose every path reaches terminate never ends in `Unreachable` (S2.2, S2.4).

    Nothing on the way filters, fails or cancels, so the run returns a response.
    """
    drawn.probe.clear()  # explicit examples are shared between runs of the test
    assume(drawn.terminate_on_every_path)
    with anyio.fail_after(TIMEOUT):
        kind, value = await _outcome(drawn, request)
    assert kind == "response", value


@settings(deadline=None)
@given(
    drawn=workflows(allow_failures=True),
    inputs=st.lists(requests, min_size=2, max_size=5),
    stagger=st.lists(st.integers(0, 3), min_size=5, max_size=5),
)
async def test_concurrent_runs_match_sequential_runs(
    drawn: DrawnWorkflow, inputs: list[int], stagger: list[int]
) -> None:
    """Concurrent runs of one workflow behave like the same runs one after another.

    Each call is an independent session (API §2); sessions never see each other's
    messages, collect progress or responses (S1.5). For a deterministic workflow, the
    outcome of each run and everything its services saw are the same whether the
    runs overlap (started a few checkpoints apart) or not.
    """
    drawn.probe.clear()  # explicit examples are shared between runs of the test
    assume(drawn.deterministic)
    with anyio.fail_after(TIMEOUT):
        sequential = [_summary(await _outcome(drawn, r, run=i)) for i, r in enumerate(inputs)]
    expected = {i: _trace(drawn.probe.of_run(i)) for i in range(len(inputs))}
    drawn.probe.clear()
    event("async" if "async" in drawn.features else "blocking only")

    concurrent: dict[int, tuple[str, Any]] = {}

    async def one(i: int, request: int) -> None:
        for _ in range(stagger[i]):
            await anyio.lowlevel.checkpoint()
        concurrent[i] = _summary(await _outcome(drawn, request, run=i))

    with anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as tg:
            for i, request in enumerate(inputs):
                tg.start_soon(one, i, request)
    assert [concurrent[i] for i in range(len(inputs))] == sequential
    for i in range(len(inputs)):
        assert _trace(drawn.probe.of_run(i)) == expected[i], f"run {i} saw other data"


@settings(deadline=None)
@given(
    drawn=workflows(max_operations=12, allow_failures=True),
    request=requests,
    steps=st.integers(0, 20) | st.integers(0, 2),
    started=st.integers(0, 2),
    pause=st.sampled_from([0.0, 0.0, 0.001, 0.002]),
)
async def test_outer_cancellation_ends_with_the_backends_cancellation(
    drawn: DrawnWorkflow, request: int, steps: int, started: int, pause: float
) -> None:
    """Cancelling the task that awaits `run` cancels the session, waits for its cleanup,
    and re-raises the backend's cancellation (API §2, S6.1, S6.6).

    The caller's cancel scope is cancelled by another task once `started` async
    services have started (so that most cancellations land while services run), then
    after `steps` more checkpoints and, sometimes, a pause of a millisecond or two.
    Whatever the moment, `run` ends: with the backend's cancellation (caught by the
    cancelled scope), or with its own outcome when the cancellation came too late to
    be delivered (the awaited operation had already completed, and the run finished
    without reaching another checkpoint; anyio's usual rule). Either way every async
    service that started has finished or been cancelled, and no task is left behind.
    """
    drawn.probe.clear()  # explicit examples are shared between runs of the test
    assume("async" in drawn.features)  # a blocking-only run ends before any checkpoint
    before = _live_tasks()
    state: dict[str, Any] = {"done": False, "cancelled_at": None}

    async def stopper(scope: anyio.CancelScope) -> None:
        while not state["done"] and sum(e.event == "started" for e in drawn.probe.events) < started:
            await anyio.lowlevel.checkpoint()
        # once a service runs, cancel soon, while it (probably) still runs
        for _ in range(min(steps, 2) if started and not state["done"] else steps):
            await anyio.lowlevel.checkpoint()
        if pause:
            await anyio.sleep(pause)
        if not state["done"]:
            state["cancelled_at"] = len(drawn.probe.events)
            scope.cancel()

    outcome: tuple[str, Any] | None = None
    with anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as tg:
            with anyio.CancelScope() as run_scope:
                tg.start_soon(stopper, run_scope)
                outcome = await _outcome(drawn, request)
                state["done"] = True  # no checkpoint between the run's end and this line
            tg.cancel_scope.cancel()  # the stopper, if it is still counting
    if state["cancelled_at"] is None:
        event("ran to its end")
        assert outcome is not None
    elif outcome is None:
        event("ended with the backend's cancellation")
        assert run_scope.cancelled_caught
    else:
        event("finished before the cancellation could be delivered")
    assert drawn.probe.open_activations() == [], _fmt(drawn.probe.events)
    assert _live_tasks() == before


# --------------------------------------------------------------------------- collect


def _single_input_collects(
    path: DrawnPath, scope: str, several: bool, out: set[tuple[str, str]]
) -> None:
    """(scope, name) of the collects that receive at most one item per session."""
    for step in path.steps:
        if isinstance(step, Collect):
            if not several:
                out.add((scope, step.name))
            several = True
        elif isinstance(step, Spread):
            several = True
        elif isinstance(step, NestedScope):
            _single_input_collects(step.body, f"{scope}/{step.name}", False, out)
    for branch in branches(path.end):
        _single_input_collects(branch, scope, several, out)


@settings(deadline=None)
@given(drawn=workflows(), request=requests)
@example(drawn=DrawnWorkflow(TRAILING_EMPTY_COLLECT), request=0)
async def test_collects_emit_within_bounds_and_once_per_quiet(
    drawn: DrawnWorkflow, request: int
) -> None:
    """Every list a collect emits holds at most `max` items, and at least `min` (S5.1, S5.2).

    A collect emits at most once each time its upstream falls quiet, and never a
    trailing empty list after an emission (S5.4): a collect that receives at most
    one item per session (no spread or collect upstream in its scope) emits at most
    once per session.
    """
    drawn.probe.clear()  # explicit examples are shared between runs of the test
    assume("collect" in drawn.features)
    with anyio.fail_after(TIMEOUT):
        await _outcome(drawn, request)
    bounds = {s.name: (s.min, s.max) for s in _all_steps(drawn.shape) if isinstance(s, Collect)}
    events = drawn.probe.events
    for e in events:
        if e.operation in bounds and e.event == "started":
            low, high = bounds[e.operation]
            assert len(e.value) >= low, f"{e} holds fewer than min={low}"
            assert high is None or len(e.value) <= high, f"{e} holds more than max={high}"
    single: set[tuple[str, str]] = set()
    _single_input_collects(drawn.shape, ROOT, False, single)
    for scope, name in single:
        if scope not in drawn.single_session_scopes:
            continue
        emitted = [e.value for e in events if e.operation == name and e.event == "started"]
        assert len(emitted) <= 1, f"{name} emitted {emitted} from at most one item:\n{_fmt(events)}"


def _all_steps(path: DrawnPath) -> list[Any]:
    return list(walk(path))
