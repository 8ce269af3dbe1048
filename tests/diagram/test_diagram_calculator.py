"""crossflow's calculator diagrams give crossflow's answers with the Python calculator
registry (catalogue §13.6), on both backends."""

from __future__ import annotations

import math
from typing import Any

import anyio
import pytest
from diagram_support import CALCULATOR

from crossflow.diagram import Diagram
from examples.calculator import make_registry

pytestmark = pytest.mark.anyio


async def answer(name: str, request: Any) -> Any:
    wf = Diagram.from_file(CALCULATOR / name).build(make_registry(time_scale=0.01))
    with anyio.fail_after(10):
        return await wf.run(request)


@pytest.mark.parametrize(
    ("name", "request_", "expected"),
    [
        ("multiply_by_3.json", 4, 12.0),
        ("multiply_by_3.json", 123, 369.0),
        ("multiply_by_3.json", 456, 1368.0),
        ("split_and_join.json", [123, 456], 16860.0),
        ("split_and_join.json", [10, -123], -230.0),
        ("clone_from_buffer.json", [123, 456], [12300.0, 45600.0]),
        ("clone_from_buffer.json", [10, 1], [1000.0, 10000.0]),
        ("countdown.json", 0, 0),
    ],
)
async def test_calculator_answers(name: str, request_: Any, expected: Any) -> None:
    """§13.6: each calculator diagram answers as crossflow's calculator does."""
    result = await answer(name, request_)
    assert result == expected
    assert type(result) is type(expected)


async def test_ops_catalog_split(capsys: pytest.CaptureFixture[str]) -> None:
    """§13.6 (calculator_ops_catalog::test_split): split [1, 2] into x10 and x100,
    buffered, joined, added: 210.0."""
    doc = {
        "version": "0.1.0",
        "start": "split",
        "ops": {
            "m10": {"type": "node", "builder": "mul", "next": "b10", "config": 10},
            "m100": {"type": "node", "builder": "mul", "next": "b100", "config": 100},
            "split": {"type": "split", "sequential": ["m10", "m100"]},
            "b10": {"type": "buffer"},
            "b100": {"type": "buffer"},
            "sum": {"type": "node", "builder": "add", "next": {"builtin": "terminate"}},
            "join": {"type": "join", "buffers": ["b10", "b100"], "next": "sum"},
        },
    }
    wf = Diagram.from_json(doc).build(make_registry())
    with anyio.fail_after(10):
        assert await wf.run([1, 2]) == 210.0


async def test_countdown_prints_each_step(capsys: pytest.CaptureFixture[str]) -> None:
    """§13.6: countdown from 123 answers 0.0 after printing 123 lines, the first with the
    integer it was given, the others with the floats `sub` made."""
    capsys.readouterr()
    assert await answer("countdown.json", 123) == 0.0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 123
    assert lines[:3] == ["Subtracting one: 123", "Subtracting one: 122.0", "Subtracting one: 121.0"]
    assert lines[-1] == "Subtracting one: 1.0"


async def test_fibonacci_streams_its_sequence(capsys: pytest.CaptureFixture[str]) -> None:
    """§13.6: fibonacci of order 10 prints 0, 1, 1, ..., 55 in order from its stream, then
    answers the serialized `Ok(())`: `{"Ok": null}` (S8.2: streams before the response)."""
    capsys.readouterr()
    assert await answer("fibonacci.json", 10) == {"Ok": None}
    printed = capsys.readouterr().out.split()
    assert printed == ["0", "1", "1", "2", "3", "5", "8", "13", "21", "34", "55"]


async def test_fibonacci_without_an_order() -> None:
    """§13.6: fibonacci of something that is not an order answers `{"Err": input}`."""
    assert await answer("fibonacci.json", "ten") == {"Err": "ten"}


async def test_carry_object_progress_joins_three_branches() -> None:
    """§13.6: the object is carried through three uneven branches of delays into three
    buffers and a keyed join (delays scaled down by 100 for the test)."""
    request = {"object": "box-1", "from": "shelf", "to": "station_a"}
    assert await answer("carry_object_progress.json", request) == {
        "route": request,
        "station": request,
        "delivery": request,
    }


