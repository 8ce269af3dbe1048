"""`workflow.graph`: the read-only, typed view of a workflow (API §10)."""

from __future__ import annotations

import typing
from typing import Any

import attrs
import pytest
from graphs import EVERY_KIND
from hypothesis import given

import crossflow as cf
from crossflow.testing import DrawnWorkflow, workflows

KINDS = typing.get_args(cf.OperationKind)

SETTINGS: dict[str, type | None] = {
    "start": None,
    "terminate": None,
    "stream_out": cf.StreamOutSettings,
    "node": cf.NodeSettings,
    "scope": cf.NestedScopeSettings,
    "fork_clone": cf.ForkCloneSettings,
    "unzip": None,
    "fork_result": None,
    "fork_option": None,
    "filter": cf.FilterSettings,
    "cancel": cf.CancelSettings,
    "spread": None,
    "collect": cf.CollectSettings,
    "split": cf.SplitSettings,
    "buffer": cf.BufferSettings,
    "join": cf.JoinSettings,
    "listen": cf.AccessSettings,
    "access": cf.AccessSettings,
    "push": cf.PushSettings,
    "gate": cf.GateSettings,
    "trim": cf.TrimSettings,
    "delay": cf.DelaySettings,
}


def all_operations(graph: cf.Graph) -> list[cf.Operation]:
    return [op for _, g in graph.walk() for op in g.operations]


def test_the_kinds_are_documented_with_their_settings() -> None:
    """API §10: every kind has a settings type (or none), and the list is complete."""
    assert set(KINDS) == set(SETTINGS)


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_appears_with_its_settings(kind: str) -> None:
    """API §10: each kind of operation appears in the graph with settings of its type."""
    ops = [op for op in all_operations(EVERY_KIND.graph) if op.kind == kind]
    assert ops, f"the every-kind workflow has no {kind!r}"
    expected = SETTINGS[kind]
    for op in ops:
        if expected is None:
            assert op.settings is None
        else:
            assert isinstance(op.settings, expected)


def check_consistent(graph: cf.Graph) -> None:
    """What holds for every graph: names unique, connections between its own operations,
    from ports the source has, each message port connected at most once."""
    names = [op.name for op in graph.operations]
    assert len(set(names)) == len(names)
    assert graph.start.kind == "start" and graph.terminate.kind == "terminate"
    members = {id(op) for op in graph.operations}
    used: set[tuple[int, str]] = set()
    for c in graph.connections:
        assert id(c.source) in members and id(c.target) in members
        if c.kind == "message":
            assert c.port in c.source.ports, c
            assert (id(c.source), c.port) not in used, c
            used.add((id(c.source), c.port))
            assert c.target.kind != "start"
        else:
            assert "buffer" in (c.source.kind, c.target.kind), c
    for name, op in graph.streams.items():
        assert op.kind == "stream_out" and op.settings == cf.StreamOutSettings(name)
    for op in graph.operations:
        assert (op.body is not None) == (op.kind == "scope")
        assert graph[op.name] is op


def test_every_kind_workflow_is_consistent() -> None:
    """API §10: the graph of a workflow using every kind, three scopes deep."""
    graph = EVERY_KIND.graph
    for _, g in graph.walk():
        check_consistent(g)
    paths = [path for path, _ in graph.walk()]
    assert ("every_kind", "middle", "innermost") in paths
    assert ("every_kind", "on_cleanup") in paths
    assert ("every_kind", "middle", "on_cancel") in paths


def test_connections_carry_ports_and_buffer_edges() -> None:
    """API §10: ports name outputs; a buffer's readers appear as connections from it."""
    g = EVERY_KIND.graph
    edges = {(c.source.name, c.port, c.target.name, c.kind) for c in g.connections}
    fork_result = next(op for op in g if op.kind == "fork_result")
    assert {p for s, p, _, _ in edges if s == fork_result.name} == {"ok", "err"}
    assert ("items", "changes", "listen", "buffer") in edges  # a listener of the buffer
    assert ("items", "items", "join", "buffer") in edges  # a join takes its items
    assert ("last", "cloned", "join", "buffer") in edges  # ... or copies them
    assert ("with_progress", "progress", "stream_out:progress", "message") in edges
    push = next(op for op in g if op.kind == "push")
    assert (push.name, "push", "items", "buffer") in edges


