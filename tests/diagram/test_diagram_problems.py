"""Problems of a diagram: every one found at once, each with its operation, its JSON
pointer and a message that says how to fix it (S11.4); `build` raises `DiagramError`
with the same list."""

from __future__ import annotations

import builtins
import json
from typing import Any

import pytest
from diagram_support import diagram, messages

import crossflow as cf
from crossflow.diagram import Diagram, DiagramError, Problem, Registry, Section

TERMINATE = {"builtin": "terminate"}


def node(builder: str, next: Any = TERMINATE, **more: Any) -> dict[str, Any]:
    return {"type": "node", "builder": builder, "next": next, **more}


def test_every_problem_is_reported_at_once(registry: Registry) -> None:
    """S11.4: one check reports all the problems of a document, with operation names and
    pointers; `build` raises `DiagramError` (a `cf.BuildError`)
    carrying the same list."""
    doc = diagram(
        {
            "a": node("multiply4"),
            "b": node("multiply_by", config="seven"),
            "c": {"type": "fork_clone", "next": ["nowhere"]},
            "d": {"type": "join", "buffers": [], "next": TERMINATE},
        },
        "a",
    )
    problems = Diagram.from_json(doc).check(registry)
    assert [(p.operation, p.pointer) for p in problems] == [
        ("a", "/ops/a/builder"),
        ("b", "/ops/b/config"),
        ("c", "/ops/c/next/0"),
        ("d", "/ops/d/buffers"),
    ]
    with pytest.raises(DiagramError) as caught:
        Diagram.from_json(doc).build(registry)
    assert caught.value.problems == tuple(problems)
    assert isinstance(caught.value, cf.BuildError)
    assert "has 4 problems" in str(caught.value)


def test_unknown_builder_suggests_a_close_name(registry: Registry) -> None:
    """An unknown node builder is a problem naming the closest registered one."""
    assert messages(diagram({"a": node("multiply4")}, "a"), registry) == [
        "/ops/a/builder: no node builder named 'multiply4' is registered. Did you mean "
        "'multiply3'? Register it with registry.register_node_builder(...)."
    ]


def test_unknown_section_builder_and_template(registry: Registry) -> None:
    """Unknown section builders and templates are problems with suggestions."""
    doc = diagram(
        {
            "s": {"type": "section", "builder": "add_two"},
            "t": {"type": "section", "template": "calculat"},
        },
        {"builtin": "terminate"},
        templates={"calculate": {"ops": {}}},
    )
    assert messages(doc, registry) == [
        "/ops/s/builder: no section builder named 'add_two' is registered. Did you mean "
        "'add_one'? Register it with registry.register_section_builder(...).",
        "/ops/t/template: unknown template 'calculat'; define it under \"templates\". Did you "
        "mean 'calculate'?",
    ]


def test_bad_config_is_a_problem_before_the_builder_runs(registry: Registry) -> None:
    """A config that does not fit the builder's declared type is a problem, which speaks
    JSON (the value as JSON, the type as the JSON values it takes, `null`); the builder is
    never called with it."""
    called: list[object] = []

    @registry.node_builder("scaled", config=float, config_examples=[("Twice.", 2.0)])
    def scaled(builder: cf.Builder, config: float) -> cf.Node[Any, Any]:
        called.append(config)
        return builder.create_node(lambda x: x * config)

    assert messages(diagram({"a": node("scaled", config="x")}, "a"), registry) == [
        "/ops/a/config: the config \"x\" does not fit node builder 'scaled', which takes a "
        "number. For example: 2.0 (Twice.)."
    ]
    assert messages(diagram({"a": node("scaled")}, "a"), registry)[0].startswith(
        "/ops/a/config: the config null does not fit"
    )
    assert called == []


def test_join_problems(registry: Registry) -> None:
    """A join with no buffers, a buffer listed twice, a clone of a buffer it does not have,
    and a buffer reference that is not a buffer are problems."""
    doc = diagram(
        {
            "b": {"type": "buffer"},
            "n": node("multiply3", "b"),
            "empty": {"type": "join", "buffers": {}, "next": TERMINATE},
            "twice": {"type": "join", "buffers": ["b", "b"], "clone": [2], "next": TERMINATE},
            "not_buffer": {"type": "listen", "buffers": ["n"], "next": TERMINATE},
        },
        "n",
    )
    assert messages(doc, registry) == [
        '/ops/empty/buffers: a join needs at least one buffer; list the buffers in "buffers"',
        "/ops/twice/buffers/1: buffer 'b' is listed twice in this join (also as 0); each "
        "buffer may appear once. To use its items twice, fork them into two buffers.",
        "/ops/twice/clone/0: clone names 2, which is not one of this join's buffer indexes: 0, 1",
        "/ops/not_buffer/buffers/0: 'n' is a node, not a buffer; joins, listeners and buffer "
        'access read buffer operations ({"type": "buffer"})',
    ]


