"""`wf.to_mermaid()` and `wf.to_dot()`: the text forms of a workflow (API §8), for
every kind of operation (API §10), deterministic, with every name escaped."""

from __future__ import annotations

import shutil
import subprocess
import typing

import pytest
from graphs import EVERY_KIND
from hypothesis import given
from viz_support import all_operations, check_dot, check_mermaid, mermaid_text

import crossflow as cf
from crossflow._viz._frames import Frames
from crossflow.testing import DrawnWorkflow, workflows

KINDS = typing.get_args(cf.OperationKind)

# how each kind is drawn: the opening of its Mermaid shape and its DOT shape
MERMAID_SHAPES = {
    "terminal": '(["', "node": '["', "stream": '>"', "flow": '{{"', "filter": '[/"',
    "cancel": '[["', "buffer": '[("', "buffer_op": '[\\"', "delay": '("',
}  # fmt: skip
DOT_SHAPES = {
    "terminal": "oval", "node": "box", "stream": "cds", "flow": "hexagon", "filter": "trapezium",
    "cancel": "octagon", "buffer": "cylinder", "buffer_op": "invtrapezium", "delay": "box",
}  # fmt: skip


def family(kind: str) -> str:
    from crossflow._viz._labels import FAMILY

    return FAMILY[kind]  # type: ignore[index]


@pytest.mark.parametrize("kind", KINDS)
def test_mermaid_draws_every_kind(kind: str) -> None:
    """API §8, §10: every operation of each kind of the every-kind workflow is in its
    Mermaid chart, with its name and the shape of its kind; a scope is a subgraph."""
    text = EVERY_KIND.to_mermaid()
    labels = check_mermaid(text)
    frames = Frames(EVERY_KIND.graph)
    ops = [(f, op) for f in frames.all for op in f.graph.operations if op.kind == kind]
    assert ops, f"the every-kind workflow has no {kind!r}"
    for frame, op in ops:
        if kind == "scope":
            body = frames.body(frame, op)
            assert body is not None
            assert mermaid_text(labels[body.ident]).startswith(op.name)
            assert f"subgraph {body.ident}[" in text
            continue
        ident = frames.node(frame, op)
        assert mermaid_text(labels[ident]).split("<br/>")[0] == op.name
        line = next(line for line in text.splitlines() if line.strip().startswith(ident + "("))\
            if kind in ("start", "terminate", "delay") else next(
            line for line in text.splitlines() if line.strip().startswith(ident) and '"' in line
        )  # fmt: skip
        assert line.strip().startswith(ident + MERMAID_SHAPES[family(kind)]), line


@pytest.mark.parametrize("kind", KINDS)
def test_dot_draws_every_kind(kind: str) -> None:
    """API §8, §10: every operation of each kind is a DOT node with its name and the
    shape of its kind; a scope is a cluster."""
    text = EVERY_KIND.to_dot()
    nodes = check_dot(text)
    frames = Frames(EVERY_KIND.graph)
    ops = [(f, op) for f in frames.all for op in f.graph.operations if op.kind == kind]
    assert ops
    for frame, op in ops:
        if kind == "scope":
            body = frames.body(frame, op)
            assert body is not None
            assert f'subgraph "cluster_{body.ident}"' in text
            continue
        ident = frames.node(frame, op)
        assert nodes[ident].split("\n")[0] == op.name
        line = next(line for line in text.splitlines() if line.strip().startswith(f'"{ident}" ['))
        assert f"shape={DOT_SHAPES[family(kind)]}" in line, line


def test_ports_label_edges_and_buffer_edges_differ() -> None:
    """API §8: ports other than a single `out` label their edges; buffer connections are
    dotted (Mermaid) and dashed (DOT); an edge into a nested scope meets its box."""
    mermaid = EVERY_KIND.to_mermaid()
    dot = EVERY_KIND.to_dot()
    for port in ("ok", "err", "some", "none", "0", "1", "progress"):
        assert f'-->|"{port}"|' in mermaid
        assert f'label="{port}"' in dot
    for port in ("items", "cloned", "changes", "keys", "push", "open"):
        assert f'-.->|"{port}"|' in mermaid
    assert dot.count("style=dashed") >= 6
    assert "lhead=" in dot and "ltail=" in dot and "compound=true" in dot
    assert '-->|"2"| s1' in mermaid  # fork_clone's branch 2 enters the scope `middle`


