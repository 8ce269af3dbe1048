"""The registry: builders, declared types converted at a node's boundary (S11.3), config
validation, and metadata in crossflow's registry metadata format."""

from __future__ import annotations

import dataclasses
import enum
import json
import re
from typing import Any, Literal, TypedDict

import anyio
import attrs
import jsonschema
import pytest
from diagram_support import DATA, build, diagram, messages

import crossflow as cf
from crossflow.diagram import Diagram, Registry, Section
from examples.calculator import make_registry

pytestmark = pytest.mark.anyio
TERMINATE = {"builtin": "terminate"}


@dataclasses.dataclass
class Point:
    """A point in the plane."""

    x: float
    y: float = 0.0


@attrs.frozen
class Box:
    corner: Point
    label: str


class Size(TypedDict):
    width: int
    height: int


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


def typed_registry() -> Registry:
    registry = Registry()

    @registry.node_builder("norm", request=Point, response=float)
    def norm(builder: cf.Builder, config: Any) -> cf.Node[Point, float]:
        def length(p: Point) -> float:
            assert isinstance(p, Point)
            return (p.x**2 + p.y**2) ** 0.5

        return builder.create_node(length, name="norm")

    @registry.node_builder("shift", request=Point, response=Point, config=Point)
    def shift(builder: cf.Builder, config: Point) -> cf.Node[Point, Point]:
        return builder.create_node(lambda p: Point(p.x + config.x, p.y + config.y), name="shift")

    @registry.node_builder("boxed", request=Box, response=Box)
    def boxed(builder: cf.Builder, config: Any) -> cf.Node[Box, Box]:
        return builder.create_node(lambda b: attrs.evolve(b, label=b.label.upper()), name="boxed")

    @registry.node_builder("area", request=Size, response=int)
    def area(builder: cf.Builder, config: Any) -> cf.Node[Size, int]:
        return builder.create_node(lambda s: s["width"] * s["height"], name="area")

    @registry.node_builder("paint", config=Colour, response=Colour)
    def paint(builder: cf.Builder, config: Colour) -> cf.Node[Any, Colour]:
        return builder.create_node(lambda _: config, name="paint")

    @registry.node_builder("echo")
    def echo(builder: cf.Builder, config: Any) -> cf.Node[Any, Any]:
        return builder.create_node(lambda x: x, name="echo")

    return registry


def node(builder: str, next: Any = TERMINATE, **more: Any) -> dict[str, Any]:
    return {"type": "node", "builder": builder, "next": next, **more}


async def run(document: dict[str, Any], request: Any, registry: Registry) -> Any:
    with anyio.fail_after(10):
        return await build(document, registry).run(request)


async def test_declared_types_convert_at_the_boundary() -> None:
    """S11.3: a dataclass, an attrs class and a TypedDict request are converted from JSON
    before the node; a declared response is converted to JSON for the response."""
    registry = typed_registry()
    assert await run(diagram({"n": node("norm")}, "n"), {"x": 3, "y": 4}, registry) == 5.0
    boxed = await run(
        diagram({"b": node("boxed")}, "b"), {"corner": {"x": 1}, "label": "a"}, registry
    )
    assert boxed == {"corner": {"x": 1.0, "y": 0.0}, "label": "A"}
    assert await run(diagram({"a": node("area")}, "a"), {"width": 2, "height": 3}, registry) == 6
    assert await run(diagram({"p": node("paint", config="blue")}, "p"), None, registry) == "blue"


async def test_typed_values_pass_between_typed_nodes() -> None:
    """A node whose request is the type the previous node returns gets the object itself;
    an undeclared node gets JSON."""
    registry = typed_registry()
    doc = diagram({"s": node("shift", "n", config={"x": 1}), "n": node("norm")}, "s")
    assert await run(doc, {"x": 2, "y": 4}, registry) == 5.0
    doc = diagram({"s": node("shift", "e", config={"x": 1, "y": 1}), "e": node("echo")}, "s")
    assert await run(doc, {"x": 0, "y": 0}, registry) == {"x": 1.0, "y": 1.0}


