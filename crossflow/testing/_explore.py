"""`explore`: run a workflow once, then once per point where it can be interrupted:
cancelled from outside after each event of the plain run, and with each service
activation failing in turn; check every outcome."""

from __future__ import annotations

import contextlib
import copy
import inspect
import math
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Generic, TypeAlias, TypeVar, cast

import anyio
import attrs

import crossflow as cf
import crossflow.testing._clock as _clock
import crossflow.testing._hooks as _hooks
from crossflow import events as ev

from .._text import counted
from ._clock import Backend
from ._points import KINDS, InjectedFailure, Point, PointKind, cancel_points, event_key
from ._points import failure_points as _failure_points

Req = TypeVar("Req")
Resp = TypeVar("Resp")

WorkflowSource: TypeAlias = "cf.Workflow[Req, Resp] | Callable[[], cf.Workflow[Req, Resp]]"
FailWith: TypeAlias = "type[Exception] | Exception | Callable[[Point], Exception]"

_SHOWN_EVENTS = 60  # an event log longer than this is shown around the point only


@attrs.frozen(repr=False)
class Outcome(Generic[Resp]):
    """What one run of `explore` (or `run_at`) ended with; `check` receives it.

    Attributes:
        response: the response, or None when the run was cancelled.
        cancellation: why the run was cancelled, or None when it responded.
        events: the run's event log, in order.
        point: where the run was interrupted; None for the plain run.
        backend: the event loop it ran on, `"asyncio"` or `"trio"`.
        warnings: the `cf.CrossflowWarning`s the run issued (e.g. a service that failed
            while its session was cleaning up after it responded).
    """

    response: Resp | None
    cancellation: cf.Cancellation | None
    events: tuple[cf.Event, ...]
    point: Point | None
    backend: str
    warnings: tuple[Warning, ...] = ()

    def __repr__(self) -> str:
        where = "plain run" if self.point is None else str(self.point)
        if self.cancellation is None:
            ended = f"responded {self.response!r}"
        else:
            ended = f"cancelled: {self.cancellation}"
        return f"<Outcome ({where}, {self.backend}): {ended}; {counted(len(self.events), 'event')}>"

    @property
    def responded(self) -> bool:
        """True when the run delivered its response (it was not cancelled)."""
        return self.cancellation is None


@attrs.frozen
class ExplorationReport:
    """What `explore` tried; every check passed.

    Attributes:
        workflow: the workflow's name.
        backends: the event loops it ran on.
        runs: how many runs were made, the plain runs included.
        points: how many points were tried (cancel and failure points).
        cancel_points: how many of them were cancel points.
        failure_points: how many of them were failure points.
        found: how many points the plain runs offered (more than `points` when `limit`
            left some out).
        virtual_time: whether the runs skipped idle waits (see `virtual_clock`).
    """

    workflow: str
    backends: tuple[str, ...]
    runs: int
    points: int
    cancel_points: int
    failure_points: int
    found: int
    virtual_time: bool

    def __str__(self) -> str:
        left = "" if self.found == self.points else f" (of {self.found} found)"
        time = "virtual time" if self.virtual_time else "real time"
        return (
            f"explored {self.workflow!r} on {' and '.join(self.backends)} in {time}: "
            f"{counted(self.runs, 'run')}, {counted(self.cancel_points, 'cancel point')} and "
            f"{counted(self.failure_points, 'failure point')}{left}; every check passed"
        )

    def __add__(self, other: ExplorationReport) -> ExplorationReport:
        return ExplorationReport(
            self.workflow,
            self.backends + other.backends,
            self.runs + other.runs,
            self.points + other.points,
            self.cancel_points + other.cancel_points,
            self.failure_points + other.failure_points,
            self.found + other.found,
            self.virtual_time and other.virtual_time,
        )


class ExplorationFailed(cf.CrossflowError):
    """A run of `explore` failed its check, or did not reach its point.

    The message names the point ("cancelled right after `open_session` finished, in
    session scheduling"), the error, and shows the run's event log.

    Attributes:
        point: where the run was interrupted; None for the plain run.
        events: that run's event log.
        outcome: that run's outcome.

    The exception that `check` raised is the `__cause__`.
    """

    def __init__(self, message: str, outcome: Outcome[Any]) -> None:
        super().__init__(message)
        self.outcome = outcome
        self.point = outcome.point
        self.events = outcome.events


