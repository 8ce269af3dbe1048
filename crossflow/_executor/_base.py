"""Running a blocking service off the event loop: the executor seam (API §9, S10).

A blocking service given an executor does not run inline: each call is an activation,
like an async service's, and the executor decides where the function runs. The runtime
hands the executor a `Call`; the executor runs it (`call.invoke()` in a worker thread,
or the function and message elsewhere) and returns the result, or raises what the
function raised. Everything the runtime needs to know comes back through that one
awaitable, and through `call.report_cancellation` when the call is cancelled: adding a
place to run work is writing an `Executor`, not changing the engine.

While a call runs in a worker thread (or in a Dask task), `cf.cancel_requested()` tells
the function that it is being asked to stop, so it can return early: a thread cannot be
interrupted.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, Protocol

from .._policy import CancellationPolicy
from .._streams import Streams


class Call(Protocol):
    """One call of a service, as the runtime hands it to an executor."""

    @property
    def function(self) -> Callable[..., Any]:
        """The service's function."""
        ...

    @property
    def message(self) -> Any:
        """The message it is called with."""
        ...

    @property
    def operation(self) -> str:
        """The node's name, for messages."""
        ...

    @property
    def streams(self) -> Streams | None:
        """The service's stream senders (safe to use from any thread), or None."""
        ...

    @property
    def policy(self) -> CancellationPolicy:
        """The node's cancellation policy (S6.6)."""
        ...

    @property
    def cancel_requested(self) -> bool:
        """Whether the call was asked to stop: its session is being cleaned up (unless
        the node's policy is `ABANDON`), or the executor reported a cancellation."""
        ...

    def invoke(self) -> Any:
        """Call the function with the message (and its streams) here, in this thread,
        with `cf.cancel_requested()` answering for this call."""
        ...

    def on_loop(self, action: Callable[[], object]) -> None:
        """Run `action()` on the run's event loop soon; safe from any thread.

        Actions run in the order they were given, in order with the call's stream
        messages. This is how work that ends in another thread (a worker thread, a
        client's completion callback) wakes the task awaiting it: `call.on_loop(done.set)`
        with an `anyio.Event`. An action given after the run ended is dropped.
        """
        ...

    def report_cancellation(self, stopped: bool, how: str) -> None:
        """Say how far a cancellation of this call reached (S10.2), on the event loop.

        Call it from `run` when the awaiting task is cancelled, once the executor has done
        what it can, and before waiting for work that runs on: the runtime records it on
        `TaskCancelled`, and `cancel_requested` turns True.

        Args:
            stopped: whether the work stopped (it never started, or was interrupted),
                rather than running on to its end.
            how: what happened, in words: "its worker process was stopped".
        """
        ...


class Executor(abc.ABC):
    """Where the calls of a blocking service run: `cf.ThreadExecutor`,
    `cf.ProcessExecutor`, `cf.DaskExecutor`, or one of your own (API §9).

    Subclasses implement `run`; `check` may refuse, at build time, a service the
    executor cannot run.
    """

    __slots__ = ()

    @abc.abstractmethod
    async def run(self, call: Call) -> Any:
        """Run `call` and return the function's result (or raise what it raised).

        A cancellation of the awaiting task is the call being asked to stop (its session's
        cleanup, a trim, a timeout): stop the work as far as this executor can, tell the
        runtime how far that reached with `call.report_cancellation(...)`, wait, shielded,
        for work that cannot be stopped (nothing outlives the run, S10.5), and re-raise
        the cancellation.
        """

    def check(self, operation: str, function: Callable[..., Any], streams: tuple[str, ...]) -> None:
        """Refuse, with a `cf.BuildError`, a service this executor cannot run.

        Every executor can run every blocking service unless it says otherwise here.
        """
        return


class CancelSource(Protocol):
    """What `cf.cancel_requested()` asks: a `Call`, or a stand-in where the call runs."""

    @property
    def cancel_requested(self) -> bool: ...


_CURRENT: ContextVar[CancelSource | None] = ContextVar("crossflow_call", default=None)


def current_call() -> ContextVar[CancelSource | None]:
    """The context variable that holds the call running in this thread, if any."""
    return _CURRENT


def cancel_requested() -> bool:
    """Whether the service call running here is being asked to stop (S10.2).

    Inside a blocking service that runs in a worker thread (`offload=True` or a
    `cf.ThreadExecutor`) or on a Dask worker (`cf.DaskExecutor`), this turns True once the
    call is asked to stop: its session is cleaned up (it was cancelled, or reached
    terminate while the call still ran), the call is trimmed or timed out, or the run is
    cancelled. A thread cannot be interrupted, so a long loop should check it and return
    early. A node whose policy is `ABANDON` is not asked to stop when its session ends.
    Anywhere else (on the event loop, in a worker process, which is stopped instead) it
    is False.
    """
    call = _CURRENT.get()
    return call is not None and call.cancel_requested
