"""`cf.Session`: a handle on one running workflow session (API §3, S9)."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable, Container, Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar, final

import anyio

from ._causes import UserCancelled
from ._errors import CrossflowError, InvalidArgument
from ._eventlog import EventLog
from ._runtime._driver import issue_warnings, new_engine, outcome, watch
from ._runtime._log import Paths, materialise
from ._runtime._plan import plan_of
from ._state import SessionState
from ._text import safe_repr
from ._viz._display import run
from ._viz._live import show
from ._viz._pictures import run_svg
from ._viz._progress import Progress, Tracker
from .events import Cancelled, Event

if TYPE_CHECKING:
    from anyio.abc import TaskGroup

    from ._instructions import Delivery
    from ._model import Graph
    from ._runtime._engine import Engine
    from ._runtime._scope_session import ScopeSession as RootSession

Resp = TypeVar("Resp")

LEFT = "the `async with` block was left before the session ended"
LEFT_RAISING = "the `async with` block raised {} before the session ended"
LEFT_CANCELLED = "the task running the `async with` block was cancelled"


@final
class Session(Generic[Resp]):
    """A running session of a workflow: `async with wf.start(request) as session:`.

    Inside the block the session runs in the background while you watch it
    (`state`, `events`), read its streams (`session.streams.<name>`), cancel it
    (`cancel`) or wait for its outcome (`await session.result()`). Leaving the block
    while the session still runs cancels it (`UserCancelled`) and waits for its
    cleanup, and for any work its cancellation policies left running; leaving never
    raises `WorkflowCancelled`.

    A `Session` is made by `Workflow.start` and can be entered once.
    """

    __slots__ = (
        "_changed",
        "_delivery",
        "_engine",
        "_events",
        "_graph",
        "_inject",
        "_on_event",
        "_paths",
        "_read",
        "_record",
        "_request",
        "_requested",
        "_root",
        "_started_at",
        "_stream_items",
        "_stream_names",
        "_tg",
        "_thread",
        "_tracker",
    )

    def __init__(
        self,
        graph: Graph,
        request: Any,
        delivery: Delivery | None,
        streams: Mapping[str, type[Any]],
        events: bool,
        on_event: Callable[[Event], object] | None = None,
        inject: Callable[[str], Exception | None] | None = None,
    ) -> None:
        self._graph = graph
        self._on_event = on_event
        self._inject = inject
        self._request = request
        self._delivery = delivery
        self._record = events
        self._stream_names = tuple(streams)
        self._engine: Engine | None = None
        self._root: RootSession | None = None
        self._tg: TaskGroup | None = None
        self._requested = False
        self._thread = 0
        self._stream_items: dict[str, list[Any]] = {name: [] for name in streams}
        self._changed: anyio.Event | None = None
        self._events: list[Event] = []
        self._read = 0  # how many log entries `_events` holds the events of
        self._paths = Paths()
        self._started_at: datetime | None = None
        self._tracker: Tracker | None = None  # counts events for progress(), when asked

    def __repr__(self) -> str:
        root = self._root
        if root is None:
            return f"<Session of {self._graph.name!r}, not started>"
        log = self._engine.log if self._engine is not None else None
        requested = ", cancel requested" if self.cancel_requested else ""
        events = "" if log is None else f", {len(self.events)} events"
        return f"<Session of {self._graph.name!r}: {root.state.name}{requested}{events}>"

    # ------------------------------------------------------------------ the block

    async def __aenter__(self) -> Session[Resp]:
        if self._tg is not None:
            raise CrossflowError(
                f"this session of {self._graph.name!r} was already started; a session runs "
                f"once: call {self._graph.name}.start(request) again for a new one"
            )
        self._started_at = datetime.now(UTC)
        self._thread = threading.get_ident()
        self._changed = anyio.Event()
        tg = anyio.create_task_group()
        await tg.__aenter__()
        self._tg = tg
        try:
            engine = self._engine = new_engine(self._record, self._on_event, self._inject)
            engine.sink = self._on_stream
            engine.on_fatal = tg.cancel_scope.cancel
            engine.entry_queue()  # made on the event loop: `cancel()` from other threads
            engine.done = anyio.Event()
            engine.open_task_group(tg)
            self._root = engine.open_session(
                plan_of(self._graph), self._request, None, -1, self._delivery
            )
            engine.flush()
            tg.start_soon(watch, engine, LEFT_CANCELLED)
            if engine.fatal is not None:
                # a blocking service asked the program to stop (KeyboardInterrupt, ...):
                # the run is cleaned up, then it propagates from here
                raise engine.fatal
        except BaseException as error:
            # the task group opened above is closed by this task, in order, whatever
            # went wrong: an exception here never leaves it open
            if self._engine is not None and self._root is not None:
                self._engine.cancel_from_outside(LEFT_RAISING.format(type(error).__qualname__))
                self._engine.flush()
            tg.cancel_scope.cancel()
            # the error is raised as itself, not inside the task group's exception group
            await tg.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        root = self._root
        tg = self._tg
        assert root is not None and tg is not None  # invariant: __aenter__ ran
        if root.state is SessionState.RUNNING and not isinstance(
            exc, anyio.get_cancelled_exc_class()
        ):
            reason = LEFT if exc is None else LEFT_RAISING.format(type(exc).__qualname__)
            self._cancel(reason)
        # The task group's exit waits for every task of the run: the sessions' hosts
        # (shielded, so they run to their end), timers, and work left in the background
        # by cancellation policies (S6.6). The watcher turns a cancellation of this task,
        # now or while it waits, into a cancellation of the run and of that work. The
        # block's own exception propagates.
        engine = engine_of(self)
        try:
            if engine.fatal is not None and isinstance(exc, anyio.get_cancelled_exc_class()):
                # the block was cancelled by the task group's own scope (`on_fatal`): it
                # absorbs that cancellation, and the exception that stopped the run goes on
                await tg.__aexit__(type(exc), exc, tb)
            else:
                await tg.__aexit__(None, None, None)
        finally:
            # the run is over: the engine no longer calls back into this handle, so
            # no reference cycle keeps either alive until the cyclic collector runs
            engine.sink = None
            engine.on_fatal = None
        issue_warnings(engine, exc)
        if engine.fatal is not None and engine.fatal is not exc:
            raise engine.fatal  # KeyboardInterrupt, SystemExit...: after cleanup, as itself

    # ------------------------------------------------------------------ reading

    def _started(self, what: str) -> RootSession:
        root = self._root
        if root is None:
            raise CrossflowError(
                f"{what} of a session of {self._graph.name!r} that was never started: "
                f"use it inside `async with {self._graph.name}.start(request) as session:`"
            )
        return root

    @property
    def state(self) -> SessionState:
        """Where the root session is: RUNNING, TERMINATING, TERMINATED, CANCELLING or
        CANCELLED (S9.1).

        Raises:
            CrossflowError: the session was never started.
        """
        return self._started("state").state

    @property
    def cancel_requested(self) -> bool:
        """True once a cancellation was requested from outside: `cancel()`, the block
        left early, the task running the block cancelled (S9.1)."""
        if self._requested:
            return True
        root = self._root
        return root is not None and root.extra is not None and root.extra.cancel_requested

    @property
    def events(self) -> EventLog:
        """The ordered event log of this session and its nested sessions (S9.2): a
        `cf.EventLog`, the tuple of events with the run's `started_at`.

        Raises:
            CrossflowError: the session was never started, or was started with
                `events=False`.
        """
        self._started("the events")
        engine = self._engine
        assert engine is not None  # invariant: set with the root session
        log = engine.log
        if log is None:
            raise CrossflowError(
                f"this session of {self._graph.name!r} was started with events=False, so "
                "it recorded no events; start it with events=True (the default) to read them"
            )
        if self._read < len(log):
            # one log entry may give two events (an inline call): count entries
            read, self._read = self._read, len(log)
            self._events.extend(materialise(log, self._paths, read, self._read))
        return EventLog(self._events, self._started_at)

    def watch(self, callback: Callable[[Event], object], *, replay: bool = False) -> None:
        """Call `callback(event)` with every event recorded from now on, as the run goes.

        The same as `start(..., on_event=callback)`, for a session that already runs: a
        progress display or a logger can attach at any time. With `replay=True` the
        events recorded so far are handed over first, in order. Callbacks run on the event
        loop between two operations; one that raises is called no more, and the run
        issues a `CrossflowWarning` when it ends. After the session has ended, only
        `replay` has anything to hand over.

        Raises:
            CrossflowError: the session was never started, or was started with
                `events=False`.
            InvalidArgument: `callback` is not callable.
        """
        if not callable(callback):
            raise InvalidArgument(
                f"session.watch(callback) takes a function called with each cf.Event, got "
                f"{safe_repr(callback)} of type {type(callback).__name__}"
            )
        past = self.events  # checks that the session started and records events
        if replay:
            for event in past:
                callback(event)
        engine = self._engine
        assert engine is not None  # invariant: set with the root session
        engine.observe(callback)

    @property
    def streams(self) -> SessionStreams:
        """The session's stream-out messages: `async for m in session.streams.<name>`.

        Each iteration starts from the first message of the session and ends when the
        session has ended.
        """
        return SessionStreams(self)

    async def result(self) -> Resp:
        """Wait for the session to end; return its response.

        May be called any number of times, during or after the `async with` block.

        Raises:
            WorkflowCancelled: the session was cancelled; `.cancellation.cause` says why.
            CrossflowError: the session was never started.
        """
        root = self._started("result()")
        engine = self._engine
        assert engine is not None and engine.done is not None  # invariant: set by __aenter__
        if not root.state.ended:
            await engine.done.wait()
        result: Resp = outcome(engine, root, self._started_at)
        return result

    # ------------------------------------------------------------------ cancelling

    def cancel(self, reason: str | None = None, *, force: bool = False) -> None:
        """Ask the session to cancel, with cause `UserCancelled(reason)`; returns at once.

        Cancellation proceeds in the background: `state` goes to CANCELLING, then
        CANCELLED once cleanup has finished; `await result()` to wait for it. An
        uninterruptible session records the request and runs on (S6.4). On a session
        that is TERMINATING or has ended, nothing changes. Calling it again, or from
        another thread, is safe: from another thread the request is handed to the
        session's event loop, and `cancel_requested` is True when this returns.

        `force=True` is the way out of a session that will not end: it also cancels
        uninterruptible scopes (the root's included) and cleanup workflows that are still
        running, and the work cancellation policies left in the background (S6.7). Each
        forced request is recorded (`CancellationRequested(forced=True)`). A plain cancel,
        an outer deadline and leaving the `async with` block never force.

        Raises:
            CrossflowError: the session was never started.
            InvalidArgument: `reason` is not a str or None, or `force` is not a bool.
        """
        self._started("cancel()")
        if reason is not None and not isinstance(reason, str):
            raise InvalidArgument(
                f"session.cancel(reason) takes a str or None, got {safe_repr(reason)} "
                f"of type {type(reason).__name__}"
            )
        if force is not True and force is not False:
            raise InvalidArgument(
                f"session.cancel(force=...) takes True or False, got {safe_repr(force)} "
                f"of type {type(force).__name__}"
            )
        self._requested = True
        if threading.get_ident() == self._thread:
            self._cancel(reason, force)
            return
        # handed to the session's event loop; dropped if that loop has closed (then the
        # session ended long ago)
        engine_of(self).entry_queue().put(lambda: self._cancel(reason, force))

    def _cancel(self, reason: str | None, force: bool = False) -> None:
        root = self._root
        engine = self._engine
        assert root is not None and engine is not None  # invariant: started
        self._requested = True

        def request() -> None:
            if force:
                engine.force(reason)  # S6.7: uninterruptible and cleaning up included
            else:
                # API §3: on a session that ended nothing changes; one that is TERMINATING
                # or uninterruptible records the request and runs on (S6.4)
                engine.interrupt(root, UserCancelled(reason))
            engine.flush()

        # from a blocking service of this very run: once that service has returned
        engine.between_operations(request)

    # ------------------------------------------------------------------ pictures (API §8)
    # drawn by crossflow._viz from the workflow's graph and the event log

    @property
    def started_at(self) -> datetime | None:
        """The wall-clock time (UTC) the session started, or None before it started."""
        return self._started_at

    def progress(self) -> Progress:
        """How far the session has got: a `cf.Progress` snapshot, read from its events.

        Cheap to call often (each call counts only the events recorded since the last
        one); nothing is counted for a session whose progress nobody asks for.

        Raises:
            CrossflowError: the session was never started, or was started with
                `events=False`.
        """
        events = self.events
        tracker = self._tracker
        if tracker is None:
            tracker = self._tracker = Tracker()
        tracker.feed(events[tracker.read :])
        root = self._root
        assert root is not None  # invariant: self.events checked that it started
        return tracker.snapshot(
            workflow=self._graph.name, state=root.state, started_at=self._started_at
        )

    def to_svg(self) -> str:
        """The workflow's picture with what this session did drawn over it (API §8).

        Per operation: how often it ran, what it disposed of and why, whether it failed
        or cancelled its scope; per nested scope: its sessions and how they ended;
        what was never reached, faded. For an `Unreachable` cancellation, the disposals
        that led there are numbered and listed under the picture. Works while the
        session runs, too.
        """
        return run_svg(self._graph, self._recorded(), self._state_name())

    def _recorded(self) -> EventLog | None:
        if self._root is None or self._engine is None or self._engine.log is None:
            return None
        return self.events

    def _state_name(self) -> str | None:
        root = self._root
        return None if root is None else root.state.name

    def _repr_mimebundle_(
        self, include: Container[str] | None = None, exclude: Container[str] | None = None
    ) -> dict[str, str]:
        """The session in a notebook: its picture with the run over it, its progress
        while it runs, the tree of its cancellation and its event log."""
        events = self._recorded()
        cancellation = None
        if events:
            last = events[-1]
            if isinstance(last, Cancelled) and len(last.path) == 1:
                cancellation = last.cancellation
        progress = self.progress() if events is not None else None
        state = self._state_name() or "not started"
        heading = f"Session of {self._graph.name!r}: {state}"
        if progress is not None:
            heading += f" after {progress.elapsed * 1e3:.1f} ms"
        plain = repr(self) if progress is None else f"{self!r}\n{progress}"
        return run(
            self._graph,
            events,
            plain=plain,
            heading=heading,
            state=self._state_name(),
            started_at=self._started_at,
            cancellation=cancellation,
            progress=progress,
            include=include,
            exclude=exclude,
        )

    def _ipython_display_(self) -> None:
        """Shown in a notebook while it runs, the session's display updates in place."""
        root = self._root
        running = root is not None and not root.state.ended and self._recorded() is not None
        show(self._repr_mimebundle_, running, self.watch if running else None)

    # ------------------------------------------------------------------ streams

    def _on_stream(self, name: str | None, msg: Any) -> None:
        if name is not None:
            self._stream_items[name].append(msg)
        changed = self._changed
        assert changed is not None  # invariant: set by __aenter__
        self._changed = anyio.Event()
        changed.set()


class _StreamIterator:
    """Every stream-out message of one name, from the start; ends with the session."""

    __slots__ = ("_i", "_name", "_session")

    def __init__(self, session: Session[Any], name: str) -> None:
        self._session = session
        self._name = name
        self._i = 0

    def __repr__(self) -> str:
        return f"<stream {self._name!r} of {self._session!r}, at message {self._i}>"

    def __aiter__(self) -> _StreamIterator:
        return self

    async def __anext__(self) -> Any:
        session = self._session
        root = session._started(f"session.streams.{self._name}")
        items = session._stream_items[self._name]
        while self._i >= len(items):
            if root.state.ended:
                raise StopAsyncIteration
            changed = session._changed
            assert changed is not None  # invariant: set by __aenter__
            await changed.wait()
        item = items[self._i]
        self._i += 1
        return item


@final
class SessionStreams:
    """`session.streams`: one async iterator per declared stream, by attribute."""

    __slots__ = ("_session",)

    def __init__(self, session: Session[Any]) -> None:
        self._session = session

    def __repr__(self) -> str:
        return f"<SessionStreams {', '.join(self._session._stream_names) or '(none)'}>"

    def __dir__(self) -> list[str]:
        return list(self._session._stream_names)

    def __getattr__(self, name: str) -> AsyncIterator[Any]:
        session = self._session
        if name.startswith("__") or name not in session._stream_names:
            declared = ", ".join(repr(n) for n in session._stream_names) or "none"
            raise AttributeError(
                f"workflow {session._graph.name!r} declares no stream {name!r} "
                f"(declared streams: {declared})"
            )
        session._started(f"session.streams.{name}")
        return _StreamIterator(session, name)


def engine_of(session: Session[Any]) -> Engine:
    engine = session._engine
    assert engine is not None  # invariant: the session was entered
    return engine
