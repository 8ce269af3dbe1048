"""Delivery instructions of a provider (S7.5): serial, labels, pre-emption and `ensure`.

A `DeliveryQueues` is the identity of one provider's queues, shared by its instructed
copies; a `Delivery` is how one copy's requests are queued. The queues themselves belong
to the runtime.
"""

from __future__ import annotations

from collections.abc import Hashable

from ._arguments import check_flag, shown
from ._errors import InvalidArgument


class DeliveryQueues:
    """The identity of one provider's queues, shared by its instructed copies (S7.5).

    `serial` says whether every request waits for the previous one, whatever its label.
    The runtime keeps the queues themselves, per event loop, keyed by this object.
    """

    __slots__ = ("__weakref__", "serial")

    def __init__(self, serial: bool) -> None:
        self.serial = serial

    def __repr__(self) -> str:
        return f"<DeliveryQueues serial={self.serial}>"


class Delivery:
    """How requests of one provider are delivered: its queues and the instructions."""

    __slots__ = ("ensure", "label", "preempt", "queues")

    def __init__(
        self,
        queues: DeliveryQueues,
        label: Hashable = None,
        preempt: bool = False,
        ensure: bool = False,
    ) -> None:
        self.queues = queues
        self.label = label
        self.preempt = preempt
        self.ensure = ensure

    def __repr__(self) -> str:
        return (
            f"<Delivery label={self.label!r} preempt={self.preempt} ensure={self.ensure} "
            f"serial={self.queues.serial}>"
        )


def make_delivery(
    queues: DeliveryQueues, label: object, preempt: object, ensure: object, where: str
) -> Delivery:
    """Validate `instruct(...)` arguments."""
    try:
        hash(label)
    except TypeError:
        raise InvalidArgument(
            f"{where}: label must be hashable (a str, a number, a tuple, ...), got {shown(label)}"
        ) from None
    preempt = check_flag(preempt, f"{where}: preempt")
    ensure = check_flag(ensure, f"{where}: ensure")
    if preempt and label is None and not queues.serial:
        raise InvalidArgument(
            f"{where}: preempt=True needs a label (requests pre-empt earlier requests with the "
            "same label), or a serial service"
        )
    return Delivery(queues, label, preempt, ensure)
