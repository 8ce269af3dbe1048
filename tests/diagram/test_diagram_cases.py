"""crossflow's diagram test cases (catalogue §13.5, JS-1 ... JS-37), each with its own
small diagram, run on both backends (S11.1: a diagram builds the same workflow the
builder calls would)."""

from __future__ import annotations

from typing import Any

import pytest
from diagram_support import cancelled, diagram, messages, run

import crossflow as cf
from crossflow.diagram import ImplicitCancel, Registry

pytestmark = pytest.mark.anyio

TERMINATE = {"builtin": "terminate"}
DISPOSE = {"builtin": "dispose"}


def node(builder: str, next: Any, **more: Any) -> dict[str, Any]:
    return {"type": "node", "builder": builder, "next": next, **more}


async def test_no_terminate_is_unreachable(registry: Registry) -> None:
    """JS-1, S2.3: a diagram whose only path ends in dispose is cancelled `Unreachable`."""
    doc = diagram({"op1": node("multiply3", DISPOSE)}, "op1")
    cause = await cancelled(doc, 4, registry)
    assert isinstance(cause, cf.Unreachable)


async def test_disconnected_loop_is_unreachable(registry: Registry) -> None:
    """JS-5: `op1 -> op2 -> op1` never reaches terminate: `Unreachable` before running."""
    doc = diagram({"op1": node("multiply3", "op2"), "op2": node("multiply3", "op1")}, "op1")
    cause = await cancelled(doc, 4, registry)
    assert isinstance(cause, cf.Unreachable)
    assert cause.disposals == ()


async def test_looping_diagram(registry: Registry) -> None:
    """JS-6: `op1(x3) -> fork_clone[op1, op2(x3) -> terminate]` answers 36 for 4."""
    doc = diagram(
        {
            "op1": node("multiply3", "fork"),
            "fork": {"type": "fork_clone", "next": ["op1", "op2"]},
            "op2": node("multiply3", TERMINATE),
        },
        "op1",
    )
    assert await run(doc, 4, registry) == 36


async def test_noop_diagram(registry: Registry) -> None:
    """JS-7: `start` straight into terminate answers the request."""
    assert await run(diagram({}, TERMINATE), 4, registry) == 4


async def test_serialized_diagram_with_config(registry: Registry) -> None:
    """JS-8: a diagram parsed from text; `multiply_by` with config 7 answers 28 for 4."""
    from crossflow.diagram import Diagram

    text = (
        '{"version": "0.1.0", "start": "op1", "ops": {"op1": {"type": "node", '
        '"builder": "multiply_by", "config": 7, "next": {"builtin": "terminate"}}}}'
    )
    wf = Diagram.from_json(text).build(registry)
    assert await wf.run(4) == 28


async def test_transform_after_unzip(registry: Registry) -> None:
    """JS-9: `multiply3_5 -> unzip[transform "777" -> terminate, dispose]` answers 777."""
    doc = diagram(
        {
            "op1": node("multiply3_5", "unzip"),
            "unzip": {"type": "unzip", "next": ["transform", DISPOSE]},
            "transform": {"type": "transform", "cel": "777", "next": TERMINATE},
        },
        "op1",
    )
    assert await run(doc, 4, registry) == 777


async def test_unknown_operation_is_a_problem(registry: Registry) -> None:
    """JS-10, S11.4: a fork_clone to an undefined name is a problem, with a suggestion."""
    doc = diagram(
        {"op1": node("multiply3", "fork"), "fork": {"type": "fork_clone", "next": ["op_1"]}},
        "op1",
    )
    assert messages(doc, registry) == [
        "/ops/fork/next/0: there is no operation named 'op_1' in the diagram. Did you mean 'op1'?"
    ]


async def test_fork_result_terminates_with_ok(registry: Registry) -> None:
    """JS-11: `fork_result{ok: terminate, err: dispose}` on `Ok(5.0)` answers 5.0; JSON
    `{"Ok": ...}` forks the same way as `cf.Ok`."""
    doc = diagram(
        {"fork": {"type": "fork_result", "ok": TERMINATE, "err": DISPOSE}},
        "fork",
    )
    assert await run(doc, cf.Ok(5.0), registry) == 5.0
    assert await run(doc, {"Ok": 5.0}, registry) == 5.0
    cause = await cancelled(doc, cf.Err("no"), registry)
    assert isinstance(cause, cf.Unreachable)


