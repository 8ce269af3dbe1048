"""The public graph (`crossflow._model`) of a built scope graph."""

from __future__ import annotations

from typing import Any

from . import _model as m
from ._buffers import BufferSettings
from ._graph import Graph as BuildGraph
from ._graph import Kind, Op
from ._policy import CancellationPolicy

_KIND: dict[Kind, m.OperationKind] = {
    Kind.START: "start",
    Kind.TERMINATE: "terminate",
    Kind.STREAM_OUT: "stream_out",
    Kind.CALL: "node",
    Kind.TASK: "node",
    Kind.SCOPE: "scope",
    Kind.FORK_CLONE: "fork_clone",
    Kind.UNZIP: "unzip",
    Kind.FORK_RESULT: "fork_result",
    Kind.FORK_OPTION: "fork_option",
    Kind.FILTER: "filter",
    Kind.CANCEL: "cancel",
    Kind.SPREAD: "spread",
    Kind.COLLECT: "collect",
    Kind.SPLIT: "split",
    Kind.BUFFER: "buffer",
    Kind.JOIN: "join",
    Kind.LISTEN: "listen",
    Kind.ACCESS: "access",
    Kind.PUSH: "push",
    Kind.GATE: "gate",
    Kind.TRIM: "trim",
    Kind.DELAY: "delay",
}


def graph_of(graph: BuildGraph) -> m.Graph:
    """The public view of `graph`, built once and kept with it."""
    view = graph.view
    if view is None:
        view = graph.view = _convert(graph, {})
    assert isinstance(view, m.Graph)  # invariant: only this module writes graph.view
    return view


def _ports(op: Op) -> tuple[str, ...]:
    kind = op.kind
    if kind in (Kind.FORK_CLONE, Kind.UNZIP):
        return tuple(str(i) for i in range(len(op.ports)))
    if kind in (Kind.FORK_RESULT, Kind.FORK_OPTION, Kind.SPLIT):
        return tuple(op.ports)
    if kind in (Kind.CALL, Kind.TASK, Kind.SCOPE):
        return ("out", *op.ports[1:])
    return ("out",) if op.ports else ()


def _settings(graph: BuildGraph, op: Op) -> m.OperationSettings:
    p = op.params
    names = [o.name for o in graph.ops]
    kind = op.kind
    spec = op.provider
    delivery = spec.delivery if spec is not None else None
    instructed: dict[str, Any] = (
        {}
        if delivery is None
        else {"label": delivery.label, "preempt": delivery.preempt, "ensure": delivery.ensure}
    )
    if kind in (Kind.CALL, Kind.TASK):
        assert op.fn is not None and spec is not None
        return m.NodeSettings(
            function=op.fn,
            mode="blocking" if kind is Kind.CALL else "async",
            streams=dict(spec.stream_types) if spec.stream_types else dict.fromkeys(spec.streams),
            cancellation=p.get("policy", CancellationPolicy.WAIT),
            serial=delivery is not None and delivery.queues.serial,
            **instructed,
        )
    if kind is Kind.SCOPE:
        assert op.graph is not None and spec is not None
        return m.NestedScopeSettings(
            scope=op.graph.settings,
            workflow=op.graph.name if spec.workflow else None,
            streams=tuple(op.graph.stream_outs),
            cancellation=p.get("policy", CancellationPolicy.WAIT),
            **instructed,
        )
    if kind is Kind.STREAM_OUT:
        return m.StreamOutSettings(p["stream"])
    if kind is Kind.FILTER:
        return m.FilterSettings(p["mode"], op.fn)
    if kind is Kind.CANCEL:
        return m.CancelSettings(p["quiet"])
    if kind is Kind.COLLECT:
        return m.CollectSettings(p["min"], p["max"])
    if kind is Kind.SPLIT:
        return m.SplitSettings(tuple(p["keys"]), p["sequence"])
    if kind is Kind.BUFFER:
        settings: BufferSettings = p["settings"]
        return settings
    if kind is Kind.JOIN:
        return m.JoinSettings(
            buffers=tuple(names[b] for b in p["buffers"]),
            cloned=tuple(p["clone"]),
            shape=p["shape"],
            keys=tuple(p["names"]),
            into=p["into"],
        )
    if kind in (Kind.LISTEN, Kind.ACCESS):
        return m.AccessSettings(
            buffers=tuple(names[b] for b in p["buffers"]),
            shape=p["shape"],
            keys=tuple(p["names"]),
            with_message=bool(p.get("with_msg", False)),
        )
    if kind is Kind.PUSH:
        return m.PushSettings(names[p["buffer"]])
    if kind is Kind.GATE:
        return m.GateSettings(tuple(names[b] for b in p["buffers"]), p["open"])
    if kind is Kind.TRIM:
        return m.TrimSettings(
            branches=tuple(
                m.TrimBranchSettings(how, names[a], names[b] if b >= 0 else None)
                for how, a, b in p["branches"]
            ),
            span=tuple(names[i] for i in p.get("ops", ())),
        )
    if kind is Kind.DELAY:
        return m.DelaySettings(p["seconds"])
    return None


