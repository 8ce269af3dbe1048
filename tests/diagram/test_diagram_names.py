"""What a diagram's workflow says about itself uses the diagram's names: operations made
for a diagram operation are named after its id (helpers `<id>/<what>`), implicit errors
name the operation and keep their whole text, internal conversions record no disposals
of their own, deep nesting is a problem rather than a crash, and an unreachable diagram
is explained with its ids (S11.1-S11.4, catalogue §13)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import anyio
import pytest
from diagram_support import CALCULATOR, build, cancelled, diagram, make_registry, run

import crossflow as cf
from crossflow.diagram import Diagram, DiagramError, ImplicitCancel, Registry
from examples.calculator import make_registry as calculator_registry

pytestmark = pytest.mark.anyio

TERMINATE = {"builtin": "terminate"}
DISPOSE = {"builtin": "dispose"}


def node(builder: str, next: Any = TERMINATE, **more: Any) -> dict[str, Any]:
    return {"type": "node", "builder": builder, "next": next, **more}


def operation_names(graph: cf.Graph) -> list[str]:
    """The names of every operation of a graph and of its nested scopes' graphs."""
    names: list[str] = []
    for op in graph.operations:
        names.append(op.name)
        if op.kind == "scope" and op.body is not None:
            names.extend(operation_names(op.body))
    return names


def diagram_ids(document: dict[str, Any]) -> set[str]:
    """Every operation id of a document, its nested scopes included."""
    ids: set[str] = set()
    todo = [document["ops"]]
    while todo:
        for name, op in todo.pop().items():
            ids.add(name)
            if op.get("type") == "scope":
                todo.append(op["ops"])
    return ids


def named_after_the_diagram(name: str, ids: set[str]) -> bool:
    """`name` is an id of the diagram, a helper `<id>/<what>`, or a scope's own
    start, terminate or stream out."""
    if name in ("start", "terminate") or name.startswith("stream_out:"):
        return True
    return name in ids or any(name.startswith(f"{i}/") for i in ids | {"start"})


CALCULATOR_DIAGRAMS = [
    "multiply_by_3.json",
    "split_and_join.json",
    "clone_from_buffer.json",
    "countdown.json",
    "fibonacci.json",
    "carry_object_progress.json",
]


@pytest.mark.parametrize("name", CALCULATOR_DIAGRAMS)
def test_every_operation_is_named_after_the_diagram(name: str) -> None:
    """Every operation of a calculator diagram's workflow is one of the diagram's ids or a
    helper named `<id>/<what>`; none has a generated name such as `fork_result#6`."""
    path = CALCULATOR / name
    document = json.loads(path.read_text(encoding="utf-8"))
    workflow = Diagram.from_file(path).build(calculator_registry())
    names = operation_names(workflow.graph)
    ids = diagram_ids(document)
    assert [n for n in names if not named_after_the_diagram(n, ids)] == []
    assert not [n for n in names if "#" in n]


async def test_test_cases_name_their_operations(registry: Registry) -> None:
    """Forks, unzips, splits, joins, listeners, buffers, transforms, scopes and the
    builtin cancel are named after the diagram (S11.1)."""
    doc = diagram(
        {
            "fork": {"type": "fork_clone", "next": ["pair", "b1"]},
            "pair": node("multiply3_5", "unzip"),
            "unzip": {"type": "unzip", "next": ["b2", DISPOSE]},
            "b1": {"type": "buffer"},
            "b2": {"type": "buffer"},
            "join": {"type": "join", "buffers": ["b1", "b2"], "next": "scope"},
            "scope": {
                "type": "scope",
                "start": "t",
                "ops": {"t": {"type": "transform", "cel": "request[0] + request[1]", "next": "s"},
                        "s": {"type": "split", "sequential": [TERMINATE]}},
                "next": TERMINATE,
            },
        },
        "fork",
    )  # fmt: skip
    workflow = build(doc, registry)
    names = operation_names(workflow.graph)
    assert {"fork", "pair", "unzip", "b1", "b2", "join", "scope", "t", "s"} <= set(names)
    assert [n for n in names if not named_after_the_diagram(n, diagram_ids(doc))] == []
    assert await run(doc, 2, registry) == 2 + 6


