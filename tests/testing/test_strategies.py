"""The strategies of `crossflow.testing` themselves: arguments, reprs, what they draw."""

from __future__ import annotations

import copy
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

import crossflow as cf
import crossflow.testing
from crossflow.testing import DeliberateFailure, DrawnWorkflow, Probe, running_as, workflows
from crossflow.testing.strategies import (
    FEATURES,
    HOSTILITIES,
    ROOT,
    AsyncMap,
    Collect,
    DisposeOnNone,
    DrawnCleanup,
    DrawnForkClone,
    DrawnPath,
    Fail,
    ForeignCancel,
    Map,
    NestedScope,
    Spread,
    Terminate,
    UncopyableInt,
    UnrenderableFailure,
    UnrenderableInt,
    UnrenderableUncopyableInt,
    hostile,
    hostility_of,
    walk,
)

TRY_CANCEL = cf.CancellationPolicy.TRY_CANCEL
ABANDON = cf.CancellationPolicy.ABANDON
WAIT = cf.CancellationPolicy.WAIT

# what each option adds; the default options never draw any of these
OPTIONAL = {
    "allow_failures": {"fail"},
    "policies": {"try_cancel", "abandon"},
    "allow_cleanups": {"on_cancel", "on_terminate", "on_cleanup"},
    "hostile_messages": {"uncopyable", "unrenderable", "disposal_filter", "cancellation_filter"},
    "allow_foreign_cancellations": {"foreign_cancel"},
}
ALL_ON: dict[str, Any] = {
    "allow_failures": True,
    "policies": tuple(cf.CancellationPolicy),
    "allow_cleanups": True,
    "hostile_messages": HOSTILITIES,
    "allow_foreign_cancellations": True,
}

# `find` needs room to look for rare shapes, but no database (these are not failures)
# and no shrinking (any example will do, and shrinking builds many workflows)
FIND = settings(
    max_examples=2000,
    database=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)
SHRINK = settings(FIND, phases=[Phase.generate, Phase.shrink])


# --------------------------------------------------------------------------- arguments


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_operations": -1},
        {"max_operations": 2.5},
        {"max_operations": True},
        {"max_operations": "8"},
        {"max_depth": -1},
        {"max_depth": None},
        {"allow_async": 1},
        {"allow_scopes": None},
        {"allow_filters": "yes"},
        {"allow_collect": 0},
        {"allow_cancel": []},
        {"allow_failures": 1.0},
        {"policies": "wait"},
        {"policies": []},
        {"policies": ["wait"]},
        {"policies": None},
        {"policies": [cf.CancellationPolicy.WAIT, "abandon"]},
        {"allow_cleanups": 1},
        {"hostile_messages": "uncopyable"},
        {"hostile_messages": ["uncopyable", "slow"]},
        {"hostile_messages": None},
        {"hostile_messages": [True]},
        {"allow_foreign_cancellations": "yes"},
    ],
)
def test_bad_arguments_are_rejected_at_once(kwargs: dict[str, Any]) -> None:
    """A bad argument raises `InvalidArgument` when the strategy is made, not when drawn."""
    with pytest.raises(cf.InvalidArgument, match=next(iter(kwargs))):
        workflows(**kwargs)


def test_options_are_keyword_only() -> None:
    """Every option is keyword-only (hypothesis' API style)."""
    with pytest.raises(TypeError):
        workflows(8)  # type: ignore[misc]


def test_zero_bounds_are_valid() -> None:
    """`max_operations=0` draws `start -> ending`; `max_depth=0` draws no nested scope."""
    drawn = find(workflows(max_operations=0), lambda d: True, settings=SHRINK)
    assert drawn.operations == 0
    assert drawn.shape == DrawnPath((), Terminate())


# --------------------------------------------------------------------------- reprs


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        (workflows(), "workflows()"),
        (workflows(max_operations=8), "workflows()"),
        (workflows(max_depth=1), "workflows(max_depth=1)"),
        (
            workflows(max_operations=3, allow_async=False, allow_failures=True),
            "workflows(max_operations=3, allow_async=False, allow_failures=True)",
        ),
        (workflows(policies=[WAIT], hostile_messages=()), "workflows()"),
        (workflows(allow_cleanups=True), "workflows(allow_cleanups=True)"),
        (
            workflows(hostile_messages=["unrenderable", "uncopyable", "unrenderable"]),
            "workflows(hostile_messages=('uncopyable', 'unrenderable'))",
        ),
        (
            workflows(policies={ABANDON, WAIT}, allow_foreign_cancellations=True),
            "workflows(policies=(CancellationPolicy.WAIT, CancellationPolicy.ABANDON),"
            " allow_foreign_cancellations=True)",
        ),
    ],
)
def test_strategy_repr_shows_how_it_was_built(strategy: object, expected: str) -> None:
    """The strategy's repr is the call that made it, defaults left out."""
    assert repr(strategy) == expected