def test_link_across_scopes_is_a_problem(registry: Registry) -> None:
    """An operation inside a scope cannot send to an operation of the enclosing scope."""
    doc = diagram(
        {
            "outer": node("multiply3"),
            "scope": {
                "type": "scope",
                "start": "inner",
                "ops": {"inner": node("multiply3", "outer")},
                "next": TERMINATE,
            },
        },
        "scope",
    )
    assert messages(doc, registry) == [
        "/ops/scope/ops/inner/next: 'outer' is an operation of the diagram, outside scope "
        "'scope': a link cannot cross into another scope. Inside a scope, send the message to "
        '{"builtin": "terminate"} and set the scope\'s "next" to \'outer\' (or use a '
        "stream_out operation)"
    ]


def test_template_cannot_reach_outside_without_an_output(registry: Registry) -> None:
    """A template's operation naming an operation outside the template is told to use the
    template's outputs."""
    doc = diagram(
        {"outer": node("multiply3"), "s": {"type": "section", "template": "t"}},
        {"s": "in"},
        templates={"t": {"inputs": ["in"], "ops": {"in": node("multiply3", "outer")}}},
    )
    assert messages(doc, registry) == [
        "/templates/t/ops/in/next: 'outer' is outside template 't': a template's operations "
        "reach the outside through its outputs; add 'outer' to the template's \"outputs\" and "
        'connect it in the section\'s "connect"'
    ]


def test_targets_that_have_no_input(registry: Registry) -> None:
    """Sending to a join, a listener or a section itself is a problem that says where to
    send instead; `{"x": ...}` naming an operation that is not a section too."""
    doc = diagram(
        {
            "b": {"type": "buffer"},
            "j": {"type": "join", "buffers": ["b"], "next": TERMINATE},
            "s": {"type": "section", "builder": "add_one"},
            "f": {"type": "fork_clone", "next": ["j", "s", {"b": "x"}]},
        },
        "f",
    )
    assert messages(doc, registry) == [
        "/ops/f/next/0: 'j' is a join: it has no input and fires from its buffers; send to "
        "one of its buffers instead",
        "/ops/f/next/1: 's' is a section, which has no input of its own; send to one of the "
        'inputs it exposes: {"s": "test_input"}',
        '/ops/f/next/2: {"b": "x"}: \'b\' is a buffer, not a section; {"<section>": '
        "\"<input>\"} only reaches inputs that sections expose. To send to 'b' itself, "
        "write 'b'.",
    ]


def test_streams(registry: Registry) -> None:
    """Unknown streams of a node (declared at registration) or of a scope are problems,
    and so is a stream name that Python cannot read as an attribute."""

    @registry.node_builder("streamer", streams={"progress": float})
    def streamer(builder: cf.Builder, config: Any) -> cf.Node[Any, Any]:
        @cf.service(streams={"progress": float})
        def run(x: Any, *, streams: cf.Streams) -> Any:
            return x

        return builder.create_node(run)

    doc = diagram(
        {
            "n": node("streamer", stream_out={"progres": TERMINATE}),
            "s": {
                "type": "scope",
                "start": "o",
                "ops": {"o": {"type": "stream_out", "name": "my-stream"}},
                "next": TERMINATE,
                "stream_out": {"other": TERMINATE},
            },
        },
        "n",
    )
    assert messages(doc, registry) == [
        "/ops/n/stream_out/progres: node builder 'streamer' has no stream 'progres'. Did you "
        "mean 'progress'?",
        "/ops/s/ops/o/name: stream name 'my-stream' is not a Python identifier, which "
        "crossflow for Python needs (streams are read as session.streams.<name>); rename it, "
        "e.g. to 'my_stream'",
        "/ops/s/stream_out/other: scope 's' has no stream 'other': declare it with a "
        'stream_out operation inside the scope ({"type": "stream_out", "name": "other"}). '
        "There are no streams.",
    ]


