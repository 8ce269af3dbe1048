"""`cft.explore` (API §11): a plain run, then a run cancelled after each event of its log,
then a run for each service activation failing in turn; every outcome checked, the first
violation reported with its point and its run's events.

Every async test runs on asyncio and on trio; on trio the event loop has a `MockClock`, so
that `explore` skips time there too (without one it runs in real time, and warns).
"""

from __future__ import annotations

import itertools
from typing import Any

import anyio
import pytest
import virtual_backends

import crossflow as cf
from crossflow import events as ev
from crossflow import testing as cft
from crossflow.testing import event_kinds
from crossflow.testing._points import event_key

pytestmark = pytest.mark.anyio

TIMEOUT = 10

anyio_backend = virtual_backends.anyio_backend


async def twice(x: int) -> int:
    await anyio.lowlevel.checkpoint()
    return x * 2


def minus_one(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
    builder.chain(scope.start).map(lambda x: x - 1, name="dec").connect(scope.terminate)


@cf.workflow
def pipeline(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
    """inc (blocking) -> twice (async) -> wait (a delay) -> inner scope: dec."""
    (
        builder.chain(scope.start)
        .map(lambda x: x + 1, name="inc")
        .then(twice)
        .delay(0.01, name="wait")
        .then_scope(minus_one, name="inner")
        .connect(scope.terminate)
    )


@cf.workflow
def fan_out(scope: cf.Scope[list[int], list[int]], builder: cf.Builder) -> None:
    """The same blocking operation, once per element."""
    builder.chain(scope.start).spread().map(lambda x: x + 1, name="inc").collect().connect(
        scope.terminate
    )


class Seen:
    """A check that records every outcome it is given."""

    def __init__(self) -> None:
        self.outcomes: list[cft.Outcome[Any]] = []

    def __call__(self, outcome: cft.Outcome[Any]) -> None:
        self.outcomes.append(outcome)


async def plain_events(wf: cf.Workflow[int, int], request: int) -> list[cf.Event]:
    async with wf.start(request) as session:
        await session.result()
    return list(session.events)


async def test_a_run_per_event_and_per_activation() -> None:
    """API §11: the plain run first (no point), then one cancel point per event of its
    log in log order, then one failure point per service activation (blocking, async, in
    a nested scope; not the delay); `check` sees each outcome, and the report counts them."""
    seen = Seen()
    with anyio.fail_after(TIMEOUT):
        report = await cft.explore(pipeline, 1, check=seen)
        events = await plain_events(pipeline, 1)
    plain, *rest = seen.outcomes
    assert plain.point is None and plain.responded and plain.response == 3
    assert [event_key(e) for e in plain.events] == [event_key(e) for e in events]
    cancels = [o.point for o in rest if o.point is not None and o.point.kind == "cancel"]
    fails = [o.point for o in rest if o.point is not None and o.point.kind == "fail"]
    assert [p.index for p in cancels] == list(range(len(events)))
    assert [event_key(p.event) for p in cancels] == [event_key(e) for e in events]
    assert [(p.operation, p.path) for p in fails] == [
        ("inc", ("pipeline",)),
        ("twice", ("pipeline",)),
        ("dec", ("pipeline", "inner[0]")),
    ]
    assert (report.runs, report.points) == (1 + len(events) + 3, len(events) + 3)
    assert (report.cancel_points, report.failure_points, report.found) == (len(events), 3, 19)
    assert report.backends == (plain.backend,)


async def test_a_cancel_point_repeats_the_plain_run_up_to_its_event() -> None:
    """API §11, API §3: at cancel point k the run records the plain run's first k + 1
    events, then the cancellation (`UserCancelled(reason)`) takes effect: no operation
    starts after the event that asked for it; points after the root's cleanup began
    change nothing, and the run responds."""
    seen = Seen()
    with anyio.fail_after(TIMEOUT):
        await cft.explore(pipeline, 1, check=seen, kinds="cancel", reason="stop")
    plain, *cancelled = seen.outcomes
    assert len(cancelled) == len(plain.events)
    for outcome in cancelled:
        assert outcome.point is not None
        k = outcome.point.index
        keys = [event_key(e) for e in outcome.events]
        assert keys[: k + 1] == [event_key(e) for e in plain.events[: k + 1]]
        if outcome.responded:
            assert outcome.response == 3
            assert event_kinds(plain.events[: k + 1], ("pipeline",))[-1] in (
                "CleanupStarted",
                "CleanupFinished",
                "Terminated",
            )
            continue
        assert outcome.cancellation is not None
        assert outcome.cancellation.cause == cf.UserCancelled("stop")
        later = outcome.events[k + 1 :]
        assert not any(isinstance(e, ev.OperationStarted) for e in later), outcome
    assert sum(not o.responded for o in cancelled) == len(cancelled) - 3


async def test_a_failure_point_makes_that_activation_raise() -> None:
    """API §11: at a failure point that one activation raises a `cft.InjectedFailure`
    instead of running, recorded like a real failure (its `OperationFinished` carries the
    error, the session is cancelled with `ServiceFailed`, S4.2); the error names the point."""
    seen = Seen()
    with anyio.fail_after(TIMEOUT):
        await cft.explore(pipeline, 1, check=seen, kinds=("fail",))
    failed = seen.outcomes[1:]
    assert [str(o.point) for o in failed] == [
        "`inc` raised an injected failure, in session pipeline",
        "`twice` raised an injected failure, in session pipeline",
        "`dec` raised an injected failure, in session pipeline/inner[0]",
    ]
    for outcome in failed:
        assert outcome.point is not None and outcome.cancellation is not None
        errors = [
            e.error for e in outcome.events if isinstance(e, ev.OperationFinished) and e.error
        ]
        assert len(errors) == 1
        (error,) = errors
        assert isinstance(error, cft.InjectedFailure)
        assert error.point == outcome.point
        finished = next(
            e for e in outcome.events if isinstance(e, ev.OperationFinished) and e.error
        )
        assert finished.path == outcome.point.path
        assert finished.operation == outcome.point.operation
    inc, twice_, dec = (o.cancellation for o in failed)
    assert inc is not None and twice_ is not None and dec is not None
    assert isinstance(inc.cause, cf.ServiceFailed) and inc.cause.operation == "inc"
    assert str(inc.cause.error) == "injected in place of `inc`, in session pipeline"
    assert isinstance(dec.cause, cf.Unreachable)  # the nested scope was cancelled (S1.7)


async def test_repeated_activations_are_points_of_their_own() -> None:
    """API §11: an operation that runs once per message gives one point per run of it,
    named by how many times it had run, and each run is interrupted at exactly that one."""
    seen = Seen()
    with anyio.fail_after(TIMEOUT):
        await cft.explore(fan_out, [10, 20, 30], check=seen)
    fails = [o for o in seen.outcomes if o.point is not None and o.point.kind == "fail"]
    assert [str(o.point) for o in fails] == [
        "`inc` raised an injected failure, in session fan_out",
        "`inc` raised an injected failure on its 2nd activation, in session fan_out",
        "`inc` raised an injected failure on its 3rd activation, in session fan_out",
    ]
    for i, outcome in enumerate(fails):
        finished = [e for e in outcome.events if isinstance(e, ev.OperationFinished)]
        assert [e.error is None for e in finished][: i + 1] == [True] * i + [False]
    names = [str(o.point) for o in seen.outcomes if o.point and o.point.kind == "cancel"]
    assert "cancelled right after `inc` finished for the 3rd time, in session fan_out" in names


@pytest.mark.parametrize(
    ("fail_with", "expected"),
    [
        (ConnectionError, "ConnectionError: injected in place of `twice`, in session pipeline"),
        (TimeoutError("the call timed out"), "TimeoutError: the call timed out"),
        (lambda point: KeyError(point.operation), "KeyError: 'twice'"),
    ],
)
async def test_fail_with_chooses_the_exception(fail_with: object, expected: str) -> None:
    """API §11: `fail_with=` an exception class (made with a message naming the point),
    an exception (a copy is raised), or a function of the point."""
    seen = Seen()
    with anyio.fail_after(TIMEOUT):
        await cft.explore(pipeline, 1, check=seen, kinds="fail", fail_with=fail_with)  # type: ignore[arg-type]
    outcome = seen.outcomes[2]
    assert outcome.cancellation is not None
    cause = outcome.cancellation.cause
    assert isinstance(cause, cf.ServiceFailed)
    assert f"{type(cause.error).__name__}: {cause.error}" == expected


async def test_the_first_violation_names_its_point() -> None:
    """API §11: a check that raises stops the exploration with `ExplorationFailed`
    (a `CrossflowError`): `.point`, `.events` (that run's log) and `.outcome`, the check's
    error as `__cause__`, and a message that names the point and marks it in the log."""

    def check(outcome: cft.Outcome[int]) -> None:
        point = outcome.point
        assert point is None or point.operation != "twice", "twice must not be interrupted"

    with anyio.fail_after(TIMEOUT), pytest.raises(cft.ExplorationFailed) as caught:
        await cft.explore(pipeline, 1, check=check)
    failed = caught.value
    assert isinstance(failed, cf.CrossflowError)
    assert str(failed.point) == "cancelled right after `twice` started, in session pipeline"
    assert failed.events == failed.outcome.events
    assert isinstance(failed.__cause__, AssertionError)
    lines = str(failed).splitlines()
    assert lines[0] == (
        f"'pipeline' failed its check at cancel point 4 of 16: cancelled right after "
        f"`twice` started, in session pipeline ({failed.outcome.backend})"
    )
    assert lines[1].startswith("    AssertionError: twice must not be interrupted")
    assert "the events of that run:" in lines
    marked = [line for line in lines if "<--" in line]
    assert marked == ["  pipeline: OperationStarted: twice    <-- cancelled here"]


async def test_a_failure_point_is_marked_where_it_was_injected() -> None:
    """API §11: for a failure point, the log in the message marks the injected failure."""

    def check(outcome: cft.Outcome[int]) -> None:
        assert outcome.point is None or outcome.point.kind == "cancel"

    with anyio.fail_after(TIMEOUT), pytest.raises(cft.ExplorationFailed) as caught:
        await cft.explore(pipeline, 1, check=check)
    assert "at failure point 1 of 3: `inc` raised an injected failure" in str(caught.value)
    (marked,) = [line for line in str(caught.value).splitlines() if "<--" in line]
    assert marked.startswith("  pipeline: OperationFinished: inc raised InjectedFailure")
    assert marked.endswith("<-- injected failure")


async def test_pytest_fail_in_a_check_is_a_violation_too() -> None:
    """API §11: `pytest.fail()` (which raises a BaseException) in a check is reported
    like an `AssertionError`, with its point."""

    def check(outcome: cft.Outcome[int]) -> None:
        if outcome.point is not None:
            pytest.fail("no point may be tried")

    with anyio.fail_after(TIMEOUT), pytest.raises(cft.ExplorationFailed) as caught:
        await cft.explore(pipeline, 1, check=check)
    assert caught.value.point is not None and caught.value.point.index == 0
    assert "Failed: no point may be tried" in str(caught.value)


async def test_a_violation_on_the_plain_run() -> None:
    """API §11: the plain run is checked first; its violation has no point."""

    def check(outcome: cft.Outcome[int]) -> None:
        assert outcome.response == 4

    with anyio.fail_after(TIMEOUT), pytest.raises(cft.ExplorationFailed) as caught:
        await cft.explore(pipeline, 1, check=check)
    assert caught.value.point is None
    assert "on the plain run (no cancellation, no failure)" in str(caught.value).splitlines()[0]


async def test_an_async_check_is_awaited() -> None:
    """API §11: `check` may be an async function."""
    checked: list[cft.Point | None] = []

    async def check(outcome: cft.Outcome[int]) -> None:
        await anyio.lowlevel.checkpoint()
        checked.append(outcome.point)

    with anyio.fail_after(TIMEOUT):
        report = await cft.explore(pipeline, 1, check=check)
    assert len(checked) == report.runs


async def test_limit_spreads_the_points_tried() -> None:
    """API §11: `limit` tries at most that many points, spread evenly over all of them
    (the first one included); 0 leaves only the plain run."""
    seen = Seen()
    with anyio.fail_after(TIMEOUT):
        report = await cft.explore(pipeline, 1, check=seen, limit=4)
        none = await cft.explore(pipeline, 1, check=Seen(), limit=0)
    tried = [o.point for o in seen.outcomes[1:]]
    assert [(p.kind, p.index) for p in tried if p] == [
        ("cancel", 0),
        ("cancel", 4),
        ("cancel", 9),
        ("cancel", 14),
    ]
    assert (report.points, report.found, report.runs) == (4, 19, 5)
    assert (none.points, none.runs) == (0, 1)


class Counter:
    """A workflow factory whose workflows remember how often they were built."""

    def __init__(self) -> None:
        self.built = 0

    def __call__(self) -> cf.Workflow[int, int]:
        self.built += 1
        return pipeline


async def test_a_factory_is_called_for_each_run() -> None:
    """API §11: `wf` may be a function that builds a fresh workflow for each run."""
    make = Counter()
    with anyio.fail_after(TIMEOUT):
        report = await cft.explore(make, 1, check=Seen())
    assert make.built == report.runs


async def test_a_run_that_does_not_repeat_the_plain_run_is_reported() -> None:
    """API §11: points are found again by what happens; a workflow whose runs differ
    (state kept between runs) fails with an `ExplorationFailed` that says so."""
    calls = itertools.count()

    def sometimes(x: int) -> int | None:
        return x if next(calls) == 0 else None

    @cf.workflow
    def stateful(scope: cf.Scope[int, int | None], builder: cf.Builder) -> None:
        (
            builder.chain(scope.start)
            .map(sometimes, name="sometimes")
            .branch_for_none(lambda none: none.connect(scope.terminate))
            .then(twice)
            .connect(scope.terminate)
        )

    with anyio.fail_after(TIMEOUT), pytest.raises(cft.ExplorationFailed) as caught:
        await cft.explore(stateful, 1, check=lambda outcome: None, kinds="fail")
    message = str(caught.value)
    assert "'stateful' did not reach failure point 2 of 2 (" in message
    assert "the point: `twice` raised an injected failure, in session stateful" in message
    assert "the run did not repeat the plain run" in message
    assert caught.value.__cause__ is None


async def test_run_at_one_point() -> None:
    """API §11: `run_at` runs the workflow once, interrupted at the given point."""
    seen = Seen()
    with anyio.fail_after(TIMEOUT):
        await cft.explore(pipeline, 1, check=seen)
        outcomes = [o for o in seen.outcomes if o.point is not None]
        for expected in outcomes[::4]:
            assert expected.point is not None
            outcome = await cft.run_at(pipeline, 1, expected.point)
            assert outcome.point == expected.point
            assert [event_key(e) for e in outcome.events] == [event_key(e) for e in expected.events]


async def test_warnings_of_a_run_go_to_its_outcome() -> None:
    """API §11: a `CrossflowWarning` issued by a run (a cleanup workflow that failed after
    the session responded) is handed to `check` in `outcome.warnings`, not raised."""

    def cleanup(scope: cf.Scope[None, None], builder: cf.Builder) -> None:
        builder.chain(scope.start).map(lambda _: None, name="tidy").connect(scope.terminate)

    @cf.workflow
    def tidy(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.on_terminate((), cleanup)
        builder.chain(scope.start).map(lambda x: x, name="same").connect(scope.terminate)

    seen = Seen()
    with anyio.fail_after(TIMEOUT):
        await cft.explore(tidy, 1, check=seen, kinds="fail")
    (failed_cleanup,) = [o for o in seen.outcomes if o.point and o.point.operation == "tidy"]
    assert failed_cleanup.responded
    assert [type(w) for w in failed_cleanup.warnings] == [cf.CrossflowWarning]
    assert "tidy" in str(failed_cleanup.warnings[0])
    assert seen.outcomes[0].warnings == ()


async def test_reprs_say_what_happened() -> None:
    """Reprs show state: an outcome says its point and how it ended; a report what it
    tried."""
    seen = Seen()
    with anyio.fail_after(TIMEOUT):
        report = await cft.explore(pipeline, 1, check=seen, limit=1)
    backend = seen.outcomes[0].backend
    assert repr(seen.outcomes[0]) == f"<Outcome (plain run, {backend}): responded 3; 16 events>"
    assert repr(seen.outcomes[1]) == (
        f"<Outcome (cancelled right after the session started, in session pipeline, "
        f"{backend}): cancelled: cancelled from outside: no reason given; 5 events>"
    )
    time = "virtual time" if report.virtual_time else "real time"
    assert str(report) == (
        f"explored 'pipeline' on {backend} in {time}: 2 runs, 1 cancel point and "
        "0 failure points (of 19 found); every check passed"
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"wf": 3}, r"explore\(wf, \.\.\.\) takes a cf.Workflow, or a function"),
        ({"wf": lambda: 3}, "returned 3; it must return a cf.Workflow"),
        ({"check": None}, r"explore\(check=\.\.\.\) takes a function"),
        ({"kinds": ("cancel", "stop")}, r"kinds=\.\.\.\) takes 'cancel', 'fail' or both"),
        ({"kinds": ()}, r"kinds=\.\.\.\) takes 'cancel', 'fail' or both"),
        ({"limit": -1}, r"limit=\.\.\.\) takes a number of points >= 0 or None, got -1"),
        ({"limit": 1.5}, r"limit=\.\.\.\) takes a number of points"),
        ({"fail_with": 3}, r"fail_with=\.\.\.\) takes an Exception subclass"),
        ({"fail_with": int}, r"fail_with=\.\.\.\) takes an Exception subclass"),
        ({"reason": 3}, r"reason=\.\.\.\) takes a str or None, got 3"),
        ({"virtual_time": "yes"}, r"virtual_time=\.\.\.\) takes True, False or None"),
        ({"jump_after": -1}, r"jump_after=\.\.\.\) takes a finite number of seconds >= 0"),
    ],
)
async def test_bad_arguments_are_rejected(kwargs: dict[str, object], match: str) -> None:
    """`cf.InvalidArgument` where the argument is given, naming it and showing the value."""
    arguments: dict[str, object] = {"wf": pipeline, "check": Seen(), **kwargs}
    wf = arguments.pop("wf")
    with anyio.fail_after(TIMEOUT), pytest.raises(cf.InvalidArgument, match=match):
        await cft.explore(wf, 1, **arguments)  # type: ignore[arg-type]