def test_script_nodes_are_not_supported() -> None:
    """python_script_nodes.json uses `script` operations: each is a problem that says so."""
    problems = Diagram.from_file(CALCULATOR / "python_script_nodes.json").check(make_registry())
    assert [p.operation for p in problems] == ["left_stream", "right_stream", "success_when_equal"]
    assert all("script operations are not supported" in p.message for p in problems)


def test_input_examples_are_read() -> None:
    """`input_examples` are read as (value, description) pairs; crossflow stores the value
    as JSON text."""
    examples = Diagram.from_file(CALCULATOR / "multiply_by_3.json").input_examples
    assert examples == [
        ("123", "Multiply 123 by 3 to get 369"),
        ("456", "Multiply 456 by 3 to get 1368"),
    ]


def arithmetic(builder: str, config: float | None = None) -> dict[str, Any]:
    op = {"type": "node", "builder": builder, "next": {"builtin": "terminate"}}
    if config is not None:
        op["config"] = config
    return {"version": "0.1.0", "start": "op", "ops": {"op": op}}


async def run_doc(document: dict[str, Any], request: Any) -> Any:
    with anyio.fail_after(10):
        return await Diagram.from_json(document).build(make_registry()).run(request)


@pytest.mark.parametrize(
    ("request_", "config", "expected"),
    [
        ([1, 0], None, math.inf),
        ([-3, 0], None, -math.inf),
        ([3, -0.0], None, -math.inf),
        (5, 0.0, math.inf),
        ([6, 3], None, 2.0),
    ],
)
async def test_division_by_zero_is_infinite(request_: Any, config: Any, expected: float) -> None:
    """§13.6: `div` computes as crossflow's calculator (Rust floats): dividing by zero
    gives an infinity with the quotient's sign, not an error."""
    assert await run_doc(arithmetic("div", config), request_) == expected


async def test_zero_divided_by_zero_is_nan() -> None:
    """§13.6: 0 / 0 is NaN, as in crossflow's calculator."""
    assert math.isnan(await run_doc(arithmetic("div"), [0, 0]))


async def test_overflow_is_infinite() -> None:
    """§13.6: a product beyond a float's range is an infinity, and so is an integer too
    large for a float."""
    assert await run_doc(arithmetic("mul", 10.0), 1e308) == math.inf
    assert await run_doc(arithmetic("add"), [10**400, 1]) == math.inf


async def test_print_writes_infinity_as_null(capsys: pytest.CaptureFixture[str]) -> None:
    """`print` writes JSON, so an infinity is `null`, as crossflow writes it."""
    doc = arithmetic("print")
    capsys.readouterr()
    assert await run_doc(doc, [1.5, math.inf, {"x": -math.inf}]) == {"Ok": None}
    assert capsys.readouterr().out == '[1.5,null,{"x":null}]\n'


@pytest.mark.parametrize(
    ("config", "request_", "holds"),
    [
        (10.0, [1, 2, 3], True),
        (10.0, [1, 20], False),
        ({"compared_to": 3.0, "or_equal": True}, [1, 3], True),
        (10.0, 4, True),
        (None, [1, 2, 3], True),
        (None, [3, 2], False),
    ],
)
async def test_comparison_with_a_number_checks_every_element(
    config: Any, request_: Any, holds: bool
) -> None:
    """§13.6: `less_than` with a number compares every element of an array with it.
    crossflow's calculator answers `Err` for any array there ([Q] in the catalogue); this
    registry keeps the comparison (see the differences from crossflow in the docs)."""
    doc = {
        "version": "0.1.0",
        "start": "cmp",
        "ops": {
            "cmp": {"type": "node", "builder": "less_than", "config": config, "next": "fork"},
            "fork": {
                "type": "fork_result",
                "ok": {"builtin": "terminate"},
                "err": "failed",
            },
            "failed": {"type": "transform", "cel": '"err"', "next": {"builtin": "terminate"}},
        },
    }
    assert await run_doc(doc, request_) == ("err" if not holds else request_)