def _convert(graph: BuildGraph, done: dict[int, m.Graph]) -> m.Graph:
    # nested bodies first, without recursion: a deep nesting must not exhaust the stack
    order: list[BuildGraph] = []
    stack = [graph]
    seen: set[int] = set()
    while stack:
        g = stack.pop()
        if id(g) in seen:
            continue
        seen.add(id(g))
        order.append(g)
        for op in g.ops:
            if op.graph is not None:
                stack.append(op.graph)
        for cleanup in g.cleanups:
            stack.append(cleanup.graph)
    for g in reversed(order):
        if g.view is not None:
            continue
        g.view = _convert_one(g)
    assert isinstance(graph.view, m.Graph)
    return graph.view


def _convert_one(graph: BuildGraph) -> m.Graph:
    ops: list[m.Operation] = []
    for op in graph.ops:
        body = op.graph.view if op.graph is not None else None
        assert body is None or isinstance(body, m.Graph)
        ops.append(m.Operation(op.name, _KIND[op.kind], _settings(graph, op), _ports(op), body))
    connections: list[m.Connection] = []
    for op, view in zip(graph.ops, ops, strict=True):
        for port, target in zip(view.ports, op.targets, strict=True):
            if target is not None:
                connections.append(m.Connection(view, port, ops[target]))
        settings = view.settings
        if isinstance(settings, m.JoinSettings):
            for buffer, cloned in zip(settings.buffers, settings.cloned, strict=True):
                source = ops[_index(graph, buffer)]
                port = "cloned" if cloned else "items"
                connections.append(m.Connection(source, port, view, "buffer"))
        elif isinstance(settings, m.AccessSettings):
            port = "changes" if view.kind == "listen" else "keys"
            for buffer in settings.buffers:
                connections.append(m.Connection(ops[_index(graph, buffer)], port, view, "buffer"))
        elif isinstance(settings, m.PushSettings):
            connections.append(
                m.Connection(view, "push", ops[_index(graph, settings.buffer)], "buffer")
            )
        elif isinstance(settings, m.GateSettings):
            port = "open" if settings.open else "close"
            for buffer in settings.buffers:
                connections.append(m.Connection(view, port, ops[_index(graph, buffer)], "buffer"))
    cleanups = []
    for cleanup in graph.cleanups:
        body = cleanup.graph.view
        assert isinstance(body, m.Graph)
        cleanups.append(
            m.CleanupWorkflow(
                when=cleanup.when,  # type: ignore[arg-type]
                buffers=tuple(graph.ops[b].name for b in cleanup.buffers),
                shape=cleanup.shape,  # type: ignore[arg-type]
                keys=tuple(cleanup.names),
                ending=cleanup.ending,
                body=body,
            )
        )
    return m.Graph(
        name=graph.name,
        settings=graph.settings,
        operations=tuple(ops),
        connections=tuple(connections),
        streams=_streams(graph, ops),
        cleanups=tuple(cleanups),
    )


def _index(graph: BuildGraph, name: str) -> int:
    for op in graph.ops:
        if op.name == name:
            return op.index
    raise AssertionError(f"no operation {name!r}")  # pragma: no cover


def _streams(graph: BuildGraph, ops: list[m.Operation]) -> dict[str, m.Operation]:
    return {name: ops[i] for name, i in graph.stream_outs.items()}