def test_cleanup_workflows_are_drawn_with_their_trigger() -> None:
    """API §8: a cleanup workflow is a subgraph (a dashed cluster in DOT) that says when it
    runs, with the keys of its buffers leading to it."""
    mermaid = EVERY_KIND.to_mermaid()
    assert 'subgraph s2["on_cleanup<br/>runs always · keys items"]' in mermaid
    assert "runs when cancelled" in mermaid
    assert '-.->|"keys"| s2' in mermaid
    dot = EVERY_KIND.to_dot()
    assert 'label="on_cleanup\\nruns always · keys items"; style="rounded,dashed"' in dot


def test_the_text_forms_are_deterministic() -> None:
    """API §8: the same workflow gives the same text, and so does the same build function
    built again."""
    from graphs import every_kind

    again = cf.Workflow.build(every_kind, name="every_kind", streams={"progress": float})
    assert EVERY_KIND.to_mermaid() == EVERY_KIND.to_mermaid() == again.to_mermaid()
    assert EVERY_KIND.to_dot() == EVERY_KIND.to_dot() == again.to_dot()
    assert EVERY_KIND.to_svg() == again.to_svg()


NASTY = [
    'quote " and \\ backslash',
    "end",
    "subgraph",
    "a --> b; c",
    "hash # and #35; entity",
    "<b>bold</b> & amp",
    "pipe | and `tick`",
    "line\nbreak\ttab\x07bell",
    "émoji 🍰 ünïcode",
    '"]) shape breaker [("',
    "}; digraph x {",
]


@pytest.mark.parametrize("name", NASTY)
def test_every_name_is_escaped(name: str) -> None:
    """API §8: any name, however unusual, stays one label: the Mermaid and DOT texts parse
    and show the name (control characters made visible), and the SVG is well-formed."""
    from viz_support import check_svg

    def build(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        inner = builder.create_buffer(name=name + " buffer")
        builder.chain(scope.start).map(lambda x: x, name=name).then_scope(
            lambda s, b: b.chain(s.start).connect(s.terminate), name=name + " scope"
        ).connect(scope.terminate)
        builder.listen(inner).dispose()

    with pytest.warns(cf.UnreachableWarning):
        wf = cf.Workflow.build(build, name=name)
    shown = name.replace("\n", "\\x0a").replace("\t", "\\x09").replace("\x07", "\\x07")
    labels = check_mermaid(wf.to_mermaid())
    assert any(mermaid_text(label).split("<br/>")[0] == shown for label in labels.values())
    nodes = check_dot(wf.to_dot())
    assert any(label.split("\n")[0] == shown for label in nodes.values())
    root = check_svg(wf.to_svg())
    texts = ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert shown in texts


@given(drawn=workflows(max_operations=12, max_depth=3))
def test_random_workflows_give_valid_text(drawn: DrawnWorkflow) -> None:
    """API §8: for any workflow, the Mermaid and DOT texts parse, and every operation of
    every scope is in them."""
    wf = drawn.workflow
    labels = check_mermaid(wf.to_mermaid())
    nodes = check_dot(wf.to_dot())
    operations = all_operations(wf.graph)
    plain = [op for op in operations if op.kind != "scope"]
    scopes = [op for op in operations if op.kind == "scope"]
    assert len(nodes) == len(plain)
    assert len(labels) == len(plain) + len(scopes) + 1 + sum(
        len(g.cleanups) for _, g in wf.graph.walk()
    )


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_graphviz_reads_the_dot() -> None:
    """API §8: Graphviz itself reads the DOT text (when it is installed; crossflow never
    needs it)."""
    result = subprocess.run(
        ["dot", "-Tsvg"], input=EVERY_KIND.to_dot(), capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "<svg" in result.stdout