def _event_lines(events: Sequence[cf.Event], mark: int | None, note: str) -> list[str]:
    lines = [f"  {e.describe()}" for e in events]
    if mark is not None:
        lines[mark] += f"    <-- {note}"
    if len(lines) <= _SHOWN_EVENTS:
        return lines
    around = mark if mark is not None else len(lines) - 1
    start = max(5, around - 15)
    stop = min(len(lines), start + _SHOWN_EVENTS - 10)
    shown = lines[:5]
    if start > 5:
        shown.append(f"  ... {counted(start - 5, 'event')} ...")
    shown += lines[start:stop]
    if stop < len(lines):
        shown.append(f"  ... {counted(len(lines) - stop, 'more event')}")
    return shown


@attrs.frozen
class _Options:
    """What every run of one exploration shares."""

    fail_with: FailWith
    reason: str | None
    timeout: float | None
    backend: str


class _Run:
    """One run: records its events, and cancels or fails at its point."""

    __slots__ = (
        "activations",
        "events",
        "failure",
        "key",
        "mark",
        "options",
        "point",
        "problem",
        "seen",
        "session",
    )

    def __init__(self, point: Point | None, options: _Options) -> None:
        self.point = point
        self.options = options
        self.events: list[cf.Event] = []
        self.activations: list[str] = []  # the plain run's activations, by name
        self.key = None if point is None else event_key(point.event)
        self.seen: dict[object, int] = {}
        self.mark: int | None = None  # where in `events` the point was reached
        self.failure: Exception | None = None
        self.problem: Exception | None = None
        self.session: cf.Session[Any] | None = None

    def on_event(self, event: cf.Event) -> None:
        self.events.append(event)
        point = self.point
        if point is None or point.kind != "cancel" or self.mark is not None:
            return
        key = event_key(event)
        n = self.seen.get(key, 0)
        self.seen[key] = n + 1
        if key == self.key and n == point.nth:
            self.mark = len(self.events) - 1
            assert self.session is not None  # invariant: set before the session starts
            self.session.cancel(self.options.reason)

    def inject(self, name: str) -> Exception | None:
        point = self.point
        if point is None:
            self.activations.append(name)
            return None
        if point.kind != "fail" or self.failure is not None:
            return None
        n = self.seen.get(name, 0)
        self.seen[name] = n + 1
        if name == point.operation and n == point.nth:
            try:
                self.failure = _failure(self.options.fail_with, point)
            except Exception as error:
                # raised here, it would break the engine: the run fails with the
                # default exception, and explore raises this one once the run is over
                self.problem = error
                self.failure = InjectedFailure(point)
            return self.failure
        return None

    @property
    def reached(self) -> bool:
        return self.point is None or self.mark is not None or self.failure is not None

    def marked(self) -> tuple[int | None, str]:
        """Where the point is in this run's events, and what to mark it with."""
        if self.failure is None:
            return self.mark, "cancelled here"
        for i, event in enumerate(self.events):
            if isinstance(event, ev.OperationFinished) and event.error is self.failure:
                return i, "injected failure"
        return None, ""


def _failure(fail_with: FailWith, point: Point) -> Exception:
    if isinstance(fail_with, type):
        if issubclass(fail_with, InjectedFailure):
            return fail_with(point)
        cls = cast("type[Exception]", fail_with)
        return cls(point.injected())
    if isinstance(fail_with, Exception):
        return copy.copy(fail_with)
    make: Callable[[Point], object] = fail_with
    made = make(point)
    if not isinstance(made, Exception):
        raise cf.InvalidArgument(
            f"fail_with={fail_with!r} returned {made!r} for {point}; it must return an "
            "Exception to raise in place of the service"
        )
    return made