def test_drawn_workflow_repr_shows_its_structure() -> None:
    """A drawn workflow's repr lists its operations like the chain calls that built it."""
    drawn = find(
        workflows(allow_filters=False, allow_collect=False, allow_cancel=False),
        lambda d: {"async", "scope", "fork_clone"} <= d.features,
        settings=FIND,
    )
    text = repr(drawn)
    assert text.startswith("<DrawnWorkflow (")
    assert "start" in text
    assert ".then_scope(scope#" in text
    assert ".fork_clone(" in text
    assert "await sleep(" in text
    assert drawn.description in "\n".join(line[4:] for line in text.splitlines())


def test_simplest_workflow_shrinks_to_start_terminate() -> None:
    """Shrinking goes to the plainest workflow: `start -> terminate`."""
    drawn = find(workflows(), lambda d: True, settings=SHRINK)
    assert drawn.description == "start\n.connect(terminate)"
    assert drawn.terminate_on_every_path
    assert drawn.deterministic
    assert repr(drawn) == (
        "<DrawnWorkflow (0 operations, terminate on every path, deterministic):\n"
        "    start\n"
        "    .connect(terminate)\n"
        ">"
    )


# --------------------------------------------------------------------------- what is drawn

_DEFAULT_FEATURES = sorted(FEATURES - set().union(*OPTIONAL.values()))


@pytest.mark.parametrize("feature", _DEFAULT_FEATURES)
def test_every_feature_is_drawn(feature: str) -> None:
    """With the default options, every feature (except failures) shows up."""
    drawn = find(workflows(), lambda d: feature in d.features, settings=FIND)
    assert feature in drawn.features


def test_failures_are_drawn_only_when_allowed() -> None:
    """Failing services appear with `allow_failures=True` only."""
    drawn = find(workflows(allow_failures=True), lambda d: "fail" in d.features, settings=FIND)
    assert "fail" in drawn.features


@pytest.mark.parametrize(
    ("option", "feature"),
    [(option, feature) for option, features in OPTIONAL.items() for feature in sorted(features)],
)
def test_every_optional_feature_is_drawn_with_its_option(option: str, feature: str) -> None:
    """Each option's features (policies, cleanup workflows, hostile messages, ...) show up
    when that option is on."""
    drawn = find(
        workflows(**{option: ALL_ON[option]}), lambda d: feature in d.features, settings=FIND
    )
    assert feature in drawn.features


@settings(max_examples=100, deadline=None)
@given(drawn=workflows(max_operations=12, allow_failures=True))
def test_the_default_options_draw_no_fault(drawn: DrawnWorkflow) -> None:
    """Without the new options, no node has a policy other than WAIT, no scope has a
    cleanup workflow, and every message is a plain `int` (drawn workflows as before)."""
    assert not drawn.features & (set().union(*OPTIONAL.values()) - {"fail"})
    assert drawn.cleanup_workflows == {}
    assert drawn.request_hostility == frozenset()
    assert drawn.uncopyable_forks == frozenset()
    for part in walk(drawn.shape):
        assert getattr(part, "policy", WAIT) is WAIT
        assert getattr(part, "hostility", frozenset()) == frozenset()


@pytest.mark.parametrize(
    ("option", "excluded"),
    [
        ("allow_async", {"async"}),
        ("allow_scopes", {"scope"}),
        ("allow_filters", {"dispose_on_none", "cancel_on_none"}),
        ("allow_collect", {"collect"}),
        ("allow_cancel", {"cancel", "cancel_on_none", "cancellation_filter"}),
        ("allow_failures", {"fail"}),
        ("allow_filters", {"disposal_filter", "cancellation_filter"}),
        ("allow_cleanups", OPTIONAL["allow_cleanups"]),
        ("allow_foreign_cancellations", {"foreign_cancel"}),
    ],
)
@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_disabled_features_are_never_drawn(
    option: str, excluded: set[str], data: st.DataObject
) -> None:
    """Turning an option off keeps its features out of every drawn workflow, whatever
    the other options say."""
    drawn = data.draw(workflows(**{**ALL_ON, option: False}))
    assert not (drawn.features & excluded)