async def test_fork_clone_diagram(registry: Registry) -> None:
    """JS-13: `multiply3 -> fork_clone[multiply3 -> terminate]` answers 36 for 4."""
    doc = diagram(
        {
            "op1": node("multiply3", "fork"),
            "fork": {"type": "fork_clone", "next": ["op2"]},
            "op2": node("multiply3", TERMINATE),
        },
        "op1",
    )
    assert await run(doc, 4, registry) == 36


@pytest.mark.parametrize(
    ("cel", "request_", "expected"),
    [
        ("777", 4, 777),  # JS-14, as start
        ("int(request) * 3", 4, 12),  # JS-15
        ('{"request": request, "seven": 7}', 4, {"request": 4, "seven": 7}),  # JS-16
        ("request.age", {"name": "John", "age": 40}, 40),  # JS-17
    ],
)
async def test_transform(registry: Registry, cel: str, request_: Any, expected: Any) -> None:
    """JS-14 ... JS-17: CEL transforms with `request` bound to the message."""
    doc = diagram({"t": {"type": "transform", "cel": cel, "next": TERMINATE}}, "t")
    assert await run(doc, request_, registry) == expected


async def test_transform_after_a_node(registry: Registry) -> None:
    """JS-14: a transform after `multiply3` replaces its response."""
    doc = diagram(
        {
            "op1": node("multiply3", "t"),
            "t": {"type": "transform", "cel": "777", "next": TERMINATE},
        },
        "op1",
    )
    assert await run(doc, 4, registry) == 777


async def test_transform_error_goes_to_on_error(registry: Registry) -> None:
    """S11.3: a failing transform sends its error text to `on_error` when it has one."""
    doc = diagram(
        {
            "t": {
                "type": "transform",
                "cel": "request.missing",
                "next": DISPOSE,
                "on_error": TERMINATE,
            }
        },
        "t",
    )
    answer = await run(doc, {"name": "x"}, registry)
    assert answer.startswith("transform 't' failed:") and "missing" in answer


async def test_implicit_conversions_between_integer_nodes(registry: Registry) -> None:
    """JS-18: typed nodes in a row (int -> int -> int) pass their values on: 1+1+2+3."""
    doc = diagram(
        {
            "low": node("add_to", "mid", config=1),
            "mid": node("add_to", "hi", config=2),
            "hi": node("add_to", TERMINATE, config=3),
        },
        "low",
    )
    assert await run(doc, 1, registry) == 7


async def test_simple_scope(registry: Registry) -> None:
    """JS-19: `scope{multiply3 -> terminate} -> terminate` answers 12."""
    doc = diagram(
        {
            "scope": {
                "type": "scope",
                "start": "mul",
                "ops": {"mul": node("multiply3", TERMINATE)},
                "next": TERMINATE,
            }
        },
        "scope",
    )
    assert await run(doc, 4, registry) == 12


async def test_scope_race(registry: Registry) -> None:
    """JS-20: inside a scope, the faster of two branches terminates it; the slow one is
    cleaned up (S1.3, S6.1)."""
    doc = diagram(
        {
            "scope": {
                "type": "scope",
                "start": "fork",
                "ops": {
                    "fork": {"type": "fork_clone", "next": ["slow", "fast"]},
                    "slow": node("delay", "slow_answer", config=10.0),
                    "slow_answer": node("constant", TERMINATE, config="slow"),
                    "fast": node("delay", "fast_answer", config=0.01),
                    "fast_answer": node("constant", TERMINATE, config="fast"),
                },
                "next": TERMINATE,
            }
        },
        "scope",
    )
    assert await run(doc, None, registry) == "fast"


async def test_section_builder(registry: Registry) -> None:
    """JS-21: start into a section builder's exposed input; its output to terminate."""
    doc = diagram(
        {
            "add_one": {
                "type": "section",
                "builder": "add_one",
                "connect": {"test_output": TERMINATE},
            }
        },
        {"add_one": "test_input"},
    )
    assert await run(doc, 1, registry) == 2


