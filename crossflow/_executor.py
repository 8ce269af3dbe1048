"""Running a blocking service off the event loop: executors (API §9, S10).

A blocking service given an executor does not run inline: each call is an activation,
like an async service's, and the executor decides where the function runs. The runtime
hands the executor a `Call`; the executor runs it (`call.invoke()` in a worker thread,
or the function and message elsewhere) and returns the result, or raises what the
function raised. Everything the runtime needs to know comes back through that one
awaitable: adding a place to run work is writing an `Executor`, not changing the engine.

While a call runs in a worker thread, `cf.cancel_requested()` tells the function that
its session is being cleaned up, so it can stop early (a thread cannot be interrupted).
"""

from __future__ import annotations

import abc
import weakref
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, Protocol, final

import anyio
import anyio.to_thread
from anyio.lowlevel import RunVar

from ._arguments import shown
from ._errors import InvalidArgument
from ._policy import CancellationPolicy
from ._streams import Streams


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
        """Whether the call's session asked it to stop."""
        ...

    def invoke(self) -> Any:
        """Call the function with the message (and its streams) here, in this thread,
        with `cf.cancel_requested()` answering for this call."""
        ...


class Executor(abc.ABC):
    """Where the calls of a blocking service run: `cf.ThreadExecutor`, ... (API §9).

    Subclasses implement `run`; `check` may refuse, at build time, a service the
    executor cannot run.
    """

    __slots__ = ()

    @abc.abstractmethod
    async def run(self, call: Call) -> Any:
        """Run `call` and return the function's result (or raise what it raised).

        A cancellation of the awaiting task is the session's cleanup asking the call to
        stop: stop it as far as this executor can, as the call's `policy` says (S10.2).
        """

    def check(self, operation: str, function: Callable[..., Any], streams: tuple[str, ...]) -> None:
        """Refuse, with a `cf.BuildError`, a service this executor cannot run.

        Every executor can run every blocking service unless it says otherwise here.
        """
        return


_CURRENT: ContextVar[Call | None] = ContextVar("crossflow_call", default=None)


def current_call() -> ContextVar[Call | None]:
    """The context variable that holds the call running in this thread, if any."""
    return _CURRENT


def cancel_requested() -> bool:
    """Whether the service call running here is being asked to stop (S10.2).

    Inside a blocking service that runs in a worker thread (`offload=True` or a
    `cf.ThreadExecutor`), this turns True once the call's session is cleaned up (it was
    cancelled, or reached terminate while the call still ran) or the call is trimmed: a
    thread cannot be interrupted, so a long loop should check it and return early.
    Anywhere else it is False.
    """
    call = _CURRENT.get()
    return call is not None and call.cancel_requested


# per event loop: each executor's limiter (a limiter belongs to one event loop)
_LIMITERS: RunVar[weakref.WeakKeyDictionary[ThreadExecutor, anyio.CapacityLimiter]] = RunVar(
    "crossflow_thread_limiters"
)


@final
class ThreadExecutor(Executor):
    """Runs the calls of a blocking service in anyio's worker threads (S10.1).

    `offload=True` is `ThreadExecutor()`. With `limit`, at most that many calls of the
    services that share this executor run at once, per event loop; the others wait in
    order. Cancellation cannot interrupt a thread: with the `WAIT` policy the session's
    cleanup waits for the function to return (it can poll `cf.cancel_requested()`); with
    `TRY_CANCEL` or `ABANDON` it stops waiting, and the run still waits for the thread
    before it ends (S10.5).

    Raises:
        InvalidArgument: `limit` is not a positive int or None.
    """

    __slots__ = ("__weakref__", "limit")

    def __init__(self, limit: int | None = None) -> None:
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 1
        ):
            raise InvalidArgument(
                f"ThreadExecutor(limit=...) takes a positive int or None, got {shown(limit)}"
            )
        self.limit = limit

    def __repr__(self) -> str:
        return f"ThreadExecutor(limit={self.limit!r})"

    def _limiter(self) -> anyio.CapacityLimiter | None:
        if self.limit is None:
            return None
        try:
            table = _LIMITERS.get()
        except LookupError:
            table = weakref.WeakKeyDictionary()
            _LIMITERS.set(table)
        limiter = table.get(self)
        if limiter is None:
            limiter = table[self] = anyio.CapacityLimiter(self.limit)
        return limiter

    async def run(self, call: Call) -> Any:
        return await anyio.to_thread.run_sync(
            call.invoke,
            limiter=self._limiter(),
            abandon_on_cancel=call.policy is not CancellationPolicy.WAIT,
        )
