"""A diagram document read into records, with every structural problem it has.

Reading never raises for a JSON document: whatever is malformed becomes a `Problem`
with its JSON pointer, and the part that could be read is kept, so one check reports
everything at once. Unknown keys are ignored (the editor stores its own data in
`extensions`); the document itself is kept untouched by `Diagram` for writing back.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeAlias

import attrs

from ._problems import Problems, pointer, shown, suggest

BUILTINS = ("terminate", "dispose", "cancel", "implicit_cancel")
RESERVED = ("", "builtin")
OPERATION_TYPES = (
    "node",
    "section",
    "scope",
    "stream_out",
    "fork_clone",
    "unzip",
    "fork_result",
    "split",
    "join",
    "transform",
    "buffer",
    "buffer_access",
    "listen",
    "script",
)
LEGACY_TYPES = ("serialized_join",)
TRACE_TOGGLES = ("off", "on", "messages")
SUPPORTED_VERSION = ">=0.1.0, <0.2.0"
# how deep scope operations (and templates inside templates) may be nested: building and
# running a nested scope recurses, and Python's stack is limited
MAX_NESTING = 64
TOO_DEEP = (
    f"scope operations are nested more than {MAX_NESTING} deep here, which crossflow for "
    "Python does not build (building and running nested scopes recurses, one level per "
    "scope); flatten the diagram, e.g. by moving inner operations out to the scope around them"
)


# --------------------------------------------------------------------------- targets


@attrs.frozen
class Name:
    """A target named by an operation of the same body (or an output of a template)."""

    name: str

    def __str__(self) -> str:
        return repr(self.name)


@attrs.frozen
class Builtin:
    """`{"builtin": "terminate" | "dispose" | "cancel" | "implicit_cancel"}`."""

    target: str

    def __str__(self) -> str:
        return f'{{"builtin": "{self.target}"}}'


@attrs.frozen
class Exposed:
    """`{"<section>": "<input>"}`: an input or buffer that a sibling section exposes."""

    section: str
    name: str

    def __str__(self) -> str:
        return f'{{"{self.section}": "{self.name}"}}'


Next: TypeAlias = Name | Builtin | Exposed


@attrs.frozen
class Link:
    """A target as written, with where it was written."""

    next: Next
    pointer: str


@attrs.frozen
class BufferSelection:
    """The `buffers` of a join, listen or buffer access: a list or an object of buffers."""

    shape: str  # "tuple" for a JSON array, "dict" for an object
    entries: tuple[tuple[str | int, Link], ...]


# --------------------------------------------------------------------------- operations


@attrs.frozen
class Op:
    """Fields every operation has."""

    name: str
    pointer: str
    display_text: str | None


@attrs.frozen
class NodeOp(Op):
    builder: str
    config: Any
    next: Link | None
    stream_out: tuple[tuple[str, Link], ...]


@attrs.frozen
class SectionOp(Op):
    builder: str | None
    template: str | None
    config: Any
    connect: tuple[tuple[str, Link], ...]


@attrs.frozen
class ScopeOp(Op):
    start: Link | None
    ops: Body
    next: Link | None
    stream_out: tuple[tuple[str, Link], ...]
    on_implicit_error: Link | None
    uninterruptible: bool
    too_deep: bool = False  # its operations were not read: nested more than MAX_NESTING


@attrs.frozen
class StreamOutOp(Op):
    stream: str


@attrs.frozen
class ForkCloneOp(Op):
    next: tuple[Link, ...]


@attrs.frozen
class UnzipOp(Op):
    next: tuple[Link, ...]


@attrs.frozen
class ForkResultOp(Op):
    ok: Link | None
    err: Link | None


@attrs.frozen
class SplitOp(Op):
    sequential: tuple[Link, ...]
    keyed: tuple[tuple[str, Link], ...]
    remaining: Link | None


@attrs.frozen
class JoinOp(Op):
    buffers: BufferSelection
    clone: tuple[tuple[str | int, str], ...]  # (identifier, pointer)
    serialize: bool
    next: Link | None


@attrs.frozen
class TransformOp(Op):
    cel: str
    next: Link | None
    on_error: Link | None


@attrs.frozen
class BufferOp(Op):
    retention: str  # keep_last | keep_first | keep_all
    n: int | None
    serialize: bool


@attrs.frozen
class BufferAccessOp(Op):
    buffers: BufferSelection
    next: Link | None


@attrs.frozen
class ListenOp(Op):
    buffers: BufferSelection
    next: Link | None


@attrs.frozen
class ScriptOp(Op):
    pass


Operation: TypeAlias = (
    NodeOp
    | SectionOp
    | ScopeOp
    | StreamOutOp
    | ForkCloneOp
    | UnzipOp
    | ForkResultOp
    | SplitOp
    | JoinOp
    | TransformOp
    | BufferOp
    | BufferAccessOp
    | ListenOp
    | ScriptOp
)
Body: TypeAlias = dict[str, Operation]


@attrs.frozen
class Remapping:
    """A template's exposed `inputs` or `buffers`: exposed name -> inner target."""

    entries: tuple[tuple[str, Link], ...]

    def get(self, name: str) -> Link | None:
        for key, link in self.entries:
            if key == name:
                return link
        return None

    def names(self) -> list[str]:
        return [key for key, _ in self.entries]