async def events_of(name: str, request: Any) -> list[cf.Event]:
    workflow = Diagram.from_file(CALCULATOR / name).build(calculator_registry(time_scale=0.01))
    seen: list[cf.Event] = []
    with anyio.fail_after(10):
        await workflow.run(request, on_event=seen.append)
    return seen


@pytest.mark.parametrize(
    ("name", "request_", "disposals"),
    [
        ("fibonacci.json", 5, set()),
        ("countdown.json", 2, {("fork", "ok"), ("fork", "err")}),
        ("clone_from_buffer.json", [10, 1], {("fork_result", "ok"), ("fork_result", "err")}),
        ("multiply_by_3.json", 4, set()),
    ],
)
async def test_only_the_diagrams_disposals_are_recorded(
    name: str, request_: Any, disposals: set[tuple[str, str]]
) -> None:
    """S3: the disposals of a calculator run are the branches of the diagram's own
    fork_result operations, named after them; the conversions crossflow adds record
    none. Every event names a diagram operation or one of its helpers."""
    events = await events_of(name, request_)
    disposed = [e for e in events if isinstance(e, cf.events.Disposed)]
    found = set()
    for event in disposed:
        cause = event.disposal.cause
        assert isinstance(cause, cf.Branching)
        found.add((event.disposal.operation, cause.branch))
    assert found == disposals
    ids = diagram_ids(json.loads((CALCULATOR / name).read_text(encoding="utf-8")))
    started = {e.operation for e in events if isinstance(e, cf.events.OperationStarted)}
    assert started and all(named_after_the_diagram(n, ids) for n in started)


async def test_transform_error_names_the_operation_with_its_whole_text() -> None:
    """S11.3: a transform that fails with nothing to handle it cancels the root naming
    the diagram's operation, with the whole error text (it is longer than the 200
    characters a message is shortened to elsewhere)."""
    doc = diagram({"t": {"type": "transform", "cel": "request.x", "next": TERMINATE}}, "t")
    cause = await cancelled(doc, 5, Registry())
    assert isinstance(cause, cf.ServiceFailed)
    assert cause.operation == "t"
    error = cause.error
    assert isinstance(error, ImplicitCancel)
    assert error.operation == "t"
    assert str(error) == error.text
    assert error.text.startswith("transform 't' failed: ")
    assert len(error.text) > 200 and "chars)" not in error.text
    # the same text the diagram's on_error receives
    doc["ops"]["t"]["on_error"] = TERMINATE
    assert await run(doc, 5, Registry()) == error.text


async def test_implicit_cancel_target_names_its_sender(registry: Registry) -> None:
    """S11.2: `{"builtin": "implicit_cancel"}` cancels with the message as text, naming the
    operation that sent it; it never keeps the scope alive, so a diagram whose only way
    out it is never starts."""
    fork = {"type": "fork_clone", "next": [{"builtin": "implicit_cancel"}, "slow"]}
    doc = diagram({"m": node("multiply3", "f"), "f": fork, "slow": node("delay", config=5)}, "m")
    cause = await cancelled(doc, 2, registry)
    assert isinstance(cause, cf.ServiceFailed)
    assert cause.operation == "f/implicit_cancel"
    assert isinstance(cause.error, ImplicitCancel)
    assert (cause.error.operation, cause.error.text) == ("f", "6")
    alone = diagram({"m": node("multiply3", {"builtin": "implicit_cancel"})}, "m")
    assert await cancelled(alone, 2, registry) == cf.Unreachable("diagram", ())


async def test_cancel_builtin_names_its_sender(registry: Registry) -> None:
    """S11.2: the builtin cancel is an operation named after what sends to it."""
    doc = diagram({"m": node("multiply3", {"builtin": "cancel"})}, "m")
    cause = await cancelled(doc, 2, registry)
    assert isinstance(cause, cf.Triggered)
    assert (cause.operation, cause.value) == ("m/cancel", "6")
    cause = await cancelled(diagram({}, {"builtin": "cancel"}), [1, None], registry)
    assert isinstance(cause, cf.Triggered)
    assert (cause.operation, cause.value) == ("start/cancel", "[1,null]")