@pytest.mark.parametrize(
    ("policies", "drawn_policies"),
    [((TRY_CANCEL,), {TRY_CANCEL}), ((WAIT, ABANDON), {WAIT, ABANDON})],
)
@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_only_the_given_policies_are_drawn(
    policies: tuple[cf.CancellationPolicy, ...],
    drawn_policies: set[cf.CancellationPolicy],
    data: st.DataObject,
) -> None:
    """Nested scopes and async maps get one of the given policies (API §6)."""
    drawn = data.draw(workflows(policies=policies))
    for part in walk(drawn.shape):
        if isinstance(part, (NestedScope, AsyncMap)):
            assert part.policy in drawn_policies


@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_only_the_given_hostility_is_drawn(data: st.DataObject) -> None:
    """`hostile_messages=("unrenderable",)` never draws uncopyable messages."""
    drawn = data.draw(workflows(hostile_messages=("unrenderable",)))
    assert "uncopyable" not in drawn.features
    assert drawn.uncopyable_forks == frozenset()


@settings(max_examples=100, deadline=None)
@given(
    data=st.data(),
    max_operations=st.integers(0, 10),
    max_depth=st.integers(0, 3),
)
def test_bounds_are_respected(data: st.DataObject, max_operations: int, max_depth: int) -> None:
    """A drawn workflow has at most `max_operations` operations and `max_depth` scope levels."""
    drawn = data.draw(workflows(max_operations=max_operations, max_depth=max_depth))
    assert drawn.operations <= max_operations
    assert drawn.depth <= max_depth
    assert drawn.features <= FEATURES
    assert ROOT in drawn.single_session_scopes


def test_deep_scopes_are_drawn() -> None:
    """Scopes nest up to `max_depth` levels."""
    narrow = workflows(max_depth=2, allow_filters=False, allow_collect=False, allow_cancel=False)
    drawn = find(narrow, lambda d: d.depth == 2, settings=FIND)
    assert drawn.description.count(".then_scope(") >= 2


@settings(max_examples=100, deadline=None)
@given(drawn=workflows(max_operations=12))
def test_collect_bounds_are_valid(drawn: DrawnWorkflow) -> None:
    """Collects are drawn with `0 <= min <= max` (drawn workflows always build, S5.5)."""
    for part in walk(drawn.shape):
        if isinstance(part, Collect):
            assert part.min >= 0
            assert part.max is None or part.max >= max(part.min, 1)


@settings(max_examples=100, deadline=None)
@given(drawn=workflows(max_operations=12))
def test_flags_agree_with_the_shape(drawn: DrawnWorkflow) -> None:
    """`terminate_on_every_path` excludes lossy steps and endings; `deterministic` is exact."""
    parts = list(walk(drawn.shape))
    lossy = {"dispose_on_none", "cancel_on_none", "fail", "dispose", "nowhere", "cancel"}
    if drawn.terminate_on_every_path:
        assert not (drawn.features & lossy)
        assert all(p.count > 0 for p in parts if isinstance(p, Spread))
        assert all(p.min == 0 for p in parts if isinstance(p, Collect))
    several = drawn.features & {"fork_clone", "spread", "collect"}
    timed = drawn.features & {"async"}
    if not timed and "fail" not in drawn.features:
        assert drawn.deterministic
    if timed and several:
        assert not drawn.deterministic
    nested = {p.name for p in parts if isinstance(p, NestedScope)}
    for scope in drawn.single_session_scopes - {ROOT}:
        assert scope.rsplit("/", 1)[1] in nested


def test_nested_scopes_behind_a_spread_are_not_single_session() -> None:
    """A scope that a spread feeds opens several sessions, so it is not listed as single."""
    shape = DrawnPath(
        (Spread("spread#1", 2), NestedScope("scope#2", DrawnPath((Map("map#3", 1),), Terminate()))),
        Terminate(),
    )
    assert DrawnWorkflow(shape).single_session_scopes == {ROOT}
    assert DrawnWorkflow(DrawnPath(shape.steps[1:], Terminate())).single_session_scopes == {
        ROOT,
        "root/scope#2",
    }


