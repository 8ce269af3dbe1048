"""A diagram resolved against a registry: its scopes, their operations and every link.

Templates are expanded in place (an instance's operations are named
`<section>/<operation>`), scope operations get scopes of their own, and every target
is resolved to what it finally reaches: an operation's input, a builtin, a scope's
stream. Everything that cannot be resolved is a problem, reported with its JSON
pointer; nothing here touches the builder, so a document is checked completely
before anything is built.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias

import attrs

from . import _records as r
from ._cel import CelUnavailable, compile_expression
from ._problems import Problems, shown, suggest
from ._registry import NodeBuilder, Registry, SectionBuilder
from ._types import ConversionError, json_type_name

# --------------------------------------------------------------------------- targets


@attrs.frozen
class OpInput:
    """The input of a placed operation; `port` names an exposed input of a builder section."""

    uid: str
    port: str | None = None


@attrs.frozen
class BuiltinTarget:
    """terminate, dispose, cancel or implicit_cancel of the scope."""

    kind: str


@attrs.frozen
class StreamTarget:
    """A stream out of the scope."""

    stream: str


Target: TypeAlias = OpInput | BuiltinTarget | StreamTarget
DISPOSE = BuiltinTarget("dispose")


@attrs.frozen
class BufferRef:
    """A buffer operation (`port=None`) or a buffer a builder section exposes."""

    uid: str
    port: str | None = None


# --------------------------------------------------------------------------- layout


@attrs.define(eq=False)
class Placed:
    """One operation of a scope, with its resolved targets."""

    uid: str
    op: r.Operation
    ctx: Ctx
    targets: list[tuple[str, Target | None]] = attrs.field(factory=list)
    buffers: list[tuple[str | int, BufferRef]] = attrs.field(factory=list)
    clone: set[str | int] = attrs.field(factory=set)
    node: NodeBuilder | None = None
    section: SectionBuilder | None = None
    config: Any = None
    config_ok: bool = False
    program: Callable[[Any], Any] | None = None
    child: ScopeLayout | None = None


@attrs.define(eq=False)
class ScopeLayout:
    """One scope: the root of the diagram, or a `scope` operation."""

    name: str
    parent: ScopeLayout | None
    placed: list[Placed] = attrs.field(factory=list)
    by_uid: dict[str, Placed] = attrs.field(factory=dict)
    streams: dict[str, None] = attrs.field(factory=dict)
    start: Target | None = None
    handler: Target = attrs.field(default=BuiltinTarget("implicit_cancel"))
    uninterruptible: bool = False
    truncated: bool = False  # nested too deep: its operations were left out

    def add(self, placed: Placed) -> None:
        self.placed.append(placed)
        self.by_uid[placed.uid] = placed


@attrs.frozen(eq=False)
class Ctx:
    """Where names are looked up: one body of operations (a scope's, or a template's)."""

    scope: ScopeLayout
    prefix: str
    body: r.Body
    template: r.Template | None
    section: r.SectionOp | None  # the section that instantiated `template`
    parent: Ctx | None  # the body around this one (the section's, or the scope's)
    stack: tuple[str, ...]  # templates being expanded, outermost first
    crosses_scope: bool  # whether `parent` is in another scope

    def where(self) -> str:
        if self.template is not None:
            return f"template {self.template.name!r}"
        if self.scope.parent is not None:
            return f"scope {self.scope.name!r}"
        return "the diagram"


class _Circular(Exception):
    pass


def lay_out(doc: r.Document, registry: Registry, problems: Problems) -> ScopeLayout:
    """Resolve `doc` against `registry`; every problem found goes into `problems`."""
    return _Layout(doc, registry, problems).root()


class _Layout:
    def __init__(self, doc: r.Document, registry: Registry, problems: Problems) -> None:
        self.doc = doc
        self.registry = registry
        self.problems = problems
        self.contexts: list[tuple[Placed, Ctx]] = []
        self.cycles: set[frozenset[str]] = set()  # each circular redirect is reported once

    # ---------------------------------------------------------------- placing

    def root(self) -> ScopeLayout:
        scope = ScopeLayout("", None)
        ctx = Ctx(scope, "", self.doc.ops, None, None, None, (), False)
        self.place_body(ctx)
        for placed in list(self.all_placed(scope)):
            self.resolve_op(placed)
        if self.doc.start is not None:
            scope.start = self.resolve(self.doc.start, ctx, "")
        if self.doc.on_implicit_error is not None:
            handler = self.resolve(self.doc.on_implicit_error, ctx, "")
            if handler is not None:
                scope.handler = handler
        return scope

    def all_placed(self, scope: ScopeLayout) -> list[Placed]:
        out: list[Placed] = []
        for placed in scope.placed:
            out.append(placed)
            if placed.child is not None:
                out.extend(self.all_placed(placed.child))
        return out

    def place_body(self, ctx: Ctx) -> None:
        for name, op in ctx.body.items():
            uid = ctx.prefix + name
            if isinstance(op, r.SectionOp) and op.template is not None:
                self.place_template(ctx, op, uid)
                continue
            placed = Placed(uid, op, ctx)
            ctx.scope.add(placed)
            if isinstance(op, r.NodeOp):
                self.check_node(placed, op)
            elif isinstance(op, r.SectionOp):
                self.check_section(placed, op)
            elif isinstance(op, r.ScopeOp):
                self.place_scope(placed, op, ctx)
            elif isinstance(op, r.StreamOutOp):
                self.check_stream(op, ctx)
            elif isinstance(op, r.TransformOp):
                self.compile(placed, op)
            elif isinstance(op, r.ScriptOp):
                self.problems.add(
                    op.name,
                    op.pointer,
                    "script operations are not supported by crossflow for Python: run the "
                    "code in a node instead (register a node builder whose node calls it)",
                )

    def place_template(self, ctx: Ctx, op: r.SectionOp, uid: str) -> None:
        assert op.template is not None
        template = self.doc.templates.get(op.template)
        where = op.pointer + "/template"
        if template is None:
            self.problems.add(
                op.name,
                where,
                f'unknown template {op.template!r}; define it under "templates".'
                + suggest(op.template, self.doc.templates, "templates"),
            )
            return
        if len(ctx.stack) >= r.MAX_NESTING:
            self.problems.add(
                op.name,
                where,
                f"templates are nested more than {r.MAX_NESTING} deep here (sections of "
                "templates inside templates), which crossflow for Python does not expand; "
                "flatten the templates",
            )
            return
        if template.name in ctx.stack:
            chain = " -> ".join((*ctx.stack[ctx.stack.index(template.name) :], template.name))
            self.problems.add(
                op.name,
                where,
                f"circular template dependency: {chain}; a template cannot contain itself, "
                "directly or through other templates",
            )
            return
        for key, link in op.connect:
            if key not in template.outputs:
                self.problems.add(
                    op.name,
                    link.pointer,
                    f"template {template.name!r} has no output {key!r}."
                    + suggest(key, template.outputs, "outputs"),
                )
        inner = Ctx(
            ctx.scope,
            uid + "/",
            template.ops,
            template,
            op,
            ctx,
            (*ctx.stack, template.name),
            False,
        )
        self.place_body(inner)
        # resolve every exposed input and buffer now, used or not: a broken one is a
        # problem of the document even before anything sends to it
        for _key, link in template.inputs.entries:
            self.resolve(link, inner, op.name)
        for _key, link in template.buffers.entries:
            self.resolve_buffer(link, inner, op.name)

    def place_scope(self, placed: Placed, op: r.ScopeOp, ctx: Ctx) -> None:
        child = ScopeLayout(placed.uid, ctx.scope, uninterruptible=op.uninterruptible)
        placed.child = child
        depth = 0
        outer: ScopeLayout | None = ctx.scope
        while outer is not None:
            depth += 1
            outer = outer.parent
        if op.too_deep or depth > r.MAX_NESTING:
            # templates can nest scopes deeper than any one body does
            self.problems.add(op.name, op.pointer, r.TOO_DEEP)
            child.truncated = True
            self.contexts.append((placed, Ctx(child, "", {}, None, None, ctx, ctx.stack, True)))
            return
        inner = Ctx(child, "", op.ops, None, None, ctx, ctx.stack, True)
        self.place_body(inner)
        self.contexts.append((placed, inner))

    def check_node(self, placed: Placed, op: r.NodeOp) -> None:
        if not op.builder:
            return
        node = self.registry._node(op.builder)
        if node is None:
            self.problems.add(
                op.name,
                op.pointer + "/builder",
                f"no node builder named {op.builder!r} is registered."
                + suggest(op.builder, self.registry.node_builders, "node builders")
                + " Register it with registry.register_node_builder(...).",
            )
            return
        placed.node = node
        placed.config, placed.config_ok = self.config(op, node.name, node.config, "node builder")
        if node.streams is not None:
            for stream, link in op.stream_out:
                if stream not in node.streams:
                    self.problems.add(
                        op.name,
                        link.pointer,
                        f"node builder {node.name!r} has no stream {stream!r}."
                        + suggest(stream, node.streams, "streams"),
                    )

    def check_section(self, placed: Placed, op: r.SectionOp) -> None:
        if not op.builder:
            return
        section = self.registry._section(op.builder)
        if section is None:
            self.problems.add(
                op.name,
                op.pointer + "/builder",
                f"no section builder named {op.builder!r} is registered."
                + suggest(op.builder, self.registry.section_builders, "section builders")
                + " Register it with registry.register_section_builder(...).",
            )
            return
        placed.section = section
        placed.config, placed.config_ok = self.config(
            op, section.name, section.config, "section builder"
        )
        for key, link in op.connect:
            if key not in section.outputs:
                self.problems.add(
                    op.name,
                    link.pointer,
                    f"section builder {section.name!r} has no output {key!r}."
                    + suggest(key, section.outputs, "outputs"),
                )

    def config(
        self, op: r.NodeOp | r.SectionOp, builder: str, cfg: Any, what: str
    ) -> tuple[Any, bool]:
        try:
            return cfg.convert(op.config), True
        except ConversionError as error:
            declared = json_type_name(cfg.type)
            example = ""
            if cfg.examples:
                example = f" For example: {shown(cfg.examples[0][1])} ({cfg.examples[0][0]})."
            detail = str(error)
            # a mismatch of the whole value says no more than "which takes ..." does
            inner = "" if detail.startswith("expected ") else f": {detail}"
            self.problems.add(
                op.name,
                op.pointer + "/config",
                f"the config {shown(op.config)} does not fit {what} {builder!r}, which takes "
                f"{declared}{inner}.{example}",
            )
            return None, False

    def check_stream(self, op: r.StreamOutOp, ctx: Ctx) -> None:
        if not op.stream:
            return
        if not op.stream.isidentifier():
            self.problems.add(
                op.name,
                op.pointer + "/name",
                f"stream name {op.stream!r} is not a Python identifier, which crossflow for "
                "Python needs (streams are read as session.streams.<name>); rename it, "
                "e.g. to " + repr("_".join(op.stream.split()).replace("-", "_") or "stream"),
            )
            return
        ctx.scope.streams[op.stream] = None

    def compile(self, placed: Placed, op: r.TransformOp) -> None:
        if not op.cel:
            return  # reported while reading: no expression, or not a string
        try:
            placed.program = compile_expression(op.cel)
        except CelUnavailable as error:
            self.problems.add(op.name, op.pointer, str(error))
        except ValueError as error:
            self.problems.add(op.name, op.pointer + "/cel", f"not a valid CEL expression: {error}")

    # ---------------------------------------------------------------- resolving

    def resolve_op(self, placed: Placed) -> None:
        op, ctx = placed.op, placed.ctx

        def to(port: str, link: r.Link | None) -> None:
            if link is not None:
                placed.targets.append((port, self.resolve(link, ctx, op.name)))

        if isinstance(op, r.NodeOp):
            to("next", op.next)
            for stream, link in op.stream_out:
                to(f"stream:{stream}", link)
        elif isinstance(op, r.SectionOp):
            for key, link in op.connect:
                to(f"out:{key}", link)
        elif isinstance(op, r.ScopeOp):
            to("next", op.next)
            assert placed.child is not None
            if placed.child.truncated:
                return  # reported where it was placed
            inner = next(c for p, c in self.contexts if p is placed)
            if op.start is not None:
                placed.child.start = self.resolve(op.start, inner, op.name)
            handler = (
                self.resolve(op.on_implicit_error, inner, op.name)
                if op.on_implicit_error is not None
                else BuiltinTarget("cancel")
            )
            placed.child.handler = handler or BuiltinTarget("cancel")
            for stream, link in op.stream_out:
                if stream not in placed.child.streams:
                    self.problems.add(
                        op.name,
                        link.pointer,
                        f"scope {op.name!r} has no stream {stream!r}: declare it with a "
                        f'stream_out operation inside the scope ({{"type": "stream_out", '
                        f'"name": "{stream}"}}).'
                        + suggest(stream, placed.child.streams, "streams"),
                    )
                    continue
                to(f"stream:{stream}", link)
        elif isinstance(op, (r.ForkCloneOp, r.UnzipOp)):
            for i, link in enumerate(op.next):
                to(f"next:{i}", link)
        elif isinstance(op, r.ForkResultOp):
            to("ok", op.ok)
            to("err", op.err)
        elif isinstance(op, r.SplitOp):
            for key, link in op.keyed:
                to(f"key:{key}", link)
            for i, link in enumerate(op.sequential):
                to(f"seq:{i}", link)
            to("remaining", op.remaining)
        elif isinstance(op, r.TransformOp):
            to("next", op.next)
            to("on_error", op.on_error)
        elif isinstance(op, (r.JoinOp, r.ListenOp, r.BufferAccessOp)):
            self.resolve_buffers(placed, op)
            to("next", op.next)

    def resolve_buffers(self, placed: Placed, op: r.JoinOp | r.ListenOp | r.BufferAccessOp) -> None:
        what = {r.JoinOp: "join", r.ListenOp: "listen", r.BufferAccessOp: "buffer_access"}[type(op)]
        if not op.buffers.entries:
            self.problems.add(
                op.name,
                op.pointer + "/buffers",
                f'a {what} needs at least one buffer; list the buffers in "buffers"',
            )
            return
        seen: dict[BufferRef, str | int] = {}
        for key, link in op.buffers.entries:
            ref = self.resolve_buffer(link, placed.ctx, op.name)
            if ref is None:
                continue
            if ref in seen:
                self.problems.add(
                    op.name,
                    link.pointer,
                    f"buffer {link.next} is listed twice in this {what} (also as "
                    f"{seen[ref]!r}); each buffer may appear once. To use its items twice, "
                    "fork them into two buffers.",
                )
                continue
            seen[ref] = key
            placed.buffers.append((key, ref))
        if isinstance(op, r.JoinOp):
            keys = [key for key, _ in op.buffers.entries]
            for ident, where in op.clone:
                if ident not in keys:
                    shape = "indexes" if op.buffers.shape == "tuple" else "keys"
                    self.problems.add(
                        op.name,
                        where,
                        f"clone names {ident!r}, which is not one of this join's buffer "
                        f"{shape}: {', '.join(map(repr, keys))}",
                    )
                else:
                    placed.clone.add(ident)

    def resolve(self, link: r.Link, ctx: Ctx, op: str) -> Target | None:
        try:
            return self._resolve(link.next, ctx, link.pointer, op, [])
        except _Circular:
            return None

    def _circular(self, trail: list[str], key: str, where: str, op: str) -> None:
        cycle = trail[trail.index(key) :]
        if frozenset(cycle) in self.cycles:
            raise _Circular
        self.cycles.add(frozenset(cycle))
        path = " -> ".join((*cycle, key))
        self.problems.add(
            op,
            where,
            f"circular redirect: {path} leads back to itself, so nothing sent there could "
            "ever arrive; connect one of them to an operation",
        )
        raise _Circular

    def _resolve(
        self, nxt: r.Next, ctx: Ctx, where: str, op: str, trail: list[str]
    ) -> Target | None:
        if isinstance(nxt, r.Builtin):
            if nxt.target == "dispose":
                return DISPOSE
            return BuiltinTarget(nxt.target)
        if isinstance(nxt, r.Name):
            name = nxt.name
            found = ctx.body.get(name)
            if found is not None:
                return self._op_input(found, ctx, where, op)
            if ctx.template is not None and name in ctx.template.outputs:
                key = f"{ctx.prefix}{name}"
                if key in trail:
                    self._circular(trail, key, where, op)
                assert ctx.section is not None and ctx.parent is not None
                for out, link in ctx.section.connect:
                    if out == name:
                        return self._resolve(
                            link.next, ctx.parent, link.pointer, ctx.section.name, [*trail, key]
                        )
                return DISPOSE  # an output the section does not connect
            self._unknown(name, ctx, where, op)
            return None
        # an input or buffer exposed by a sibling section
        section = ctx.body.get(nxt.section)
        if section is None:
            self.problems.add(
                op,
                where,
                f"{nxt} names {nxt.section!r}, which is not an operation of {ctx.where()}."
                + suggest(nxt.section, self._sections(ctx), "sections here"),
            )
            return None
        if not isinstance(section, r.SectionOp):
            self.problems.add(
                op,
                where,
                f"{nxt}: {nxt.section!r} is a {_kind(section)}, not a section; "
                f'{{"<section>": "<input>"}} only reaches inputs that sections expose. '
                f"To send to {nxt.section!r} itself, write {nxt.section!r}.",
            )
            return None
        uid = ctx.prefix + nxt.section
        if section.template is not None:
            template = self.doc.templates.get(section.template)
            if template is None or template.name in ctx.stack:
                return None  # reported where the section is placed
            inner = template.inputs.get(nxt.name) or template.buffers.get(nxt.name)
            if inner is None:
                self.problems.add(
                    op,
                    where,
                    f"template {template.name!r} (section {nxt.section!r}) exposes no input "
                    f"{nxt.name!r}."
                    + suggest(
                        nxt.name, template.inputs.names() + template.buffers.names(), "inputs"
                    ),
                )
                return None
            key = f"{uid}:{nxt.name}"
            if key in trail:
                self._circular(trail, key, where, op)
            child = Ctx(
                ctx.scope, uid + "/", template.ops, template, section, ctx,
                (*ctx.stack, template.name), False,
            )  # fmt: skip
            return self._resolve(inner.next, child, inner.pointer, section.name, [*trail, key])
        builder = self.registry._section(section.builder or "")
        if builder is None:
            return None  # reported where the section is placed
        if nxt.name in builder.inputs or nxt.name in builder.buffers:
            return OpInput(uid, nxt.name)
        self.problems.add(
            op,
            where,
            f"section {nxt.section!r} (builder {builder.name!r}) exposes no input {nxt.name!r}."
            + suggest(nxt.name, [*builder.inputs, *builder.buffers], "inputs"),
        )
        return None

    def _op_input(self, found: r.Operation, ctx: Ctx, where: str, op: str) -> Target | None:
        name = found.name
        if isinstance(found, r.SectionOp):
            exposed: list[str] = []
            if found.template is not None and found.template in self.doc.templates:
                t = self.doc.templates[found.template]
                exposed = t.inputs.names() + t.buffers.names()
            elif found.builder is not None and self.registry._section(found.builder):
                b = self.registry._section(found.builder)
                assert b is not None
                exposed = [*b.inputs, *b.buffers]
            shown_inputs = ", ".join(f'{{"{name}": "{e}"}}' for e in exposed) or "none"
            self.problems.add(
                op,
                where,
                f"{name!r} is a section, which has no input of its own; send to one of the "
                f"inputs it exposes: {shown_inputs}",
            )
            return None
        if isinstance(found, (r.JoinOp, r.ListenOp)):
            self.problems.add(
                op,
                where,
                f"{name!r} is a {_kind(found)}: it has no input and fires from its buffers; "
                "send to one of its buffers instead",
            )
            return None
        if isinstance(found, r.StreamOutOp):
            return StreamTarget(found.stream) if found.stream.isidentifier() else None
        return OpInput(ctx.prefix + name)

    def _unknown(self, name: str, ctx: Ctx, where: str, op: str) -> None:
        outer = ctx.parent
        crossed = ctx.crosses_scope
        while outer is not None:
            if name in outer.body:
                if crossed:
                    self.problems.add(
                        op,
                        where,
                        f"{name!r} is an operation of {outer.where()}, outside {ctx.where()}: "
                        "a link cannot cross into another scope. Inside a scope, send the "
                        'message to {"builtin": "terminate"} and set the scope\'s "next" to '
                        f"{name!r} (or use a stream_out operation)",
                    )
                else:
                    self.problems.add(
                        op,
                        where,
                        f"{name!r} is outside {ctx.where()}: a template's operations reach the "
                        f'outside through its outputs; add {name!r} to the template\'s "outputs" '
                        'and connect it in the section\'s "connect"',
                    )
                return
            crossed = crossed or outer.crosses_scope
            outer = outer.parent
        names = list(ctx.body)
        if ctx.template is not None:
            names += list(ctx.template.outputs)
        self.problems.add(
            op,
            where,
            f"there is no operation named {name!r} in {ctx.where()}."
            + suggest(name, names, "operations"),
        )

    def _sections(self, ctx: Ctx) -> list[str]:
        return [n for n, o in ctx.body.items() if isinstance(o, r.SectionOp)]

    def resolve_buffer(self, link: r.Link, ctx: Ctx, op: str) -> BufferRef | None:
        try:
            return self._resolve_buffer(link.next, ctx, link.pointer, op, [])
        except _Circular:
            return None

    def _resolve_buffer(
        self, nxt: r.Next, ctx: Ctx, where: str, op: str, trail: list[str]
    ) -> BufferRef | None:
        if isinstance(nxt, r.Builtin):
            self.problems.add(op, where, f"{nxt} is not a buffer; name a buffer operation here")
            return None
        if isinstance(nxt, r.Name):
            found = ctx.body.get(nxt.name)
            if found is None:
                self._unknown(nxt.name, ctx, where, op)
                return None
            if not isinstance(found, r.BufferOp):
                self.problems.add(
                    op,
                    where,
                    f"{nxt.name!r} is a {_kind(found)}, not a buffer; joins, listeners and "
                    'buffer access read buffer operations ({"type": "buffer"})',
                )
                return None
            return BufferRef(ctx.prefix + nxt.name)
        section = ctx.body.get(nxt.section)
        if not isinstance(section, r.SectionOp):
            self.problems.add(
                op,
                where,
                f"{nxt}: {nxt.section!r} is not a section of {ctx.where()}."
                + suggest(nxt.section, self._sections(ctx), "sections here"),
            )
            return None
        uid = ctx.prefix + nxt.section
        if section.template is not None:
            template = self.doc.templates.get(section.template)
            if template is None or template.name in ctx.stack:
                return None
            inner = template.buffers.get(nxt.name)
            if inner is None:
                self.problems.add(
                    op,
                    where,
                    f"template {template.name!r} (section {nxt.section!r}) exposes no buffer "
                    f'{nxt.name!r}; expose it in the template\'s "buffers".'
                    + suggest(nxt.name, template.buffers.names(), "buffers"),
                )
                return None
            key = f"{uid}:{nxt.name}"
            if key in trail:
                self._circular(trail, key, where, op)
            child = Ctx(
                ctx.scope, uid + "/", template.ops, template, section, ctx,
                (*ctx.stack, template.name), False,
            )  # fmt: skip
            return self._resolve_buffer(
                inner.next, child, inner.pointer, section.name, [*trail, key]
            )
        builder = self.registry._section(section.builder or "")
        if builder is None:
            return None
        if nxt.name in builder.buffers:
            return BufferRef(uid, nxt.name)
        self.problems.add(
            op,
            where,
            f"section {nxt.section!r} (builder {builder.name!r}) exposes no buffer {nxt.name!r}."
            + suggest(nxt.name, builder.buffers, "buffers"),
        )
        return None


def _kind(op: r.Operation) -> str:
    kinds = {
        r.NodeOp: "node",
        r.SectionOp: "section",
        r.ScopeOp: "scope",
        r.StreamOutOp: "stream_out",
        r.ForkCloneOp: "fork_clone",
        r.UnzipOp: "unzip",
        r.ForkResultOp: "fork_result",
        r.SplitOp: "split",
        r.JoinOp: "join",
        r.TransformOp: "transform",
        r.BufferOp: "buffer",
        r.BufferAccessOp: "buffer_access",
        r.ListenOp: "listen",
        r.ScriptOp: "script",
    }
    return kinds.get(type(op), "operation")