async def _run_once(
    workflow: cf.Workflow[Req, Resp], request: Req, run: _Run, counts: dict[str, int]
) -> Outcome[Resp]:
    """Run `workflow` once, interrupted at the run's point; its outcome."""
    options = run.options
    session = _hooks.start(workflow, request, run.on_event, run.inject)
    run.session = session
    response: Resp | None = None
    cancellation: cf.Cancellation | None = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", cf.CrossflowWarning)
        with anyio.move_on_after(math.inf if options.timeout is None else options.timeout) as limit:
            async with session:
                try:
                    response = await session.result()
                except cf.WorkflowCancelled as cancelled:
                    cancellation = cancelled.cancellation
    ours: list[Warning] = []
    for message in caught:
        if isinstance(message.message, cf.CrossflowWarning):
            ours.append(message.message)
        else:  # not ours to keep: issue it as it would have been
            warnings.warn_explicit(
                message.message, message.category, message.filename, message.lineno
            )
    if run.problem is not None:
        raise run.problem
    outcome = Outcome(
        response, cancellation, tuple(run.events), run.point, options.backend, tuple(ours)
    )
    if limit.cancelled_caught:
        mark, note = run.marked()
        lines = [
            f"{workflow.name!r} did not end within timeout={options.timeout} s "
            f"{_describe_point(run.point, counts)} ({options.backend}); it was cancelled",
            "the events of that run:",
            *_event_lines(outcome.events, mark, note),
        ]
        raise ExplorationFailed("\n".join(lines), outcome)
    if not run.reached:
        assert run.point is not None  # invariant: the plain run reaches its (no) point
        lines = [
            f"{workflow.name!r} did not reach {_name_point(run.point, counts)} ({options.backend})",
            f"    the point: {run.point}",
            "    the run did not repeat the plain run: give explore a function that builds a "
            "fresh workflow with fresh state for each run, and keep what the workflow does "
            "independent of earlier runs, randomness and the clock",
            "the events of that run:",
            *_event_lines(outcome.events, None, ""),
        ]
        raise ExplorationFailed("\n".join(lines), outcome)
    return outcome


def _workflow_source(source: object, where: str) -> Callable[[], cf.Workflow[Any, Any]]:
    if isinstance(source, cf.Workflow):
        workflow = source
        return lambda: workflow
    if callable(source):

        def make() -> cf.Workflow[Any, Any]:
            made = source()
            if not isinstance(made, cf.Workflow):
                raise cf.InvalidArgument(
                    f"{where}(wf, ...): the function {source!r} returned {made!r}; it must "
                    "return a cf.Workflow (a fresh one, with fresh state, for each run)"
                )
            return made

        return make
    raise cf.InvalidArgument(
        f"{where}(wf, ...) takes a cf.Workflow, or a function of no arguments that builds "
        f"one for each run, got {source!r} of type {type(source).__name__}"
    )


def _check_kinds(kinds: object, where: str) -> tuple[PointKind, ...]:
    given = kinds
    if isinstance(kinds, str):
        kinds = (kinds,)
    if not isinstance(kinds, Iterable):
        raise cf.InvalidArgument(
            f"{where}(kinds=...) takes 'cancel', 'fail' or both, got {given!r}"
        )
    chosen = tuple(kinds)
    if isinstance(given, Iterator):
        given = chosen  # used up by now: show what it held
    wrong = [k for k in chosen if k not in KINDS]
    if wrong or not chosen:
        raise cf.InvalidArgument(
            f"{where}(kinds=...) takes 'cancel', 'fail' or both, got {given!r}"
        )
    return tuple(k for k in KINDS if k in chosen)


def _check_check(check: object, where: str) -> None:
    if not callable(check):
        raise cf.InvalidArgument(
            f"{where}(check=...) takes a function called with each run's cft.Outcome, got {check!r}"
        )


def _check_fail_with(fail_with: object, where: str) -> FailWith:
    if isinstance(fail_with, type):
        if issubclass(fail_with, Exception):
            return fail_with
    elif isinstance(fail_with, Exception):
        return fail_with
    elif callable(fail_with):
        return cast("Callable[[Point], Exception]", fail_with)
    raise cf.InvalidArgument(
        f"{where}(fail_with=...) takes an Exception subclass, an Exception, or a function "
        f"that makes one from a cft.Point, got {fail_with!r}"
    )


def _check_reason(reason: object, where: str) -> str | None:
    if reason is not None and not isinstance(reason, str):
        raise cf.InvalidArgument(f"{where}(reason=...) takes a str or None, got {reason!r}")
    return reason


def _check_limit(limit: object, where: str) -> int | None:
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise cf.InvalidArgument(
            f"{where}(limit=...) takes a number of points >= 0 or None, got {limit!r}"
        )
    return limit


def _spread(points: Sequence[Point], limit: int | None) -> Sequence[Point]:
    """At most `limit` of `points`, spread evenly, the first one included."""
    if limit is None or limit >= len(points):
        return points
    if limit == 0:
        return []
    step = len(points) / limit
    return [points[int(i * step)] for i in range(limit)]