@attrs.frozen
class Template:
    name: str
    pointer: str
    inputs: Remapping
    outputs: tuple[str, ...]
    buffers: Remapping
    ops: Body


@attrs.frozen
class Document:
    """Everything of a diagram that building it needs."""

    version: str
    start: Link | None
    ops: Body
    templates: dict[str, Template]
    on_implicit_error: Link | None
    default_trace: str
    description: str
    input_examples: tuple[tuple[Any, str], ...]


# --------------------------------------------------------------------------- reading


def read_document(data: object, problems: Problems) -> Document:
    """Read a diagram document; every structural problem goes into `problems`."""
    reader = _Reader(problems)
    return reader.document(data)


_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")


def version_supported(text: str) -> bool:
    """Whether `text` is a semantic version in `>=0.1.0, <0.2.0`."""
    match = _VERSION.match(text)
    if match is None:
        return False
    major, minor, patch = (int(g) for g in match.groups()[:3])
    prerelease = match.group(4)
    return major == 0 and minor == 1 and not (patch == 0 and prerelease)


class _Reader:
    def __init__(self, problems: Problems) -> None:
        self.problems = problems
        self.depth = 0  # scope operations around the body being read

    def add(self, op: str, where: str, message: str) -> None:
        self.problems.add(op, where, message)

    # ---------------------------------------------------------------- document

    def document(self, data: object) -> Document:
        empty = Document("", None, {}, {}, None, "off", "", ())
        if not isinstance(data, Mapping):
            self.add(
                "",
                "",
                f"a diagram is a JSON object with at least 'version', 'start' and 'ops', "
                f"got {shown(data)}",
            )
            return empty
        version = data.get("version")
        if "version" not in data:
            self.add("", "", 'the diagram has no "version"; add "version": "0.1.0"')
            version = ""
        elif not isinstance(version, str):
            self.add(
                "", "/version", f'"version" must be a string such as "0.1.0", got {shown(version)}'
            )
            version = ""
        elif not version_supported(version):
            self.add(
                "",
                "/version",
                f"version {version!r} is not supported: this crossflow reads diagrams of "
                f'version {SUPPORTED_VERSION} (write "version": "0.1.0")',
            )
        templates = self.templates(data.get("templates", {}))
        start: Link | None = None
        if "start" not in data:
            self.add(
                "",
                "",
                'the diagram has no "start"; add "start": "<operation>" naming where the '
                "request goes first",
            )
        else:
            start = self.link(data["start"], "/start", "")
        if "ops" not in data:
            self.add("", "", 'the diagram has no "ops"; add "ops": {} with its operations')
            ops: Body = {}
        else:
            ops = self.body(data["ops"], ("ops",))
        on_error = data.get("on_implicit_error")
        handler = None if on_error is None else self.link(on_error, "/on_implicit_error", "")
        trace = self.trace(data.get("default_trace"), "/default_trace", "")
        description = data.get("description", "")
        if not isinstance(description, str):
            self.add(
                "", "/description", f'"description" must be a string, got {shown(description)}'
            )
            description = ""
        examples = self.examples(data.get("input_examples", []))
        self.extensions(data, (), "")
        environments = data.get("script_environments", {})
        if not isinstance(environments, Mapping):
            self.add(
                "",
                "/script_environments",
                f'"script_environments" must be an object, got {shown(environments)}',
            )
        return Document(
            version if isinstance(version, str) else "",
            start,
            ops,
            templates,
            handler,
            trace or "off",
            description,
            examples,
        )

    def examples(self, value: object) -> tuple[tuple[Any, str], ...]:
        if not isinstance(value, list):
            self.add(
                "", "/input_examples", f'"input_examples" must be an array, got {shown(value)}'
            )
            return ()
        out = []
        for i, item in enumerate(value):
            where = pointer("input_examples", i)
            if not isinstance(item, Mapping) or "value" not in item:
                self.add(
                    "",
                    where,
                    'an input example is {"value": ..., "description": "..."}, '
                    f"got {shown(item)}",
                )
                continue
            text = item.get("description", "")
            out.append((item["value"], text if isinstance(text, str) else ""))
        return tuple(out)

    def extensions(self, data: Mapping[str, Any], parts: tuple[str | int, ...], op: str) -> None:
        ext = data.get("extensions")
        if ext is not None and not isinstance(ext, Mapping):
            self.add(
                op,
                pointer(*parts, "extensions"),
                f'"extensions" must be an object, got {shown(ext)}',
            )

    def trace(self, value: object, where: str, op: str) -> str | None:
        if value is None:
            return None
        if value not in TRACE_TOGGLES:
            self.add(
                op,
                where,
                f"trace must be one of {', '.join(map(repr, TRACE_TOGGLES))}, got {shown(value)}."
                + suggest(value, TRACE_TOGGLES, "trace settings"),
            )
            return None
        assert isinstance(value, str)
        return value

    # ---------------------------------------------------------------- templates

    def templates(self, value: object) -> dict[str, Template]:
        if not isinstance(value, Mapping):
            self.add(
                "", "/templates", f'"templates" must be an object of templates, got {shown(value)}'
            )
            return {}
        out: dict[str, Template] = {}
        for name, data in value.items():
            parts = ("templates", name)
            where = pointer(*parts)
            if not isinstance(data, Mapping):
                self.add(name, where, f"a template is an object with 'ops', got {shown(data)}")
                continue
            if name in RESERVED:
                self.add(name, where, f"{name!r} is a reserved name; rename the template")
            if "ops" not in data:
                self.add(name, where, f'template {name!r} has no "ops"; add its operations')
            ops = self.body(data.get("ops", {}), (*parts, "ops"))
            inputs = self.remapping(data.get("inputs", []), (*parts, "inputs"), name)
            buffers = self.remapping(data.get("buffers", []), (*parts, "buffers"), name)
            outputs: list[str] = []
            raw_outputs = data.get("outputs", [])
            if not isinstance(raw_outputs, list):
                self.add(
                    name,
                    pointer(*parts, "outputs"),
                    f'"outputs" must be an array of names, got {shown(raw_outputs)}',
                )
            else:
                for i, out_name in enumerate(raw_outputs):
                    if not isinstance(out_name, str):
                        self.add(
                            name,
                            pointer(*parts, "outputs", i),
                            f"an output name must be a string, got {shown(out_name)}",
                        )
                    elif out_name in ops:
                        self.add(
                            name,
                            pointer(*parts, "outputs", i),
                            f"template {name!r} has an output and an operation both named "
                            f"{out_name!r}; a name inside a template means one thing, "
                            "so rename one",
                        )
                    else:
                        outputs.append(out_name)
            for key in inputs.names():
                if buffers.get(key) is not None:
                    self.add(
                        name,
                        pointer(*parts, "buffers"),
                        f"template {name!r} exposes {key!r} both as an input and as a buffer; "
                        "rename one of them",
                    )
            out[name] = Template(name, where, inputs, tuple(outputs), buffers, ops)
        return out

    def remapping(self, value: object, parts: tuple[str | int, ...], op: str) -> Remapping:
        where = pointer(*parts)
        if isinstance(value, list):
            entries = []
            for i, item in enumerate(value):
                if not isinstance(item, str):
                    self.add(
                        op,
                        pointer(*parts, i),
                        f"an exposed name must be a string, got {shown(item)}",
                    )
                    continue
                entries.append((item, Link(Name(item), pointer(*parts, i))))
            return Remapping(tuple(entries))
        if isinstance(value, Mapping):
            entries = []
            for key, target in value.items():
                link = self.link(target, pointer(*parts, key), op)
                if link is not None:
                    entries.append((key, link))
            return Remapping(tuple(entries))
        self.add(
            op,
            where,
            "exposed inputs and buffers are an array of inner operation names, or an object "
            f"mapping exposed names to inner targets; got {shown(value)}",
        )
        return Remapping(())

    # ---------------------------------------------------------------- operations

    def body(self, value: object, parts: tuple[str | int, ...]) -> Body:
        if not isinstance(value, Mapping):
            self.add(
                "", pointer(*parts), f"'ops' must be an object of operations, got {shown(value)}"
            )
            return {}
        body: Body = {}
        for name, data in value.items():
            op = self.operation(name, data, (*parts, name))
            if op is not None:
                body[name] = op
        return body

    def scope_body(self, value: object, parts: tuple[str | int, ...], name: str) -> Body:
        if self.depth >= MAX_NESTING:
            self.add(name, pointer(*parts), TOO_DEEP)
            return {}
        self.depth += 1
        try:
            return self.body(value, (*parts, "ops"))
        finally:
            self.depth -= 1

    def operation(self, name: str, data: object, parts: tuple[str | int, ...]) -> Operation | None:
        where = pointer(*parts)
        if name in RESERVED:
            self.add(
                name,
                where,
                f"{name!r} is a reserved name and cannot name an operation; rename it",
            )
        if not isinstance(data, Mapping):
            self.add(name, where, f'an operation is an object with a "type", got {shown(data)}')
            return None
        kind = data.get("type")
        if kind not in OPERATION_TYPES and kind not in LEGACY_TYPES:
            if "type" not in data:
                message = 'the operation has no "type"'
            else:
                text = repr(kind) if isinstance(kind, str) else shown(kind)
                message = f"unknown operation type {text}"
            self.add(
                name,
                pointer(*parts, "type"),
                message + "." + suggest(kind, OPERATION_TYPES, "operation types"),
            )
            return None
        display = data.get("display_text")
        if display is not None and not isinstance(display, str):
            self.add(
                name,
                pointer(*parts, "display_text"),
                f'"display_text" must be a string, got {shown(display)}',
            )
            display = None
        self.trace(data.get("trace"), pointer(*parts, "trace"), name)
        self.extensions(data, parts, name)
        base = (name, where, display)
        f = _Fields(self, data, parts, name, str(kind))
        if kind == "node":
            return NodeOp(
                *base,
                builder=f.string("builder", required=True),
                config=data.get("config"),
                next=f.link("next", required=True),
                stream_out=f.links_map("stream_out"),
            )
        if kind == "section":
            builder = f.string("builder") if "builder" in data else None
            template = f.string("template") if "template" in data else None
            if builder is None and template is None:
                self.add(
                    name,
                    where,
                    'a section needs "builder" (a registered section builder) or '
                    '"template" (a template of this diagram)',
                )
            elif builder is not None and template is not None:
                self.add(name, where, 'a section has "builder" or "template", not both; remove one')
            return SectionOp(
                *base,
                builder=builder,
                template=template,
                config=data.get("config"),
                connect=f.links_map("connect"),
            )
        if kind == "scope":
            settings = data.get("settings", {})
            uninterruptible = False
            if not isinstance(settings, Mapping):
                self.add(
                    name,
                    pointer(*parts, "settings"),
                    'scope "settings" must be an object such as {"uninterruptible": false}, '
                    f"got {shown(settings)}",
                )
            else:
                flag = settings.get("uninterruptible", False)
                if not isinstance(flag, bool):
                    self.add(
                        name,
                        pointer(*parts, "settings", "uninterruptible"),
                        f'"uninterruptible" must be true or false, got {shown(flag)}',
                    )
                else:
                    uninterruptible = flag
            if "ops" not in data:
                self.add(name, where, 'a scope needs "ops": the operations inside it')
            handler = data.get("on_implicit_error")
            too_deep = self.depth >= MAX_NESTING
            return ScopeOp(
                *base,
                start=f.link("start", required=True),
                ops=self.scope_body(data.get("ops", {}), parts, name),
                next=f.link("next", required=True),
                stream_out=f.links_map("stream_out"),
                on_implicit_error=None
                if handler is None
                else self.link(handler, pointer(*parts, "on_implicit_error"), name),
                uninterruptible=uninterruptible,
                too_deep=too_deep,
            )
        if kind == "stream_out":
            return StreamOutOp(*base, stream=f.string("name", required=True))
        if kind == "fork_clone":
            return ForkCloneOp(*base, next=f.links_list("next", required=True))
        if kind == "unzip":
            return UnzipOp(*base, next=f.links_list("next", required=True))
        if kind == "fork_result":
            return ForkResultOp(
                *base, ok=f.link("ok", required=True), err=f.link("err", required=True)
            )
        if kind == "split":
            remaining = data.get("remaining")
            return SplitOp(
                *base,
                sequential=f.links_list("sequential"),
                keyed=f.links_map("keyed"),
                remaining=None
                if remaining is None
                else self.link(remaining, pointer(*parts, "remaining"), name),
            )
        if kind in ("join", "serialized_join"):
            serialize = True if kind == "serialized_join" else f.boolean("serialize")
            return JoinOp(
                *base,
                buffers=f.buffers(),
                clone=f.identifiers("clone"),
                serialize=serialize,
                next=f.link("next", required=True),
            )
        if kind == "transform":
            on_error = data.get("on_error")
            cel = f.string("cel", required=True)
            if data.get("cel") == "":
                self.add(
                    name,
                    pointer(*parts, "cel"),
                    '"cel" is empty; write the expression, e.g. "request" or "request.x"',
                )
            return TransformOp(
                *base,
                cel=cel,
                next=f.link("next", required=True),
                on_error=None
                if on_error is None
                else self.link(on_error, pointer(*parts, "on_error"), name),
            )
        if kind == "buffer":
            retention, n = f.retention()
            return BufferOp(*base, retention=retention, n=n, serialize=f.boolean("serialize"))
        if kind == "buffer_access":
            return BufferAccessOp(*base, buffers=f.buffers(), next=f.link("next", required=True))
        if kind == "listen":
            return ListenOp(*base, buffers=f.buffers(), next=f.link("next", required=True))
        assert kind == "script"
        return ScriptOp(*base)

    # ---------------------------------------------------------------- targets

    def link(self, value: object, where: str, op: str) -> Link | None:
        if isinstance(value, str):
            return Link(Name(value), where)
        if isinstance(value, Mapping):
            if "builtin" in value:
                target = value["builtin"]
                if target in BUILTINS:
                    assert isinstance(target, str)
                    return Link(Builtin(target), where)
                self.add(
                    op,
                    where + "/builtin",
                    f"unknown builtin target "
                    f"{repr(target) if isinstance(target, str) else shown(target)}."
                    + suggest(target, BUILTINS, "builtin targets"),
                )
                return None
            if len(value) == 1:
                ((section, inner),) = value.items()
                if isinstance(inner, str):
                    return Link(Exposed(section, inner), where)
        self.add(
            op,
            where,
            f'{shown(value)} is not a target: write an operation name ("x"), '
            '{"builtin": "terminate"} (or "dispose", "cancel", "implicit_cancel"), or '
            '{"<section>": "<input>"} for an input a section exposes',
        )
        return None


