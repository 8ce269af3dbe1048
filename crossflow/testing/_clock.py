"""Virtual time: an event loop clock that jumps over idle waits.

When every task waits and the next thing to happen is a timer (a `delay`, a scope's
timeout, an `anyio.sleep`, a deadline), the clock jumps straight to that timer instead
of sleeping until it is due. Time otherwise runs as usual.

On trio this is trio's own `MockClock` with its autojump; on asyncio it is a selector
that, instead of blocking until the next timer, moves the loop's `time()` forward to it.
Neither jumps while a call to a worker process is under way (see `_workers`).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import selectors
import sys
import time
import weakref
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import anyio

import crossflow as cf

from ._workers import asyncio_worker_call_under_way

if TYPE_CHECKING:
    from _typeshed import FileDescriptorLike

Backend = Literal["asyncio", "trio"]
T = TypeVar("T")
Req = TypeVar("Req")
Resp = TypeVar("Resp")
_P = TypeVar("_P", bound=asyncio.BaseProtocol)

_BACKENDS = ("asyncio", "trio")
_EXIT_WAIT = 5.0  # seconds a closing loop waits for the subprocesses it killed to exit


class _Skipped:
    """The time a clock has jumped over, in seconds."""

    __slots__ = ("jump_after", "seconds")

    def __init__(self, jump_after: float) -> None:
        self.seconds = 0.0
        self.jump_after = jump_after

    def __repr__(self) -> str:
        return f"<skipped {self.seconds} s, jumping after {self.jump_after} s idle>"

    def time(self) -> float:
        return time.monotonic() + self.seconds


class _JumpingSelector(selectors.BaseSelector):
    """A selector that, asked to wait for a timer, moves the clock to it instead.

    asyncio's event loop asks its selector to wait at most until its next timer. When
    nothing is ready after `jump_after` real seconds, this selector adds the rest of
    that wait to the skipped time and returns at once: the timer is then due. A wait
    without a timer (for I/O or a thread, nothing scheduled) blocks as usual, and so
    does a wait while a task of `loop` waits for a worker process.
    """

    def __init__(
        self,
        inner: selectors.BaseSelector,
        skipped: _Skipped,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.inner = inner
        self.skipped = skipped
        self.loop = loop  # set once the loop that uses this selector exists

    def register(
        self, fileobj: FileDescriptorLike, events: int, data: Any = None
    ) -> selectors.SelectorKey:
        return self.inner.register(fileobj, events, data)

    def unregister(self, fileobj: FileDescriptorLike) -> selectors.SelectorKey:
        return self.inner.unregister(fileobj)

    def modify(
        self, fileobj: FileDescriptorLike, events: int, data: Any = None
    ) -> selectors.SelectorKey:
        return self.inner.modify(fileobj, events, data)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is None or timeout <= 0:
            return self.inner.select(timeout)
        skipped = self.skipped
        wait = min(timeout, skipped.jump_after)
        started = time.monotonic()
        ready = self.inner.select(wait)
        if ready:
            return ready
        left = timeout - (time.monotonic() - started)
        if left <= 0:
            return []
        if self.loop is not None and asyncio_worker_call_under_way(self.loop):
            # a worker process is starting or at work: wait for it in real time
            return self.inner.select(left)
        skipped.seconds += left
        return []

    def close(self) -> None:
        self.inner.close()

    def get_key(self, fileobj: FileDescriptorLike) -> selectors.SelectorKey:
        return self.inner.get_key(fileobj)

    def get_map(self) -> Mapping[FileDescriptorLike, selectors.SelectorKey]:
        return self.inner.get_map()


class _VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An asyncio event loop whose clock jumps to the next timer when nothing else can run.

    It also keeps the subprocesses it started (worker processes among them) from
    outliving it: when it closes, those still running are killed, their exits awaited
    and their transports closed, so that none is left to report to a closed loop.
    """

    def __init__(self, jump_after: float = 0.0) -> None:
        self._skipped = _Skipped(jump_after)
        self._subprocesses: weakref.WeakSet[asyncio.SubprocessTransport] = weakref.WeakSet()
        selector = _JumpingSelector(selectors.DefaultSelector(), self._skipped)
        super().__init__(selector)
        selector.loop = self

    def time(self) -> float:
        return self._skipped.time()

    async def subprocess_exec(
        self, protocol_factory: Callable[[], _P], *args: Any, **kwargs: Any
    ) -> tuple[asyncio.SubprocessTransport, _P]:
        transport, protocol = await super().subprocess_exec(protocol_factory, *args, **kwargs)
        self._subprocesses.add(transport)
        return transport, protocol

    async def subprocess_shell(
        self, protocol_factory: Callable[[], _P], cmd: str | bytes, **kwargs: Any
    ) -> tuple[asyncio.SubprocessTransport, _P]:
        transport, protocol = await super().subprocess_shell(protocol_factory, cmd, **kwargs)
        self._subprocesses.add(transport)
        return transport, protocol

    def close(self) -> None:
        if not self.is_running() and not self.is_closed():
            self._end_subprocesses()
        super().close()

    def _end_subprocesses(self) -> None:
        """Kill the subprocesses still running, wait for their exits (reported by
        asyncio's child watcher through this loop), and close their transports."""
        left = [transport for transport in self._subprocesses if not transport.is_closing()]
        if not left:
            return
        for transport in left:
            if transport.get_returncode() is None:
                with contextlib.suppress(ProcessLookupError):
                    transport.kill()

        async def exits() -> None:
            give_up = time.monotonic() + _EXIT_WAIT
            # an exit is reported by asyncio's child watcher, on a thread of its own, and
            # then shows in `get_returncode()`: there is nothing to await but a short sleep
            while time.monotonic() < give_up and any(  # noqa: ASYNC110
                transport.get_returncode() is None for transport in left
            ):
                await asyncio.sleep(0.005)
            for transport in left:
                transport.close()
            await asyncio.sleep(0)  # the pipes' last callbacks

        self._skipped.jump_after = math.inf  # those waits are real
        self.run_until_complete(exits())


