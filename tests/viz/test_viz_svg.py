"""`wf.to_svg()`: crossflow's own picture of a workflow (API §8): well-formed SVG, nested
scopes as boxes that no unrelated edge crosses, boxes that never overlap, buffers drawn
apart from messages, cleanup workflows with their trigger."""

from __future__ import annotations

import re
import typing

import pytest
from graphs import EVERY_KIND
from hypothesis import given
from viz_support import SVG_NS, all_operations, check_svg, crossings, layout_of, overlaps

import crossflow as cf
from crossflow.testing import DrawnWorkflow, workflows

KINDS = typing.get_args(cf.OperationKind)


def test_the_every_kind_picture_is_well_formed_svg() -> None:
    """API §8: `to_svg()` is an SVG document that parses as XML, with a box per operation
    (or per scope), an edge per connection and per buffer a cleanup workflow gets keys
    to, and no script."""
    root = check_svg(EVERY_KIND.to_svg())
    groups = [g for g in root.iter(f"{SVG_NS}g") if g.get("class") == "cf-box"]
    frames = [r for r in root.iter(f"{SVG_NS}rect") if r.get("class") == "cf-frame"]
    edges = [p for p in root.iter(f"{SVG_NS}path") if p.get("class") == "cf-edge"]
    operations = all_operations(EVERY_KIND.graph)
    scopes = [op for op in operations if op.kind == "scope"]
    assert len(groups) == len(operations) - len(scopes)
    cleanups = sum(len(g.cleanups) for _, g in EVERY_KIND.graph.walk())
    assert len(frames) == 1 + len(scopes) + cleanups
    keys = sum(len(c.buffers) for _, g in EVERY_KIND.graph.walk() for c in g.cleanups)
    assert len(edges) == sum(len(g.connections) for _, g in EVERY_KIND.graph.walk()) + keys