async def test_routed_conversion_errors_name_their_fork(registry: Registry) -> None:
    """S3, S11.3: where a conversion's error goes to a handler other than
    `implicit_cancel` (here the default `cancel` of a scope), it is routed by a fork
    named after the conversion, whose untaken branch is recorded under that name."""
    doc = diagram(
        {
            "scope": {
                "type": "scope",
                "start": "op",
                "ops": {"op": node("multiply3", DISPOSE)},
                "next": TERMINATE,
            }
        },
        "scope",
    )
    cause = await cancelled(doc, 4, registry)
    assert isinstance(cause, cf.Unreachable)
    (disposal,) = cause.disposals
    assert isinstance(disposal.cause, cf.ScopeCancelled)
    inner = disposal.cause.cancellation.cause
    assert isinstance(inner, cf.Unreachable)
    assert [(d.operation, d.cause) for d in inner.disposals] == [
        ("op/from_json/fork", cf.Branching("op/from_json/fork", "err"))
    ]


async def test_builders_that_take_the_name_get_the_id() -> None:
    """A node builder with a keyword-only `name` is given the operation's id; one without
    it names its node itself."""
    registry = Registry()
    given: list[str] = []

    @registry.node_builder("named")
    def named(builder: cf.Builder, config: Any, *, name: str) -> cf.Node[Any, Any]:
        given.append(name)
        return builder.create_node(lambda x: x, name=name)

    @registry.node_builder("fixed")
    def fixed(builder: cf.Builder, config: Any) -> cf.Node[Any, Any]:
        return builder.create_node(lambda x: x, name="fixed_name")

    doc = diagram({"first": node("named", "second"), "second": node("fixed")}, "first")
    names = operation_names(build(doc, registry).graph)
    assert given == ["first"]
    assert "first" in names and "fixed_name" in names and "second" not in names


async def test_template_ids_reach_builders(registry: Registry) -> None:
    """Inside a template, a builder is given the instance's id: `<section>/<op>`."""
    doc = {
        "version": "0.1.0",
        "start": {"sec": "in"},
        "ops": {"sec": {"type": "section", "template": "t", "connect": {"out": TERMINATE}}},
        "templates": {
            "t": {"inputs": ["in"], "outputs": ["out"], "ops": {"in": node("multiply3", "out")}}
        },
    }
    assert "sec/in" in operation_names(build(doc, registry).graph)
    assert await run(doc, 2, registry) == 6


def nested(depth: int) -> dict[str, Any]:
    """A valid diagram of `depth` scope operations, each inside the one before."""
    document: dict[str, Any] = {"version": "0.1.0", "start": "s0", "ops": {}}
    ops = document["ops"]
    for i in range(depth):
        inner: dict[str, Any] = {}
        start = f"s{i + 1}" if i < depth - 1 else TERMINATE
        ops[f"s{i}"] = {"type": "scope", "start": start, "ops": inner, "next": TERMINATE}
        ops = inner
    return document


async def test_deep_nesting_builds_up_to_the_limit(registry: Registry) -> None:
    """64 nested scope operations build and run (S11.1)."""
    assert Diagram.from_json(nested(64)).check(registry) == []
    assert await run(nested(64), 7, registry) == 7


@pytest.mark.parametrize("depth", [65, 150, 400])
def test_deeper_nesting_is_one_problem(depth: int, registry: Registry) -> None:
    """S11.4: scopes nested deeper than 64 are one problem at the first scope too deep,
    never a RecursionError."""
    problems = Diagram.from_json(nested(depth)).check(registry)
    assert len(problems) == 1
    (problem,) = problems
    assert problem.operation == "s64"
    assert problem.pointer == "".join(f"/ops/s{i}" for i in range(65))
    assert "nested more than 64 deep" in problem.message
    with pytest.raises(DiagramError):
        Diagram.from_json(nested(depth)).build(registry)


def test_nesting_beyond_the_recursion_limit_is_a_problem(registry: Registry) -> None:
    """A dict nested 2,000 scopes deep loads, and has its one problem; as text, it is
    deeper than Python's JSON parser goes: a `DiagramError` with one problem."""
    (problem,) = Diagram.from_json(nested(2000)).check(registry)
    assert "nested more than 64 deep" in problem.message
    text = '{"version":"0.1.0","start":"s0","ops":' + "".join(
        f'{{"s{i}":{{"type":"scope","start":"s{i + 1}","next":{{"builtin":"terminate"}},"ops":'
        for i in range(2000)
    ) + "{}" + "}}" * 2000 + "}"  # fmt: skip
    with pytest.raises(DiagramError) as from_text:
        Diagram.from_json(text)
    (problem,) = from_text.value.problems
    assert "nested too deeply" in problem.message