# --------------------------------------------------------------------------- the probe


@pytest.mark.anyio
async def test_probe_records_starts_ends_and_markers() -> None:
    """Services record `started`/`finished` with their value; markers record `reached`."""
    shape = DrawnPath(
        (Map("map#1", 2), NestedScope("scope#2", DrawnPath((Map("map#3", 1),), Terminate()))),
        Terminate(),
    )
    drawn = DrawnWorkflow(shape)
    assert await drawn.run(1, run=7) == 4
    seen = [(e.run, e.scope, e.operation, e.event, e.value) for e in drawn.probe.events]
    assert seen == [
        (7, ROOT, "map#1", "started", 1),
        (7, ROOT, "map#1", "finished", 1),
        (7, "root/scope#2", "map#3", "started", 3),
        (7, "root/scope#2", "map#3", "finished", 3),
        (7, "root/scope#2", "terminate", "reached", 4),
        (7, ROOT, "terminate", "reached", 4),
    ]
    assert drawn.probe.open_activations() == []
    assert drawn.probe.of_run(8) == []


@pytest.mark.anyio
async def test_probe_sees_cancelled_async_services() -> None:
    """An async service interrupted by cancellation records `cancelled`, and is not open."""
    drawn = DrawnWorkflow(DrawnPath((AsyncMap("async#1", 0, 10.0),), Terminate()))
    async with anyio.create_task_group() as tg:
        tg.start_soon(drawn.run, 0)
        await anyio.wait_all_tasks_blocked()
        assert [e.event for e in drawn.probe.open_activations()] == ["started"]
        tg.cancel_scope.cancel()
    assert [(e.operation, e.event) for e in drawn.probe.events] == [
        ("async#1", "started"),
        ("async#1", "cancelled"),
    ]
    assert drawn.probe.open_activations() == []


def test_probe_repr_and_clear() -> None:
    """The probe says how many events it holds and how many services are still running."""
    probe = Probe()
    assert repr(probe) == "<Probe: 0 events, 0 running>"
    with running_as(3):
        a = probe.new_activation()
        probe.record(ROOT, "op", "started", 1, activation=a, is_async=True)
    assert repr(probe) == "<Probe: 1 event, 1 running>"
    assert probe.events[0].run == 3
    assert str(probe.events[0]) == f"run 3 root async op started (1) #{a}"
    probe.clear()
    assert probe.events == []


def test_failing_services_raise_deliberate_failure() -> None:
    """With `allow_failures`, the failing service raises `DeliberateFailure` for one parity."""
    drawn = find(
        workflows(allow_failures=True, allow_async=False, max_operations=1),
        lambda d: d.features == {"fail", "terminate"},
        settings=FIND,
    )
    outcomes = []
    for request in (0, 1):
        try:
            outcomes.append(drawn.workflow.run_sync(request))
        except cf.WorkflowCancelled as error:
            assert isinstance(error.__cause__, DeliberateFailure)
            outcomes.append(None)
    assert sorted(outcomes, key=lambda x: x is None) in ([0, None], [1, None])


def test_public_names() -> None:
    """`crossflow.testing` re-exports the strategies and the probe."""
    assert crossflow.testing.workflows is workflows
    assert set(crossflow.testing.__all__) >= {"workflows", "DrawnWorkflow", "Probe", "ProbeEvent"}


def test_no_name_is_also_a_crossflow_name() -> None:
    """The shape records of `crossflow.testing.strategies` do not reuse a name of `cf.`:
    `from crossflow.testing.strategies import *` next to `from crossflow import *`
    shadows nothing (the fork and path records are `DrawnForkClone`, `DrawnPath`, ...)."""
    import crossflow.testing.strategies as strategies

    assert set(strategies.__all__) & set(cf.__all__) == set()
    for name in ("DrawnForkClone", "DrawnForkOption", "DrawnForkResult", "DrawnPath"):
        assert name in strategies.__all__


# --------------------------------------------------------------------------- hostile messages