async def test_failed_conversion_goes_to_the_implicit_error_handler() -> None:
    """S11.3: a message that does not fit the declared type sends its error text to
    `on_implicit_error`; the node never sees it."""
    registry = typed_registry()
    doc = diagram({"n": node("norm"), "h": node("echo")}, "n", on_implicit_error="h")
    point = f"{__name__}.Point"
    assert await run(doc, {"y": 1}, registry) == (
        f"n: the message {{\"y\": 1}} does not fit {point}: {point} needs the field 'x', "
        'got {"y": 1}'
    )


async def test_unconvertible_response_goes_to_the_handler() -> None:
    """A response that has no JSON form cannot be the workflow's response: its error goes
    to the implicit-error handler (S11.3)."""
    registry = Registry()

    @registry.node_builder("opaque")
    def opaque(builder: cf.Builder, config: Any) -> cf.Node[Any, Any]:
        return builder.create_node(lambda _: object(), name="opaque")

    doc = diagram({"o": node("opaque")}, "o", on_implicit_error={"builtin": "cancel"})
    with pytest.raises(cf.WorkflowCancelled) as caught:
        await build(doc, registry).run(1)
    cause = caught.value.cancellation.cause
    assert isinstance(cause, cf.Triggered)
    assert cause.value is not None and "has no JSON form" in cause.value


async def test_config_is_converted_before_the_builder_runs() -> None:
    """The config reaches the builder as the declared type (a dataclass here)."""
    registry = typed_registry()
    doc = diagram({"s": node("shift", config={"x": 1, "y": 2})}, "s")
    assert await run(doc, {"x": 1, "y": 1}, registry) == {"x": 2.0, "y": 3.0}
    point = f"{__name__}.Point"
    assert messages(diagram({"s": node("shift", config={"y": 2})}, "s"), registry) == [
        f"/ops/s/config: the config {{\"y\": 2}} does not fit node builder 'shift', which takes "
        f"an object (Point): {point} needs the field 'x', got {{\"y\": 2}}."
    ]


async def test_section_builder_with_typed_input() -> None:
    """A section builder's declared input types convert like a node's request."""
    registry = typed_registry()

    @registry.section_builder("measure", inputs={"point": Point}, outputs={"length": float})
    def measure(builder: cf.Builder, config: Any) -> Section:
        n = builder.create_node(lambda p: (p.x**2 + p.y**2) ** 0.5)
        return Section(inputs={"point": n.input}, outputs={"length": n.output})

    doc = diagram(
        {"m": {"type": "section", "builder": "measure", "connect": {"length": TERMINATE}}},
        {"m": "point"},
    )
    assert await run(doc, {"x": 6, "y": 8}, registry) == 10.0


def test_registration_errors() -> None:
    """Bad registrations are rejected at once with `cf.InvalidArgument`."""
    registry = Registry()
    with pytest.raises(cf.InvalidArgument, match="non-empty str"):
        registry.register_node_builder("", lambda b, c: None)  # type: ignore[arg-type, return-value]
    with pytest.raises(cf.InvalidArgument, match="build_fn must be a function"):
        registry.register_node_builder("x", 5)  # type: ignore[arg-type]
    with pytest.raises(cf.InvalidArgument, match="cannot be used"):
        registry.register_node_builder("x", lambda b, c: None, config=dict[int, int])  # type: ignore[arg-type, return-value]
    with pytest.raises(cf.InvalidArgument, match="does not fit config=float"):
        registry.register_node_builder(
            "x",
            lambda b, c: None,
            config=float,
            config_examples=[("bad", "x")],  # type: ignore[arg-type, return-value]
        )
    with pytest.raises(cf.InvalidArgument, match="both an input and a buffer"):
        registry.register_section_builder("s", lambda b, c: Section(), inputs=["a"], buffers=["a"])
    assert registry.node_builders == ()
    assert repr(registry) == "<Registry: 0 node builders, 0 section builders>"


def test_registering_again_replaces() -> None:
    """Registering a name again replaces the builder (as crossflow does)."""
    registry = Registry()
    registry.register_node_builder("x", lambda b, c: b.create_node(lambda m: 1))
    registry.register_node_builder("x", lambda b, c: b.create_node(lambda m: 2))
    wf = Diagram.from_json(diagram({"x": node("x")}, "x")).build(registry)
    assert wf.run_sync(None) == 2
    assert registry.node_builders == ("x",)