def _virtual_time(virtual_time: object, jump_after: float, where: str) -> Any:
    """The context in which runs go: a virtual clock, if asked for or possible.

    Left to choose (None), where time cannot be skipped it warns that the runs go in
    real time, and how to skip it.
    """
    if virtual_time is None:
        reason = _clock.why_time_cannot_be_skipped()
        use = reason is None
        if reason is not None:
            warnings.warn(
                cf.CrossflowWarning(
                    f"cft.{where}() runs in real time here, so every delay, timeout and "
                    f"sleep of the runs takes its full time: {reason}. Pass "
                    "virtual_time=False to run in real time without this warning."
                ),
                stacklevel=3,
            )
    elif virtual_time is True or virtual_time is False:
        use = virtual_time
    else:
        raise cf.InvalidArgument(
            f"{where}(virtual_time=...) takes True, False or None, got {virtual_time!r}"
        )
    if not use:
        return contextlib.nullcontext(False)
    return _virtual(jump_after)


@contextlib.contextmanager
def _virtual(jump_after: float) -> Any:
    with _clock.virtual_clock(jump_after=jump_after):
        yield True


def _name_point(point: Point, counts: dict[str, int]) -> str:
    """How the point is numbered: "cancel point 4 of 10"."""
    kind = "cancel" if point.kind == "cancel" else "failure"
    total = counts[point.kind]
    of = f" of {total}" if total else ""
    return f"{kind} point {point.index + 1}{of}"


def _describe_point(point: Point | None, counts: dict[str, int]) -> str:
    if point is None:
        return "on the plain run (no cancellation, no failure)"
    return f"at {_name_point(point, counts)}: {point}"


async def _check_outcome(
    check: Callable[[Outcome[Resp]], object],
    outcome: Outcome[Resp],
    run: _Run,
    name: str,
    counts: dict[str, int],
) -> None:
    __tracebackhide__ = True
    try:
        result = check(outcome)
        if inspect.isawaitable(result):
            await result
    except (KeyboardInterrupt, SystemExit, GeneratorExit, anyio.get_cancelled_exc_class()):
        raise
    except BaseException as error:  # `pytest.fail()` raises a BaseException, too
        mark, note = run.marked()
        text = str(error).strip()
        detail = type(error).__qualname__ + (": " + text.replace("\n", "\n    ") if text else "")
        lines = [
            f"{name!r} failed its check {_describe_point(outcome.point, counts)} "
            f"({outcome.backend})",
            f"    {detail}",
            "the events of that run:",
            *_event_lines(outcome.events, mark, note),
        ]
        raise ExplorationFailed("\n".join(lines), outcome) from error


async def _explore(
    make: Callable[[], cf.Workflow[Req, Resp]],
    request: Req,
    check: Callable[[Outcome[Resp]], object],
    kinds: tuple[PointKind, ...],
    limit: int | None,
    options: _Options,
    virtual_time: bool,
) -> ExplorationReport:
    workflow = make()
    name = workflow.name
    plain = _Run(None, options)
    counts = {"cancel": 0, "fail": 0}
    outcome = await _run_once(workflow, request, plain, counts)
    await _check_outcome(check, outcome, plain, name, counts)
    points: list[Point] = []
    if "cancel" in kinds:
        points += cancel_points(outcome.events)
    if "fail" in kinds:
        points += _failure_points(outcome.events, plain.activations)
    for point in points:
        counts[point.kind] += 1
    chosen = _spread(points, limit)
    for point in chosen:
        run = _Run(point, options)
        outcome = await _run_once(make(), request, run, counts)
        await _check_outcome(check, outcome, run, name, counts)
    tried_cancel = sum(1 for p in chosen if p.kind == "cancel")
    return ExplorationReport(
        name,
        (options.backend,),
        1 + len(chosen),
        len(chosen),
        tried_cancel,
        len(chosen) - tried_cancel,
        len(points),
        virtual_time,
    )


def _check_timeout(timeout: object, where: str) -> float | None:
    if timeout is None:
        return None
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, (int, float))
        or not 0 < timeout < math.inf
    ):
        raise cf.InvalidArgument(
            f"{where}(timeout=...) takes a number of seconds > 0 or None, got {timeout!r}"
        )
    return float(timeout)


def _options(
    fail_with: object, reason: object, timeout: object, where: str
) -> tuple[FailWith, str | None, float | None]:
    return (
        _check_fail_with(fail_with, where),
        _check_reason(reason, where),
        _check_timeout(timeout, where),
    )


