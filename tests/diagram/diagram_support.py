"""Shared helpers of the diagram tests: crossflow's test builders, registered in Python.

The builders mirror the fixture of crossflow's own diagram tests (catalogue §13.5):
`multiply3` (int times 3), `multiply3_5` (x -> (3x, 5x)), `multiply_by` and `add_to`
(config), plus a few used by the section and buffer cases. Each takes the operation's id
(`*, name`) and names what it makes after it.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import anyio
import pytest

import crossflow as cf
from crossflow.diagram import Diagram, Registry, Section

ROOT = Path(__file__).resolve().parents[2]
CALCULATOR = ROOT / "examples" / "calculator" / "diagrams"
DATA = Path(__file__).resolve().parent / "data"


def make_registry() -> Registry:
    """The registry of crossflow's diagram test fixture, in Python."""
    registry = Registry()

    @registry.node_builder("multiply3", request=int, response=int)
    def multiply3(builder: cf.Builder, config: Any, *, name: str) -> cf.Node[int, int]:
        return builder.create_node(lambda x: 3 * x, name=name)

    @registry.node_builder("multiply3_5", request=int, response=tuple[int, int])
    def multiply3_5(
        builder: cf.Builder, config: Any, *, name: str
    ) -> cf.Node[int, tuple[int, int]]:
        return builder.create_node(lambda x: (3 * x, 5 * x), name=name)

    @registry.node_builder("multiply_by", config=int, request=int, response=int)
    def multiply_by(builder: cf.Builder, config: int, *, name: str) -> cf.Node[int, int]:
        return builder.create_node(lambda x: config * x, name=name)

    @registry.node_builder("add_to", config=int, request=int, response=int)
    def add_to(builder: cf.Builder, config: int, *, name: str) -> cf.Node[int, int]:
        return builder.create_node(lambda x: config + x, name=name)

    @registry.node_builder("echo_text", request=str, response=str)
    def echo_text(builder: cf.Builder, config: Any, *, name: str) -> cf.Node[str, str]:
        return builder.create_node(lambda x: x, name=name)

    @registry.node_builder("buffer_length")
    def buffer_length(builder: cf.Builder, config: Any, *, name: str) -> cf.Node[Any, int]:
        def length(keys: tuple[cf.BufferKey[Any], ...]) -> int:
            with keys[0].access() as view:
                return len(view)

        return builder.create_node(length, name=name)

    @registry.node_builder("pull")
    def pull(builder: cf.Builder, config: Any, *, name: str) -> cf.Node[Any, Any]:
        def take(keys: tuple[cf.BufferKey[Any], ...]) -> Any:
            with keys[0].access() as view:
                return view.pull()

        return builder.create_node(take, name=name)

    @registry.node_builder("delay", config=float)
    def delay(builder: cf.Builder, config: float, *, name: str) -> cf.Node[Any, Any]:
        async def wait(x: Any) -> Any:
            await anyio.sleep(config)
            return x

        return builder.create_node(wait, name=name)

    @registry.node_builder("constant", config=Any)
    def constant(builder: cf.Builder, config: Any, *, name: str) -> cf.Node[Any, Any]:
        return builder.create_node(lambda _: config, name=name)

    @registry.section_builder("add_one", inputs={"test_input": int}, outputs={"test_output": int})
    def add_one(builder: cf.Builder, config: Any, *, name: str) -> Section:
        node = builder.create_node(lambda i: i + 1, name=f"{name}/add")
        return Section(inputs={"test_input": node.input}, outputs={"test_output": node.output})

    @registry.section_builder(
        "add_one_to_buffer", inputs={"test_input": int}, buffers={"test_buffer": int}
    )
    def add_one_to_buffer(builder: cf.Builder, config: Any, *, name: str) -> Section:
        node = builder.create_node(lambda i: i + 1, name=f"{name}/add")
        buffer: cf.Buffer[int] = builder.create_buffer(name=f"{name}/buffer")
        builder.connect(node.output, buffer)
        return Section(inputs={"test_input": node.input}, buffers={"test_buffer": buffer})

    return registry


def diagram(ops: dict[str, Any], start: Any, **more: Any) -> dict[str, Any]:
    """A diagram document with these operations."""
    return {"version": "0.1.0", "start": start, "ops": ops, **more}


def build(document: dict[str, Any], registry: Registry) -> cf.Workflow[Any, Any]:
    """Build a document; a diagram that cannot reach terminate builds with a warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cf.CrossflowWarning)
        return Diagram.from_json(document).build(registry)


async def run(document: dict[str, Any], request: Any, registry: Registry) -> Any:
    """Build and run a document once; its response."""
    with anyio.fail_after(10):
        return await build(document, registry).run(request)


async def cancelled(document: dict[str, Any], request: Any, registry: Registry) -> Any:
    """Build and run a document once, which must be cancelled; the cause."""
    with anyio.fail_after(10), pytest.raises(cf.WorkflowCancelled) as caught:
        await build(document, registry).run(request)
    return caught.value.cancellation.cause


def messages(document: Any, registry: Registry) -> list[str]:
    """The problems `check` finds, as `pointer: message` lines."""
    return [f"{p.pointer}: {p.message}" for p in Diagram.from_json(document).check(registry)]
