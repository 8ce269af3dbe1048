"""Per-node controls: `max_concurrency`, `timeout` and `retry=cf.Retry(...)` (S10.4).

They apply to async services and to blocking services with an executor, are checked
where they are given, are carried in the graph model, and each wait for a slot, each
timeout and each failed attempt is in the event log.
"""

from __future__ import annotations

import threading
from typing import Any

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import crossflow as cf
from crossflow import events as ev
from crossflow.testing import event_kinds

pytestmark = pytest.mark.anyio

TIMEOUT = 10
TRY_CANCEL = cf.CancellationPolicy.TRY_CANCEL


def fan_out(step: Any, **options: Any) -> cf.Workflow[list[Any], list[Any]]:
    @cf.workflow(name="fan")
    def wf(scope: cf.Scope[list[Any], list[Any]], builder: cf.Builder) -> None:
        builder.chain(scope.start).spread().then(step, name="work", **options).collect().connect(
            scope.terminate
        )

    return wf


def single(step: Any, **options: Any) -> cf.Workflow[Any, Any]:
    @cf.workflow(name="one")
    def wf(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(step, name="work", **options).connect(scope.terminate)

    return wf


class Gauge:
    """An async service that counts how many of its calls run at once, and lets them end
    only when the test says so."""

    def __init__(self) -> None:
        self.running = 0
        self.most = 0
        self.started: list[Any] = []
        self.release = anyio.Event()

    async def __call__(self, x: Any) -> Any:
        self.running += 1
        self.most = max(self.most, self.running)
        self.started.append(x)
        try:
            await self.release.wait()
        finally:
            self.running -= 1
        return x


# --------------------------------------------------------------------------- checks


@pytest.mark.parametrize(
    ("option", "bad", "match"),
    [
        ("max_concurrency", 0, "positive int"),
        ("max_concurrency", 2.0, "positive int"),
        ("max_concurrency", True, "positive int"),
        ("timeout", 0, "positive number of seconds"),
        ("timeout", "5", "number of seconds"),
        ("retry", 3, r"cf\.Retry\(3\)"),
        ("retry", cf.Retry, r"call it"),
    ],
)
def test_controls_are_checked_where_they_are_given(option: str, bad: object, match: str) -> None:
    """S10.4, API §9: a wrong control is refused with `InvalidArgument` naming the call and
    the argument, by cf.service, create_node, then and then_node."""

    async def step(x: int) -> int:
        return x

    with pytest.raises(cf.InvalidArgument, match=rf"cf\.service\({option}=\.\.\.\).*{match}"):
        cf.service(**{option: bad})(step)

    def build(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.create_node(step, **{option: bad})

    with pytest.raises(cf.InvalidArgument, match=rf"create_node\({option}=\.\.\.\)"):
        cf.workflow(build)
    for method in ("then", "then_node"):

        def build_chain(scope: cf.Scope[int, int], builder: cf.Builder, m: str = method) -> None:
            getattr(builder.chain(scope.start), m)(step, **{option: bad})

        with pytest.raises(cf.InvalidArgument, match=rf"chain\.then\({option}=\.\.\.\)"):
            cf.workflow(build_chain)


def test_retry_checks_its_arguments() -> None:
    """API §9: `cf.Retry` refuses attempts < 1, negative or infinite backoffs and `on`
    values that are not exception classes; it shows itself plainly."""
    for kwargs in (
        {"attempts": 0},
        {"attempts": 2.0},
        {"attempts": 3, "backoff": -1},
        {"attempts": 3, "backoff": ()},
        {"attempts": 3, "backoff": float("inf")},
        {"attempts": 3, "on": ValueError()},
        {"attempts": 3, "on": (ValueError, 3)},
        {"attempts": 3, "on": KeyboardInterrupt},
    ):
        with pytest.raises(cf.InvalidArgument, match=r"cf\.Retry"):
            cf.Retry(**kwargs)  # type: ignore[arg-type]
    retry = cf.Retry(4, backoff=(0.1, 0.5), on=(ConnectionError, TimeoutError))
    assert repr(retry) == "Retry(4, backoff=(0.1, 0.5), on=(ConnectionError, TimeoutError))"
    assert [retry.delay(n) for n in (1, 2, 3)] == [0.1, 0.5, 0.5]
    assert retry.retries(TimeoutError(), 3) and not retry.retries(TimeoutError(), 4)
    assert not retry.retries(ValueError(), 1)
    assert cf.Retry(2) == cf.Retry(2, backoff=0, on=Exception)


def test_inline_blocking_services_and_workflows_take_no_controls() -> None:
    """S10.4: a blocking service that runs inline takes no controls (nothing could
    interrupt or queue it on the event loop), nor does a workflow (its sessions have
    ScopeSettings(timeout=...)); the error says what to do instead."""

    def plain(x: int) -> int:
        return x

    @cf.workflow
    def inner(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.connect(scope.start, scope.terminate)

    def with_plain(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(plain, timeout=1).connect(scope.terminate)

    def with_service(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        svc = cf.service(retry=cf.Retry(2))(plain)
        builder.chain(scope.start).then(svc).connect(scope.terminate)

    def with_workflow(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.create_node(inner, max_concurrency=2)

    for build in (with_plain, with_service):
        with pytest.raises(cf.InvalidArgument, match=r"runs inline.*offload=True"):
            cf.workflow(build)
    with pytest.raises(cf.InvalidArgument, match=r"is a workflow.*ScopeSettings\(timeout"):
        cf.workflow(with_workflow)


def test_controls_are_in_the_graph_model() -> None:
    """S10.4, API §10: a node's controls are in its NodeSettings; a node's own override
    the service's; the service shows them."""

    @cf.service(max_concurrency=2, timeout=5, retry=cf.Retry(3))
    async def fetch(x: int) -> int:
        return x

    assert "max_concurrency=2 timeout=5.0 retry=Retry(3" in repr(fetch)

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        a = builder.chain(scope.start).then(fetch, name="a")
        a.then(fetch, name="b", timeout=1.5, max_concurrency=7).connect(scope.terminate)

    a = wf.graph["a"].settings
    b = wf.graph["b"].settings
    assert isinstance(a, cf.NodeSettings) and isinstance(b, cf.NodeSettings)
    assert (a.max_concurrency, a.timeout, a.retry) == (2, 5.0, cf.Retry(3))
    assert (b.max_concurrency, b.timeout, b.retry) == (7, 1.5, cf.Retry(3))


# --------------------------------------------------------------------------- max_concurrency


async def test_max_concurrency_holds_across_the_sessions_of_a_run() -> None:
    """S10.4: at most `max_concurrency` activations of a node run at once, counting those
    of every session of the run (here one per nested scope session); the others wait,
    each recorded as OperationQueued, and start first in, first out."""
    gauge = Gauge()

    @cf.workflow(name="fan")
    def wf(scope: cf.Scope[list[int], list[int]], builder: cf.Builder) -> None:
        def each(inner: cf.Scope[int, int], b: cf.Builder) -> None:
            b.chain(inner.start).then(gauge, name="work", max_concurrency=2).connect(
                inner.terminate
            )

        builder.chain(scope.start).spread().then_scope(each).collect().connect(scope.terminate)

    with anyio.fail_after(TIMEOUT):
        async with wf.start(list(range(6))) as session:
            await anyio.wait_all_tasks_blocked()
            assert gauge.running == 2
            gauge.release.set()
            result = await session.result()
    assert sorted(result) == list(range(6))
    assert gauge.most == 2
    queued = [e for e in session.events if isinstance(e, ev.OperationQueued)]
    assert len(queued) == 4 and {e.limit for e in queued} == {2}
    assert "waits for a slot (max_concurrency=2)" in queued[0].describe()


async def test_max_concurrency_applies_to_threads() -> None:
    """S10.4: `max_concurrency` limits a blocking service with an executor too."""
    lock = threading.Lock()
    running = [0]
    most = [0]

    def step(x: int) -> int:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        threading.Event().wait(0.002)
        with lock:
            running[0] -= 1
        return x

    with anyio.fail_after(TIMEOUT):
        result = await fan_out(step, executor=cf.ThreadExecutor(), max_concurrency=1).run(
            list(range(5))
        )
    assert sorted(result) == list(range(5))
    assert most[0] == 1


async def test_a_call_cancelled_while_waiting_for_a_slot_never_starts() -> None:
    """S10.4, S10.2: an activation waiting for a slot that is cancelled never runs: its
    TaskCancelled says stopped, and what it was waiting for; the slot it never got is not
    lost."""
    gauge = Gauge()
    wf = fan_out(gauge, max_concurrency=1)
    with anyio.fail_after(TIMEOUT):
        async with wf.start([1, 2, 3]) as session:
            await anyio.wait_all_tasks_blocked()
            session.cancel("stop")
            with pytest.raises(cf.WorkflowCancelled):
                await session.result()
        assert len(gauge.started) == 1
        cancelled = [e for e in session.events if isinstance(e, ev.TaskCancelled)]
        assert len(cancelled) == 3 and all(e.stopped for e in cancelled)
        assert sum("waiting for a slot" in (e.reach or "") for e in cancelled) == 2
        # the same node, in a new run: all slots are there
        gauge2 = Gauge()
        gauge2.release.set()
        assert sorted(await fan_out(gauge2, max_concurrency=1).run([1, 2])) == [1, 2]


# --------------------------------------------------------------------------- timeout


async def test_an_async_service_that_runs_too_long_fails_with_timeout_error() -> None:
    """S10.4: an attempt that runs longer than `timeout` is cancelled (its `finally`
    runs) and fails with TimeoutError → ServiceFailed; OperationTimedOut records it."""
    trace: list[str] = []

    async def slow(x: int) -> int:
        try:
            await anyio.sleep_forever()
        finally:
            trace.append("finally")
        return x  # pragma: no cover

    with anyio.fail_after(TIMEOUT), pytest.raises(cf.WorkflowCancelled) as caught:
        await single(slow, timeout=0.01).run(1)
    assert trace == ["finally"]
    cause = caught.value.cancellation.cause
    assert isinstance(cause, cf.ServiceFailed) and isinstance(cause.error, TimeoutError)
    assert "work ran longer than its timeout of 0.01 s" in str(cause.error)
    kinds = event_kinds(caught.value.events)
    assert kinds[:4] == [
        "SessionStarted",
        "OperationStarted",
        "OperationTimedOut",
        "OperationFinished",
    ]
    assert "TaskCancelled" not in kinds


async def test_a_call_within_its_timeout_is_not_touched() -> None:
    """S10.4: a call that ends in time returns normally; nothing about the timeout is
    recorded."""

    async def quick(x: int) -> int:
        return x + 1

    with anyio.fail_after(TIMEOUT):
        assert await single(quick, timeout=60).run(1) == 2


# --------------------------------------------------------------------------- retry


class Flaky:
    """Fails its first `failures` calls with `error`, then returns its input."""

    def __init__(self, failures: int, error: Exception) -> None:
        self.failures = failures
        self.error = error
        self.calls = 0

    async def __call__(self, x: int) -> int:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return x


async def test_a_failed_activation_is_tried_again() -> None:
    """S10.4: with retry, a failing call is called again (after its backoff) until it
    succeeds; each failed attempt is an AttemptFailed, each attempt an OperationStarted."""
    flaky = Flaky(2, ConnectionError("down"))
    wf = single(flaky, retry=cf.Retry(3, backoff=(0.001, 0.002)))
    with anyio.fail_after(TIMEOUT):
        async with wf.start(7) as session:
            assert await session.result() == 7
    assert flaky.calls == 3
    attempts = [e for e in session.events if isinstance(e, ev.AttemptFailed)]
    assert [(e.attempt, e.attempts, e.delay) for e in attempts] == [(1, 3, 0.001), (2, 3, 0.002)]
    assert isinstance(attempts[0].error, ConnectionError)
    assert "attempt 1 of 3 raised ConnectionError: down; next attempt in 0.001 s" in str(
        attempts[0]
    )
    assert event_kinds(session.events).count("OperationStarted") == 3


async def test_the_last_failure_counts_when_attempts_run_out() -> None:
    """S10.4, S4.3: when every attempt failed, the last failure is the node's failure."""
    flaky = Flaky(5, ValueError("still bad"))
    with anyio.fail_after(TIMEOUT), pytest.raises(cf.WorkflowCancelled) as caught:
        await single(flaky, retry=cf.Retry(3)).run(1)
    assert flaky.calls == 3
    cause = caught.value.cancellation.cause
    assert isinstance(cause, cf.ServiceFailed) and str(cause.error) == "still bad"
    assert event_kinds(caught.value.events).count("AttemptFailed") == 2


async def test_only_the_listed_exceptions_are_retried() -> None:
    """S10.4: an exception not in `on` fails the node at once."""
    flaky = Flaky(1, KeyError("nope"))
    with anyio.fail_after(TIMEOUT), pytest.raises(cf.WorkflowCancelled):
        await single(flaky, retry=cf.Retry(3, on=ConnectionError)).run(1)
    assert flaky.calls == 1


async def test_timeouts_are_retried_like_failures() -> None:
    """S10.4: a timed-out attempt fails with TimeoutError, which a retry tries again."""
    calls: list[int] = []

    async def slow_then_quick(x: int) -> int:
        calls.append(x)
        if len(calls) == 1:
            await anyio.sleep_forever()
        return x

    wf = single(slow_then_quick, timeout=0.01, retry=cf.Retry(2, on=TimeoutError))
    with anyio.fail_after(TIMEOUT):
        async with wf.start(5) as session:
            assert await session.result() == 5
    assert len(calls) == 2
    kinds = event_kinds(session.events)
    assert kinds.count("OperationTimedOut") == 1 and kinds.count("AttemptFailed") == 1


async def test_a_cancellation_during_the_backoff_stops_the_retries() -> None:
    """S10.4, S10.2: a session cancelled while its node waits to try again makes no more
    attempts: TaskCancelled says it was waiting to try again."""
    flaky = Flaky(1, ConnectionError("down"))
    wf = single(flaky, retry=cf.Retry(2, backoff=60))
    with anyio.fail_after(TIMEOUT):
        async with wf.start(1) as session:
            while "AttemptFailed" not in event_kinds(session.events):
                await anyio.wait_all_tasks_blocked()
            session.cancel("stop")
            with pytest.raises(cf.WorkflowCancelled):
                await session.result()
    assert flaky.calls == 1
    [cancelled] = [e for e in session.events if isinstance(e, ev.TaskCancelled)]
    assert cancelled.reach is not None and "waiting 60 s to try again" in cancelled.reach


async def test_retry_works_with_an_executor() -> None:
    """S10.4: a blocking service in a thread is retried the same way."""
    calls: list[int] = []

    def flaky(x: int) -> int:
        calls.append(x)
        if len(calls) < 3:
            raise OSError("busy")
        return x

    with anyio.fail_after(TIMEOUT):
        assert await single(flaky, executor=cf.ThreadExecutor(), retry=cf.Retry(3)).run(4) == 4
    assert calls == [4, 4, 4]


@settings(max_examples=25)
@given(
    limit=st.integers(1, 4),
    durations=st.lists(st.integers(0, 3), min_size=1, max_size=10),
)
def test_max_concurrency_never_exceeded_and_everything_runs(
    limit: int, durations: list[int]
) -> None:
    """S10.4 (property): whatever the number of calls (each in a session of its own) and
    how long each takes (in loop turns), never more than `limit` run at once, every call
    runs once, and the slots go to the calls that waited in the order they began to wait
    (their OperationQueued events): the j-th to wait starts only after j + 1 calls have
    ended. On asyncio and on trio."""
    running = [0]
    most = [0]
    finished = [0]
    starts: list[int] = []
    finished_before: dict[int, int] = {}

    async def step(i: int) -> int:
        running[0] += 1
        most[0] = max(most[0], running[0])
        starts.append(i)
        finished_before[i] = finished[0]
        for _ in range(durations[i]):
            await anyio.lowlevel.checkpoint()
        running[0] -= 1
        finished[0] += 1
        return i

    @cf.workflow(name="fan")
    def wf(scope: cf.Scope[list[int], list[int]], builder: cf.Builder) -> None:
        def each(inner: cf.Scope[int, int], b: cf.Builder) -> None:
            b.chain(inner.start).then(step, name="work", max_concurrency=limit).connect(
                inner.terminate
            )

        builder.chain(scope.start).spread().then_scope(each).collect().connect(scope.terminate)

    def item(path: tuple[str, ...]) -> int:
        return int(path[-1].rsplit("[", 1)[1].rstrip("]"))

    async def main() -> tuple[list[int], list[int]]:
        with anyio.fail_after(TIMEOUT):
            async with wf.start(list(range(len(durations)))) as session:
                result = await session.result()
        queued = [item(e.path) for e in session.events if isinstance(e, ev.OperationQueued)]
        return result, queued

    for backend in ("asyncio", "trio"):
        running[0] = most[0] = finished[0] = 0
        starts.clear()
        result, queued = anyio.run(main, backend=backend)
        assert sorted(result) == list(range(len(durations)))
        assert most[0] <= limit
        assert sorted(starts) == list(range(len(durations)))
        assert len(queued) <= max(0, len(durations) - limit)
        for j, i in enumerate(queued):
            assert finished_before[i] >= j + 1