def test_undeclared_node_stream_is_found_when_building(registry: Registry) -> None:
    """A stream of an undeclared node that it does not have is found when the node is
    built."""
    doc = diagram({"n": node("multiply3", stream_out={"progress": TERMINATE})}, "n")
    assert messages(doc, registry) == [
        "/ops/n: the node made by 'multiply3' has no stream 'progress'; its streams: none"
    ]


def test_structure_problems(registry: Registry) -> None:
    """Missing and malformed fields, unknown operation types, bad targets and reserved
    names are problems of the document, all at once."""
    doc = {
        "version": "0.2.0",
        "ops": {
            "builtin": {"type": "buffer"},
            "a": {"type": "nod", "builder": "x"},
            "b": {"type": "node", "next": {"builtin": "terminat"}},
            "c": {"type": "fork_clone", "next": "x"},
            "d": {"type": "buffer", "settings": {"retention": {"keep_last": -1}}},
            "e": {"type": "fork_result", "ok": 5, "err": {"a": "b", "c": "d"}},
            "f": "node",
        },
    }
    assert messages(doc, registry) == [
        "/version: version '0.2.0' is not supported: this crossflow reads diagrams of version "
        '>=0.1.0, <0.2.0 (write "version": "0.1.0")',
        ': the diagram has no "start"; add "start": "<operation>" naming where the request '
        "goes first",
        "/ops/builtin: 'builtin' is a reserved name and cannot name an operation; rename it",
        "/ops/a/type: unknown operation type 'nod'. Did you mean 'node'?",
        "/ops/b: a node operation needs 'builder' (a string); add it",
        "/ops/b/next/builtin: unknown builtin target 'terminat'. Did you mean 'terminate'?",
        "/ops/c/next: 'next' must be an array of targets, got \"x\"",
        "/ops/d/settings/retention/keep_last: keep_last needs a count >= 0, got -1",
        '/ops/e/ok: 5 is not a target: write an operation name ("x"), {"builtin": '
        '"terminate"} (or "dispose", "cancel", "implicit_cancel"), or {"<section>": '
        '"<input>"} for an input a section exposes',
        '/ops/e/err: {"a": "b", "c": "d"} is not a target: write an operation name ("x"), '
        '{"builtin": "terminate"} (or "dispose", "cancel", "implicit_cancel"), or '
        '{"<section>": "<input>"} for an input a section exposes',
        '/ops/f: an operation is an object with a "type", got "node"',
    ]


@pytest.mark.parametrize("document", [[], 5, "text", None, {"version": 1}])
def test_not_a_diagram(document: Any, registry: Registry) -> None:
    """Any JSON value loads; what is not a diagram is a problem, never an exception."""
    found = Diagram.from_json(json.dumps(document)).check(registry)
    assert found and all(isinstance(p, Problem) for p in found)


def test_text_that_is_not_json() -> None:
    """Text that is not JSON raises `DiagramError` at once, saying where it broke."""
    with pytest.raises(DiagramError, match=r"not valid JSON: Expecting .* at line 1, column 13"):
        Diagram.from_json('{"version": }')


def test_unreadable_file(tmp_path: Any) -> None:
    """A file that cannot be read is a `DiagramError` naming it."""
    with pytest.raises(DiagramError, match="cannot read"):
        Diagram.from_file(tmp_path / "missing.json")


def test_wrong_arguments(registry: Registry) -> None:
    """Bad arguments are rejected where they are given, with `cf.InvalidArgument`."""
    with pytest.raises(cf.InvalidArgument, match="JSON text or a dict"):
        Diagram.from_json(5)  # type: ignore[arg-type]
    with pytest.raises(cf.InvalidArgument, match=r"cf\.diagram\.Registry"):
        Diagram.from_json(diagram({}, TERMINATE)).check({})  # type: ignore[arg-type]


def test_transform_needs_valid_cel(registry: Registry) -> None:
    """A CEL expression that does not parse is a problem at its `cel` field."""
    doc = diagram({"t": {"type": "transform", "cel": "1 +", "next": TERMINATE}}, "t")
    (found,) = messages(doc, registry)
    assert found.startswith("/ops/t/cel: not a valid CEL expression:")


