"""Delivery queues (S7.5): serial providers, labels, pre-emption and `ensure`.

A provider's queues are shared by every session and workflow that uses it in one event
loop. Event loops in other threads (`run_sync` called from several threads) each get
queues of their own: a request is always started, and released, by the loop that made
it, so no loop ever waits for another.

Each request gets a ticket; a ticket runs when its lane is free. The lane is the whole
provider when it is serial, else the request's label. Requests of a parallel provider
without a label get no ticket: they start at once.
"""

from __future__ import annotations

import threading
import weakref
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .._instructions import Delivery, DeliveryQueues

_ALL = object()  # the single lane of a serial provider

QUEUED = "queued"
RUNNING = "running"
DONE = "done"


class Lanes:
    """The running and waiting tickets of one provider, per lane."""

    __slots__ = ("running", "waiting")

    def __init__(self) -> None:
        self.running: dict[object, Ticket] = {}
        self.waiting: dict[object, deque[Ticket]] = {}

    def __repr__(self) -> str:
        waiting = sum(len(q) for q in self.waiting.values())
        return f"<Lanes {len(self.running)} running, {waiting} waiting>"


class Ticket:
    """One request in a provider's queues."""

    __slots__ = (
        "ensure",
        "label",
        "lane",
        "lanes",
        "on_start",
        "on_supplant",
        "state",
        "supplanted",
    )

    def __init__(
        self,
        lanes: Lanes,
        lane: object,
        delivery: Delivery,
        on_start: Callable[[Ticket], None],
        on_supplant: Callable[[Ticket, bool, str], None],
    ) -> None:
        self.lanes = lanes
        self.lane = lane
        self.label = delivery.label
        self.ensure = delivery.ensure
        self.on_start = on_start
        self.on_supplant = on_supplant
        self.state = QUEUED
        # a pre-empting request stopped it: an activation that did not begin never will
        self.supplanted = False

    def __repr__(self) -> str:
        return f"<Ticket label={self.label!r} {self.state}{' ensured' if self.ensure else ''}>"


def submit(
    delivery: Delivery,
    by: str,
    on_start: Callable[[Ticket], None],
    on_supplant: Callable[[Ticket, bool, str], None],
) -> Ticket | None:
    """Queue a request; `on_start` runs when it may start (maybe right away).

    `on_supplant(ticket, running, by)` runs when a pre-empting request removes it: a
    queued ticket is already out of the queue; a running one must stop, and `release`
    it once its cleanup is done. Returns None when the request needs no queue.
    """
    queues = delivery.queues
    if not queues.serial and delivery.label is None:
        return None
    lanes = _lanes(queues)
    lane = _ALL if queues.serial else delivery.label
    ticket = Ticket(lanes, lane, delivery, on_start, on_supplant)
    if delivery.preempt:
        waiting = lanes.waiting.get(lane)
        if waiting:
            for other in list(waiting):
                if other.label == delivery.label and not other.ensure:
                    waiting.remove(other)
                    other.state = DONE
                    other.on_supplant(other, False, by)
        running = lanes.running.get(lane)
        if (
            running is not None
            and running.label == delivery.label
            and not running.ensure
            and not running.supplanted
        ):
            running.supplanted = True
            running.on_supplant(running, True, by)
    if lane in lanes.running:
        lanes.waiting.setdefault(lane, deque()).append(ticket)
    else:
        _start(lanes, lane, ticket)
    return ticket


_local = threading.local()


def _lanes(queues: DeliveryQueues) -> Lanes:
    """The lanes of `queues` for the event loop of this thread."""
    table: weakref.WeakKeyDictionary[DeliveryQueues, Lanes] | None = getattr(_local, "lanes", None)
    if table is None:
        table = _local.lanes = weakref.WeakKeyDictionary()
    lanes = table.get(queues)
    if lanes is None:
        lanes = table[queues] = Lanes()
    return lanes


def _start(lanes: Lanes, lane: object, ticket: Ticket) -> None:
    lanes.running[lane] = ticket
    ticket.state = RUNNING
    ticket.on_start(ticket)


def release(ticket: Ticket) -> None:
    """The request ended (or was withdrawn before it started): the next one may run."""
    lanes = ticket.lanes
    if ticket.state == QUEUED:
        waiting = lanes.waiting.get(ticket.lane)
        if waiting is not None and ticket in waiting:
            waiting.remove(ticket)
        ticket.state = DONE
        return
    if ticket.state != RUNNING:
        return
    ticket.state = DONE
    if lanes.running.get(ticket.lane) is ticket:
        del lanes.running[ticket.lane]
    waiting = lanes.waiting.get(ticket.lane)
    if waiting:
        _start(lanes, ticket.lane, waiting.popleft())
        if not waiting:
            del lanes.waiting[ticket.lane]