def test_settings_say_what_the_operation_does() -> None:
    """API §10: typed settings: nodes, joins, collects, splits, trims, buffers."""
    g = EVERY_KIND.graph
    node = g["with_progress"].settings
    assert isinstance(node, cf.NodeSettings)
    assert node.mode == "blocking" and dict(node.streams) == {"progress": float}
    checkpoint = g["checkpoint"].settings
    assert isinstance(checkpoint, cf.NodeSettings) and checkpoint.mode == "async"
    join = g["join"].settings
    assert join == cf.JoinSettings(("items", "last"), (False, True), "tuple", (), None)
    assert g["items"].settings == cf.BufferSettings.keep_all()
    trim = g["trim"].settings
    assert isinstance(trim, cf.TrimSettings) and trim.span == ("with_progress",)
    middle = g["middle"]
    assert isinstance(middle.settings, cf.NestedScopeSettings)
    assert middle.settings.workflow is None and middle.body is not None
    inner = middle.body["innermost"]
    assert isinstance(inner.settings, cf.NestedScopeSettings)
    assert inner.settings.cancellation is cf.CancellationPolicy.TRY_CANCEL
    delay = inner.body["wait"] if inner.body else None
    assert delay is not None and delay.settings == cf.DelaySettings(0.0)
    (cleanup,) = g.cleanups
    assert (cleanup.when, cleanup.buffers, cleanup.shape) == ("cleanup", ("items",), "one")


def test_a_workflow_used_as_a_node_is_its_graph() -> None:
    """API §10: a workflow node's body is that workflow's own graph, named as a workflow."""
    inner = cf.Workflow.build(lambda s, b: b.chain(s.start).connect(s.terminate), name="inner")
    outer = cf.Workflow.build(
        lambda s, b: b.chain(s.start).then(inner).then(inner).connect(s.terminate), name="outer"
    )
    first, second = (op for op in outer.graph if op.kind == "scope")
    assert first.body is inner.graph and second.body is inner.graph
    assert isinstance(first.settings, cf.NestedScopeSettings)
    assert first.settings.workflow == "inner"
    assert [op.name for op in outer.graph][2:] == ["inner", "inner#2"]


def test_the_graph_is_read_only() -> None:
    """API §10: read-only and immutable: fields cannot be set, mappings cannot change."""
    g = EVERY_KIND.graph
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        g.name = "x"  # type: ignore[misc]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        g.start.name = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        g.streams["x"] = g.start  # type: ignore[index]
    node = g["with_progress"].settings
    assert isinstance(node, cf.NodeSettings)
    with pytest.raises(TypeError):
        node.streams["x"] = int  # type: ignore[index]
    assert EVERY_KIND.graph is g  # built once


def test_an_unknown_name_says_what_there_is() -> None:
    """`graph[name]` with a name the scope does not have lists the names it has."""
    with pytest.raises(KeyError, match=r"has no operation 'nope'.*'start'"):
        EVERY_KIND.graph["nope"]


def test_reprs_show_what_they_are() -> None:
    """Reprs name the graph, operation and connection."""
    g = EVERY_KIND.graph
    assert repr(g).startswith("<Graph 'every_kind': 30 operations")
    assert repr(g.start) == "<Operation 'start' start>"
    assert repr(g.connections[0]) == "<Connection start.out -> with_progress>"


@given(drawn=workflows(max_operations=10, max_depth=2))
def test_random_workflows_have_consistent_graphs(drawn: DrawnWorkflow) -> None:
    """API §10: for any workflow, the graph and every nested one are consistent, and
    every operation the workflow has is in it."""
    graph = drawn.workflow.graph
    for _, g in graph.walk():
        check_consistent(g)
    described: Any = drawn.description
    assert described  # the drawn workflow says what it built
