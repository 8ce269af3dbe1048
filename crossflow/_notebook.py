"""Running a session to its end from a notebook cell, where an event loop already runs.

A Jupyter kernel (ipykernel) runs cells in the thread of its own asyncio event loop,
so a cell cannot start another loop there. `Workflow.run_sync` asks
`in_notebook_kernel()` and, in a kernel, hands the session to `run_in_worker`, which
runs it on a fresh event loop in a worker thread and blocks the cell until the
session has ended. Everywhere else a running loop in the calling thread means async
code that should `await wf.run(...)`, and `run_sync` refuses.

An interrupt while the cell waits (Ctrl-C, the notebook's stop button: SIGINT in the
kernel's main thread) cancels the session and waits for its cleanup, then raises
`KeyboardInterrupt`; no thread is left running. A second interrupt during that
cleanup stops the waiting: the cleanup goes on in the worker thread, which ends when
it does.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import signal
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import Generic, Literal, TypeVar

T = TypeVar("T")

Backend = Literal["asyncio", "trio"]

_LOOK_FOR_INTERRUPTS_EVERY = 0.1  # seconds


def in_notebook_kernel() -> bool:
    """Whether an IPython kernel (Jupyter, VS Code, Colab) runs this process's cells.

    Only what is already imported is looked at: a program that never imported
    IPython is not in a notebook, and this check never imports it.
    """
    ipython = sys.modules.get("IPython")
    zmqshell = sys.modules.get("ipykernel.zmqshell")
    if ipython is None or zmqshell is None:
        return False
    get_ipython = getattr(ipython, "get_ipython", None)
    shell_class = getattr(zmqshell, "ZMQInteractiveShell", None)
    if get_ipython is None or not isinstance(shell_class, type):
        return False
    try:
        shell = get_ipython()
    except Exception:  # a broken or half-torn-down IPython is not a kernel to rely on
        return False
    return isinstance(shell, shell_class)


class _Worker(Generic[T]):
    """One session run on its own event loop in a worker thread.

    The lock orders the two threads' views of the run: either the waiting thread
    asks for cancellation before the run begins, and it never begins, or the run has
    registered how to cancel it and the request reaches its loop while that loop
    still runs the session.
    """

    def __init__(self, run: Callable[[], Awaitable[T]], backend: Backend) -> None:
        self._run = run
        self._backend: Backend = backend
        self._lock = threading.Lock()
        self._cancel_requested = False
        self._began = False
        self._cancel_soon: Callable[[], object] | None = None
        self.done = threading.Event()
        self.result: list[T] = []  # the response, once the run returned it
        self.error: BaseException | None = None

    def thread_main(self) -> None:
        import anyio

        try:
            anyio.run(self._main, backend=self._backend)
        except BaseException as error:  # handed to the waiting thread, which raises it
            self.error = error
        finally:
            self.done.set()

    async def _main(self) -> None:
        import anyio

        with anyio.CancelScope() as scope:
            with self._lock:
                if self._cancel_requested:
                    return
                self._began = True
                self._cancel_soon = _call_soon_on_this_loop(self._backend, scope.cancel)
            try:
                self.result.append(await self._run())
            finally:
                # from here on the loop may close: nothing is sent to it any more
                with self._lock:
                    self._cancel_soon = None

    def cancel(self) -> bool:
        """Cancel the run, or keep it from beginning; whether it had begun."""
        with self._lock:
            self._cancel_requested = True
            if self._cancel_soon is not None:
                self._cancel_soon()
            return self._began


def _call_soon_on_this_loop(backend: Backend, fn: Callable[[], object]) -> Callable[[], object]:
    """A function that any thread may call to have `fn` called on the running loop."""
    if backend == "trio":
        import trio

        token = trio.lowlevel.current_trio_token()
        return lambda: token.run_sync_soon(fn)
    loop = asyncio.get_running_loop()
    return lambda: loop.call_soon_threadsafe(fn)


@contextlib.contextmanager
def _interrupts_raise() -> Iterator[None]:
    """While blocked, let SIGINT raise `KeyboardInterrupt` in the main thread.

    A cell that awaits has the kernel's own SIGINT handler, which cancels the cell
    through the event loop; the loop is blocked while the session runs, so that
    handler could only act once the session is over.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # signals only reach the main thread
        return
    previous = signal.getsignal(signal.SIGINT)
    if not callable(previous) or previous is signal.default_int_handler:
        yield  # already raising, or ignored on purpose
        return
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _wait(done: threading.Event) -> None:
    """Wait for `done`, noticing an interrupt within a fraction of a second.

    Python runs signal handlers, and so raises `KeyboardInterrupt`, in the main thread
    and only while that thread runs. A SIGINT that the system hands to another thread
    (one of the worker's, say) does not wake the main thread from a blocking wait, nor
    does the kernel's `_thread.interrupt_main()` (its interrupt on Windows); waiting
    in short slices lets the main thread notice either.
    """
    while not done.wait(_LOOK_FOR_INTERRUPTS_EVERY):
        pass


def run_in_worker(run: Callable[[], Awaitable[T]], backend: Backend, name: str) -> T:
    """Run `run()` on a new `backend` event loop in a worker thread and wait for it.

    The response is returned and any exception the run raised (`WorkflowCancelled`
    among them) is raised here. The worker runs in a copy of the caller's context, so
    context variables (and a notebook's output routing) carry over.

    Raises:
        KeyboardInterrupt: the wait was interrupted; the run was cancelled and its
            cleanup awaited, unless a second interrupt came during that cleanup.
    """
    worker = _Worker(run, backend)
    context = contextvars.copy_context()
    thread = threading.Thread(
        target=context.run, args=(worker.thread_main,), name=f"crossflow {name}", daemon=True
    )
    with _interrupts_raise():
        try:
            thread.start()
            _wait(worker.done)
        except KeyboardInterrupt:
            if worker.cancel():
                try:
                    _wait(worker.done)
                except KeyboardInterrupt:
                    raise KeyboardInterrupt(
                        f"stopped waiting for the cleanup of {name}, "
                        "which goes on in a background thread"
                    ) from None
                thread.join()
            raise
    thread.join()
    if worker.error is not None:
        error, worker.error = worker.error, None
        raise error
    return worker.result[0]