def check_jump_after(jump_after: object, where: str) -> float:
    if (
        isinstance(jump_after, bool)
        or not isinstance(jump_after, (int, float))
        or not 0 <= jump_after < math.inf
    ):
        raise cf.InvalidArgument(
            f"{where}(jump_after=...) takes a finite number of seconds >= 0, got {jump_after!r}"
        )
    return float(jump_after)


def check_backend(backend: object, where: str) -> Backend:
    if backend == "asyncio":
        return "asyncio"
    if backend == "trio":
        return "trio"
    raise cf.InvalidArgument(f"{where}(backend=...) must be 'asyncio' or 'trio', got {backend!r}")


def backend_options(backend: Backend, jump_after: float = 0.0) -> dict[str, Any]:
    """The `backend_options` of `anyio.run` for an event loop with a virtual clock."""
    if backend == "trio":
        from trio.testing import MockClock

        from ._trio_hold import new_hold

        clock = MockClock(rate=1.0, autojump_threshold=jump_after)
        return {"clock": clock, "instruments": [new_hold(clock)]}
    return {"loop_factory": lambda: _VirtualTimeLoop(jump_after)}


def _not_in_a_loop(where: str, instead: str) -> None:
    """Refuse to start an event loop inside a running one, saying what to do there."""
    running = running_backend()
    if running is not None:
        raise cf.CrossflowError(
            f"cft.{where}() starts an event loop of its own, but was called inside a running "
            f"{running} event loop; there, {instead}"
        )


def run(
    fn: Callable[[], Awaitable[T]],
    backend: Backend,
    jump_after: float = 0.0,
    where: str = "run",
    instead: str = "call it from synchronous code",
) -> T:
    """`fn()` in a new event loop of `backend` whose clock jumps over idle waits.

    `instead` says what to do inside a running event loop, where this cannot be used.
    """
    _not_in_a_loop(where, instead)
    return anyio.run(fn, backend=backend, backend_options=backend_options(backend, jump_after))


def run_real(
    fn: Callable[[], Awaitable[T]],
    backend: Backend,
    where: str = "run",
    instead: str = "call it from synchronous code",
) -> T:
    """`fn()` in a new event loop of `backend`, in real time."""
    _not_in_a_loop(where, instead)
    return anyio.run(fn, backend=backend)


