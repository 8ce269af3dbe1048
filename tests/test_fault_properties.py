"""Properties under faults: random workflows with cancellation policies, cleanup
workflows, hostile messages and services that raise a `CancelledError` of their own
(S6.1, S6.6, S9.2, S4.3, API §2, API §6).

Every property runs on asyncio and on trio (the `anyio_backend` fixture of
conftest.py); the anyio pytest plugin runs hypothesis' examples of an `async def`
test inside one event loop per backend. The number of examples comes from the active
hypothesis profile (`dev` or `ci`). Each run reads its events through
`run(..., on_event=...)`, so that what happened is known even when `run` returns.
"""

from __future__ import annotations

import asyncio
import json
import re
import warnings
from collections import Counter
from collections.abc import Iterator
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from support import cancel_caller_after

import crossflow as cf
from crossflow import events as ev
from crossflow.testing import DeliberateFailure, DrawnWorkflow, ProbeEvent, workflows
from crossflow.testing.strategies import (
    HOSTILITIES,
    ROOT,
    AsyncMap,
    Cancel,
    Dispose,
    DrawnForkClone,
    DrawnPath,
    Fail,
    ForeignCancel,
    Map,
    Nowhere,
    Terminate,
    branches,
    walk,
)

# every run recounts its bookkeeping after each step (see `audited` in conftest.py)
pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("audited")]

TIMEOUT = 10  # seconds; a drawn workflow sleeps for a few milliseconds at most
POLICIES = tuple(cf.CancellationPolicy)

requests = st.integers(min_value=-20, max_value=20)
# when the caller's cancel scope is cancelled: never, or after this many checkpoints
cancel_after = st.none() | st.integers(0, 20) | st.integers(0, 3)

_CLEANUP_SESSION = re.compile(r"on_(cancel|terminate|cleanup)\[\d+\]")
_INDEX = re.compile(r"\[\d+\]$")


# --------------------------------------------------------------------------- helpers


def _live_tasks() -> int:
    """How many tasks exist in the event loop right now."""
    try:
        return len(asyncio.all_tasks())
    except RuntimeError:  # no asyncio loop running: this is trio
        import trio

        def count(task: trio.lowlevel.Task) -> int:
            return 1 + sum(count(t) for n in task.child_nurseries for t in n.child_tasks)

        root = trio.lowlevel.current_root_task()
        assert root is not None
        return count(root)


def _asyncio_task() -> asyncio.Task[Any] | None:
    """The asyncio task running this code; None on trio."""
    try:
        return asyncio.current_task()
    except RuntimeError:  # no asyncio loop running: this is trio
        return None


def _fmt(events: list[ev.Event]) -> str:
    lines = []
    for e in events:
        try:
            lines.append(e.describe())
        except Exception as error:  # the property that renders events reports this
            lines.append(f"{type(e).__name__} at {e.path} (describe() raised {error!r})")
    return "\n".join(lines)


def _fmt_probe(events: list[ProbeEvent]) -> str:
    return "\n".join(str(e) for e in events)


def _probe_scope(path: tuple[str, ...], top: int) -> str:
    """The probe's scope path of a session path below the drawn workflow's session,
    which is `top` deep: with `top=1`, `("drawn", "scope#2[1]")` is `"root/scope#2"`."""
    return "/".join([ROOT, *(_INDEX.sub("", part) for part in path[top:])])


def _is_cleanup(path: tuple[str, ...]) -> bool:
    return bool(_CLEANUP_SESSION.fullmatch(path[-1]))


def _ends(events: list[ev.Event]) -> dict[tuple[str, ...], list[ev.Event]]:
    ends: dict[tuple[str, ...], list[ev.Event]] = {}
    for e in events:
        if isinstance(e, (ev.Terminated, ev.Cancelled)):
            ends.setdefault(e.path, []).append(e)
    return ends


def check_every_session_ended_once(events: list[ev.Event]) -> None:
    """S9.2, S6.6: every session that started ends exactly once (`Terminated` or
    `Cancelled`), after its start, and records nothing once it has ended."""
    started = [e.path for e in events if isinstance(e, ev.SessionStarted)]
    assert len(started) == len(set(started)), f"a session started twice:\n{_fmt(events)}"
    ends = _ends(events)
    for path in started:
        got = ends.get(path, [])
        assert len(got) == 1, (
            f"session {'/'.join(path)} ended {len(got)} times, not once:\n{_fmt(events)}"
        )
    assert set(ends) <= set(started), f"an end without a start:\n{_fmt(events)}"
    ended: set[tuple[str, ...]] = set()
    for e in events:
        assert e.path not in ended, f"{e.describe()} after its session ended:\n{_fmt(events)}"
        if isinstance(e, (ev.Terminated, ev.Cancelled)):
            ended.add(e.path)


