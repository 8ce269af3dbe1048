"""What an operation, a port and a cleanup workflow are called in every picture.

Mermaid, DOT and the SVG say the same things: the operation's name, a short line on what
it does (its kind and its main settings), and the port on each edge that is not a
single `out`.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

from .._buffers import BufferSettings
from .._model import (
    AccessSettings,
    CancelSettings,
    CleanupWorkflow,
    CollectSettings,
    Connection,
    DelaySettings,
    FilterSettings,
    GateSettings,
    JoinSettings,
    NestedScopeSettings,
    NodeSettings,
    Operation,
    OperationKind,
    PushSettings,
    SplitSettings,
    StreamOutSettings,
    TrimSettings,
)
from .._policy import CancellationPolicy

Family: TypeAlias = Literal[
    "terminal",
    "node",
    "scope",
    "flow",
    "filter",
    "cancel",
    "buffer",
    "buffer_op",
    "delay",
    "stream",
]

FAMILY: dict[OperationKind, Family] = {
    "start": "terminal",
    "terminate": "terminal",
    "stream_out": "stream",
    "node": "node",
    "scope": "scope",
    "fork_clone": "flow",
    "unzip": "flow",
    "fork_result": "flow",
    "fork_option": "flow",
    "filter": "filter",
    "cancel": "cancel",
    "spread": "flow",
    "collect": "flow",
    "split": "flow",
    "buffer": "buffer",
    "join": "buffer_op",
    "listen": "buffer_op",
    "access": "buffer_op",
    "push": "buffer_op",
    "gate": "buffer_op",
    "trim": "buffer_op",
    "delay": "delay",
}
"""How each kind is drawn: operations of one family share a shape and colours."""

MAX_NAME = 40
MAX_DETAIL = 48


def clip(text: str, limit: int) -> str:
    """`text`, cut to `limit` characters with an ellipsis."""
    return text if len(text) <= limit else text[: max(limit - 1, 1)] + "…"


def safe_text(text: str) -> str:
    """`text` with what no picture can carry made visible: control characters become
    `\\xNN`; unpaired surrogates and the non-characters U+FFFE and U+FFFF, which XML
    cannot hold, the replacement character."""
    if text.isprintable():
        return text
    out = []
    for ch in text:
        code = ord(ch)
        if 0xD800 <= code <= 0xDFFF or code in (0xFFFE, 0xFFFF):
            out.append("\ufffd")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        else:
            out.append(ch)
    return "".join(out)


def _names(names: tuple[str, ...], limit: int = 3) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" +{len(names) - limit}" if len(names) > limit else "")


def _seconds(seconds: float) -> str:
    return f"{seconds:g} s"


def detail(op: Operation) -> str:
    """One short line on what `op` does: its kind and main settings."""
    s = op.settings
    kind = op.kind
    text: str = kind
    if isinstance(s, NodeSettings):
        parts: list[str] = [s.mode]
        if s.streams:
            parts.append("streams " + _names(tuple(s.streams)))
        if s.cancellation is not CancellationPolicy.WAIT:
            parts.append(s.cancellation.name)
        if s.serial:
            parts.append("serial")
        if s.label is not None:
            parts.append(f"label {s.label!r}")
        text = " · ".join(parts)
    elif isinstance(s, NestedScopeSettings):
        parts = ["scope" if s.workflow is None else f"workflow {s.workflow}"]
        if s.scope.uninterruptible:
            parts.append("uninterruptible")
        if s.scope.timeout is not None:
            parts.append("timeout " + _seconds(s.scope.timeout))
        if s.cancellation is not CancellationPolicy.WAIT:
            parts.append(s.cancellation.name)
        if s.label is not None:
            parts.append(f"label {s.label!r}")
        text = " · ".join(parts)
    elif isinstance(s, StreamOutSettings):
        text = f"stream out {s.stream}"
    elif isinstance(s, FilterSettings):
        text = s.mode
    elif isinstance(s, CancelSettings):
        text = "quiet cancel" if s.quiet else "cancel"
    elif isinstance(s, CollectSettings):
        text = f"collect {s.min}..{'' if s.max is None else s.max}"
    elif isinstance(s, SplitSettings):
        text = "split"
    elif isinstance(s, BufferSettings):
        text = "buffer " + ("keep_all" if s.n is None else f"{s.retention}({s.n})")
    elif isinstance(s, JoinSettings):
        text = "join " + _names(
            tuple(b + ("*" if c else "") for b, c in zip(s.buffers, s.cloned, strict=False))
        )
    elif isinstance(s, AccessSettings):
        text = f"{kind} {_names(s.buffers)}"
        if s.with_message:
            text += " +msg"
    elif isinstance(s, PushSettings):
        text = f"push to {s.buffer}"
    elif isinstance(s, GateSettings):
        text = f"gate {'open' if s.open else 'close'} {_names(s.buffers)}"
    elif isinstance(s, TrimSettings):
        text = "trim " + _names(s.span) if s.span else "trim"
    elif isinstance(s, DelaySettings):
        text = "delay " + _seconds(s.seconds)
    return clip(safe_text(text), MAX_DETAIL)


def name(op: Operation) -> str:
    """The operation's name as shown (control characters made visible, long names cut)."""
    return clip(safe_text(op.name), MAX_NAME)


def port_label(connection: Connection) -> str | None:
    """The label of an edge: its port, or None for a message edge from a single `out`."""
    if connection.kind == "message" and connection.port == "out":
        return None
    return clip(safe_text(connection.port), 16)


WHEN = {"cancel": "when cancelled", "terminate": "when terminated", "cleanup": "always"}


def cleanup_title(cleanup: CleanupWorkflow) -> str:
    """`on_cancel`, `on_terminate` or `on_cleanup`."""
    return f"on_{cleanup.when}"


def cleanup_detail(cleanup: CleanupWorkflow) -> str:
    """When a cleanup workflow runs and which buffers it gets keys to."""
    keys = f" · keys {_names(cleanup.buffers)}" if cleanup.buffers else ""
    ending = " · with Ending" if cleanup.ending else ""
    return clip(safe_text(f"runs {WHEN[cleanup.when]}{keys}{ending}"), MAX_DETAIL + 12)