async def test_section_unknown_output(registry: Registry) -> None:
    """JS-22: `connect` naming an output the section does not have is a problem."""
    doc = diagram(
        {
            "add_one": {
                "type": "section",
                "builder": "add_one",
                "connect": {"extra": DISPOSE, "test_output": TERMINATE},
            }
        },
        {"add_one": "test_input"},
    )
    assert messages(doc, registry) == [
        "/ops/add_one/connect/extra: section builder 'add_one' has no output 'extra'. "
        "Known outputs: 'test_output'."
    ]


async def test_section_unknown_input(registry: Registry) -> None:
    """JS-23: a target `{"add_one": "extra_input"}` that the section does not expose is a
    problem, with a suggestion."""
    doc = diagram(
        {
            "multiply3": node("multiply3", "fork"),
            "fork": {
                "type": "fork_clone",
                "next": [{"add_one": "test_input"}, {"add_one": "test_inputs"}],
            },
            "add_one": {
                "type": "section",
                "builder": "add_one",
                "connect": {"test_output": TERMINATE},
            },
        },
        "multiply3",
    )
    assert messages(doc, registry) == [
        "/ops/fork/next/1: section 'add_one' (builder 'add_one') exposes no input "
        "'test_inputs'. Did you mean 'test_input'?"
    ]


async def test_section_exposing_a_buffer(registry: Registry) -> None:
    """JS-24: a listener on a buffer a section builder exposes sees the section's push."""
    doc = diagram(
        {
            "add_one_to_buffer": {"type": "section", "builder": "add_one_to_buffer"},
            "listen": {
                "type": "listen",
                "buffers": [{"add_one_to_buffer": "test_buffer"}],
                "next": "buffer_length",
            },
            "buffer_length": node("buffer_length", TERMINATE),
        },
        {"add_one_to_buffer": "test_input"},
    )
    assert await run(doc, 1, registry) == 1


async def test_template_exposing_a_buffer(registry: Registry) -> None:
    """JS-25: a template's exposed buffer; a listener pulls what the template pushed."""
    doc = diagram(
        {
            "multiply": {"type": "section", "template": "multiply_10_to_buffer"},
            "listen": {"type": "listen", "buffers": [{"multiply": "buffer"}], "next": "pull"},
            "pull": node("pull", TERMINATE),
        },
        {"multiply": "input"},
        templates={
            "multiply_10_to_buffer": {
                "inputs": ["input"],
                "buffers": ["buffer"],
                "ops": {
                    "input": node("multiply_by", "buffer", config=10),
                    "buffer": {"type": "buffer"},
                },
            }
        },
    )
    assert await run(doc, 2, registry) == 20


async def test_section_template(registry: Registry) -> None:
    """JS-26: a template with two inputs and two outputs, both outputs to terminate."""
    doc = diagram(
        {
            "fork_clone": {
                "type": "fork_clone",
                "next": [{"test_tmpl": "input1"}, {"test_tmpl": "input2"}],
            },
            "test_tmpl": {
                "type": "section",
                "template": "test_template",
                "connect": {"output1": TERMINATE, "output2": TERMINATE},
            },
        },
        "fork_clone",
        templates={
            "test_template": {
                "inputs": ["input1", "input2"],
                "outputs": ["output1", "output2"],
                "ops": {
                    "input1": node("multiply3", "output1"),
                    "input2": node("multiply3", "output2"),
                },
            }
        },
    )
    assert await run(doc, 4, registry) == 12


async def test_template_input_remapped_to_terminate(registry: Registry) -> None:
    """JS-27: a template input remapped to the builtin terminate, reached from the
    section's own output through `{"section": "terminate"}`."""
    doc = diagram(
        {
            "section": {
                "type": "section",
                "template": "test_template",
                "connect": {"output": {"section": "terminate"}},
            }
        },
        {"section": "multiply"},
        templates={
            "test_template": {
                "inputs": {"multiply": "multiply", "terminate": TERMINATE},
                "outputs": ["output"],
                "ops": {"multiply": node("multiply3", "output")},
            }
        },
    )
    assert await run(doc, 4, registry) == 12


