"""Delivery instructions: serial services, labels, pre-emption and `ensure` (S7.5)."""

from __future__ import annotations

import dataclasses
from typing import Any

import anyio
import anyio.lowlevel
import pytest

import crossflow as cf
from crossflow.testing import assert_completes as run

pytestmark = pytest.mark.anyio

TIMEOUT = 5


class Worker:
    """An async service that counts how many of its activations run at once.

    Every activation waits until `go` is set, so requests pile up in the queues first.
    """

    def __init__(self) -> None:
        self.active = 0
        self.max_active = 0
        self.started: list[Any] = []
        self.done: list[Any] = []
        self.go = anyio.Event()
        self.service = cf.service(self.work)

        @cf.workflow
        def wrapped(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
            builder.chain(scope.start).then(self.service).connect(scope.terminate)

        self.wrapped = wrapped

    def provider(self, kind: str, **instructions: Any) -> Any:
        """The service, or a workflow wrapping it, with delivery instructions."""
        if kind == "service":
            return self.service.instruct(**instructions)
        return self.wrapped.instruct(**instructions)

    async def work(self, tag: Any) -> Any:
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        self.started.append(tag)
        try:
            await self.go.wait()
            for _ in range(3):
                await anyio.lowlevel.checkpoint()
        finally:
            self.active -= 1
        self.done.append(tag)
        return tag


def requester(
    provider: Any, announced: anyio.Event, name: str = "request"
) -> cf.Workflow[Any, Any]:
    """`[start] -> announce -> provider -> [terminate]`.

    `announce` is blocking: when `announced` is set, the request has already reached the
    provider's queues (the same flush carries it there), so requests arrive in the order
    the test sends them.
    """

    def announce(tag: Any) -> Any:
        announced.set()
        return tag

    def build(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        builder.chain(scope.start).map(announce).then(provider, name="work").connect(
            scope.terminate
        )

    return cf.Workflow.build(build, name=name)


async def send_in_order(
    worker: Worker, requests: list[tuple[str, Any]], *, settle: bool = True
) -> dict[str, Any]:
    """Run one workflow per request, each arriving after the previous one, then let the
    worker go. Returns each tag's response, or its `Cancellation`.

    With `settle`, each request arrives once everything the previous one started is
    running (and waits); without, requests arrive back to back, and whether the tasks
    they start have begun when the next one arrives is up to the event loop.
    """
    outcomes: dict[str, Any] = {}

    async def one(wf: cf.Workflow[Any, Any], tag: str) -> None:
        try:
            outcomes[tag] = await wf.run(tag)
        except cf.WorkflowCancelled as error:
            outcomes[tag] = error.cancellation

    with anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as tg:
            for tag, provider in requests:
                announced = anyio.Event()
                tg.start_soon(one, requester(provider, announced, f"request {tag}"), tag)
                await announced.wait()
                if settle:
                    # whatever may start now has started and waits (for `go`, or in a queue)
                    await anyio.wait_all_tasks_blocked()
            worker.go.set()
    return outcomes


def assert_supplanted(outcome: Any, tag: str, by: str, *, kind: str, running: bool | None) -> None:
    """The run of `tag` was cancelled: its `work` node recorded exactly one disposal,
    `Supplanted` naming the pre-empting request `by`. A workflow session that was
    running is cancelled with that cause instead, and the node records
    `ScopeCancelled` (S1.7). `running=None`: either, the test cannot know."""
    assert isinstance(outcome, cf.Cancellation), outcome
    assert outcome.while_cancelling == ()
    cause = outcome.cause
    assert isinstance(cause, cf.Unreachable)
    assert cause.scope == f"request {tag}"
    (disposal,) = cause.disposals
    assert disposal.operation == "work"
    supplanted = disposal.cause
    if running is None:
        running = isinstance(supplanted, cf.ScopeCancelled)
    if kind == "workflow" and running:
        assert isinstance(supplanted, cf.ScopeCancelled)
        assert supplanted.cancellation.while_cancelling == ()
        supplanted = supplanted.cancellation.cause
    assert isinstance(supplanted, cf.Supplanted)
    assert f"'request {by}'" in supplanted.by


KINDS = pytest.mark.parametrize("kind", ["service", "workflow"])


# --------------------------------------------------------------------------- DE-1


@KINDS
@pytest.mark.parametrize("k", [2, 3, 4, 5])
async def test_same_label_requests_queue(kind: str, k: int) -> None:
    """DE-1 (S7.5): requests with the same label run one at a time, in arrival order,
    and all respond; for an async service and for a workflow wrapping it."""
    worker = Worker()
    tags = [f"r{i}" for i in range(k)]
    outcomes = await send_in_order(
        worker, [(tag, worker.provider(kind, label="L")) for tag in tags]
    )
    assert outcomes == {tag: tag for tag in tags}
    assert worker.max_active == 1
    assert worker.started == worker.done == tags


async def test_same_label_requests_of_one_session_queue() -> None:
    """DE-1 (S7.5): the queue is shared inside one session too: four messages of one
    spread run one at a time, in order."""
    worker = Worker()
    worker.go.set()

    @cf.workflow
    def wf(scope: cf.Scope[list[int], list[int]], builder: cf.Builder) -> None:
        builder.chain(scope.start).spread().then(
            worker.service.instruct(label="L")
        ).collect_all().connect(scope.terminate)

    assert await run(wf, [1, 2, 3, 4]) == [1, 2, 3, 4]
    assert worker.max_active == 1
    assert worker.started == [1, 2, 3, 4]


async def test_without_a_label_requests_run_concurrently() -> None:
    """S8.4, S7.5: the same service without instructions runs its activations
    concurrently (the queueing above is the label's doing)."""
    worker = Worker()

    @cf.workflow
    def wf(scope: cf.Scope[list[int], list[int]], builder: cf.Builder) -> None:
        builder.chain(scope.start).spread().then(worker.service).collect_all().connect(
            scope.terminate
        )

    async def go_when_all_started() -> None:
        while worker.active < 4:
            await anyio.lowlevel.checkpoint()
        worker.go.set()

    with anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as tg:
            tg.start_soon(go_when_all_started)
            assert sorted(await wf.run([1, 2, 3, 4])) == [1, 2, 3, 4]
    assert worker.max_active == 4


# --------------------------------------------------------------------------- DE-2


SETTLE = pytest.mark.parametrize("settle", [True, False], ids=["settled", "back_to_back"])


@SETTLE
@KINDS
@pytest.mark.parametrize("k", [1, 2, 3, 4])
async def test_a_preempting_request_supplants_the_queued_and_running_ones(
    kind: str, k: int, settle: bool
) -> None:
    """DE-2 (S7.5, S3 `Supplanted`): k requests with label L, then one pre-empting: the
    running one is stopped and the queued ones never start; only the pre-empter
    responds. Also when requests arrive back to back (the running one's task may not
    have begun yet)."""
    worker = Worker()
    tags = [f"r{i}" for i in range(k)]
    requests = [(tag, worker.provider(kind, label="L")) for tag in tags]
    requests.append(("X", worker.provider(kind, label="L", preempt=True)))
    outcomes = await send_in_order(worker, requests, settle=settle)
    for tag in tags:
        assert_supplanted(outcomes[tag], tag, "X", kind=kind, running=tag == "r0")
    assert outcomes["X"] == "X"
    assert worker.done == ["X"]
    if settle:
        assert worker.started == ["r0", "X"]
    assert worker.max_active == 1


@SETTLE
@KINDS
@pytest.mark.parametrize("k", [1, 2, 3])
async def test_every_request_preempting_keeps_only_the_last(
    kind: str, k: int, settle: bool
) -> None:
    """DE-2 (S7.5): when every request pre-empts, each supplants the previous one, and
    each supplanted run records exactly one `Supplanted`."""
    worker = Worker()
    tags = [f"r{i}" for i in range(k + 1)]
    outcomes = await send_in_order(
        worker,
        [(tag, worker.provider(kind, label="L", preempt=True)) for tag in tags],
        settle=settle,
    )
    for i, tag in enumerate(tags[:-1]):
        # settled, each runs by the time the next one comes
        running = True if settle else None
        assert_supplanted(outcomes[tag], tag, tags[i + 1], kind=kind, running=running)
    assert outcomes[tags[-1]] == tags[-1]
    assert worker.done == [tags[-1]]
    if settle:
        assert worker.started == tags  # each ran until the next one supplanted it
    assert worker.max_active == 1


async def test_a_request_supplanted_before_its_task_starts_never_responds() -> None:
    """DE-2 (S7.5): a pre-empting request that arrives in the same step as the one it
    supplants (whose turn came, but whose task has not started yet) still supplants it:
    the supplanted activation never completes, only the pre-empter responds."""
    finished: list[str] = []

    @cf.service
    async def work(tag: str) -> str:
        for _ in range(3):
            await anyio.lowlevel.checkpoint()
        finished.append(tag)
        return tag

    @cf.workflow
    def wf(scope: cf.Scope[str, str], builder: cf.Builder) -> None:
        builder.chain(scope.start).fork_clone(
            lambda c: c.map(lambda _: "A").then(work.instruct(label="L")).connect(scope.terminate),
            lambda c: (
                c.map(lambda _: "X")
                .then(work.instruct(label="L", preempt=True))
                .connect(scope.terminate)
            ),
        )

    assert await run(wf, "go") == "X"
    assert finished == ["X"]


@dataclasses.dataclass(frozen=True)
class Label:
    value: int


async def test_labels_are_compared_by_value() -> None:
    """DE-2 (S7.5): equal labels (`Label(5) == Label(5)`) share a queue; a different label
    is neither queued behind them nor supplanted."""
    worker = Worker()
    outcomes = await send_in_order(
        worker,
        [
            ("a", worker.service.instruct(label=Label(5))),
            ("other", worker.service.instruct(label=Label(6))),
            ("X", worker.service.instruct(label=Label(5), preempt=True)),
        ],
    )
    assert_supplanted(outcomes["a"], "a", "X", kind="service", running=True)
    assert outcomes["other"] == "other"
    assert outcomes["X"] == "X"
    assert sorted(worker.done) == ["X", "other"]
    assert worker.max_active == 2


# --------------------------------------------------------------------------- DE-3


@SETTLE
@KINDS
@pytest.mark.parametrize("pattern", ["PEPE", "EPPP", "EEPP", "PPEE", "EPPE", "PPPP", "EEEE"])
async def test_ensured_requests_survive_preemption(kind: str, pattern: str, settle: bool) -> None:
    """DE-3 (S7.5): requests given `ensure=True` (E) cannot be supplanted; the plain ones
    (P) are; the pre-empter queues behind the ensured ones and runs last."""
    worker = Worker()
    tags = [f"{i}{e}" for i, e in enumerate(pattern)]
    requests = [(tag, worker.provider(kind, label="L", ensure=tag.endswith("E"))) for tag in tags]
    requests.append(("X", worker.provider(kind, label="L", preempt=True)))
    outcomes = await send_in_order(worker, requests, settle=settle)
    ensured = [tag for tag in tags if tag.endswith("E")]
    for tag in tags:
        if tag in ensured:
            assert outcomes[tag] == tag
        else:
            assert_supplanted(outcomes[tag], tag, "X", kind=kind, running=tag == tags[0])
    assert outcomes["X"] == "X"
    assert worker.done == [*ensured, "X"]
    assert len(worker.done) == 1 + pattern.count("E")
    if settle:
        assert worker.started == list(dict.fromkeys([tags[0], *ensured, "X"]))
    assert worker.max_active == 1


# --------------------------------------------------------------------------- DE-4


def parked_inner(log: list[str], started: anyio.Event) -> cf.Workflow[str, str]:
    """A workflow whose request "A" parks (until cancelled); others respond at once."""

    async def step(tag: str) -> str:
        if tag == "A":
            started.set()
            try:
                await anyio.sleep_forever()
            finally:
                log.append("A finally")
        return tag

    @cf.workflow
    def inner(scope: cf.Scope[str, str], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(step).connect(scope.terminate)

    return inner


async def test_preempting_a_running_nested_workflow() -> None:
    """DE-4 (S7.5, S1.7): a running nested session of an instructed workflow is cancelled
    with `Supplanted`; its parent records `ScopeCancelled(Cancellation(Supplanted))`."""
    log: list[str] = []
    started = anyio.Event()
    inner = parked_inner(log, started)

    def parent(provider: cf.Workflow[str, str], name: str) -> cf.Workflow[str, str]:
        def build(scope: cf.Scope[str, str], builder: cf.Builder) -> None:
            builder.chain(scope.start).then(provider).connect(scope.terminate)

        return cf.Workflow.build(build, name=name)

    first = parent(inner.instruct(label="L"), "first")
    second = parent(inner.instruct(label="L", preempt=True), "second")
    outcome: list[cf.Cancellation] = []

    async def run_first() -> None:
        try:
            await first.run("A")
        except cf.WorkflowCancelled as error:
            outcome.append(error.cancellation)

    with anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as tg:
            tg.start_soon(run_first)
            await started.wait()
            assert await second.run("B") == "B"
    (cancellation,) = outcome
    cause = cancellation.cause
    assert isinstance(cause, cf.Unreachable)
    assert cause.scope == "first"
    (disposal,) = cause.disposals
    assert disposal.operation == "inner"
    assert isinstance(disposal.cause, cf.ScopeCancelled)
    supplanted = disposal.cause.cancellation
    assert supplanted.while_cancelling == ()
    assert isinstance(supplanted.cause, cf.Supplanted)
    assert "'second'" in supplanted.cause.by
    assert log == ["A finally"]


async def test_preempting_a_directly_run_instructed_workflow() -> None:
    """DE-4 (S7.5, S4.1): a run of an instructed workflow that is supplanted while it
    runs raises `WorkflowCancelled` whose cause is `Supplanted`."""
    log: list[str] = []
    started = anyio.Event()
    inner = parked_inner(log, started)
    outcome: list[cf.Cancellation] = []

    async def run_first() -> None:
        try:
            await inner.instruct(label="M").run("A")
        except cf.WorkflowCancelled as error:
            outcome.append(error.cancellation)

    with anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as tg:
            tg.start_soon(run_first)
            await started.wait()
            assert await inner.instruct(label="M", preempt=True).run("B") == "B"
    (cancellation,) = outcome
    assert isinstance(cancellation.cause, cf.Supplanted)
    assert cancellation.while_cancelling == ()
    assert log == ["A finally"]


async def test_a_queued_direct_run_that_is_supplanted_never_starts() -> None:
    """DE-3, DE-4 (S7.5): an ensured run keeps running; the plain run queued behind it is
    supplanted before it starts (`WorkflowCancelled` with `Supplanted`); the pre-empter
    runs after the ensured one."""
    order: list[str] = []
    go = anyio.Event()

    async def step(tag: str) -> str:
        order.append(f"{tag} started")
        if tag == "E":
            await go.wait()
        return tag

    @cf.workflow
    def wf(scope: cf.Scope[str, str], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(step).connect(scope.terminate)

    outcomes: dict[str, Any] = {}

    async def one(tag: str, provider: cf.Workflow[str, str]) -> None:
        try:
            outcomes[tag] = await provider.run(tag)
        except cf.WorkflowCancelled as error:
            outcomes[tag] = error.cancellation

    with anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as tg:
            tg.start_soon(one, "E", wf.instruct(label="L", ensure=True))
            await anyio.wait_all_tasks_blocked()
            tg.start_soon(one, "P", wf.instruct(label="L"))
            await anyio.wait_all_tasks_blocked()
            tg.start_soon(one, "X", wf.instruct(label="L", preempt=True))
            await anyio.wait_all_tasks_blocked()
            go.set()
    assert outcomes["E"] == "E"
    assert outcomes["X"] == "X"
    cancellation = outcomes["P"]
    assert isinstance(cancellation, cf.Cancellation)
    assert isinstance(cancellation.cause, cf.Supplanted)
    assert order == ["E started", "X started"]


# --------------------------------------------------------------------------- DE-5, serial


async def test_different_labels_run_concurrently() -> None:
    """DE-5 (S7.5): each label is its own queue: with three labels, three requests run at
    once (each waits until the other labels run too), never two of one label."""
    labels = ["a", "b", "c"]
    active: dict[str, int] = dict.fromkeys(labels, 0)
    most: dict[str, int] = dict.fromkeys(labels, 0)
    peak = [0]
    all_running = anyio.Event()
    done: list[str] = []

    async def work(request: tuple[str, int]) -> tuple[str, int]:
        label, _ = request
        active[label] += 1
        most[label] = max(most[label], active[label])
        peak[0] = max(peak[0], sum(active.values()))
        try:
            if sum(active.values()) == len(labels):
                all_running.set()
            await all_running.wait()
            for _ in range(3):
                await anyio.lowlevel.checkpoint()
        finally:
            active[label] -= 1
        done.append(label)
        return request

    service = cf.service(work)

    def per_label(label: str) -> cf.Workflow[tuple[str, int], tuple[str, int]]:
        @cf.workflow
        def wf(scope: cf.Scope[tuple[str, int], tuple[str, int]], builder: cf.Builder) -> None:
            builder.chain(scope.start).then(service.instruct(label=label)).connect(scope.terminate)

        return wf

    workflows = {label: per_label(label) for label in labels}
    responses: list[tuple[str, int]] = []

    async def one(label: str, i: int) -> None:
        responses.append(await workflows[label].run((label, i)))

    with anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as tg:
            for i in range(3):
                for label in labels:
                    tg.start_soon(one, label, i)
    assert sorted(responses) == [(label, i) for label in labels for i in range(3)]
    assert all_running.is_set()
    assert peak == [len(labels)]
    assert most == dict.fromkeys(labels, 1)
    assert sorted(done) == sorted(labels * 3)


async def test_a_serial_service_runs_one_request_at_a_time_everywhere() -> None:
    """S7.5, S8.4: a `serial=True` service runs one request at a time across sessions and
    across workflows."""
    state = {"active": 0, "max": 0}

    @cf.service(serial=True)
    async def serial(x: int) -> int:
        state["active"] += 1
        state["max"] = max(state["max"], state["active"])
        try:
            for _ in range(5):
                await anyio.lowlevel.checkpoint()
        finally:
            state["active"] -= 1
        return x

    @cf.workflow
    def single(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(serial).connect(scope.terminate)

    @cf.workflow
    def many(scope: cf.Scope[int, list[int]], builder: cf.Builder) -> None:
        builder.chain(scope.start).map(lambda x: [x, x + 1, x + 2]).spread().then(
            serial
        ).collect_all().connect(scope.terminate)

    results: dict[int, Any] = {}

    async def one(i: int) -> None:
        results[i] = await (single.run(i) if i % 2 else many.run(10 * i))

    with anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as tg:
            for i in range(6):
                tg.start_soon(one, i)
    assert results == {i: (i if i % 2 else [10 * i, 10 * i + 1, 10 * i + 2]) for i in range(6)}
    assert state == {"active": 0, "max": 1}


async def test_blocking_services_are_never_queued() -> None:
    """S7.5: a blocking service runs inline, one call at a time: instructions do not queue
    or supplant its calls."""
    calls: list[int] = []

    def blocking(x: int) -> int:
        calls.append(x)
        return x

    svc = cf.service(blocking).instruct(label="L", preempt=True)

    @cf.workflow
    def wf(scope: cf.Scope[list[int], list[int]], builder: cf.Builder) -> None:
        builder.chain(scope.start).spread().then(svc).collect_all().connect(scope.terminate)

    assert await run(wf, [1, 2, 3]) == [1, 2, 3]
    assert calls == [1, 2, 3]


# --------------------------------------------------------------------------- bad input


def test_an_unhashable_label_is_rejected() -> None:
    """S7.5: labels are compared and hashed; an unhashable one is `InvalidArgument`."""

    @cf.service
    async def svc(x: int) -> int:
        return x

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.connect(scope.start, scope.terminate)

    with pytest.raises(cf.InvalidArgument, match="hashable"):
        svc.instruct(label=["L"])
    with pytest.raises(cf.InvalidArgument, match="hashable"):
        wf.instruct(label={"L": 1})
    assert issubclass(cf.InvalidArgument, TypeError)


def test_preempt_needs_a_label_unless_the_service_is_serial() -> None:
    """S7.5: `preempt=True` without a label has nothing to pre-empt on a parallel service
    or workflow: `InvalidArgument`. A serial service has one queue, so it is allowed."""

    @cf.service
    async def parallel(x: int) -> int:
        return x

    @cf.service(serial=True)
    async def serial(x: int) -> int:
        return x

    @cf.workflow
    def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.connect(scope.start, scope.terminate)

    with pytest.raises(cf.InvalidArgument, match="label"):
        parallel.instruct(preempt=True)
    with pytest.raises(cf.InvalidArgument, match="label"):
        wf.instruct(preempt=True)
    assert isinstance(serial.instruct(preempt=True), cf.Service)


def test_instruction_flags_must_be_bools() -> None:
    """S7.5: `preempt` and `ensure` take bools."""

    @cf.service
    async def svc(x: int) -> int:
        return x

    with pytest.raises(cf.InvalidArgument, match="preempt"):
        svc.instruct(label="L", preempt=1)  # type: ignore[arg-type]
    with pytest.raises(cf.InvalidArgument, match="ensure"):
        svc.instruct(label="L", ensure="yes")  # type: ignore[arg-type]
