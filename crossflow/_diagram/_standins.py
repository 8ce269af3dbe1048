"""A registry of stand-ins for the builders a diagram names, to draw it without the real
ones.

Each node builder the document names gets a stand-in whose node is named
`<op id> (<builder>)`, passes messages on and has the streams the document maps; each
section builder gets one that exposes the inputs, outputs and buffers the document uses.
The workflow built with it has the diagram's shape, which is all a picture needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .._builder import Builder
from .._handles import Buffer, InputSlot, Node, Output
from .._services import service
from . import _records as r
from ._registry import Registry, Section

if TYPE_CHECKING:
    from ._diagram import Diagram


def stand_ins(diagram: Diagram) -> Registry:
    """A registry with a stand-in for every builder `diagram` names."""
    return stand_in_registry(diagram._document)


def _bodies(doc: r.Document) -> Iterator[r.Body]:
    todo = [doc.ops, *(t.ops for t in doc.templates.values())]
    while todo:
        body = todo.pop()
        yield body
        todo.extend(op.ops for op in body.values() if isinstance(op, r.ScopeOp))


def _links(doc: r.Document) -> Iterator[tuple[r.Link, bool]]:
    """Every link of the document, and whether it names a buffer."""
    for link in (doc.start, doc.on_implicit_error):
        if link is not None:
            yield link, False
    for template in doc.templates.values():
        yield from ((link, False) for _, link in template.inputs.entries)
        yield from ((link, True) for _, link in template.buffers.entries)
    for body in _bodies(doc):
        for op in body.values():
            for name in ("next", "ok", "err", "start", "on_implicit_error", "on_error"):
                value = getattr(op, name, None)
                if isinstance(value, r.Link):
                    yield value, False
                elif isinstance(value, tuple):
                    yield from ((link, False) for link in value if isinstance(link, r.Link))
            for name in ("stream_out", "connect", "keyed"):
                yield from ((link, False) for _, link in getattr(op, name, ()))
            for link in getattr(op, "sequential", ()):
                yield link, False
            remaining = getattr(op, "remaining", None)
            if remaining is not None:
                yield remaining, False
            selection = getattr(op, "buffers", None)
            if isinstance(selection, r.BufferSelection):
                yield from ((link, True) for _, link in selection.entries)


def stand_in_registry(doc: r.Document) -> Registry:
    """A registry with a stand-in for every builder `doc` names."""
    nodes: dict[str, set[str]] = {}  # builder -> stream names
    sections: dict[str, tuple[set[str], set[str], set[str]]] = {}  # inputs, outputs, buffers
    section_builders: dict[str, set[str]] = {}  # section op name -> its builders
    for body in _bodies(doc):
        for name, op in body.items():
            if isinstance(op, r.NodeOp) and op.builder:
                nodes.setdefault(op.builder, set()).update(s for s, _ in op.stream_out)
            elif isinstance(op, r.SectionOp) and op.builder:
                _, outputs, _ = sections.setdefault(op.builder, (set(), set(), set()))
                outputs.update(key for key, _ in op.connect)
                section_builders.setdefault(name, set()).add(op.builder)
    for link, is_buffer in _links(doc):
        if isinstance(link.next, r.Exposed):
            for builder in section_builders.get(link.next.section, ()):
                inputs, _, buffers = sections[builder]
                (buffers if is_buffer else inputs).add(link.next.name)
    registry = Registry()
    for builder, streams in nodes.items():
        registry.register_node_builder(builder, _node_stand_in(builder, sorted(streams)))
    for builder, (inputs, outputs, buffers) in sections.items():
        registry.register_section_builder(
            builder,
            _section_stand_in(builder, sorted(inputs - buffers), sorted(outputs), sorted(buffers)),
            inputs=sorted(inputs - buffers),
            outputs=sorted(outputs),
            buffers=sorted(buffers),
        )
    return registry


def _passed(message: Any) -> Any:
    return message


def _passed_with_streams(message: Any, *, streams: Any) -> Any:
    return message


def _node_stand_in(builder: str, streams: list[str]) -> Any:
    def build(builder_: Builder, config: Any, *, name: str) -> Node[Any, Any]:
        label = f"{name} ({builder})"
        if not streams:
            return builder_.create_node(_passed, name=label)
        provider = service(streams=dict.fromkeys(streams, object))(_passed_with_streams)
        return builder_.create_node(provider, name=label)

    return build


def _section_stand_in(
    builder: str, inputs: list[str], outputs: list[str], buffers: list[str]
) -> Any:
    def build(builder_: Builder, config: Any, *, name: str) -> Section:
        node = builder_.create_node(_passed, name=f"{name} ({builder})")
        fork = builder_.create_fork_clone(name=f"{name}/outputs")
        builder_.connect(node.output, fork.input)
        ins: dict[str, InputSlot[Any] | Buffer[Any]] = dict.fromkeys(inputs, node.input)
        outs: dict[str, Output[Any]] = {o: fork.clone_output() for o in outputs}
        made: dict[str, Buffer[Any]] = {
            b: builder_.create_buffer(name=f"{name}/{b}") for b in buffers
        }
        return Section(inputs=ins, outputs=outs, buffers=made)

    return build