async def test_nested_templates(registry: Registry) -> None:
    """JS-28: a template using another template: multiply by 10, then add 1."""
    doc = diagram(
        {
            "multiply": {
                "type": "section",
                "template": "multiply_then_add",
                "connect": {"output": TERMINATE},
            }
        },
        {"multiply": "input"},
        templates={
            "multiply_then_add": {
                "inputs": {"input": "multiply"},
                "outputs": ["output"],
                "ops": {
                    "multiply": node("multiply_by", {"add": "input"}, config=10),
                    "add": {
                        "type": "section",
                        "template": "adding_template",
                        "connect": {"added": "output"},
                    },
                },
            },
            "adding_template": {
                "inputs": ["input"],
                "outputs": ["added"],
                "ops": {"input": node("add_to", "added", config=1)},
            },
        },
    )
    assert await run(doc, 5, registry) == 51


CALCULATE = {
    "inputs": ["add", "multiply"],
    "buffers": ["added", "multiplied"],
    "ops": {
        "multiply": node("multiply_by", "multiplied", config=10),
        "multiplied": {"type": "buffer"},
        "add": node("add_to", "added", config=10),
        "added": {"type": "buffer"},
    },
}


async def test_template_outputs_into_buffers_then_join(registry: Registry) -> None:
    """JS-29: a template's two outputs go into two buffers, joined into a list."""
    doc = diagram(
        {
            "start": {"type": "fork_clone", "next": [{"calc": "add"}, {"calc": "multiply"}]},
            "calc": {
                "type": "section",
                "template": "calculate",
                "connect": {"added": "added", "multiplied": "multiplied"},
            },
            "added": {"type": "buffer"},
            "multiplied": {"type": "buffer"},
            "join": {"type": "join", "buffers": ["added", "multiplied"], "next": TERMINATE},
        },
        "start",
        templates={
            "calculate": {
                "inputs": ["add", "multiply"],
                "outputs": ["added", "multiplied"],
                "ops": {
                    "multiply": node("multiply_by", "multiplied", config=10),
                    "add": node("add_to", "added", config=10),
                },
            }
        },
    )
    assert await run(doc, 2, registry) == [12, 20]


async def test_buffers_redirected_through_an_inner_template(registry: Registry) -> None:
    """JS-30: a template re-exposes the buffers of a template inside it; a join reads them."""
    doc = diagram(
        {
            "start": {"type": "fork_clone", "next": [{"calc": "add"}, {"calc": "multiply"}]},
            "calc": {"type": "section", "template": "calculate"},
            "join": {
                "type": "join",
                "buffers": [{"calc": "added"}, {"calc": "multiplied"}],
                "next": TERMINATE,
            },
        },
        "start",
        templates={
            "redirect_buffers": {
                "buffers": {"added": {"inner": "added"}, "multiplied": {"inner": "multiplied"}},
                "ops": {"inner": {"type": "section", "template": "calculate"}},
            },
            "calculate": CALCULATE,
        },
    )
    assert await run(doc, 3, registry) == [13, 30]


async def test_circular_redirect_is_a_problem(registry: Registry) -> None:
    """JS-31: a template input redirected to its own output, connected back to the
    input, is a circular redirect."""
    doc = diagram(
        {
            "fork": {"type": "fork_clone", "next": [{"section": "input"}, TERMINATE]},
            "section": {
                "type": "section",
                "template": "test_template",
                "connect": {"output": {"section": "input"}},
            },
        },
        "fork",
        templates={
            "test_template": {"inputs": {"input": "output"}, "outputs": ["output"], "ops": {}}
        },
    )
    assert messages(doc, registry) == [
        "/templates/test_template/inputs/input: circular redirect: section/output -> "
        "section:input -> section/output leads back to itself, so nothing sent there could "
        "ever arrive; connect one of them to an operation"
    ]