async def explore(
    wf: WorkflowSource[Req, Resp],
    request: Req,
    *,
    check: Callable[[Outcome[Resp]], object],
    kinds: PointKind | Iterable[PointKind] = KINDS,
    limit: int | None = None,
    fail_with: FailWith = InjectedFailure,
    reason: str | None = None,
    timeout: float | None = None,
    virtual_time: bool | None = None,
    jump_after: float = 0.0,
) -> ExplorationReport:
    """Run `wf` once, then once per point where it could be interrupted; check each run.

    ```python
    report = await cft.explore(wf, request, check=nothing_left_open)
    ```

    1. The plain run: no cancellation, no failure.
    2. A cancel point after each event of the plain run's log, in order: the run is
       cancelled from outside (`session.cancel(reason)`) as soon as it has recorded that
       event; the cancellation takes effect right after the operation that recorded it.
    3. A failure point for each service activation of the plain run, in order (blocking
       and async services and maps, not delays): that activation raises an exception
       instead of running, recorded like a real failure.

    Every run is handed to `check(outcome)` (a function, or an async function), which
    raises (e.g. `AssertionError`) on a violation. The first violation stops the
    exploration with `ExplorationFailed`, which names the point and shows that run's
    event log.

    Runs go one after the other in the running event loop, with a clock that jumps over
    idle waits (`virtual_clock`), so that hour-long delays and timeouts take no time.
    That clock is the loop's: a deadline set around `explore` (`anyio.fail_after`) is
    reached as soon as the runs' waits add up to it. Limit each run with `timeout=`
    instead.

    Points are found and reached by what happens, not by timing: the runs must repeat
    the plain run up to their point. Give a workflow that keeps state outside itself (a
    database, a fake service) as a function that builds a fresh one for each run.

    Args:
        wf: the workflow, or a function of no arguments that builds a fresh workflow
            (with fresh state) for each run.
        request: the request of every run.
        check: called with the `Outcome` of every run.
        kinds: which points to try: `"cancel"`, `"fail"`, or both (the default).
        limit: try at most this many points, spread evenly over all of them.
        fail_with: what a failing activation raises: an `Exception` subclass (made with a
            message naming the point), an exception (a copy of it is raised), or a
            function that makes one from the `Point`. Default `InjectedFailure`.
        reason: the reason given to `session.cancel` at cancel points: the
            cancellation's cause is `cf.UserCancelled(reason)`.
        timeout: how long each run may take, in seconds of the loop's clock (virtual
            ones with virtual time, where a run that hangs on a timer reaches it at
            once); a run that takes longer is cancelled and fails the exploration.
            None: no limit.
        virtual_time: True: skip idle waits (fails where time cannot be skipped: trio
            started without a `MockClock`); False: run in real time; None (default):
            skip them where the event loop allows it, and elsewhere run in real time
            with a `cf.CrossflowWarning` that says how to skip them.
        jump_after: see `virtual_clock`.

    Returns:
        What was tried: `report.runs`, `report.points`.

    Raises:
        ExplorationFailed: a run failed its check, did not reach its point, or did not
            end within `timeout`.
        InvalidArgument: an argument has the wrong type or value.
    """
    make = _workflow_source(wf, "explore")
    _check_check(check, "explore")
    chosen = _check_kinds(kinds, "explore")
    most = _check_limit(limit, "explore")
    failing, why, limit_s = _options(fail_with, reason, timeout, "explore")
    jump = _clock.check_jump_after(jump_after, "explore")
    backend = _clock.running_backend()
    if backend is None:
        raise cf.CrossflowError(
            "cft.explore() must be awaited inside a running event loop; "
            "from synchronous code, call cft.explore_sync()"
        )
    options = _Options(failing, why, limit_s, backend)
    with _virtual_time(virtual_time, jump, "explore") as skipping:
        return await _explore(make, request, check, chosen, most, options, skipping)