async def test_fail_with_must_make_an_exception() -> None:
    """A `fail_with` function that returns something else is reported with the point."""
    with anyio.fail_after(TIMEOUT), pytest.raises(cf.InvalidArgument, match="must return an"):
        await cft.explore(pipeline, 1, check=Seen(), kinds="fail", fail_with=lambda p: 3)  # type: ignore[arg-type,return-value]


async def test_explore_sync_refuses_a_running_event_loop() -> None:
    """`explore_sync` starts event loops of its own: inside one, it says to await `explore`."""
    with pytest.raises(cf.CrossflowError, match=r"there, await cft\.explore\(\.\.\.\) instead"):
        cft.explore_sync(pipeline, 1, check=Seen())


def test_explore_sync_on_both_backends() -> None:
    """API §11: `explore_sync(backend=(...))` explores on each backend in turn and adds up
    the reports."""
    seen = Seen()
    report = cft.explore_sync(pipeline, 1, check=seen, backend=("asyncio", "trio"))
    assert report.backends == ("asyncio", "trio")
    assert report.runs == 2 * 20 == len(seen.outcomes)
    assert {o.backend for o in seen.outcomes[:20]} == {"asyncio"}
    assert {o.backend for o in seen.outcomes[20:]} == {"trio"}
    assert report.virtual_time


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_explore_sync_in_real_time(backend: str) -> None:
    """`explore_sync(virtual_time=False)` runs in plain event loops."""
    report = cft.explore_sync(pipeline, 1, check=Seen(), backend=backend, virtual_time=False)  # type: ignore[arg-type]
    assert not report.virtual_time and report.runs == 20


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"backend": "curio"}, r"backend=\.\.\.\) must be 'asyncio' or 'trio', got 'curio'"),
        ({"backend": ()}, "needs at least one backend"),
        ({"virtual_time": None}, r"virtual_time=\.\.\.\) takes True or False"),
    ],
)
def test_explore_sync_rejects_bad_arguments(kwargs: dict[str, object], match: str) -> None:
    """`cf.InvalidArgument` for a backend that is not one, or no backend at all."""
    with pytest.raises(cf.InvalidArgument, match=match):
        cft.explore_sync(pipeline, 1, check=Seen(), **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kinds": "cancl"}, "explore_sync(kinds=...) takes 'cancel', 'fail' or both, got 'cancl'"),
        (
            {"kinds": ["cancel", "stop"]},
            "explore_sync(kinds=...) takes 'cancel', 'fail' or both, got ['cancel', 'stop']",
        ),
        ({"limit": -1}, "explore_sync(limit=...) takes a number of points >= 0 or None, got -1"),
        ({"check": None}, "explore_sync(check=...) takes a function called with each run's"),
        ({"wf": 3}, "explore_sync(wf, ...) takes a cf.Workflow, or a function of no arguments"),
        ({"fail_with": 3}, "explore_sync(fail_with=...) takes an Exception subclass"),
        ({"reason": 3}, "explore_sync(reason=...) takes a str or None, got 3"),
        ({"timeout": 0}, "explore_sync(timeout=...) takes a number of seconds > 0 or None, got 0"),
    ],
)
def test_explore_sync_names_itself_and_the_value_as_given(
    kwargs: dict[str, object], message: str
) -> None:
    """A mistake in an argument of `explore_sync` is reported by `explore_sync` (the
    function called, not the `explore` it runs), with the value as it was given."""
    arguments: dict[str, object] = {"wf": pipeline, "check": Seen(), **kwargs}
    wf = arguments.pop("wf")
    with pytest.raises(cf.InvalidArgument) as caught:
        cft.explore_sync(wf, 1, **arguments)  # type: ignore[arg-type]
    assert str(caught.value).startswith(message)


def test_explore_sync_takes_kinds_from_an_iterator() -> None:
    """`kinds` may be any iterable, an iterator too: it is read once, for every backend."""
    report = cft.explore_sync(
        pipeline, 1, check=Seen(), kinds=iter(["fail"]), backend=("asyncio", "trio")
    )
    assert (report.cancel_points, report.failure_points) == (0, 2 * 3)


@pytest.mark.parametrize(
    ("counts", "text"),
    [
        ((1, 1, 0), "1 run, 1 cancel point and 0 failure points"),
        ((2, 0, 1), "2 runs, 0 cancel points and 1 failure point"),
        ((3, 1, 1), "3 runs, 1 cancel point and 1 failure point"),
    ],
)
def test_the_report_counts_in_words(counts: tuple[int, int, int], text: str) -> None:
    """The report's text says "1 failure point", "2 failure points"."""
    runs, cancel, fail = counts
    report = cft.ExplorationReport("wf", ("asyncio",), runs, cancel + fail, cancel, fail, 9, True)
    assert f"in virtual time: {text} (of 9 found); every check passed" in str(report)
