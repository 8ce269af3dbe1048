"""`cf.ProcessExecutor`: the calls of a blocking service in worker processes (S10.1, S10.2).

The processes are anyio's worker processes: started when first needed, kept for the next
calls of the same event loop, and stopped when the loop closes. A call is sent to its
worker pickled (function, message), runs there, and its response comes back pickled. A
call that is asked to stop has its worker process killed: unlike a thread, a process can
be stopped anywhere.
"""

from __future__ import annotations

import pickle
from types import CoroutineType
from typing import Any, final

import anyio
import anyio.to_process

from .._errors import BuildError, CrossflowError, UnawaitedCoroutine
from .._text import describe_error, safe_repr
from ._base import Call, Executor
from ._limits import check_limit, limiter_of, unlimited
from ._pickling import UnpicklableMessage, check_function, dumps, plain_dumps, sendable

_START_TIMED_OUT = (
    "the worker process for {operation} was stopped before it started: it did not "
    "report ready within 20 s of the event loop's clock (anyio's limit for starting a "
    "worker process). Either starting a Python process took that long (a machine under "
    "heavy load), or the clock jumped over the wait: a clock that skips idle time (a "
    "trio MockClock with autojump) must not jump while a worker process starts. "
    "Skip time with crossflow.testing (virtual_clock(), run_skipping_time(), explore()), "
    "whose clocks wait for worker processes, raise the clock's autojump threshold above "
    "the start-up time, or run in real time."
)


def _run_in_process(payload: bytes) -> bytes:
    """In the worker process: unpickle the call, run it, pickle its response."""
    try:
        operation, function, message = pickle.loads(payload)
    except Exception as error:
        raise UnpicklableMessage(
            f"a call could not be unpickled in its worker process ({error!r}): the classes "
            "of its message (and the function's module) must be importable there"
        ) from None
    try:
        result = function(message)
        if result.__class__ is CoroutineType:
            result.close()
            raise UnawaitedCoroutine(
                f"{operation} is a plain function but returned a coroutine: it called an "
                "async function without awaiting it. Make it return its response."
            )
    except BaseException as error:
        raise sendable(error, operation, "in its worker process") from None
    return dumps(
        result,
        lambda: f"the response of {operation} ({safe_repr(result, 80)})",
        plain_dumps,
    )


@final
class ProcessExecutor(Executor):
    """Runs the calls of a blocking service in worker processes (S10.1).

    The function and its messages must pickle: the function is checked when the node is
    built (a lambda or a function defined inside another fails then), a message or
    response that does not pickle fails the call with `cf.UnpicklableMessage`. With
    `limit`, at most that many calls of the services sharing this executor run at once,
    per event loop (without it, anyio's default: one per CPU). Worker processes are kept
    for later calls, and stopped when the event loop closes.

    A call that is asked to stop (its session's cleanup, a trim, a timeout, the run
    cancelled) has its worker process killed at once, wherever it is: `TaskCancelled`
    says `stopped=True`. With the `ABANDON` policy the call runs on to its end instead,
    and the run waits for it (S10.5). Services with streams cannot run in a process.

    Raises:
        InvalidArgument: `limit` is not a positive int or None.
    """

    __slots__ = ("__weakref__", "limit")

    def __init__(self, limit: int | None = None) -> None:
        self.limit = check_limit(limit, "ProcessExecutor(limit=...)")

    def __repr__(self) -> str:
        return f"ProcessExecutor(limit={self.limit!r})"

    def check(self, operation: str, function: Any, streams: tuple[str, ...]) -> None:
        if streams:
            raise BuildError(
                f"{operation!r} declares streams ({', '.join(streams)}) and cannot run with "
                f"{self!r}: stream messages are sent while the function runs, and a "
                "worker process has no way to send them. Run it in a thread "
                "(cf.ThreadExecutor() or offload=True), or drop its streams."
            )
        check_function(operation, function, repr(self), plain_dumps)

    async def run(self, call: Call) -> Any:
        operation = call.operation
        message = call.message
        payload = dumps(
            (operation, call.function, message),
            lambda: f"the message to {operation} ({safe_repr(message, 80)})",
            plain_dumps,
        )
        limiter = (
            anyio.to_process.current_default_process_limiter()
            if self.limit is None
            else limiter_of(self, self.limit)
        )
        cancelled = anyio.get_cancelled_exc_class()
        token = object()
        try:
            await limiter.acquire_on_behalf_of(token)
        except cancelled:
            call.report_cancellation(True, "it had not started: it was waiting for a process")
            raise
        try:
            response = await anyio.to_process.run_sync(
                _run_in_process, payload, cancellable=True, limiter=unlimited()
            )
        except cancelled:
            # anyio has killed the worker process and waited for it to exit
            call.report_cancellation(True, "its worker process was killed")
            raise
        except anyio.BrokenWorkerProcess as error:
            if isinstance(error.__cause__, TimeoutError):
                raise CrossflowError(_START_TIMED_OUT.format(operation=operation)) from error
            raise CrossflowError(
                f"the worker process running {operation} could not start, or died "
                f"({describe_error(error.__cause__ or error, None)}). A worker process "
                "first imports the main module of the program: a script that uses "
                "cf.ProcessExecutor must start its work under "
                "`if __name__ == '__main__':`, as with multiprocessing."
            ) from error
        finally:
            limiter.release_on_behalf_of(token)
        return pickle.loads(response)