def explore_sync(
    wf: WorkflowSource[Req, Resp],
    request: Req,
    *,
    check: Callable[[Outcome[Resp]], object],
    backend: Backend | Sequence[Backend] = "asyncio",
    kinds: PointKind | Iterable[PointKind] = KINDS,
    limit: int | None = None,
    fail_with: FailWith = InjectedFailure,
    reason: str | None = None,
    timeout: float | None = None,
    virtual_time: bool = True,
    jump_after: float = 0.0,
) -> ExplorationReport:
    """`explore` from synchronous code, in event loops of its own.

    ```python
    report = cft.explore_sync(wf, request, check=my_check, backend=("asyncio", "trio"))
    ```

    Args:
        backend: `"asyncio"`, `"trio"`, or several: the whole exploration runs on each,
            one after the other, and the report adds them up.
        virtual_time: False runs in real time; by default the event loops skip idle
            waits (`run_skipping_time`).

    The other arguments are those of `explore`.

    Raises:
        ExplorationFailed: a run failed its check, did not reach its point, or did not
            end within `timeout`.
        CrossflowError: called inside a running event loop (await `explore` there).
        InvalidArgument: an argument has the wrong type or value.
    """
    where = "explore_sync"
    backends = (backend,) if isinstance(backend, str) else tuple(backend)
    if not backends:
        raise cf.InvalidArgument(f"{where}(backend=...) needs at least one backend")
    chosen = [_clock.check_backend(b, where) for b in backends]
    # checked here, so that a mistake is named as given, before any event loop starts
    _workflow_source(wf, where)
    _check_check(check, where)
    points = _check_kinds(kinds, where)
    most = _check_limit(limit, where)
    _options(fail_with, reason, timeout, where)
    if virtual_time is not True and virtual_time is not False:
        raise cf.InvalidArgument(
            f"{where}(virtual_time=...) takes True or False, got {virtual_time!r}"
        )
    jump = _clock.check_jump_after(jump_after, where)
    instead = "await cft.explore(...) instead"  # inside a running event loop
    report: ExplorationReport | None = None
    for one in chosen:

        async def main() -> ExplorationReport:
            return await explore(
                wf,
                request,
                check=check,
                kinds=points,
                limit=most,
                fail_with=fail_with,
                reason=reason,
                timeout=timeout,
                virtual_time=virtual_time,
                jump_after=jump,
            )

        if virtual_time:
            done = _clock.run(main, one, jump, where, instead)
        else:
            done = _clock.run_real(main, one, where, instead)
        report = done if report is None else report + done
    assert report is not None  # invariant: at least one backend
    return report


async def run_at(
    wf: WorkflowSource[Req, Resp],
    request: Req,
    point: Point,
    *,
    fail_with: FailWith = InjectedFailure,
    reason: str | None = None,
    timeout: float | None = None,
    virtual_time: bool | None = None,
    jump_after: float = 0.0,
) -> Outcome[Resp]:
    """Run `wf` once, interrupted at `point`, and return its outcome.

    For property tests that draw points (`cancellation_points`, `failure_points`):

    ```python
    @given(point=cft.cancellation_points(make_workflow, request))
    async def test_cleanup(point):
        outcome = await cft.run_at(make_workflow, request, point)
        assert ...
    ```

    The arguments are those of `explore`.

    Raises:
        ExplorationFailed: the run did not reach `point`, or did not end within
            `timeout`.
        InvalidArgument: an argument has the wrong type or value.
    """
    make = _workflow_source(wf, "run_at")
    if not isinstance(point, Point):
        raise cf.InvalidArgument(f"run_at(point=...) takes a cft.Point, got {point!r}")
    failing, why, limit_s = _options(fail_with, reason, timeout, "run_at")
    jump = _clock.check_jump_after(jump_after, "run_at")
    backend = _clock.running_backend()
    if backend is None:
        raise cf.CrossflowError("cft.run_at() must be awaited inside a running event loop")
    run = _Run(point, _Options(failing, why, limit_s, backend))
    with _virtual_time(virtual_time, jump, "run_at"):
        return await _run_once(make(), request, run, {"cancel": 0, "fail": 0})


async def plain_run(
    wf: WorkflowSource[Req, Resp], request: Req, kinds: tuple[PointKind, ...]
) -> list[Point]:
    """The points of a plain run of `wf`, of the given kinds (for the strategies)."""
    make = _workflow_source(wf, "points")
    backend = _clock.running_backend()
    assert backend is not None  # invariant: called in an event loop
    run = _Run(None, _Options(InjectedFailure, None, None, backend))
    outcome = await _run_once(make(), request, run, {"cancel": 0, "fail": 0})
    points: list[Point] = []
    if "cancel" in kinds:
        points += cancel_points(outcome.events)
    if "fail" in kinds:
        points += _failure_points(outcome.events, run.activations)
    return points