def test_hostile_messages_misbehave_as_named() -> None:
    """An uncopyable message refuses `copy.deepcopy` (like anything holding a lock); an
    unrenderable one raises from `repr`, `str` and `format`; both stay equal to their
    `int`, and arithmetic on them gives plain `int`s."""
    uncopyable = hostile(3, {"uncopyable"})
    unrenderable = hostile(3, {"unrenderable"})
    both = hostile(3, HOSTILITIES)
    assert (type(uncopyable), type(unrenderable), type(both)) == (
        UncopyableInt,
        UnrenderableInt,
        UnrenderableUncopyableInt,
    )
    for message in (uncopyable, both):
        with pytest.raises(TypeError):
            copy.deepcopy(message)
        assert copy.copy(message) == 3
    assert copy.deepcopy(unrenderable) == 3
    for message in (unrenderable, both):
        for render in (repr, str, lambda m: f"{m}"):
            with pytest.raises(RuntimeError, match="refuses to be rendered"):
                render(message)
    assert repr(uncopyable) == "3"
    assert all(m == 3 and type(m + 1) is int and type(int(m)) is int for m in (uncopyable, both))
    assert hostility_of(both) == set(HOSTILITIES)
    assert hostility_of(unrenderable) == {"unrenderable"}
    assert hostility_of(3) == hostility_of("3") == frozenset()
    assert type(hostile(3, ())) is int


def test_unrenderable_failures_refuse_to_render() -> None:
    """`UnrenderableFailure` is a `DeliberateFailure` whose `str` and `repr` raise."""
    error = UnrenderableFailure("x")
    assert isinstance(error, DeliberateFailure)
    for render in (str, repr):
        with pytest.raises(RuntimeError):
            render(error)


@pytest.mark.anyio
async def test_services_make_their_messages_hostile_and_the_probe_records_plain_ints() -> None:
    """The request and each service's result are made hostile as drawn; the probe keeps
    plain `int`s, so that its events always render."""
    seen: list[object] = []

    shape = DrawnPath(
        (
            Map("map#1", 1, frozenset({"uncopyable"})),
            DisposeOnNone("dispose_on_none#2", 0),  # passes its message on, as it is
            Map("map#3", 1, frozenset({"unrenderable"})),
        ),
        Terminate(),
    )
    drawn = DrawnWorkflow(shape, request_hostility={"unrenderable"})
    assert hostility_of(drawn.message(2)) == {"unrenderable"}
    response = await drawn.run(2, on_event=seen.append)
    assert type(response) is UnrenderableInt and response == 4
    values = [(e.operation, e.value, type(e.value)) for e in drawn.probe.events]
    assert values == [
        ("map#1", 2, int),
        ("map#1", 2, int),
        ("dispose_on_none#2", 3, int),
        ("dispose_on_none#2", 3, int),
        ("map#3", 3, int),
        ("map#3", 3, int),
        ("terminate", 4, int),
    ]
    assert all(str(e) for e in drawn.probe.events)
    assert drawn.description.splitlines()[:2] == [
        "start  # the request is unrenderable",
        ".map(map#1: x + 1; uncopyable)",
    ]
    assert seen  # on_event is passed on


@pytest.mark.anyio
async def test_failing_services_with_unrenderable_messages_raise_unrenderable_failures() -> None:
    """A failing service whose messages are unrenderable raises `UnrenderableFailure`."""
    drawn = DrawnWorkflow(
        DrawnPath((Fail("fail#1", 0, None, frozenset({"unrenderable"})),), Terminate())
    )
    with pytest.raises(cf.WorkflowCancelled) as caught:
        await drawn.run(2)
    assert type(caught.value.__cause__) is UnrenderableFailure


def _fork(request: set[str], *steps: Any, inner: Any = None) -> DrawnWorkflow:
    fork = DrawnForkClone("fork_clone#9", (DrawnPath((), Terminate()),) * 2)
    body = DrawnPath(tuple(steps), fork)
    if inner is not None:
        body = DrawnPath((NestedScope("scope#8", inner),), fork)
    return DrawnWorkflow(body, request_hostility=request)