class _Fields:
    """Reads the fields of one operation, reporting what is missing or malformed."""

    def __init__(
        self,
        reader: _Reader,
        data: Mapping[str, Any],
        parts: tuple[str | int, ...],
        op: str,
        kind: str,
    ) -> None:
        self.reader = reader
        self.data = data
        self.parts = parts
        self.op = op
        self.kind = kind

    def where(self, *more: str | int) -> str:
        return pointer(*self.parts, *more)

    def missing(self, key: str, what: str) -> None:
        self.reader.add(
            self.op, self.where(), f"a {self.kind} operation needs {key!r} ({what}); add it"
        )

    def string(self, key: str, required: bool = False) -> str:
        if key not in self.data:
            if required:
                self.missing(key, "a string")
            return ""
        value = self.data[key]
        if not isinstance(value, str):
            self.reader.add(
                self.op, self.where(key), f"{key!r} must be a string, got {shown(value)}"
            )
            return ""
        return value

    def boolean(self, key: str) -> bool:
        value = self.data.get(key, False)
        if value is None:
            return False
        if not isinstance(value, bool):
            self.reader.add(
                self.op, self.where(key), f"{key!r} must be true or false, got {shown(value)}"
            )
            return False
        return value

    def link(self, key: str, required: bool = False) -> Link | None:
        if key not in self.data:
            if required:
                self.missing(key, "a target")
            return None
        return self.reader.link(self.data[key], self.where(key), self.op)

    def links_list(self, key: str, required: bool = False) -> tuple[Link, ...]:
        if key not in self.data:
            if required:
                self.missing(key, "an array of targets")
            return ()
        value = self.data[key]
        if not isinstance(value, list):
            self.reader.add(
                self.op, self.where(key), f"{key!r} must be an array of targets, got {shown(value)}"
            )
            return ()
        links = []
        for i, item in enumerate(value):
            link = self.reader.link(item, self.where(key, i), self.op)
            if link is not None:
                links.append(link)
        return tuple(links)

    def links_map(self, key: str) -> tuple[tuple[str, Link], ...]:
        value = self.data.get(key)
        if value is None:
            return ()
        if not isinstance(value, Mapping):
            self.reader.add(
                self.op,
                self.where(key),
                f"{key!r} must be an object of name to target, got {shown(value)}",
            )
            return ()
        links = []
        for name, item in value.items():
            link = self.reader.link(item, self.where(key, name), self.op)
            if link is not None:
                links.append((name, link))
        return tuple(links)

    def buffers(self) -> BufferSelection:
        if "buffers" not in self.data:
            self.missing("buffers", "an array or object of buffers")
            return BufferSelection("tuple", ())
        value = self.data["buffers"]
        if isinstance(value, list):
            entries = []
            for i, item in enumerate(value):
                link = self.reader.link(item, self.where("buffers", i), self.op)
                if link is not None:
                    entries.append((i, link))
            return BufferSelection("tuple", tuple(entries))
        if isinstance(value, Mapping):
            keyed = []
            for key, item in value.items():
                link = self.reader.link(item, self.where("buffers", key), self.op)
                if link is not None:
                    keyed.append((key, link))
            return BufferSelection("dict", tuple(keyed))
        self.reader.add(
            self.op,
            self.where("buffers"),
            f'"buffers" must be an array or an object of buffer names, got {shown(value)}',
        )
        return BufferSelection("tuple", ())

    def identifiers(self, key: str) -> tuple[tuple[str | int, str], ...]:
        value = self.data.get(key)
        if value is None:
            return ()
        if not isinstance(value, list):
            self.reader.add(
                self.op,
                self.where(key),
                f"{key!r} must be an array of buffer keys or indexes, got {shown(value)}",
            )
            return ()
        out: list[tuple[str | int, str]] = []
        for i, item in enumerate(value):
            if isinstance(item, str) or (
                isinstance(item, int) and not isinstance(item, bool) and item >= 0
            ):
                out.append((item, self.where(key, i)))
            else:
                self.reader.add(
                    self.op,
                    self.where(key, i),
                    f"a buffer key is a string or an index >= 0, got {shown(item)}",
                )
        return tuple(out)

    def retention(self) -> tuple[str, int | None]:
        settings = self.data.get("settings")
        if settings is None:
            return "keep_last", 1
        example = (
            '{"retention": {"keep_last": 1}}, {"retention": {"keep_first": 5}} or '
            '{"retention": "keep_all"}'
        )
        if not isinstance(settings, Mapping) or "retention" not in settings:
            self.reader.add(
                self.op,
                self.where("settings"),
                f"buffer settings are {example}; got {shown(settings)}",
            )
            return "keep_last", 1
        value = settings["retention"]
        if value == "keep_all":
            return "keep_all", None
        if isinstance(value, Mapping) and len(value) == 1:
            ((kind, n),) = value.items()
            if kind in ("keep_last", "keep_first"):
                if isinstance(n, int) and not isinstance(n, bool) and n >= 0:
                    return str(kind), n
                self.reader.add(
                    self.op,
                    self.where("settings", "retention", kind),
                    f"{kind} needs a count >= 0, got {shown(n)}",
                )
                return "keep_last", 1
        self.reader.add(
            self.op,
            self.where("settings", "retention"),
            f"retention is one of {example}; got {shown(value)}",
        )
        return "keep_last", 1
