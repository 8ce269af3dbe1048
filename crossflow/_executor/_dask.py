"""`cf.DaskExecutor`: the calls of a blocking service on a Dask cluster (S10.1, S10.2).

Dask is an optional extra (`pip install 'crossflow-py[dask]'`): this module imports it
only when a `DaskExecutor` is made, so `import crossflow` never does.

The executor takes a synchronous `distributed.Client`, whose own event loop runs in a
thread of its own; that works the same under asyncio and trio, whose loops the Dask
client could not share. Each call is submitted as a Dask task; its result is gathered on
the client's loop, and the task awaiting it is woken through the run's entry queue
(`call.on_loop`), the one thread-safe way back into the run.

Cancelling a call cancels its Dask future. A task that has not started never will; a
task already running on a worker cannot be interrupted by Dask: it runs on (it sees
`cf.cancel_requested()` turn True, and can return early), and the executor waits until
the worker is done with it, so that nothing outlives the run (S10.5).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import uuid
from collections.abc import Callable, Coroutine
from functools import partial
from types import CoroutineType
from typing import TYPE_CHECKING, Any, TypeVar, final

import anyio
import anyio.to_thread

from .._arguments import shown
from .._errors import BuildError, CrossflowError, InvalidArgument, UnawaitedCoroutine
from .._text import safe_repr
from ._base import Call, Executor, current_call
from ._pickling import UnpicklableMessage, check_function

if TYPE_CHECKING:
    from distributed import Client, Future

T = TypeVar("T")

# how often to ask whether a cancelled task still runs on a worker: from, up to (seconds)
_POLL_FIRST = 0.02
_POLL_MAX = 0.5
# what the workers' task states mean for a call: asked to stop
_STOPPING = frozenset({"cancelled", "released", "forgotten"})


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError as error:
        raise CrossflowError(
            "cf.DaskExecutor needs Dask's distributed scheduler, which is not installed: "
            "pip install 'crossflow-py[dask]'"
        ) from error
    return distributed


class _OnWorker:
    """`cf.cancel_requested()` for a call running in a Dask task: its worker's state of
    the task says whether the task was cancelled."""

    __slots__ = ("key", "worker")

    def __init__(self, worker: Any, key: object) -> None:
        self.worker = worker
        self.key = key

    def __repr__(self) -> str:
        return f"<call in Dask task {self.key!r}>"

    @property
    def cancel_requested(self) -> bool:
        task = self.worker.state.tasks.get(self.key)
        return task is None or task.state in _STOPPING


def _run_on_worker(operation: str, function: Callable[[Any], Any], message: Any) -> Any:
    """On the worker: the service's function, with `cf.cancel_requested()` answering.

    A task whose future was cancelled while it waited in the worker's thread pool (Dask
    still runs those) does not call the function at all.
    """
    source: _OnWorker | None = None
    try:
        from distributed import get_worker

        worker = get_worker()
        source = _OnWorker(worker, worker.get_current_task())
    except Exception:  # not in a worker's task thread: nothing can ask it to stop
        source = None
    if source is not None and source.cancel_requested:
        return None  # cancelled before it began: its result is dropped anyway
    token = current_call().set(source)
    try:
        result = function(message)
    finally:
        current_call().reset(token)
    if result.__class__ is CoroutineType:
        result.close()
        raise UnawaitedCoroutine(
            f"{operation} is a plain function but returned a coroutine: it called an async "
            "function without awaiting it. Make it return its response."
        )
    return result


def _task_on_worker(key: object, dask_worker: Any = None) -> str | None:
    """Run on each worker (`Client.run`) when a call is cancelled: what the worker still
    does with task `key`: "running" (its function runs in a thread), "held" (it knows the
    task in any other state: waiting, ready, queued in its thread pool, or holding its
    result), or None (nothing: it never had it, or has let go of it)."""
    task = dask_worker.state.tasks.get(key)
    if task is None:
        return None
    busy = ("executing", "long-running")
    executing = task.state in busy or (task.state == "cancelled" and task.previous in busy)
    return "running" if executing and key in dask_worker.active_threads.values() else "held"


async def _on_client_loop(call: Call, client: Client, coroutine: Coroutine[Any, Any, T]) -> T:
    """Run `coroutine` on the Dask client's event loop; wake up through the run's loop."""
    io_loop = client.loop
    loop: asyncio.AbstractEventLoop | None = getattr(io_loop, "asyncio_loop", None)
    try:
        if loop is None:
            raise RuntimeError("no loop")
        future: concurrent.futures.Future[T] = asyncio.run_coroutine_threadsafe(coroutine, loop)
    except RuntimeError:
        if isinstance(coroutine, CoroutineType):
            coroutine.close()
        raise CrossflowError(
            f"the Dask client {client!r} is closed: {call.operation} cannot run on it"
        ) from None
    done = anyio.Event()
    future.add_done_callback(lambda _: call.on_loop(done.set))
    # a cancellation leaves the coroutine to end on the client's loop: Dask's own
    # coroutines are not written to be cancelled halfway (the caller cancels the work)
    await done.wait()
    return future.result()


@final
class DaskExecutor(Executor):
    """Runs the calls of a blocking service on a Dask cluster, through `client` (S10.1).

    `client` is a synchronous `distributed.Client` (the default kind), made before the run:
    `cf.DaskExecutor(Client("tcp://scheduler:8786"))`, or `Client(LocalCluster())`. It
    works on asyncio and trio alike. Each call becomes one Dask task (its key starts with
    the node's name); the function is pickled with cloudpickle, its module and
    crossflow-py must be importable on the workers, and messages and responses must
    pickle.

    A call that is asked to stop (its session's cleanup, a trim, a timeout, the run
    cancelled) has its Dask future cancelled. A task that had not started never runs
    (`TaskCancelled` says `stopped=True`); a task already running on a worker runs on,
    because Dask cannot interrupt it: inside it `cf.cancel_requested()` turns True, the
    event says `stopped=False` and names the worker, and the run waits until the worker
    is done with it (S10.5). With the `ABANDON` policy a call is not cancelled: it runs
    to its end and its result is dropped. Every future is released when its call ends.
    Services with streams cannot run on Dask.

    Raises:
        InvalidArgument: `client` is not a `distributed.Client`, or is an asynchronous one.
        CrossflowError: Dask's `distributed` is not installed.
    """

    __slots__ = ("__weakref__", "client")

    def __init__(self, client: Client) -> None:
        distributed = _import_distributed()
        if not isinstance(client, distributed.Client):
            raise InvalidArgument(
                f"DaskExecutor(client) takes a distributed.Client, got {shown(client)}"
            )
        if client.asynchronous:
            raise InvalidArgument(
                "DaskExecutor(client) takes a synchronous distributed.Client (the default: "
                "Client(address) without asynchronous=True), got an asynchronous one: its "
                "loop would have to be the run's, which cannot be under trio"
            )
        self.client = client

    def __repr__(self) -> str:
        return f"DaskExecutor({self.client!r})"

    def check(self, operation: str, function: Any, streams: tuple[str, ...]) -> None:
        if streams:
            raise BuildError(
                f"{operation!r} declares streams ({', '.join(streams)}) and cannot run with "
                "cf.DaskExecutor: stream messages are sent while the function runs, and a "
                "Dask task has no way to send them. Run it in a thread "
                "(cf.ThreadExecutor() or offload=True), or drop its streams."
            )
        import cloudpickle  # type: ignore[import-untyped]

        check_function(operation, function, "cf.DaskExecutor", cloudpickle.dumps)

    async def run(self, call: Call) -> Any:
        client = self.client
        operation = call.operation
        key = f"{operation}-{uuid.uuid4().hex}"
        try:
            future = client.submit(
                _run_on_worker, operation, call.function, call.message, key=key, pure=False
            )
        except Exception as error:
            if "pickle" not in type(error).__name__.lower() and "pickle" not in str(error):
                raise
            raise UnpicklableMessage(
                f"the message to {operation} ({safe_repr(call.message, 80)}) cannot be "
                f"sent to Dask: {error}"
            ) from error
        try:
            try:
                return await _on_client_loop(call, client, client.gather(future, asynchronous=True))
            except anyio.get_cancelled_exc_class():
                with anyio.CancelScope(shield=True):
                    await self._stop(call, future)
                raise
        finally:
            future.release()

    async def _stop(self, call: Call, future: Future[Any]) -> None:
        """Cancel `future`; say how far that reached; wait for a task that runs on."""
        client = self.client
        if future.status != "pending":
            call.report_cancellation(True, "its Dask task had already ended: its result is dropped")
            return
        # Dask cannot interrupt a task that runs, and a worker may even start one in the
        # moment before the cancellation reaches it: look before cancelling, then until no
        # worker holds the task any more. Nothing of it may outlive the run (S10.5).
        seen = await self._where(future.key)
        await _on_client_loop(call, client, client.cancel([future], asynchronous=True))
        delay = _POLL_FIRST
        reported = False
        while True:
            running = [worker for worker, what in seen.items() if what == "running"]
            if running and not reported:
                call.report_cancellation(
                    False,
                    f"its Dask task was already running on worker {running[0]}, and Dask "
                    "cannot interrupt it: it runs on (cf.cancel_requested() is now True in "
                    "it), and the run waits for it to end",
                )
                reported = True
            seen = await self._where(future.key)
            if not seen:
                break
            await anyio.sleep(delay)
            delay = min(delay * 2, _POLL_MAX)
        if not reported:
            call.report_cancellation(True, "its Dask future was cancelled before the task started")

    async def _where(self, key: object) -> dict[str, str]:
        """The workers that still run task `key`, or hold it (see `_task_on_worker`)."""
        found = await anyio.to_thread.run_sync(
            partial(self.client.run, _task_on_worker, key, on_error="return")
        )
        return {str(worker): what for worker, what in found.items() if what in ("running", "held")}