def test_transform_without_the_cel_extra(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the `cel` extra, a transform is a problem that says which extra to install."""
    real_import = builtins.__import__

    def no_cel(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "cel":
            raise ImportError("No module named 'cel'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_cel)
    doc = diagram({"t": {"type": "transform", "cel": "1", "next": TERMINATE}}, "t")
    assert messages(doc, registry) == [
        "/ops/t: transform needs CEL, which is an optional extra: install it with `pip "
        "install 'crossflow-py[cel]'` (it brings the common-expression-language package)"
    ]
    # a transform without its expression is that one problem, with or without the extra
    missing = diagram({"t": {"type": "transform", "next": TERMINATE}}, "t")
    assert messages(missing, registry) == [
        "/ops/t: a transform operation needs 'cel' (a string); add it"
    ]


@pytest.mark.parametrize(
    ("cel", "expected"),
    [
        (None, "/ops/t: a transform operation needs 'cel' (a string); add it"),
        ("", '/ops/t/cel: "cel" is empty; write the expression, e.g. "request" or "request.x"'),
        (5, "/ops/t/cel: 'cel' must be a string, got 5"),
    ],
)
def test_transform_without_an_expression_is_one_problem(
    cel: Any, expected: str, registry: Registry
) -> None:
    """A transform whose `cel` is missing, empty or not text has one problem, not a second
    one for compiling nothing."""
    op: dict[str, Any] = {"type": "transform", "next": TERMINATE}
    if cel is not None:
        op["cel"] = cel
    assert messages(diagram({"t": op}, "t"), registry) == [expected]


def test_config_problems_speak_json() -> None:
    """A config problem shows the value as JSON and the type as the JSON values it takes:
    `null`, not `None`; `"nope"`, not `'nope'`."""
    from examples.calculator import make_registry as calculator

    doc = diagram({"c": node("less_than", config="nope")}, "c")
    assert messages(doc, calculator()) == [
        "/ops/c/config: the config \"nope\" does not fit node builder 'less_than', which "
        'takes "or_equal", a number, null or an object (ComparisonSettings). For example: '
        "null (Each element against the next one.)."
    ]
    doc = diagram({"c": node("less_than", config={"compared_to": True})}, "c")
    (found,) = messages(doc, calculator())
    assert found.startswith('/ops/c/config: the config {"compared_to": true} does not fit')


def test_builder_failures_are_problems(registry: Registry) -> None:
    """A builder that raises, or returns something else than a node or a matching
    section, is a problem of the operation; the exception is kept as the cause."""

    @registry.node_builder("broken")
    def broken(builder: cf.Builder, config: Any) -> cf.Node[Any, Any]:
        raise RuntimeError("no database")

    @registry.node_builder("wrong")
    def wrong(builder: cf.Builder, config: Any) -> Any:
        return 42

    @registry.section_builder("partial", inputs=["a", "b"])
    def partial(builder: cf.Builder, config: Any) -> Section:
        n = builder.create_node(lambda x: x)
        return Section(inputs={"a": n.input})

    doc = diagram(
        {"x": node("broken"), "y": node("wrong"), "z": {"type": "section", "builder": "partial"}},
        "x",
    )
    problems = Diagram.from_json(doc).check(registry)
    assert [f"{p.pointer}: {p.message}" for p in problems] == [
        "/ops/x: node builder 'broken' raised RuntimeError: no database",
        "/ops/y: node builder 'wrong' returned 42; a node builder returns the cf.Node it "
        "created (return builder.create_node(...))",
        "/ops/z: section builder 'partial' returned a Section that does not match what it "
        "declared at registration: inputs ['a'] (declared: ['a', 'b'])",
    ]
    assert isinstance(problems[0].error, RuntimeError)
    with pytest.raises(DiagramError) as caught:
        Diagram.from_json(doc).build(registry)
    assert isinstance(caught.value.__cause__, RuntimeError)


def test_problem_shape() -> None:
    """A `Problem` prints as `pointer [operation]: message` and has a JSON form."""
    problem = Problem("x10", "/ops/x10/next", "there is no operation named 'y'")
    assert str(problem) == "/ops/x10/next [x10]: there is no operation named 'y'"
    assert problem.to_dict() == {
        "operation": "x10",
        "pointer": "/ops/x10/next",
        "message": "there is no operation named 'y'",
    }
    assert str(Problem("", "", "no version")) == "(document): no version"


def test_pointers_escape_names(registry: Registry) -> None:
    """Names with `/` and `~` are escaped in JSON pointers (RFC 6901)."""
    doc = diagram({"a/b~c": node("nope")}, "a/b~c")
    (problem,) = Diagram.from_json(doc).check(registry)
    assert problem.pointer == "/ops/a~1b~0c/builder"
    assert problem.operation == "a/b~c"
