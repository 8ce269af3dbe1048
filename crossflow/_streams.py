"""What a service that declares streams receives: `streams.<name>.send(message)`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, final


class StreamSender:
    """Sends messages on one declared stream of a running service activation."""

    __slots__ = ("_name", "_send", "sent")

    def __init__(self, name: str, send: Callable[[Any], None]) -> None:
        self._name = name
        self._send = send
        self.sent = 0

    def send(self, message: Any) -> None:
        """Send `message` on this stream; it reaches its target before the final response."""
        self.sent += 1
        self._send(message)

    def __repr__(self) -> str:
        return f"<StreamSender {self._name!r}: {self.sent} sent>"


@final
class Streams:
    """The `streams` keyword argument of a service that declares streams.

    Each declared stream is an attribute with a `send(message)` method:
    `streams.progress.send(0.5)`.
    """

    __slots__ = ("_senders",)

    def __init__(self, senders: Mapping[str, StreamSender]) -> None:
        self._senders = dict(senders)

    def __getattr__(self, name: str) -> StreamSender:
        try:
            return self._senders[name]
        except KeyError:
            declared = ", ".join(self._senders) or "none"
            raise AttributeError(
                f"no stream named {name!r}; the service declared: {declared}"
            ) from None

    def __repr__(self) -> str:
        return f"<Streams {', '.join(self._senders)}>"
