"""The strategies of `crossflow.testing` themselves: arguments, reprs, what they draw."""

from __future__ import annotations

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
    ROOT,
    AsyncMap,
    Collect,
    DrawnPath,
    Map,
    NestedScope,
    Spread,
    Terminate,
    walk,
)

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

_DEFAULT_FEATURES = sorted(FEATURES - {"fail"})


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
    ("option", "excluded"),
    [
        ("allow_async", {"async"}),
        ("allow_scopes", {"scope"}),
        ("allow_filters", {"dispose_on_none", "cancel_on_none"}),
        ("allow_collect", {"collect"}),
        ("allow_cancel", {"cancel", "cancel_on_none"}),
        ("allow_failures", {"fail"}),
    ],
)
@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_disabled_features_are_never_drawn(
    option: str, excluded: set[str], data: st.DataObject
) -> None:
    """Turning an option off keeps its features out of every drawn workflow."""
    drawn = data.draw(workflows(**{option: False}))  # type: ignore[arg-type]
    assert not (drawn.features & excluded)


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
    assert repr(probe) == "<Probe: 1 events, 1 running>"
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