def _applies(kind: str, end: ev.Event) -> bool:
    """S6.2: on_cleanup always, on_cancel after a cancellation, on_terminate after terminate."""
    if kind == "cleanup":
        return True
    return (kind == "cancel") == isinstance(end, ev.Cancelled)


def check_every_cleanup_ran_to_its_end(
    drawn: DrawnWorkflow, events: list[ev.Event], top: int = 1
) -> None:
    """S6.1-S6.3: each session ran exactly the cleanup workflows of its scope that apply
    to how it ended; each of them terminated (nothing cut it short), and the probe saw
    its service start and finish as many times as it applied. The drawn workflow's own
    session is `top` deep (1: it is the root)."""
    ends = {path: got[0] for path, got in _ends(events).items()}
    started = {e.path for e in events if isinstance(e, ev.SessionStarted)}
    expected: Counter[str] = Counter()
    for path, end in ends.items():
        if len(path) < top or _is_cleanup(path):
            continue
        scope = _probe_scope(path, top)
        for cleanup in drawn.cleanup_workflows.get(scope, ()):
            own = (*path, f"on_{cleanup.kind}[0]")
            if _applies(cleanup.kind, end):
                expected[f"{scope}/{cleanup.name}"] += 1
                assert isinstance(ends.get(own), ev.Terminated), (
                    f"{cleanup.name} of {'/'.join(path)} ({type(end).__name__}) did not run "
                    f"to its end:\n{_fmt(events)}"
                )
            else:
                assert own not in started, f"{cleanup.name} ran but does not apply"
    probe = drawn.probe.events
    for scope, cleanups in drawn.cleanup_workflows.items():
        for cleanup in cleanups:
            where = f"{scope}/{cleanup.name}"
            seen = Counter(e.event for e in probe if e.scope == where)
            want = expected[where]
            assert seen["started"] == seen["finished"] == want, (
                f"{where}: {dict(seen)}, expected {want} runs:\n{_fmt_probe(probe)}"
            )


def _cancellations(events: list[ev.Event]) -> Iterator[tuple[tuple[str, ...], cf.Cancellation]]:
    for e in events:
        if isinstance(e, ev.Cancelled):
            yield e.path, e.cancellation


def check_failures_cancel_their_session(events: list[ev.Event]) -> None:
    """S4.3: a service (or fork) that raises while its session runs cancels that session
    with `ServiceFailed` naming it and carrying the very exception it raised."""
    cleaning: set[tuple[str, ...]] = set()
    failed: dict[tuple[str, ...], ev.OperationFinished] = {}
    for e in events:
        if isinstance(e, ev.CleanupStarted):
            cleaning.add(e.path)
        elif isinstance(e, ev.OperationFinished) and e.error is not None and e.path not in cleaning:
            failed.setdefault(e.path, e)  # the first failure is the cause
    causes = dict(_cancellations(events))
    for path, e in failed.items():
        cancellation = causes.get(path)
        assert cancellation is not None, f"{e.describe()} did not cancel:\n{_fmt(events)}"
        cause = cancellation.cause
        assert isinstance(cause, cf.ServiceFailed), f"{e.describe()}, but cancelled by {cause}"
        assert cause.operation == e.operation
        assert cause.error is e.error


def _render_everything(value: Any, events: list[ev.Event]) -> None:
    """API §2, §4: everything a run produced renders: the error, its cancellation and
    every event, as text and as JSON-ready data."""
    if isinstance(value, cf.WorkflowCancelled):
        assert str(value)
        cancellation = value.cancellation
        assert str(cancellation)
        json.dumps(cancellation.to_dict())
    for e in events:
        assert e.describe()
        assert str(e)
        json.dumps(e.to_dict())


async def _outcome(drawn: DrawnWorkflow, request: int, events: list[ev.Event]) -> tuple[str, Any]:
    """("response", value) or ("cancelled", WorkflowCancelled); anything else propagates.

    A service that fails while its session cleans up after terminate is reported as a
    `CrossflowWarning` when the run ends (S4.3): recorded here, not raised.
    """
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always", cf.CrossflowWarning)
        try:
            return ("response", await drawn.run(request, on_event=events.append))
        except cf.WorkflowCancelled as error:
            return ("cancelled", error)