async def test_circular_template_dependency_is_a_problem(registry: Registry) -> None:
    """JS-32: a template that contains itself, directly or through others, is a problem."""
    direct = diagram(
        {"start": {"type": "section", "template": "recursive", "connect": {"output": TERMINATE}}},
        {"start": "input"},
        templates={
            "recursive": {
                "inputs": ["input"],
                "outputs": ["output"],
                "ops": {
                    "input": {"type": "fork_clone", "next": [{"self": "input"}, "output"]},
                    "self": {
                        "type": "section",
                        "template": "recursive",
                        "connect": {"output": "output"},
                    },
                },
            }
        },
    )
    assert messages(direct, registry) == [
        "/templates/recursive/ops/self/template: circular template dependency: recursive -> "
        "recursive; a template cannot contain itself, directly or through other templates"
    ]
    section = {"type": "section", "connect": {"output": "output"}}
    indirect = diagram(
        {"start": {"type": "section", "template": "parent", "connect": {"output": TERMINATE}}},
        {"start": "input"},
        templates={
            "parent": {
                "inputs": ["input"],
                "outputs": ["output"],
                "ops": {
                    "input": {"type": "fork_clone", "next": [{"child": "input"}, "output"]},
                    "child": {**section, "template": "child"},
                },
            },
            "child": {
                "inputs": ["input"],
                "outputs": ["output"],
                "ops": {
                    "input": node("multiply3", {"grandchild": "input"}),
                    "grandchild": {**section, "template": "grandchild"},
                },
            },
            "grandchild": {
                "inputs": ["input"],
                "outputs": ["output"],
                "ops": {"input": {**section, "template": "parent"}},
            },
        },
    )
    found = messages(indirect, registry)
    assert found[0] == (
        "/templates/grandchild/ops/input/template: circular template dependency: parent -> "
        "child -> grandchild -> parent; a template cannot contain itself, directly or through "
        "other templates"
    )
    # the grandchild also forwards its input to a section, which has no input of its own
    assert found[1].startswith("/templates/grandchild/inputs/0: 'input' is a section")
    assert len(found) == 2


async def test_split_join_and_buffers(registry: Registry) -> None:
    """JS-33: split a JSON object (keyed, sequential, remaining: values only) into
    buffers, joined by key into one object; a buffer joined by cloning keeps its item and
    a keep_all buffer gives its oldest (S7.1, S7.2)."""
    doc = diagram(
        {
            "split": {
                "type": "split",
                "keyed": {"b": "b"},
                "sequential": ["first"],
                "remaining": "rest",
            },
            "b": {"type": "buffer"},
            "first": {"type": "buffer"},
            "rest": {"type": "buffer", "settings": {"retention": "keep_all"}},
            "join": {
                "type": "join",
                "buffers": {"b": "b", "first": "first", "rest": "rest"},
                "clone": ["b"],
                "next": TERMINATE,
            },
        },
        "split",
    )
    answer = await run(doc, {"a": 1, "b": 2, "c": 3, "d": 4}, registry)
    assert answer == {"b": 2, "first": 1, "rest": 3}


async def test_split_values_only(registry: Registry) -> None:
    """JS-33, §9: a split of a JSON object sends values (not key-value pairs) to its
    sequential outputs; a single value goes to the first sequential output."""
    doc = diagram(
        {
            "split": {"type": "split", "sequential": ["first", DISPOSE], "keyed": {"x": DISPOSE}},
            "first": {"type": "transform", "cel": "request", "next": TERMINATE},
        },
        "split",
    )
    assert await run(doc, {"x": 0, "y": "value of y", "z": 5}, registry) == "value of y"
    assert await run(doc, ["a", "b"], registry) == "a"
    assert await run(doc, 7, registry) == 7


async def test_implicit_deserialization_failure_cancels_the_root(registry: Registry) -> None:
    """JS-35, S11.3: a request that does not fit a node's declared type goes to the root's
    default implicit-error handler, an implicit cancel: the workflow is cancelled with the
    error text (a `ServiceFailed` of the conversion step `op/from_json`, whose error is a
    `cf.diagram.ImplicitCancel`: see docs, differences from crossflow)."""
    doc = diagram({"op": node("multiply3", TERMINATE)}, "op")
    cause = await cancelled(doc, "hello", registry)
    assert isinstance(cause, cf.ServiceFailed)
    assert cause.operation == "op/from_json"
    assert isinstance(cause.error, ImplicitCancel)
    assert cause.error.operation == "op"
    assert str(cause.error) == (
        'op: the message "hello" does not fit int: expected an integer, got "hello"'
    )


