"""The registry: the node builders and section builders a diagram refers to by name."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol, TypeVar, final

import attrs

from .._builder import Builder
from .._errors import InvalidArgument
from .._handles import Buffer, InputSlot, Node, Output
from ._metadata import registry_metadata
from ._types import ConversionError, Decoder, decoder, to_json, type_name

F = TypeVar("F", bound=Callable[..., Any])


class NamedNodeBuildFn(Protocol):
    """A node builder that takes the operation's id: `(builder, config, *, name)`."""

    def __call__(self, builder: Builder, config: Any, /, *, name: str) -> Node[Any, Any]: ...


class NamedSectionBuildFn(Protocol):
    """A section builder that takes the operation's id: `(builder, config, *, name)`."""

    def __call__(self, builder: Builder, config: Any, /, *, name: str) -> Section: ...


NodeBuildFn = Callable[[Builder, Any], "Node[Any, Any]"] | NamedNodeBuildFn
SectionBuildFn = Callable[[Builder, Any], "Section"] | NamedSectionBuildFn


def _takes_name(build_fn: object) -> bool:
    """Whether `build_fn` has a keyword-only parameter `name` (the operation's id)."""
    try:
        parameters = inspect.signature(build_fn).parameters  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    found = parameters.get("name")
    return found is not None and found.kind is inspect.Parameter.KEYWORD_ONLY


