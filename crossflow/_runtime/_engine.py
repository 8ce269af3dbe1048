"""The engine of one run: its state, and its behaviour gathered from the families.

`Engine` is what every handler receives. Its behaviour lives in the modules of the
families, each with the handlers of its operation kinds and the functions they use;
each function takes the engine first, and is listed below as a method of the engine:

* `_core`: the ready queue, activity accounting and the flush;
* `_sessions`: opening, ending and cleaning up sessions, policies, timeouts;
* `_tasks`: services and maps, inline calls and activations;
* `_forks` (handlers only): forks, filters, spreads and splits;
* `_collect`: collects;
* `_buffers`: buffers, joins, listeners, keys and gates;
* `_trim`: trims;
* `_delivered`: delivery queues;
* `_reachability`: reachability checks.

The families hold no state of their own: the engine's slots, initialised here, are the
whole state of a run, so a run costs one object and no reference cycle.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

import anyio

from . import _buffers, _collect, _core, _delivered, _reachability, _sessions, _tasks, _trim

if TYPE_CHECKING:
    from anyio import CancelScope
    from anyio.abc import TaskGroup

    from .._causes import UserCancelled
    from ..events import Event
    from ._controls import Slots
    from ._entry import EntryQueue
    from ._plan import Plan
    from ._scope_session import ScopeSession


class Engine:
    """Runs the sessions of one `run` or `start` call."""

    # the state of a run, by family: see `__init__`
    __slots__ = (
        "audit",
        "checks",
        "closing",
        "collect_checks",
        "deferred",
        "depth",
        "detached",
        "done",
        "entry",
        "failures",
        "fatal",
        "flushing",
        "forced",
        "idle",
        "inject",
        "injecting",
        "left",
        "limits",
        "log",
        "notes",
        "on_fatal",
        "pending",
        "queue",
        "root",
        "sink",
        "tg",
        "timers",
        "yielded",
    )

    def __init__(
        self,
        events: bool = True,
        on_event: Callable[[Event], object] | None = None,
        inject: Callable[[str], Exception | None] | None = None,
    ) -> None:
        self.queue: deque[tuple[ScopeSession, int, Any]] = deque()
        # called after every step when the bookkeeping is audited (`_audit.py`)
        self.audit: Callable[[], None] | None = None
        # the run's task group, once the driver opened one
        self.tg: TaskGroup | None = None
        # sessions and collects to check once the queue is empty (S2.4, S5.2); created
        # when first needed: a run in flight should hold few objects (W3)
        self.checks: list[ScopeSession] | None = None
        self.collect_checks: list[tuple[ScopeSession, int]] | None = None
        self.flushing = False
        self.root: ScopeSession | None = None
        self.done: anyio.Event | None = None
        # a flush stopped at FLUSH_LIMIT and left messages queued
        self.yielded = False
        # the event log (S9.2): (time, event class, session, fields), or None when off
        self.log: list[tuple[Any, ...]] | None = [] if events else None
        if on_event is not None:
            self.observe(on_event)
        # testing: called before every service activation with the operation's name; an
        # exception it returns is raised in place of the call (`crossflow.testing`)
        self.inject = inject
        self.injecting: dict[int, list[Any]] | None = {} if inject is not None else None
        # warnings for the caller: raised from inside the engine, a warning turned into
        # an error (`-W error`) would break the run, so they wait for its end
        self.notes: list[str] | None = None
        # how many operations raised: recording handlers compare it around a call
        self.failures = 0
        # a KeyboardInterrupt, SystemExit, ... that a service raised: the driver raises it
        # once the run is cleaned up
        self.fatal: BaseException | None = None
        self.on_fatal: Callable[[], None] | None = None
        # the way back in from other threads (executors, a cancel from another thread),
        # made on the event loop when first needed
        self.entry: EntryQueue | None = None
        # where a root session's stream messages go (`start`), or None (`run`)
        self.sink: Callable[[str | None, Any], None] | None = None

        # --- sessions
        # how deep the cleanup cascade is, and the sessions it left for later (S6.7)
        self.depth = 0
        self.deferred: deque[ScopeSession] | None = None
        # timers that wait for the run's task group (S6.5)
        self.timers: list[Callable[[], Coroutine[Any, Any, None]]] | None = None
        # work that cancellation policies left running in the background (S6.6), and
        # whether the run's caller wants out: then that work is cancelled too
        self.left: dict[CancelScope, None] = {}
        self.detached: dict[ScopeSession, None] = {}
        self.closing: str | None = None
        # the cause of a forced cancel (`session.cancel(force=True)`), once there is one
        self.forced: UserCancelled | None = None
        # set once the root session has ended and no work is left in the background
        self.idle: anyio.Event | None = None
        # --- tasks
        # activations asked for before the run had a task group: the driver decides
        # where they run (created when first needed: W3)
        self.pending: list[tuple[ScopeSession, int, Any]] | None = None
        # the max_concurrency slots of each node that has them, for the run (S10.4)
        self.limits: dict[tuple[Plan, int], Slots] | None = None

    def __repr__(self) -> str:
        return f"<Engine root={self.root!r} queued={len(self.queue)}>"

    # ------------------------------------------------------------------ the families

    # core: the queue, activity accounting and the flush
    entry_queue = _core.entry_queue
    between_operations = _core.between_operations
    queue_next = _core.queue_next
    warn = _core.warn
    finish_reports = _core.finish_reports
    observe = _core.observe
    log_event = _core.log_event
    send = _core.send
    inc = _core.inc
    dec = _core.dec
    dispose = _core.dispose
    record_disposal = _core.record_disposal
    _check = _core._check
    _check_collect = _core._check_collect
    _up = _core._up
    _down = _core._down
    _update_holding = _core._update_holding
    flush = _core.flush
    _yield = _core._yield
    resume = _core.resume
    _settle = _core._settle
    drop_activation = _core.drop_activation

    # sessions: opening, ending and cleaning up sessions (S1, S6)
    open_session = _sessions.open_session
    _open_delivered = _sessions._open_delivered
    terminate = _sessions.terminate
    cancel = _sessions.cancel
    fail = _sessions.fail
    stop_everything = _sessions.stop_everything
    interrupt = _sessions.interrupt
    maybe_idle = _sessions.maybe_idle
    cancel_from_outside = _sessions.cancel_from_outside
    force = _sessions.force
    _force_all = _sessions._force_all
    clean = _sessions.clean
    _clean_one = _sessions._clean_one
    leave_task = _sessions.leave_task
    stop_child = _sessions.stop_child
    leave_child = _sessions.leave_child
    maybe_finish = _sessions.maybe_finish
    _finish_one = _sessions._finish_one
    _start_cleanups = _sessions._start_cleanups
    _report_cleanup = _sessions._report_cleanup
    start_timeout = _sessions.start_timeout
    start_timer = _sessions.start_timer
    _cleanup_timeout = _sessions._cleanup_timeout
    _timeout = _sessions._timeout

    # tasks: services, inline calls and activations
    spawn = _tasks.spawn
    spawn_packed = _tasks.spawn_packed
    _place = _tasks._place
    run_alone = _tasks.run_alone
    _runner = _tasks._runner
    _queue_for_host = _tasks._queue_for_host
    open_task_group = _tasks.open_task_group
    _host = _tasks._host
    activation_call = _tasks.activation_call
    activation_cancelled = _tasks.activation_cancelled
    record_cancelled = _tasks.record_cancelled
    activation_failed = _tasks.activation_failed
    run_activation = _tasks.run_activation
    activation_ended = _tasks.activation_ended
    run_scoped_activation = _tasks.run_scoped_activation
    _failed_scoped = _tasks._failed_scoped

    # buffers, joins, listeners, keys and gates (S7)
    buffer_arrival = _buffers.buffer_arrival
    _notify = _buffers._notify
    make_keys = _buffers.make_keys
    view_closed = _buffers.view_closed
    join_wake = _buffers.join_wake
    gate = _buffers.gate

    # collects (S5)
    collect_arrival = _collect.collect_arrival
    _fire = _collect._fire
    settle_collects = _collect.settle_collects

    # reachability (S2)
    check_reachability = _reachability.check_reachability
    _reachable = _reachability._reachable

    # trims
    trim = _trim.trim
    check_trims = _trim.check_trims

    # delivery queues (S7.5)
    deliver = _delivered.deliver
    _start_delivered = _delivered._start_delivered
    _supplant = _delivered._supplant