async def _runcancel_caller_after(
    drawn: DrawnWorkflow, request: int, after: int | None, events: list[ev.Event]
) -> tuple[str, Any]:
    """Run `drawn`; unless `after` is None, the caller's cancel scope is cancelled after
    `after` checkpoints of another task. Adds ("caller cancelled", None) to the outcomes
    of `_outcome` (`run` re-raised the backend's cancellation, API §2)."""
    return await cancel_caller_after(lambda: _outcome(drawn, request, events), after)


async def _run_maybe_cancelled_workflow(
    wf: cf.Workflow[int, Any], request: int, after: int | None, events: list[ev.Event]
) -> tuple[str, Any]:
    """`_run_maybe_cancelled` for a workflow that is not a drawn one."""

    async def outcome() -> tuple[str, Any]:
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always", cf.CrossflowWarning)
            try:
                return ("response", await wf.run(request, on_event=events.append))
            except cf.WorkflowCancelled as error:
                return ("cancelled", error)

    return await cancel_caller_after(outcome, after)


# --------------------------------------------------------------------------- S6.6, S6.1


@settings(deadline=None)
@given(
    drawn=workflows(max_operations=10, policies=POLICIES, allow_cleanups=True, allow_failures=True),
    request=requests,
    after=cancel_after,
)
async def test_every_session_ends_and_every_cleanup_runs_under_any_policy(
    drawn: DrawnWorkflow, request: int, after: int | None
) -> None:
    """S6.6, S6.1, S9.2, API §6: under `run`, whatever the nodes' cancellation policies
    (WAIT, TRY_CANCEL, ABANDON) and whether or not the caller cancels at a random
    moment, every session that started ends exactly once before `run` returns, every
    cleanup workflow that applies runs to its end, and no task is left running.

    TRY_CANCEL and ABANDON only change what a scope's cleanup waits for: the work left
    in the background is still owned by the runtime, and `run` waits for it.
    """
    drawn.probe.clear()
    events: list[ev.Event] = []
    before = _live_tasks()
    with anyio.fail_after(TIMEOUT):
        kind, _ = await _runcancel_caller_after(drawn, request, after, events)
    seen = list(drawn.probe.events)  # what had happened when `run` returned or raised
    event(kind)
    event(", ".join(sorted(drawn.features & {"try_cancel", "abandon"})) or "wait only")
    check_every_session_ended_once(events)
    check_every_cleanup_ran_to_its_end(drawn, events)
    assert drawn.probe.open_activations() == [], _fmt_probe(drawn.probe.events)
    assert _live_tasks() == before
    assert drawn.probe.events == seen  # nothing ran after `run` ended