def _check_map(value: object, where: str, what: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidArgument(f"{where}: {what} must be a dict, got {value!r}")
    for key in value:
        if not isinstance(key, str):
            raise InvalidArgument(f"{where}: the keys of {what} must be str, got {key!r}")
    return dict(value)


def _inputs(
    value: Mapping[str, InputSlot[Any] | Buffer[Any]],
) -> dict[str, InputSlot[Any] | Buffer[Any]]:
    return dict(value)


def _outputs(value: Mapping[str, Output[Any]]) -> dict[str, Output[Any]]:
    return dict(value)


def _buffers(value: Mapping[str, Buffer[Any]]) -> dict[str, Buffer[Any]]:
    return dict(value)


@final
@attrs.frozen
class Section:
    """What a section builder returns: the ports it exposes to the rest of the diagram.

    A `section` operation with a `builder` calls the registered section builder and
    connects the diagram to what it returns: siblings send messages into `inputs`
    (`{"<section>": "<input>"}`), the section's `connect` sends each of `outputs`
    to a target, and `buffers` can be joined, listened to and pushed into.

    Attributes:
        inputs: exposed name to input slot (or buffer) of an operation the builder made.
        outputs: exposed name to output of an operation the builder made.
        buffers: exposed name to buffer the builder made.
    """

    inputs: Mapping[str, InputSlot[Any] | Buffer[Any]] = attrs.field(
        factory=dict, converter=_inputs
    )
    outputs: Mapping[str, Output[Any]] = attrs.field(factory=dict, converter=_outputs)
    buffers: Mapping[str, Buffer[Any]] = attrs.field(factory=dict, converter=_buffers)


_UNTYPED: Any = object()


@attrs.frozen
class _Config:
    """A declared config type (or none), its decoder and its examples."""

    type: Any
    decode: Decoder | None
    examples: tuple[tuple[str, Any], ...]

    def convert(self, value: Any) -> Any:
        """The op's `config` as the builder receives it; `ConversionError` when it does not fit."""
        if self.decode is None:
            return value
        return self.decode(value, "")


@attrs.frozen
class NodeBuilder:
    """A registered node builder."""

    name: str
    build: Any  # a NodeBuildFn; called with name= when takes_name
    config: _Config
    request: Any  # a declared type, or None for JSON
    response: Any
    streams: Mapping[str, Any] | None  # None: not declared
    display_text: str
    description: str | None
    request_decode: Decoder | None
    takes_name: bool = False


@attrs.frozen
class SectionBuilder:
    """A registered section builder."""

    name: str
    build: Any  # a SectionBuildFn; called with name= when takes_name
    config: _Config
    inputs: Mapping[str, Any]
    outputs: Mapping[str, Any]
    buffers: Mapping[str, Any]
    display_text: str
    description: str | None
    takes_name: bool = False


def _type(value: object, where: str, what: str) -> Decoder | None:
    if value is None:
        return None
    try:
        return decoder(value)
    except TypeError as error:
        raise InvalidArgument(f"{where}: {what}={value!r} cannot be used: {error}") from None


def _config(config: object, examples: object, where: str) -> _Config:
    decode = _type(config, where, "config")
    if isinstance(examples, (str, bytes)) or not isinstance(examples, Iterable):
        raise InvalidArgument(
            f"{where}: config_examples must be a sequence of (description, config) pairs, "
            f"got {examples!r}"
        )
    checked: list[tuple[str, Any]] = []
    for example in examples:
        if isinstance(example, Mapping) and "description" in example and "config" in example:
            text, value = example["description"], example["config"]
        elif isinstance(example, tuple) and len(example) == 2:
            text, value = example
        else:
            raise InvalidArgument(
                f"{where}: a config example is a (description, config) pair, got {example!r}"
            )
        if not isinstance(text, str):
            raise InvalidArgument(
                f"{where}: a config example's description must be a str, got {text!r}"
            )
        try:
            json_value = to_json(value)
            if decode is not None:
                decode(json_value, "")
        except ConversionError as error:
            raise InvalidArgument(
                f"{where}: the config example {text!r} does not fit config={type_name(config)}: "
                f"{error}"
            ) from None
        checked.append((text, json_value))
    return _Config(config if decode is not None else _UNTYPED, decode, tuple(checked))


def _names_or_types(value: object, where: str, what: str) -> dict[str, Any]:
    if isinstance(value, Mapping):
        out = _check_map(value, where, what)
        for name, tp in out.items():
            _type(tp, where, f"{what}[{name!r}]")
        return out
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise InvalidArgument(
            f"{where}: {what} must be a sequence of names or a dict of name to type, got {value!r}"
        )
    out = {}
    for name in value:
        if not isinstance(name, str):
            raise InvalidArgument(f"{where}: the names in {what} must be str, got {name!r}")
        out[name] = None
    return out


@final
class Registry:
    """The node builders and section builders that diagrams refer to by name.

    ```python
    registry = cf.diagram.Registry()

    @registry.node_builder("mul", config=float | None, response=float)
    def mul(builder: cf.Builder, config: float | None) -> cf.Node[Any, float]:
        return builder.create_node(lambda x: x * (1.0 if config is None else config))
    ```

    A node builder is called once per `node` operation that names it, with the scope's
    `cf.Builder` and the operation's `config` converted to the declared config type
    (validated first: a config that does not fit is a problem of the diagram). It
    returns the `cf.Node` it created. One that takes a keyword-only `name` also gets
    the operation's id, to name the node after it. Registering a name again replaces
    the builder.
    """

    __slots__ = ("_nodes", "_sections")

    def __init__(self) -> None:
        self._nodes: dict[str, NodeBuilder] = {}
        self._sections: dict[str, SectionBuilder] = {}

    def __repr__(self) -> str:
        return (
            f"<Registry: {len(self._nodes)} node builders, {len(self._sections)} section builders>"
        )

    @property
    def node_builders(self) -> tuple[str, ...]:
        """The names of the registered node builders, in registration order."""
        return tuple(self._nodes)

    @property
    def section_builders(self) -> tuple[str, ...]:
        """The names of the registered section builders, in registration order."""
        return tuple(self._sections)

    def register_node_builder(
        self,
        name: str,
        build_fn: NodeBuildFn,
        *,
        config: Any = None,
        request: Any = None,
        response: Any = None,
        streams: Mapping[str, Any] | None = None,
        display_text: str | None = None,
        description: str | None = None,
        config_examples: Sequence[tuple[str, Any]] = (),
    ) -> None:
        """Register `build_fn(builder, config) -> cf.Node` under `name`.

        A `build_fn` with a keyword-only parameter `name` is also given the id of the
        operation it builds (`"triple"`; `"<section>/<op>"` inside a template): name the
        node with it (`builder.create_node(fn, name=name)`) and events, causes and
        pictures show the diagram's ids.

        Args:
            name: the name `node` operations give as `"builder"`.
            build_fn: creates the node with the builder it is given and returns it.
            config: the type of the operation's `config` (e.g. `float | None`, a
                dataclass); `None` passes the JSON value through unchecked.
            request: the type the node takes; messages are converted from JSON into it
                before they reach the node. `None`: JSON, passed as it is.
            response: the type the node returns; it is converted to JSON where JSON is
                needed. `None`: the response is passed on as it is.
            streams: the node's stream names and their types, for the metadata and to
                check `stream_out` without building.
            display_text: the name an editor shows (default: `name`).
            description: what the node does, for editors.
            config_examples: `(description, config)` pairs, for editors; each must fit
                `config`.

        Raises:
            InvalidArgument: a bad name, a `build_fn` that is not callable, a type that
                JSON cannot be converted into, or an example that does not fit `config`.
        """
        where = f"register_node_builder({name!r})"
        self._check_name(name, where, build_fn)
        cfg = _config(config, config_examples, where)
        request_decode = _type(request, where, "request")
        _type(response, where, "response")
        declared = None
        if streams is not None:
            declared = _check_map(streams, where, "streams")
            for stream, tp in declared.items():
                if not stream.isidentifier():
                    raise InvalidArgument(
                        f"{where}: stream names must be identifiers, got {stream!r}"
                    )
                _type(tp, where, f"streams[{stream!r}]")
        self._nodes[name] = NodeBuilder(
            name=name,
            build=build_fn,
            config=cfg,
            request=request,
            response=response,
            streams=declared,
            display_text=self._text(display_text, name, where),
            description=self._description(description, where),
            request_decode=request_decode,
            takes_name=_takes_name(build_fn),
        )

    def node_builder(
        self,
        name: str,
        *,
        config: Any = None,
        request: Any = None,
        response: Any = None,
        streams: Mapping[str, Any] | None = None,
        display_text: str | None = None,
        description: str | None = None,
        config_examples: Sequence[tuple[str, Any]] = (),
    ) -> Callable[[F], F]:
        """Decorator form of `register_node_builder`; returns the function unchanged."""

        def register(build_fn: F) -> F:
            self.register_node_builder(
                name,
                build_fn,
                config=config,
                request=request,
                response=response,
                streams=streams,
                display_text=display_text,
                description=description,
                config_examples=config_examples,
            )
            return build_fn

        return register

    def register_section_builder(
        self,
        name: str,
        build_fn: SectionBuildFn,
        *,
        inputs: Sequence[str] | Mapping[str, Any] = (),
        outputs: Sequence[str] | Mapping[str, Any] = (),
        buffers: Sequence[str] | Mapping[str, Any] = (),
        config: Any = None,
        display_text: str | None = None,
        description: str | None = None,
        config_examples: Sequence[tuple[str, Any]] = (),
    ) -> None:
        """Register `build_fn(builder, config) -> cf.diagram.Section` under `name`.

        As for a node builder, a `build_fn` with a keyword-only parameter `name` is given
        the section operation's id, to name what it makes (e.g. `f"{name}/add"`).

        The section's interface is declared here, so that a diagram can be checked
        (and an editor can draw it) without building: `inputs`, `outputs` and
        `buffers` are the exposed names, as a sequence, or as a dict of name to message
        type (`None` for JSON). The `Section` the builder returns must expose exactly
        these names. Input types are converted into like a node's request.

        Raises:
            InvalidArgument: a bad name or interface, or a type JSON cannot be
                converted into.
        """
        where = f"register_section_builder({name!r})"
        self._check_name(name, where, build_fn)
        cfg = _config(config, config_examples, where)
        ins = _names_or_types(inputs, where, "inputs")
        outs = _names_or_types(outputs, where, "outputs")
        bufs = _names_or_types(buffers, where, "buffers")
        both = sorted(set(ins) & set(bufs))
        if both:
            raise InvalidArgument(
                f"{where}: {', '.join(map(repr, both))} is both an input and a buffer; "
                "an exposed name means one thing"
            )
        self._sections[name] = SectionBuilder(
            name=name,
            build=build_fn,
            config=cfg,
            inputs=ins,
            outputs=outs,
            buffers=bufs,
            display_text=self._text(display_text, name, where),
            description=self._description(description, where),
            takes_name=_takes_name(build_fn),
        )

    def section_builder(
        self,
        name: str,
        *,
        inputs: Sequence[str] | Mapping[str, Any] = (),
        outputs: Sequence[str] | Mapping[str, Any] = (),
        buffers: Sequence[str] | Mapping[str, Any] = (),
        config: Any = None,
        display_text: str | None = None,
        description: str | None = None,
        config_examples: Sequence[tuple[str, Any]] = (),
    ) -> Callable[[F], F]:
        """Decorator form of `register_section_builder`; returns the function unchanged."""

        def register(build_fn: F) -> F:
            self.register_section_builder(
                name,
                build_fn,
                inputs=inputs,
                outputs=outputs,
                buffers=buffers,
                config=config,
                display_text=display_text,
                description=description,
                config_examples=config_examples,
            )
            return build_fn

        return register

    def metadata(self) -> dict[str, Any]:
        """The registry in crossflow's registry metadata format, ready for `json.dumps`.

        Editors and tools made for crossflow read it: `nodes`, `sections`, `scripting`,
        `messages`, `schemas`, `reverse_message_lookup` and `trace_supported`. Message
        type 0 is JSON; each declared type gets its own entry, with its JSON Schema.
        """
        return registry_metadata(self._nodes.values(), self._sections.values())

    # ---------------------------------------------------------------- lookups

    def _node(self, name: str) -> NodeBuilder | None:
        return self._nodes.get(name)

    def _section(self, name: str) -> SectionBuilder | None:
        return self._sections.get(name)

    # ---------------------------------------------------------------- checks

    @staticmethod
    def _check_name(name: object, where: str, build_fn: object) -> None:
        if not isinstance(name, str) or not name:
            raise InvalidArgument(f"{where}: the name must be a non-empty str, got {name!r}")
        if not callable(build_fn):
            raise InvalidArgument(
                f"{where}: build_fn must be a function (builder, config) -> ..., got {build_fn!r}"
            )

    @staticmethod
    def _text(text: object, default: str, where: str) -> str:
        if text is None:
            return default
        if not isinstance(text, str):
            raise InvalidArgument(f"{where}: display_text must be a str, got {text!r}")
        return text

    @staticmethod
    def _description(text: object, where: str) -> str | None:
        if text is not None and not isinstance(text, str):
            raise InvalidArgument(f"{where}: description must be a str, got {text!r}")
        return text
