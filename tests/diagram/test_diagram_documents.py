"""Diagram documents: read and written back unchanged (the editor's `extensions`
included), and bad documents, made by mutating good ones, always give problems and
never another exception (S11.4)."""

from __future__ import annotations

import copy
import json
import warnings
from typing import Any

from diagram_support import CALCULATOR
from hypothesis import given, settings
from hypothesis import strategies as st

import crossflow as cf
from crossflow.diagram import Diagram, DiagramError, Problem
from examples.calculator import make_registry

REGISTRY = make_registry()
GOOD = [
    json.loads(path.read_text(encoding="utf-8"))
    for path in sorted(CALCULATOR.glob("*.json"))
    if path.name != "python_script_nodes.json"
]
TEMPLATED = {
    "version": "0.1.0",
    "start": {"calc": "add"},
    "templates": {
        "calc": {
            "inputs": ["add"],
            "outputs": ["done"],
            "buffers": ["kept"],
            "ops": {
                "add": {"type": "node", "builder": "add", "config": 1, "next": "fork"},
                "fork": {"type": "fork_clone", "next": ["kept", "done"]},
                "kept": {"type": "buffer"},
            },
        }
    },
    "ops": {
        "calc": {"type": "section", "template": "calc", "connect": {"done": "scope"}},
        "scope": {
            "type": "scope",
            "start": "mul",
            "ops": {
                "mul": {
                    "type": "node",
                    "builder": "mul",
                    "config": 2,
                    "next": {"builtin": "terminate"},
                }
            },
            "next": {"builtin": "terminate"},
        },
    },
}
GOOD.append(TEMPLATED)

REQUIRED = {
    "node": ("builder", "next"),
    "section": ("template",),
    "scope": ("start", "next"),
    "stream_out": ("name",),
    "fork_clone": ("next",),
    "unzip": ("next",),
    "fork_result": ("ok", "err"),
    "join": ("buffers", "next"),
    "transform": ("cel", "next"),
    "buffer_access": ("buffers", "next"),
    "listen": ("buffers", "next"),
}


def test_good_documents_are_sound() -> None:
    """The documents the mutations start from have no problem."""
    for document in GOOD:
        assert Diagram.from_json(document).check(REGISTRY) == []


def test_round_trip_keeps_everything() -> None:
    """A diagram read and written back is the document it was: the editor's node
    positions in `extensions` included, in the same key order."""
    for path in sorted(CALCULATOR.glob("*.json")):
        text = path.read_text(encoding="utf-8")
        original = json.loads(text)
        loaded = Diagram.from_file(path)
        assert loaded.to_dict() == original
        assert json.loads(loaded.to_json()) == original
        assert list(loaded.to_dict()) == list(original)
    countdown = Diagram.from_file(CALCULATOR / "countdown.json").to_dict()
    nodes = countdown["extensions"]["crossflow-diagram-editor-v1"]["state"]["nodes"]
    assert nodes[0]["position"] == {"x": 292.5, "y": 25}


def test_to_dict_is_a_copy() -> None:
    """Changing what `to_dict` returned does not change the diagram."""
    loaded = Diagram.from_json(TEMPLATED)
    loaded.to_dict()["ops"].clear()
    assert loaded.to_dict() == TEMPLATED


def places(document: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The paths of every operation object in a document (root, scopes, templates)."""
    found: list[tuple[Any, ...]] = []
    for key in ("ops",):
        for name, op in document.get(key, {}).items():
            found.append((*path, key, name))
            if op.get("type") == "scope":
                found.extend(places(op, (*path, key, name)))
    for name, template in document.get("templates", {}).items():
        found.extend(places(template, (*path, "templates", name)))
    return found


def at(document: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        document = document[key]
    return document


@st.composite
def broken(draw: st.DrawFn) -> Any:
    """A good document with one mutation that always makes it wrong."""
    document = copy.deepcopy(draw(st.sampled_from(GOOD)))
    kind = draw(st.sampled_from(["missing", "wrong_type", "dangling", "template_cycle", "top"]))
    ops = [p for p in places(document) if at(document, p).get("type") in REQUIRED]
    if kind == "top" or not ops:
        del document[draw(st.sampled_from(["version", "start", "ops"]))]
        return document
    path = draw(st.sampled_from(ops))
    op = at(document, path)
    required = REQUIRED[op["type"]]
    if op["type"] == "section" and "template" not in op:
        required = ("builder",)
    field = draw(st.sampled_from(required))
    if kind == "missing":
        del op[field]
    elif kind == "wrong_type":
        op[field] = draw(st.sampled_from([42, 4.5, True, None, {"a": 1, "b": 2}]))
    elif kind == "dangling":
        op[field] = "__nowhere__" if field not in ("buffers", "cel", "name") else ["__nowhere__"]
        if field == "cel":
            op[field] = "1 +"
        if field == "name":
            op[field] = "not an identifier"
    else:
        document.setdefault("templates", {})["loop"] = {
            "inputs": ["i"],
            "ops": {"i": {"type": "section", "template": "loop"}},
        }
        document["ops"]["uses_loop"] = {"type": "section", "template": "loop"}
    return document


@settings(max_examples=200)
@given(broken())
def test_mutations_always_give_problems(document: Any) -> None:
    """S11.4: a missing field, a wrong type, a dangling name or a cycle of templates is
    always reported as problems, by `check` and by `build`, never as another exception."""
    diagram = Diagram.from_json(document)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cf.CrossflowWarning)
        problems = diagram.check(REGISTRY)
    assert problems, json.dumps(document)[:500]
    assert all(isinstance(p, Problem) and p.message for p in problems)
    try:
        diagram.build(REGISTRY)
    except DiagramError as error:
        assert list(error.problems) == problems
    else:
        raise AssertionError("build succeeded on a document with problems")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=200)
@given(document=st.sampled_from(GOOD), value=json_values, data=st.data())
def test_any_json_anywhere_never_raises(document: Any, value: Any, data: st.DataObject) -> None:
    """Whatever JSON replaces any field of any operation, checking gives a list of
    problems (maybe empty, for a field that is ignored) and never raises."""
    document = copy.deepcopy(document)
    path = data.draw(st.sampled_from(places(document)))
    op = at(document, path)
    if isinstance(op, dict) and op:
        field = data.draw(st.sampled_from(sorted(op)))
        op[field] = value
    with warnings.catch_warnings():
        # a field changed to nonsense may leave operations no message can reach
        warnings.simplefilter("ignore", cf.CrossflowWarning)
        problems = Diagram.from_json(document).check(REGISTRY)
        assert all(isinstance(p, Problem) for p in problems)
        if not problems:
            assert isinstance(Diagram.from_json(document).build(REGISTRY), cf.Workflow)