def _leaving(drawn: DrawnWorkflow, policy: cf.CancellationPolicy, hops: int, pause: bool) -> Any:
    """A parent that runs `drawn` as a node with `policy` and, on another branch, reaches
    terminate after `hops` blocking maps (and a checkpoint first, with `pause`)."""

    async def checkpoint(x: int) -> int:
        await anyio.lowlevel.checkpoint()
        return x

    def build(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        def finish(chain: cf.Chain[int]) -> None:
            if pause:
                chain = chain.then(checkpoint, name="pause")
            for i in range(hops):
                chain = chain.map(lambda x: x, name=f"hop{i}")
            chain.connect(scope.terminate)

        scope_start = builder.chain(scope.start).map(drawn.message, name="request")
        scope_start.fork_clone(
            lambda c: c.then(drawn.workflow, name="drawn", cancellation=policy).dispose(),
            finish,
        )

    return cf.Workflow.build(build, name="parent")


@settings(deadline=None)
@given(
    drawn=workflows(max_operations=8, policies=POLICIES, allow_cleanups=True, allow_failures=True),
    policy=st.sampled_from([cf.CancellationPolicy.TRY_CANCEL, cf.CancellationPolicy.ABANDON]),
    request=requests,
    hops=st.integers(0, 3),
    pause=st.booleans(),
    after=st.none() | st.integers(0, 10),
)
async def test_work_left_behind_ends_before_run_returns(
    drawn: DrawnWorkflow,
    policy: cf.CancellationPolicy,
    request: int,
    hops: int,
    pause: bool,
    after: int | None,
) -> None:
    """API §6, S6.6, S6.1, S9.2: a drawn workflow runs as a TRY_CANCEL or ABANDON node
    while its parent reaches terminate on another branch, at once or a little later:
    whatever the left workflow was doing (its first async activations not yet started,
    cleanup workflows queued), it ends, with the cleanup workflows that apply run to
    their end, before `run` returns; no task is left running. Sometimes the caller
    cancels too, at a random moment."""
    drawn.probe.clear()
    events: list[ev.Event] = []
    parent = _leaving(drawn, policy, hops, pause)
    before = _live_tasks()
    with anyio.fail_after(TIMEOUT):
        kind, value = await _run_maybe_cancelled_workflow(parent, request, after, events)
    seen = list(drawn.probe.events)
    event(kind)
    if kind == "response":
        assert value == request
    check_every_session_ended_once(events)
    check_every_cleanup_ran_to_its_end(drawn, events, top=2)
    assert drawn.probe.open_activations() == [], _fmt_probe(drawn.probe.events)
    assert _live_tasks() == before
    assert drawn.probe.events == seen


# --------------------------------------------------------------------------- S4.3, API §2


def _leads_somewhere(path: DrawnPath) -> bool:
    """Some message on `path` could reach the scope's terminate or an explicit cancel
    (implicit cancels, such as filters, never keep a scope alive: S2.2)."""
    if isinstance(path.end, (Terminate, Cancel)):
        return True
    return any(_leads_somewhere(branch) for branch in branches(path.end))


def _root_fork_must_copy(drawn: DrawnWorkflow) -> bool:
    """The run certainly hands an uncopyable message to a fork_clone that must copy it:
    the root path is maps only (one message in, one out, none lost) and ends in a
    fork_clone that leads somewhere (else the session is unreachable from its start,
    S2) and has at least two connected branches (one of them gets the message itself,
    the others copies); the message the last map makes (or the request) cannot be
    copied."""
    shape = drawn.shape
    if not isinstance(shape.end, DrawnForkClone) or not _leads_somewhere(shape):
        return False
    maps = [step for step in shape.steps if isinstance(step, (Map, AsyncMap))]
    if len(maps) < len(shape.steps):
        return False
    last = maps[-1].hostility if maps else drawn.request_hostility
    connected = [
        b for b in shape.end.branches if b.steps or not isinstance(b.end, (Dispose, Nowhere))
    ]
    return "uncopyable" in last and len(connected) >= 2


def _uncopyable_failures(events: list[ev.Event]) -> list[cf.ServiceFailed]:
    return [
        c.cause
        for _, c in _cancellations(events)
        if isinstance(c.cause, cf.ServiceFailed) and isinstance(c.cause.error, cf.UncopyableMessage)
    ]


async def check_hostile_run(drawn: DrawnWorkflow, request: int) -> tuple[str, Any]:
    """Run `drawn` once and check what every run with hostile messages must satisfy."""
    drawn.probe.clear()
    events: list[ev.Event] = []
    with anyio.fail_after(TIMEOUT):
        kind, value = await _outcome(drawn, request, events)
    event(kind)
    _render_everything(value, events)
    check_every_session_ended_once(events)
    check_failures_cancel_their_session(events)
    uncopyable = _uncopyable_failures(events)
    if uncopyable:
        event("a fork could not copy its message")
        assert drawn.uncopyable_forks, drawn
    for cause in uncopyable:
        assert cause.operation.startswith("fork_clone"), cause
        assert isinstance(cause.error.__cause__, TypeError)
        assert "Make the message copyable" in str(cause.error)
    if kind == "cancelled" and isinstance(value.cancellation.cause, cf.ServiceFailed):
        error = value.cancellation.cause.error
        assert isinstance(error, (DeliberateFailure, cf.UncopyableMessage)), repr(error)
        assert value.__cause__ is error
    return kind, value


@settings(deadline=None)
@given(
    drawn=workflows(max_operations=8, hostile_messages=("uncopyable",), allow_failures=True),
    request=requests,
)
async def test_messages_that_cannot_be_copied(drawn: DrawnWorkflow, request: int) -> None:
    """S4.3, API §2: with a request and messages that refuse `copy.deepcopy`, a run still
    ends with a response or `WorkflowCancelled`, never another exception. A fork_clone
    that cannot copy its message fails with `ServiceFailed` carrying
    `cf.UncopyableMessage` (raised from what `copy.deepcopy` raised, saying how to fix
    it), which cancels the session it runs in; a run that certainly hands such a message
    to a fork that must copy it ends that way."""
    kind, value = await check_hostile_run(drawn, request)
    if _root_fork_must_copy(drawn):
        event("certain to fail at a fork")
        assert kind == "cancelled", value
        cause = value.cancellation.cause
        assert isinstance(cause, cf.ServiceFailed), cause
        assert isinstance(cause.error, cf.UncopyableMessage)


@settings(deadline=None)
@given(
    drawn=workflows(max_operations=8, hostile_messages=("unrenderable",), allow_failures=True),
    request=requests,
)
async def test_messages_and_errors_that_cannot_render(drawn: DrawnWorkflow, request: int) -> None:
    """S4.3, API §2, API §4: with a request, messages and service exceptions whose
    `repr`/`str` raise (user objects are never trusted to render), a run still ends with
    a response or `WorkflowCancelled`, never another exception; its error, cancellation
    and every event render as text and as JSON-ready data."""
    await check_hostile_run(drawn, request)


# --------------------------------------------------------------------------- S4.3 (asyncio)


def _foreign_names(drawn: DrawnWorkflow) -> set[str]:
    return {p.name for p in walk(drawn.shape) if isinstance(p, ForeignCancel)}


@settings(deadline=None)
@given(drawn=workflows(max_operations=8, allow_foreign_cancellations=True), request=requests)
async def test_a_cancelled_error_of_a_service_is_its_failure(
    drawn: DrawnWorkflow, request: int
) -> None:
    """S4.3, API §2: a service that raises a `CancelledError` of its own (it awaited a
    task that someone else cancelled) fails; nobody cancelled the run, so the run ends
    with a response or `WorkflowCancelled` whose causes are never `UserCancelled`, and
    the caller's task is not left cancelled (`Task.cancelling() == 0` on asyncio).

    Each such failure is recorded as the service's failure and cancels its session with
    `ServiceFailed` carrying the `CancelledError` (on trio, where no task can see another
    one's cancellation, the service raises `DeliberateFailure` instead).
    """
    drawn.probe.clear()
    events: list[ev.Event] = []
    try:
        with anyio.fail_after(TIMEOUT):
            kind, value = await _outcome(drawn, request, events)
    except asyncio.CancelledError:
        task = asyncio.current_task()
        raise AssertionError(
            "run raised CancelledError into a caller nobody cancelled "
            f"(cancelling() = {task.cancelling() if task else None}):\n{_fmt(events)}"
        ) from None
    event(kind)
    task = _asyncio_task()
    assert task is None or task.cancelling() == 0
    check_every_session_ended_once(events)
    check_failures_cancel_their_session(events)
    for path, cancellation in _cancellations(events):
        assert not isinstance(cancellation.cause, cf.UserCancelled), (
            f"{'/'.join(path)} cancelled as if from outside:\n{_fmt(events)}"
        )
    foreign = _foreign_names(drawn)
    raised = Counter(
        e.operation for e in drawn.probe.events if e.operation in foreign and e.event == "failed"
    )
    if raised:
        event("a service raised a CancelledError of its own")
    expected = DeliberateFailure if _asyncio_task() is None else asyncio.CancelledError
    recorded = Counter(
        e.operation
        for e in events
        if isinstance(e, ev.OperationFinished) and isinstance(e.error, expected)
    )
    assert recorded == raised, f"{recorded} != {raised}:\n{_fmt(events)}"
    if kind == "cancelled" and isinstance(value.cancellation.cause, cf.ServiceFailed):
        assert isinstance(value.cancellation.cause.error, expected)
        assert value.__cause__ is value.cancellation.cause.error


# --------------------------------------------------------------------------- all at once


@settings(deadline=None)
@given(
    drawn=workflows(
        max_operations=10,
        policies=POLICIES,
        allow_cleanups=True,
        allow_failures=True,
        hostile_messages=HOSTILITIES,
        allow_foreign_cancellations=True,
    ),
    request=requests,
    after=cancel_after,
)
async def test_every_fault_at_once(drawn: DrawnWorkflow, request: int, after: int | None) -> None:
    """S6.6, S6.1, S9.2, S4.3, API §6: policies, cleanup workflows, hostile messages,
    services raising their own `CancelledError`, and sometimes the caller cancelling at
    a random moment, all in one workflow: the run ends with a response,
    `WorkflowCancelled` or (only when the caller cancelled) the backend's cancellation;
    every session ends once, every cleanup that applies runs to its end, everything
    renders, and no task is left running."""
    drawn.probe.clear()
    events: list[ev.Event] = []
    before = _live_tasks()
    with anyio.fail_after(TIMEOUT):
        kind, value = await _runcancel_caller_after(drawn, request, after, events)
    event(kind)
    if kind == "caller cancelled":
        assert after is not None
    task = _asyncio_task()
    assert task is None or task.cancelling() == 0
    _render_everything(value, events)
    check_every_session_ended_once(events)
    check_every_cleanup_ran_to_its_end(drawn, events)
    assert drawn.probe.open_activations() == [], _fmt_probe(drawn.probe.events)
    assert _live_tasks() == before


# --------------------------------------------------------------------------- examples


@pytest.mark.parametrize("hostility", [("uncopyable",), HOSTILITIES])
async def test_an_uncopyable_request_at_a_fork_is_certain_to_fail(
    hostility: tuple[str, ...],
) -> None:
    """S4.3: the simplest case `_root_fork_must_copy` recognises: an uncopyable request
    straight into a fork_clone of two connected branches fails the fork."""
    shape = DrawnPath((), DrawnForkClone("fork_clone#1", (DrawnPath((), Terminate()),) * 2))
    drawn = DrawnWorkflow(shape, request_hostility=hostility)
    assert _root_fork_must_copy(drawn)
    assert drawn.uncopyable_forks == {"fork_clone#1"}
    events: list[ev.Event] = []
    with anyio.fail_after(TIMEOUT):
        kind, value = await _outcome(drawn, 3, events)
    assert kind == "cancelled"
    assert _uncopyable_failures(events) == [value.cancellation.cause]
    _render_everything(value, events)


# --------------------------------------------------------------------------- regressions


async def test_repr_never_trusts_a_services_exception() -> None:
    """API §4 ("reprs show state"; user objects are never trusted to render): `repr()`
    of the cancellation, its cause and every event of a run whose service raised an
    exception with a failing `repr` works, as `str()` does. (Found by
    `test_messages_and_errors_that_cannot_render` when it also rendered with `repr`.)"""
    drawn = DrawnWorkflow(
        DrawnPath((Fail("fail#1", 0, None, frozenset({"unrenderable"})),), Terminate())
    )
    events: list[ev.Event] = []
    with anyio.fail_after(TIMEOUT):
        kind, value = await _outcome(drawn, 0, events)
    assert kind == "cancelled"
    _render_everything(value, events)  # str(), describe(), to_dict(): these work
    assert repr(value.cancellation.cause)
    assert repr(value.cancellation)
    for e in events:
        assert repr(e)


async def test_an_uncopyable_message_error_names_its_branch() -> None:
    """S4.3: the error of a fork_clone that cannot copy its message names the branch the
    copy was for, counted as the branches were given; a first branch that goes nowhere
    does not take the message itself, the first connected one does (branch 1), so the
    copy that fails is the one for branch 2."""
    shape = DrawnPath(
        (),
        DrawnForkClone(
            "fork_clone#1",
            (DrawnPath((), Dispose()), DrawnPath((), Terminate()), DrawnPath((), Terminate())),
        ),
    )
    drawn = DrawnWorkflow(shape, request_hostility={"uncopyable"})
    with anyio.fail_after(TIMEOUT):
        kind, value = await _outcome(drawn, 3, [])
    assert kind == "cancelled"
    error = value.cancellation.cause.error
    assert isinstance(error, cf.UncopyableMessage)
    assert "for its branch 2" in str(error), str(error)


async def test_a_fork_that_disposes_its_first_branch_copies_nothing_for_it() -> None:
    """S4.3: `fork_clone(dispose, terminate)` gives the message itself to the branch that
    goes somewhere, so a message that cannot be copied passes."""
    shape = DrawnPath(
        (), DrawnForkClone("fork_clone#1", (DrawnPath((), Dispose()), DrawnPath((), Terminate())))
    )
    drawn = DrawnWorkflow(shape, request_hostility={"uncopyable"})
    with anyio.fail_after(TIMEOUT):
        kind, _ = await _outcome(drawn, 3, [])
    assert kind == "response"