def test_templates_nested_too_deep_are_a_problem(registry: Registry) -> None:
    """Templates that place each other more than 64 deep are one problem."""
    templates: dict[str, Any] = {}
    for i in range(80):
        inner = {"s": {"type": "section", "template": f"t{i + 1}", "connect": {"out": "out"}}}
        ops = inner if i < 79 else {"in": node("multiply3", "out")}
        templates[f"t{i}"] = {
            "inputs": {"in": {"s": "in"}} if i < 79 else ["in"],
            "outputs": ["out"],
            "ops": ops,
        }
    doc = {
        "version": "0.1.0",
        "start": {"s": "in"},
        "ops": {"s": {"type": "section", "template": "t0", "connect": {"out": TERMINATE}}},
        "templates": templates,
    }
    problems = Diagram.from_json(doc).check(registry)
    assert len(problems) == 1
    assert "templates are nested more than 64 deep" in problems[0].message


def test_unreachable_diagram_is_explained_with_its_ids(registry: Registry) -> None:
    """S2.3, S11.4: a sound diagram that can never finish has no problem, but `check` and
    `build` warn, naming the diagram's operations and targets, in place of the
    builder's own warning about the workflow it built."""
    doc = diagram({"mul": node("multiply3", DISPOSE), "orphan": node("multiply3")}, "mul")
    with pytest.warns(cf.UnreachableWarning) as caught:
        assert Diagram.from_json(doc, name="d").check(registry) == []
    (warning,) = caught
    text = str(warning.message)
    assert text.startswith("the diagram 'd' can never finish")
    assert '\'mul\' sends "next" to {"builtin": "dispose"}' in text
    assert "no message can ever reach 'orphan'" in text
    assert "scope.terminate" not in text and "chain." not in text
    assert Path(warning.filename) == Path(__file__)
    with pytest.warns(cf.UnreachableWarning, match="can never finish"):
        Diagram.from_json(doc).build(registry)


def test_unreachable_scope_is_explained(registry: Registry) -> None:
    """A scope operation that can never finish is named in the warning."""
    inner = {"op": node("multiply3", DISPOSE)}
    scope = {"type": "scope", "start": "op", "ops": inner, "next": TERMINATE,
             "on_implicit_error": {"builtin": "implicit_cancel"}}  # fmt: skip
    with pytest.warns(cf.UnreachableWarning) as caught:
        Diagram.from_json(diagram({"s": scope}, "s")).check(registry)
    assert [str(w.message).split(" can never")[0] for w in caught] == ["scope 's'"]


def test_reachable_diagrams_do_not_warn(registry: Registry) -> None:
    """The calculator's diagrams and a diagram ending in a fork's dispose are sound and
    quiet."""
    doc = diagram(
        {"cmp": node("multiply3", "f"), "f": {"type": "fork_clone", "next": [TERMINATE, DISPOSE]}},
        "cmp",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert Diagram.from_json(doc).check(registry) == []
        for name in CALCULATOR_DIAGRAMS:
            assert Diagram.from_file(CALCULATOR / name).check(calculator_registry()) == []


def test_stand_ins_draw_a_diagram_without_its_builders() -> None:
    """Without a registry, stand-ins named `<id> (<builder>)` give a diagram its shape:
    nodes with the streams it maps, sections with the inputs, outputs and buffers it
    uses."""
    from crossflow._diagram._standins import stand_ins

    for name in CALCULATOR_DIAGRAMS:
        d = Diagram.from_file(CALCULATOR / name)
        names = operation_names(d.build(stand_ins(d)).graph)
        assert any(n.endswith(")") and " (" in n for n in names)
    doc = diagram(
        {
            "sec": {"type": "section", "builder": "add_one_to_buffer",
                    "connect": {"extra": TERMINATE}},
            "l": {"type": "listen", "buffers": [{"sec": "test_buffer"}], "next": "n"},
            "n": node("buffer_length", stream_out={"progress": DISPOSE}),
        },
        {"sec": "test_input"},
    )  # fmt: skip
    d = Diagram.from_json(doc)
    assert d.check(make_registry())  # the real builder has no output 'extra'
    names = operation_names(d.build(stand_ins(d)).graph)
    assert {"sec (add_one_to_buffer)", "sec/test_buffer", "n (buffer_length)", "l"} <= set(names)