def test_metadata_follows_crossflows_schema() -> None:
    """`metadata()` validates against crossflow's registry metadata schema; classes are
    described once under `schemas` and referred to by `$ref`."""
    schema = json.loads((DATA / "registry.schema.json").read_text(encoding="utf-8"))
    for registry in (make_registry(), typed_registry()):
        metadata = registry.metadata()
        jsonschema.validate(metadata, schema)
        json.dumps(metadata)  # JSON-ready
    metadata = typed_registry().metadata()
    norm = metadata["nodes"]["norm"]
    point = metadata["messages"][norm["request"]]
    assert point["schema"] == {"$ref": "#/schemas/Point"}
    assert metadata["schemas"]["Point"] == {
        "title": "Point",
        "type": "object",
        "properties": {
            "x": {"type": "number", "format": "double"},
            "y": {"type": "number", "format": "double"},
        },
        "required": ["x"],
        "description": "A point in the plane.",
    }
    assert metadata["messages"][0]["type_name"] == "serde_json::value::Value"
    assert metadata["reverse_message_lookup"]["json_message"] == 0


def test_calculator_metadata() -> None:
    """The calculator's metadata carries display texts, descriptions, config schemas and
    examples, streams and the message type of a Result (fork_result)."""
    metadata = make_registry().metadata()
    mul = metadata["nodes"]["mul"]
    assert mul["default_display_text"] == "Multiply"
    assert mul["config_schema"] == {
        "anyOf": [{"type": "number", "format": "double"}, {"type": "null"}]
    }
    assert mul["config_examples"] == [
        {"description": "Only the input numbers.", "config": None},
        {"description": "Then apply 5.", "config": 5.0},
    ]
    fibonacci = metadata["nodes"]["fibonacci"]
    assert metadata["messages"][fibonacci["streams"]["sequence"]]["type_name"] == "int"
    less = metadata["nodes"]["less_than"]
    assert metadata["messages"][less["response"]]["operations"]["fork_result"] == [0, 0]


@pytest.mark.parametrize(
    ("tp", "value", "expected"),
    [
        (int, 3, 3),
        (float, 3, 3.0),
        (str | None, None, None),
        (list[int], [1, 2], [1, 2]),
        (tuple[int, str], [1, "a"], (1, "a")),
        (dict[str, float], {"a": 1}, {"a": 1.0}),
        (Literal["a", "b"], "b", "b"),
        (Colour, "red", Colour.RED),
        (cf.Result[int, str], {"Err": "no"}, cf.Err("no")),
        (set[int], [1, 1, 2], {1, 2}),
    ],
)
def test_conversions_from_json(tp: Any, value: Any, expected: Any) -> None:
    """JSON converts into plain types, containers, literals, enums and results."""
    from crossflow._diagram._types import convert

    assert convert(value, tp) == expected


@pytest.mark.parametrize(
    ("tp", "value", "message"),
    [
        (int, True, "expected an integer, got true"),
        (int, 1.5, "expected an integer, got 1.5"),
        (list[int], [1, "a"], 'at [1]: expected an integer, got "a"'),
        (Size, {"width": 1}, "needs the field(s) 'height'"),
        (Literal["a"], "c", 'expected "a", got "c"'),
        (Literal["a", None], "c", 'expected "a" or null, got "c"'),
        (float | None, "c", 'expected a number or null, got "c"'),
        (Colour, "green", 'expected one of "red", "blue"'),
    ],
)
def test_conversion_errors_say_where(tp: Any, value: Any, message: str) -> None:
    """A value that does not fit says what was expected, and where, in JSON's terms."""
    from crossflow._diagram._types import ConversionError, convert

    with pytest.raises(ConversionError, match=re.escape(message)):
        convert(value, tp)


def test_conversions_to_json() -> None:
    """Values become JSON: dataclasses and attrs instances as objects, enums as their
    values, tuples and sets as arrays, results as `{"Ok": ...}` / `{"Err": ...}`."""
    from crossflow._diagram._types import ConversionError, json_text, to_json

    box = Box(Point(1.0), "a")
    assert to_json(box) == {"corner": {"x": 1.0, "y": 0.0}, "label": "a"}
    assert to_json((1, Colour.BLUE, cf.Ok(None), cf.Err([1]))) == [
        1,
        "blue",
        {"Ok": None},
        {"Err": [1]},
    ]
    assert json_text({"a": [1, 2.0]}) == '{"a":[1,2.0]}'
    with pytest.raises(ConversionError, match="at a: <object object"):
        to_json({"a": object()})