async def test_implicit_error_handler_receives_the_text(registry: Registry) -> None:
    """JS-35, S11.3: with `on_implicit_error` naming a node that takes a string, the
    conversion error's text is the response."""
    doc = diagram(
        {"op": node("multiply3", TERMINATE), "handle": node("echo_text", TERMINATE)},
        "op",
        on_implicit_error="handle",
    )
    assert await run(doc, "hello", registry) == (
        'op: the message "hello" does not fit int: expected an integer, got "hello"'
    )
    assert await run(doc, 2, registry) == 6


async def test_cancel_builtin_stringifies(registry: Registry) -> None:
    """JS-36, S11.2: `{"builtin": "cancel"}` cancels with the message as text: `5` for
    JSON 5, the string itself for a string, compact JSON for the rest."""
    doc = diagram({}, {"builtin": "cancel"})
    cause = await cancelled(doc, 5, registry)
    assert isinstance(cause, cf.Triggered) and cause.value == "5"
    cause = await cancelled(doc, "stop", registry)
    assert isinstance(cause, cf.Triggered) and cause.value == "stop"
    cause = await cancelled(doc, {"a": [1, 2]}, registry)
    assert isinstance(cause, cf.Triggered) and cause.value == '{"a":[1,2]}'


async def test_scope_default_handler_is_an_explicit_cancel(registry: Registry) -> None:
    """JS-37, S11.3: inside a scope, an implicit error cancels that scope with the text
    (`Triggered`); the parent sees a `ScopeCancelled` disposal and, with nothing else to
    do, ends `Unreachable` carrying it (S1.7)."""
    doc = diagram(
        {
            "scope": {
                "type": "scope",
                "start": "op",
                "ops": {"op": node("multiply3", TERMINATE)},
                "next": TERMINATE,
            }
        },
        "scope",
    )
    cause = await cancelled(doc, "hello", registry)
    assert isinstance(cause, cf.Unreachable)
    (disposal,) = cause.disposals
    assert isinstance(disposal.cause, cf.ScopeCancelled)
    inner = disposal.cause.cancellation.cause
    assert isinstance(inner, cf.Triggered)
    assert inner.value is not None and "does not fit int" in inner.value


async def test_scope_handler_keeps_the_scope_alive(registry: Registry) -> None:
    """JS-37, S11.2: `implicit_cancel` never keeps a scope alive, `cancel` does: a scope
    whose only way out is a fallible node's error path stays reachable with the default
    handler (an explicit cancel) and is cancelled with the text, while with
    `on_implicit_error: implicit_cancel` it is unreachable from the start."""
    inner = {
        "type": "scope",
        "start": "op",
        "ops": {"op": node("multiply3", DISPOSE)},
        "next": TERMINATE,
    }
    explicit = diagram({"scope": inner}, "scope")
    cause = await cancelled(explicit, 4, registry)
    assert isinstance(cause, cf.Unreachable)
    (disposal,) = cause.disposals
    assert isinstance(disposal.cause, cf.ScopeCancelled)
    implicit = diagram(
        {"scope": {**inner, "on_implicit_error": {"builtin": "implicit_cancel"}}}, "scope"
    )
    cause = await cancelled(implicit, 4, registry)
    assert isinstance(cause, cf.Unreachable)


async def test_streams_out_of_the_workflow(registry: Registry) -> None:
    """S1.6: `stream_out` operations are the workflow's streams; their messages reach the
    caller, as JSON, before the response (S8.2)."""
    from diagram_support import build

    doc = diagram(
        {
            "fork": {"type": "fork_clone", "next": ["progress", "op"]},
            "progress": {"type": "stream_out", "name": "progress"},
            "op": node("multiply3", TERMINATE),
        },
        "fork",
    )
    wf = build(doc, registry)
    assert wf.streams == {"progress": object}
    async with wf.start(2) as session:
        seen = [m async for m in session.streams.progress]
        assert await session.result() == 6
    assert seen == [2]