def test_uncopyable_forks_follow_the_messages() -> None:
    """`uncopyable_forks` names the fork_clones an uncopyable message may reach: from the
    request, through services that pass their message on, out of nested scopes; a map
    that makes plain messages stops it."""
    unc = frozenset({"uncopyable"})
    name = {"fork_clone#9"}
    assert _fork({"uncopyable"}).uncopyable_forks == name
    assert _fork(set()).uncopyable_forks == set()
    assert _fork({"uncopyable"}, Map("map#1", 0)).uncopyable_forks == set()
    assert _fork(set(), Map("map#1", 0, unc)).uncopyable_forks == name
    assert _fork({"uncopyable"}, DisposeOnNone("d#1", 0)).uncopyable_forks == name
    assert _fork({"uncopyable"}, ForeignCancel("f#1", 0)).uncopyable_forks == name
    assert _fork({"unrenderable"}, Fail("f#1", 0, None, unc)).uncopyable_forks == name
    inner = DrawnPath((Map("map#1", 0, unc),), Terminate())
    assert _fork(set(), inner=inner).uncopyable_forks == name


# --------------------------------------------------------------------------- cleanups, policies


@pytest.mark.anyio
async def test_cleanup_workflows_report_to_the_probe() -> None:
    """Cleanup workflows run as their kind says (S6.2) and record `started` and
    `finished` under `<scope>/<name>`; they are listed by scope, and described."""
    inner = (
        DrawnCleanup("cancel", "on_cancel#3", 0.0),
        DrawnCleanup("cleanup", "on_cleanup#4", None),
    )
    shape = DrawnPath(
        (NestedScope("scope#1", DrawnPath((Map("map#2", 1),), Terminate()), TRY_CANCEL, inner),),
        Terminate(),
    )
    root = (DrawnCleanup("terminate", "on_terminate#5", None),)
    drawn = DrawnWorkflow(shape, cleanups=root)
    assert drawn.cleanup_workflows == {ROOT: root, "root/scope#1": inner}
    assert {"on_cancel", "on_cleanup", "on_terminate", "try_cancel", "scope"} <= drawn.features
    assert await drawn.run(1) == 2
    seen = {(e.scope, e.operation, e.event) for e in drawn.probe.events}
    assert ("root/scope#1/on_cleanup#4", "on_cleanup#4", "finished") in seen
    assert ("root/on_terminate#5", "on_terminate#5", "finished") in seen
    assert not any(e.operation == "on_cancel#3" for e in drawn.probe.events)
    assert drawn.description == (
        "start\n"
        ".then_scope(scope#1, cancellation=TRY_CANCEL: start\n"
        "    .map(map#2: x + 1)\n"
        "    .connect(terminate)\n"
        "    .on_cancel(on_cancel#3: await sleep(0.0))\n"
        "    .on_cleanup(on_cleanup#4)\n"
        ")\n"
        ".connect(terminate)\n"
        ".on_terminate(on_terminate#5)"
    )


def test_two_async_cleanups_are_not_deterministic() -> None:
    """Cleanup workflows of one scope start together: with async ones among them, what
    the probe sees may depend on timing."""
    blocking = (DrawnCleanup("cancel", "a", None), DrawnCleanup("cleanup", "b", None))
    timed = (DrawnCleanup("cancel", "a", 0.001), DrawnCleanup("cleanup", "b", None))
    plain = DrawnPath((), Terminate())
    assert DrawnWorkflow(plain, cleanups=blocking).deterministic
    assert not DrawnWorkflow(plain, cleanups=timed).deterministic
    assert DrawnWorkflow(plain, cleanups=timed[:1]).deterministic


@pytest.mark.anyio
async def test_foreign_cancellations_are_failures_of_the_service() -> None:
    """A `ForeignCancel` service raises the `CancelledError` of a task someone else
    cancelled on asyncio (a `DeliberateFailure` on trio) and records `failed`; for the
    other parity it passes its message on."""
    import asyncio

    drawn = DrawnWorkflow(DrawnPath((ForeignCancel("foreign_cancel#1", 0),), Terminate()))
    assert await drawn.run(3) == 3
    with pytest.raises(cf.WorkflowCancelled) as caught:
        await drawn.run(2)
    try:
        asyncio.current_task()
        expected: type[BaseException] = asyncio.CancelledError
    except RuntimeError:  # trio
        expected = DeliberateFailure
    assert isinstance(caught.value.__cause__, expected)
    assert [e.event for e in drawn.probe.events if e.operation == "foreign_cancel#1"] == [
        "started",
        "finished",
        "started",
        "failed",
    ]


def test_hostile_rejects_unknown_hostilities() -> None:
    """`hostile()` names what it takes when given something else."""
    with pytest.raises(cf.InvalidArgument, match="hostility"):
        hostile(3, {"slow"})