def keyed_cleanups(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
    """Two buffers whose keys go to a cleanup workflow, a third to another; a nested
    scope with a keyed cleanup of its own; a cleanup with no keys."""
    a: cf.Buffer[int] = builder.create_buffer(cf.BufferSettings.keep_all(), name="a")
    b: cf.Buffer[int] = builder.create_buffer(cf.BufferSettings.keep_all(), name="b")
    c: cf.Buffer[int] = builder.create_buffer(cf.BufferSettings.keep_all(), name="c")

    def inner(s: cf.Scope[int, int], bb: cf.Builder) -> None:
        kept: cf.Buffer[int] = bb.create_buffer(cf.BufferSettings.keep_all(), name="kept")
        bb.chain(s.start).fork_clone(
            lambda ch: ch.connect(kept), lambda ch: ch.connect(s.terminate)
        )
        bb.on_cancel(kept, lambda s2, b2: b2.chain(s2.start).connect(s2.terminate))

    builder.chain(scope.start).fork_clone(
        lambda ch: ch.connect(a),
        lambda ch: ch.connect(b),
        lambda ch: ch.connect(c),
        lambda ch: ch.then_scope(inner, name="inner").connect(scope.terminate),
    )
    builder.on_cleanup((a, b), lambda s2, b2: b2.chain(s2.start).connect(s2.terminate))
    builder.on_cancel(c, lambda s2, b2: b2.chain(s2.start).connect(s2.terminate))
    builder.on_terminate((), lambda s2, b2: b2.chain(s2.start).connect(s2.terminate))


def test_keys_edges_lead_to_cleanup_workflows_in_every_form() -> None:
    """API §8: a cleanup workflow that gets keys to buffers has a dashed "keys" edge from
    each of them in the SVG, as in Mermaid and DOT: the same edges in all three, none
    crossing a box; a cleanup without keys has none."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cf.UnreachableWarning)
        wf = cf.Workflow.build(keyed_cleanups, name="keyed")
    root = check_svg(wf.to_svg())
    svg = {
        (p.get("data-source"), p.get("data-target"))
        for p in root.iter(f"{SVG_NS}path")
        if p.get("class") == "cf-edge" and p.get("data-kind") == "buffer"
        and (p.get("data-target") or "").startswith("s")
    }  # fmt: skip
    mermaid = set(re.findall(r'^    (\S+) -\.->\|"keys"\| (\S+)$', wf.to_mermaid(), re.M))
    dot = set(re.findall(r'^    "([^"]+)" -> "[^"]+" \[lhead="cluster_([^"]+)", label="keys"',
                         wf.to_dot(), re.M))  # fmt: skip
    assert len(mermaid) == 4
    assert svg == mermaid == dot
    layout = layout_of(wf)
    keys = [a for a in layout.arrows if a.connection.port == "keys"]
    assert len(keys) == 4 and all(a.label == "keys" and a.kind == "buffer" for a in keys)
    assert crossings(layout) == []
    assert overlaps(layout) == []


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_is_in_the_picture(kind: str) -> None:
    """API §8, §10: each kind of operation appears in the picture under its name (a scope
    as a frame of its own)."""
    root = check_svg(EVERY_KIND.to_svg())
    if kind == "scope":
        kinds = {r.get("data-kind") for r in root.iter(f"{SVG_NS}rect")}
        assert "scope" in kinds
        return
    names = {g.get("data-op") for g in root.iter(f"{SVG_NS}g") if g.get("data-kind") == kind}
    expected = {op.name for op in all_operations(EVERY_KIND.graph) if op.kind == kind}
    assert expected and expected <= names


def test_no_edge_crosses_a_box_it_does_not_belong_to() -> None:
    """API §8: in the every-kind workflow (three scopes deep, cleanup workflows), no edge
    crosses an operation's box or a scope's box it does not belong to, and every edge
    stays inside the frame it is drawn in."""
    layout = layout_of(EVERY_KIND)
    assert crossings(layout) == []
    assert overlaps(layout) == []


def test_buffers_are_drawn_apart_from_messages() -> None:
    """API §8: buffer connections are dashed purple with open arrowheads; messages solid."""
    root = check_svg(EVERY_KIND.to_svg())
    edges = [p for p in root.iter(f"{SVG_NS}path") if p.get("class") == "cf-edge"]
    buffer = [p for p in edges if p.get("data-kind") == "buffer"]
    message = [p for p in edges if p.get("data-kind") == "message"]
    assert buffer and message
    assert all(p.get("stroke-dasharray") for p in buffer)
    assert not any(p.get("stroke-dasharray") for p in message)
    assert {p.get("stroke") for p in buffer}.isdisjoint({p.get("stroke") for p in message})


def test_cleanup_workflows_show_their_trigger() -> None:
    """API §8: each cleanup workflow is a dashed frame whose title says when it runs and
    which buffers it gets keys to."""
    root = check_svg(EVERY_KIND.to_svg())
    cleanups = [r for r in root.iter(f"{SVG_NS}rect") if r.get("data-kind") == "cleanup"]
    assert len(cleanups) == 2 and all(r.get("stroke-dasharray") for r in cleanups)
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG_NS}text")]
    assert "runs always · keys items" in texts
    assert "runs when cancelled" in texts


def test_ports_label_their_edges_without_overlapping() -> None:
    """API §8: ports other than `out` label their edges; the labels of one box never
    overlap each other."""
    layout = layout_of(EVERY_KIND)
    labelled = [a for a in layout.arrows if a.label is not None and a.route.label is not None]
    assert {a.label for a in labelled} >= {"ok", "err", "some", "none", "0", "progress", "items"}
    spans = []
    for a in labelled:
        x, y = a.route.label  # type: ignore[misc]
        spans.append((x, x + len(a.label or "") * 6.1, y))
    for i, (x0, x1, y) in enumerate(spans):
        for u0, u1, v in spans[i + 1 :]:
            assert not (abs(y - v) < 10 and x0 < u1 and u0 < x1), (x0, x1, y, u0, u1, v)


def test_a_workflow_used_twice_is_drawn_once_in_full() -> None:
    """A workflow used as a node in two places is drawn in full the first time and as a
    box naming it after that."""
    inner = cf.Workflow.build(
        lambda s, b: b.chain(s.start).map(str).connect(s.terminate), name="inner"
    )
    outer = cf.Workflow.build(
        lambda s, b: b.chain(s.start).then(inner).then(inner).connect(s.terminate), name="outer"
    )
    root = check_svg(outer.to_svg())
    frames = [r for r in root.iter(f"{SVG_NS}rect") if r.get("data-kind") == "scope"]
    assert len(frames) == 1
    texts = "\n".join("".join(t.itertext()) for t in root.iter(f"{SVG_NS}text"))
    assert "workflow inner (drawn above)" in texts


def chain(n: int) -> cf.Workflow[int, int]:
    def build(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        c = builder.chain(scope.start)
        for _ in range(n):
            c = c.map(lambda x: x + 1)
        c.connect(scope.terminate)

    return cf.Workflow.build(build, name=f"chain{n}")


def nested(depth: int, width: int) -> cf.Workflow[int, int]:
    """A workflow with `depth` scopes nested in each other, each with a fan-out."""

    def level(d: int) -> typing.Callable[[cf.Scope[int, int], cf.Builder], None]:
        def build(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
            branches = [
                (lambda ch: ch.map(lambda x: x).connect(scope.terminate)) for _ in range(width)
            ]
            c = builder.chain(scope.start)
            if d:
                c = c.then_scope(level(d - 1))
            c.fork_clone(*branches)

        return build

    return cf.Workflow.build(level(depth), name="nested")


@pytest.mark.slow
def test_a_large_workflow_draws_cleanly() -> None:
    """API §8: 300 operations in a chain and a 6-deep nesting of fan-outs draw with no
    edge through a box and no overlapping boxes."""
    for wf in (chain(300), nested(6, 5)):
        layout = layout_of(wf)
        assert crossings(layout) == []
        assert overlaps(layout) == []
        check_svg(wf.to_svg())


@given(drawn=workflows(max_operations=12, max_depth=3))
def test_random_workflows_draw_cleanly(drawn: DrawnWorkflow) -> None:
    """API §8: any workflow gives well-formed SVG in which no edge crosses a box it does not
    belong to and no boxes overlap."""
    check_svg(drawn.workflow.to_svg())
    layout = layout_of(drawn.workflow)
    assert crossings(layout) == []
    assert overlaps(layout) == []


def test_cycles_and_loops_are_drawn() -> None:
    """API §8: a workflow with a loop (an edge back up) draws with the edge turned around
    for the layout and its arrow pointing back, crossing no box."""

    def build(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        node = builder.create_node(lambda x: x + 1, name="step")
        builder.connect(scope.start, node.input)
        builder.chain(node.output).map(lambda x: cf.Ok(x) if x > 3 else cf.Err(x)).fork_result(
            ok=lambda ok: ok.connect(scope.terminate),
            err=lambda err: err.connect(node.input),
        )

    wf = cf.Workflow.build(build, name="loop")
    layout = layout_of(wf)
    assert crossings(layout) == []
    assert overlaps(layout) == []
    back = [a for a in layout.arrows if a.route.arrow[3] < 0]
    assert len(back) == 1 and back[0].label == "err"


def test_names_that_xml_cannot_hold_still_make_well_formed_svg() -> None:
    """API §8: a name with the non-characters U+FFFE/U+FFFF or a control character is
    drawn with a replacement, and the SVG still parses as XML."""

    def build(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        chain = builder.chain(scope.start).map(lambda x: x, name="a\uffffb\ufffe")
        chain.map(lambda x: x, name="bell\x07").connect(scope.terminate)

    root = check_svg(cf.Workflow.build(build, name="odd\uffff").to_svg())
    names = {g.get("data-op") for g in root.iter(f"{SVG_NS}g") if g.get("class") == "cf-box"}
    assert {"a\ufffdb\ufffd", "bell\\x07"} <= names
