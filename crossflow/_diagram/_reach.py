"""Why a scope of a diagram can never finish, or has operations nothing reaches, said
with the diagram's own names.

The builder finds these (and warns with `cf.UnreachableWarning` about the workflow it
built); the diagram repeats the finding in its terms: operation ids, ports as the
document writes them, builtin targets as JSON.
"""

from __future__ import annotations

from collections import deque

from . import _records as r
from ._layout import DISPOSE, BuiltinTarget, OpInput, Placed, ScopeLayout, StreamTarget, Target

_END = "@end"  # terminate, or an explicit cancel: what keeps a scope alive (S2.2)


def _port_text(port: str) -> str:
    """A port as the document writes it: `"next"`, `"next"[1]`, `"keyed"."x"`."""
    kind, _, rest = port.partition(":")
    if not rest:
        return f'"{kind}"'
    key = {"seq": "sequential", "key": "keyed", "out": "connect", "stream": "stream_out"}
    if kind == "next" or kind == "seq":
        return f'"{key.get(kind, kind)}"[{rest}]'
    return f'"{key.get(kind, kind)}"."{rest}"'


def _fails_implicitly(placed: Placed) -> bool:
    """Whether the operation has a step whose errors go to the scope's handler."""
    op = placed.op
    if isinstance(op, r.TransformOp):
        return op.on_error is None
    if isinstance(op, (r.BufferOp, r.JoinOp)):
        return op.serialize
    if placed.node is not None:
        return placed.node.request is not None or placed.node.response is not None
    if placed.section is not None:
        return any(t is not None for t in placed.section.inputs.values())
    return False


class _Graph:
    def __init__(self, scope: ScopeLayout) -> None:
        self.scope = scope
        self.succ: dict[str, set[str]] = {p.uid: set() for p in scope.placed}
        for placed in scope.placed:
            for _port, target in placed.targets:
                self.add(placed.uid, target)
            for _key, ref in placed.buffers:
                if ref.uid in self.succ:
                    self.succ[ref.uid].add(placed.uid)
            if _fails_implicitly(placed):
                self.add(placed.uid, scope.handler)

    def add(self, source: str, target: Target | None) -> None:
        if isinstance(target, OpInput) and target.uid in self.succ:
            self.succ[source].add(target.uid)
        elif isinstance(target, BuiltinTarget) and target.kind in ("terminate", "cancel"):
            self.succ[source].add(_END)

    def forward(self, first: Target | None) -> set[str]:
        """The operations a message sent to `first` can reach."""
        seen: set[str] = set()
        if isinstance(first, OpInput) and first.uid in self.succ:
            todo = deque([first.uid])
            seen.add(first.uid)
            while todo:
                for nxt in self.succ.get(todo.popleft(), ()):
                    if nxt not in seen:
                        seen.add(nxt)
                        todo.append(nxt)
        return seen

    def ends(self) -> set[str]:
        """The operations that have a path to terminate or to an explicit cancel."""
        pred: dict[str, set[str]] = {}
        for source, targets in self.succ.items():
            for target in targets:
                pred.setdefault(target, set()).add(source)
        seen = {_END}
        todo = deque([_END])
        while todo:
            for before in pred.get(todo.popleft(), ()):
                if before not in seen:
                    seen.add(before)
                    todo.append(before)
        return seen


def explain(scope: ScopeLayout, workflow: str, found: str) -> str:
    """Why `scope` is unreachable, in the diagram's terms; `found` is what the builder
    said about the workflow it built, used when the diagram alone shows nothing."""
    where = f"the diagram {workflow!r}" if scope.parent is None else f"scope {scope.name!r}"
    graph = _Graph(scope)
    start = scope.start
    reached = graph.forward(start)
    starts_useful = start is not None and (
        (isinstance(start, BuiltinTarget) and start.kind in ("terminate", "cancel"))
        or (isinstance(start, OpInput) and start.uid in graph.ends())
    )
    parts: list[str] = []
    if not starts_useful:
        stops: list[str] = []
        if start == DISPOSE or start is None:
            stops.append('"start" itself is {"builtin": "dispose"}')
        elif isinstance(start, (BuiltinTarget, StreamTarget)):
            stops.append(f'"start" itself goes to {_target_text(start)}')
        for placed in scope.placed:
            if placed.uid not in reached:
                continue
            stops.extend(_stops(placed, graph))
        listed = "; ".join(stops[:8]) + ("; ..." if len(stops) > 8 else "")
        parts.append(
            f'{where} can never finish: no path leads from its "start" to '
            '{"builtin": "terminate"} or to {"builtin": "cancel"}, so every run of it is '
            "cancelled at once (Unreachable)."
            + (f" The messages stop here: {listed}." if listed else "")
            + ' Send the message that is the answer to {"builtin": "terminate"}.'
        )
    never = [
        p.uid for p in scope.placed if p.uid not in reached and not isinstance(p.op, r.StreamOutOp)
    ]
    if never:
        names = ", ".join(repr(n) for n in never[:8]) + (" and more" if len(never) > 8 else "")
        parts.append(
            f"In {where}, no message can ever reach {names}: nothing leads to them from "
            '"start". Send something to them, or remove them.'
        )
    return " ".join(parts) if parts else f"{where}: {found}"


def _target_text(target: Target) -> str:
    if isinstance(target, BuiltinTarget):
        return f'{{"builtin": "{target.kind}"}}'
    if isinstance(target, StreamTarget):
        return f"the stream {target.stream!r}"
    return repr(target.uid)


def _stops(placed: Placed, graph: _Graph) -> list[str]:
    out: list[str] = []
    if isinstance(placed.op, r.BufferOp) and not graph.succ.get(placed.uid):
        out.append(f"{placed.uid!r} is a buffer that no join, listen or buffer_access reads")
    for port, target in placed.targets:
        if (
            target == DISPOSE
            or isinstance(target, StreamTarget)
            or (isinstance(target, BuiltinTarget) and target.kind == "implicit_cancel")
        ):
            out.append(f"{placed.uid!r} sends {_port_text(port)} to {_target_text(target)}")
    return out