def running_backend() -> Backend | None:
    """The event loop running in this thread, if any."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        return "asyncio"
    trio = sys.modules.get("trio")
    if trio is not None:
        try:
            trio.lowlevel.current_task()
        except RuntimeError:
            pass
        else:
            return "trio"
    return None


def why_time_cannot_be_skipped() -> str | None:
    """None when `virtual_clock()` can work in the running event loop, else why not."""
    backend = running_backend()
    if backend is None:
        return "no event loop is running"
    if backend == "trio":
        import trio
        from trio.testing import MockClock

        if isinstance(trio.lowlevel.current_clock(), MockClock):
            return None
        return (
            "on trio the clock is chosen when the event loop starts, and this one was not "
            "started with a trio.testing.MockClock: start it with "
            "`anyio.run(main, backend='trio', backend_options={'clock': MockClock()})`, "
            "or under pytest with an `anyio_backend` fixture that returns "
            "`('trio', {'clock': MockClock()})`"
        )
    loop = asyncio.get_running_loop()
    if isinstance(loop, _VirtualTimeLoop) or isinstance(
        getattr(loop, "_selector", None), selectors.BaseSelector
    ):
        return None
    return (
        f"virtual time needs asyncio's selector event loop, and this one is a "
        f"{type(loop).__module__}.{type(loop).__qualname__}"
    )


@contextlib.contextmanager
def virtual_clock(*, jump_after: float = 0.0) -> Iterator[None]:
    """Inside this block, the running event loop's clock jumps over idle waits.

    Whenever every task waits and the next thing due is a timer, the clock jumps to that
    timer: `delay`s, scope timeouts, `anyio.sleep` in services and the deadlines of
    `anyio.fail_after` / `move_on_after` pass in no time. Otherwise time runs as usual.

    ```python
    async def test_a_day_of_delays():
        with cft.virtual_clock():
            assert await wf.run(request) == expected  # wf waits 24 h: takes milliseconds
    ```

    Use it inside a running event loop. On asyncio it works with the default event loop
    (a selector loop); on trio the loop must have been started with a
    `trio.testing.MockClock` (anyio: `backend_options={"clock": MockClock()}`), whose
    autojump it switches on for the block.

    What cannot be skipped: work that really runs elsewhere. A call in a worker process
    (`cf.ProcessExecutor`, `anyio.to_process.run_sync`) takes its real time, and the
    clock knows it: while a task waits for one (for the process to start, or for the
    call to return), the clock does not jump. A thread (`anyio.to_thread.run_sync`,
    `offload=True`, `cf.ThreadExecutor`), another subprocess or real I/O also takes its
    real time, but the clock does not know that it is coming: while the loop only waits
    for it, the clock jumps to the next timer anyway, so a timeout may fire before the
    thread is done. `jump_after` is how long, in real seconds, everything must have
    waited before the clock jumps: raise it above the time such work takes.

    Deadlines set outside the block, around it (a test's `anyio.fail_after`), are on the
    same clock: a wait that never ends jumps straight to them.

    Raises:
        CrossflowError: time cannot be skipped in this event loop (the message says why
            and what to do), or no event loop is running.
        InvalidArgument: `jump_after` is not a finite number of seconds >= 0.
    """
    jump_after = check_jump_after(jump_after, "virtual_clock")
    reason = why_time_cannot_be_skipped()
    if reason is not None:
        raise cf.CrossflowError(f"cft.virtual_clock() cannot skip time here: {reason}")
    if running_backend() == "trio":
        with _trio_virtual_clock(jump_after):
            yield
        return
    loop = asyncio.get_running_loop()
    selector = getattr(loop, "_selector", None)
    if isinstance(loop, _VirtualTimeLoop) or isinstance(selector, _JumpingSelector):
        yield  # already virtual: the loop keeps its own setting
        return
    assert isinstance(selector, selectors.BaseSelector)  # invariant: checked above
    # asyncio's selector event loops keep their selector in `_selector` (an attribute of
    # theirs, not a public one): wrapping it is what makes a running loop's clock jump
    skipped = _Skipped(jump_after)
    jumping = _JumpingSelector(selector, skipped, loop)
    had_own_time = "time" in vars(loop)
    own_time = vars(loop).get("time")
    loop._selector = jumping  # type: ignore[attr-defined]
    loop.time = skipped.time  # type: ignore[method-assign]
    try:
        yield
    finally:
        if getattr(loop, "_selector", None) is jumping:
            loop._selector = selector  # type: ignore[attr-defined]
        if skipped.seconds == 0.0:
            if had_own_time:
                vars(loop)["time"] = own_time
            else:
                del loop.time
        # else: the loop keeps the time it jumped to (a clock never goes back), flowing on
        # as usual from there, since timers may already be set in that time


@contextlib.contextmanager
def _trio_virtual_clock(jump_after: float) -> Iterator[None]:
    """`virtual_clock` on trio: the loop's `MockClock` autojumps, except while a worker
    process is awaited (an instrument of the loop sees to that)."""
    import trio
    from trio.testing import MockClock

    from ._trio_hold import forget, hold_for, new_hold

    clock = trio.lowlevel.current_clock()
    assert isinstance(clock, MockClock)  # invariant: checked by the caller
    hold = hold_for(clock)
    added = hold is None
    if hold is None:
        hold = new_hold(clock)
        trio.lowlevel.add_instrument(hold)
    before = hold.threshold
    hold.threshold = jump_after
    try:
        yield
    finally:
        hold.threshold = before
        if added:
            trio.lowlevel.remove_instrument(hold)
            forget(clock)
            hold.release()


def run_skipping_time(
    workflow: cf.Workflow[Req, Resp],
    request: Req,
    *,
    backend: Backend = "asyncio",
    jump_after: float = 0.0,
    on_event: Callable[[cf.Event], object] | None = None,
) -> Resp:
    """Run one session of `workflow` in a new event loop whose clock skips idle waits.

    Like `workflow.run_sync(request)`, but a workflow that waits for hours (delays,
    timeouts, `anyio.sleep` in its services) runs in milliseconds: whenever everything
    waits for a timer, the clock jumps to it (see `virtual_clock`, also for what cannot
    be skipped, and `jump_after`).

    ```python
    response = cft.run_skipping_time(wf, request, backend="trio")
    ```

    Raises:
        WorkflowCancelled: the session was cancelled.
        CrossflowError: called inside a running event loop (use `virtual_clock()` there).
        InvalidArgument: an argument has the wrong type or value.
    """
    if not isinstance(workflow, cf.Workflow):
        raise cf.InvalidArgument(
            f"run_skipping_time(workflow, ...) takes a cf.Workflow, got {workflow!r}"
        )
    chosen = check_backend(backend, "run_skipping_time")
    jump = check_jump_after(jump_after, "run_skipping_time")

    async def main() -> Resp:
        return await workflow.run(request, on_event=on_event)

    return run(
        main,
        chosen,
        jump,
        "run_skipping_time",
        "await the workflow inside `with cft.virtual_clock():` instead",
    )
