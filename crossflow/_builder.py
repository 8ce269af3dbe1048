"""The builder: what a build function uses to create the operations of its scope.

`Builder` is the user's view of the scope being built (a `Draft`); chains are another
view of the same draft.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar, final, overload

from ._arguments import check_name, shown
from ._buffers import BufferSettings
from ._chain import Chain
from ._errors import InvalidArgument
from ._executor import Executor, Retry
from ._handles import Buffer, InputSlot, Node, Output, Scope, TrimBranch
from ._operation_handles import ForkClone, ForkOption, ForkResult, SplitOutputs, Unzip
from ._policy import CancellationPolicy
from ._providers import classify, with_controls, with_executor
from ._settings import ScopeSettings

if TYPE_CHECKING:
    from collections.abc import Coroutine

    from ._draft import Draft
    from ._ending import Ending
    from ._keys import BufferKey
    from ._services import Service
    from ._workflow import Workflow

    # what the cleanup methods take: a build function, or a service called with a cf.Ending
    CleanupFn: TypeAlias = (
        Callable[[Scope[Any, Any], "Builder"], None]
        | Callable[[Ending[Any]], object]
        | Service[Ending[Any], Any]
        | Workflow[Ending[Any], Any]
    )

T = TypeVar("T")
U = TypeVar("U")
A = TypeVar("A")
B = TypeVar("B")
C = TypeVar("C")
D = TypeVar("D")
Req = TypeVar("Req")
Resp = TypeVar("Resp")

BuildFn = Callable[[Scope[Req, Resp], "Builder"], None]


@final
class Builder:
    """Creates the operations of one scope and connects them.

    A build function receives its scope's `Builder`; it is only usable while that
    build function runs. Handles (outputs, input slots) belong to the scope that made
    them: connecting handles of another workflow or scope raises `IncompatibleLayout`.
    """

    __slots__ = ("_draft",)

    def __init__(self, draft: Draft) -> None:
        self._draft = draft

    def __repr__(self) -> str:
        d = self._draft
        state = "building" if d.open else "built"
        return f"<Builder of scope {d.name!r} ({state}, {len(d.ops)} operations)>"

    # ------------------------------------------------------------------ public

    def chain(self, output: Output[T]) -> Chain[T]:
        """Start a chain of operations from `output`.

        Raises:
            IncompatibleLayout: `output` belongs to another workflow or scope.
        """
        draft = self._draft
        draft.check_open()
        return Chain(draft, draft.output_arg(output, "builder.chain(output)"))

    def connect(self, output: Output[T], input_slot: InputSlot[T] | Buffer[T]) -> None:
        """Send every message of `output` to `input_slot` (or into a buffer).

        Raises:
            OutputAlreadyConnected: `output` is already connected (fork it instead).
            IncompatibleLayout: a handle belongs to another workflow or scope.
        """
        self._draft.connect(output, input_slot, "builder.connect(output, input_slot)")

    @overload
    def create_node(
        self,
        provider: Workflow[Req, Resp],
        *,
        name: str | None = None,
        cancellation: CancellationPolicy = CancellationPolicy.WAIT,
        executor: Executor | None = None,
        max_concurrency: int | None = None,
        timeout: float | None = None,
        retry: Retry | None = None,
    ) -> Node[Req, Resp]: ...
    @overload
    def create_node(
        self,
        provider: Service[Req, Resp],
        *,
        name: str | None = None,
        cancellation: CancellationPolicy = CancellationPolicy.WAIT,
        executor: Executor | None = None,
        max_concurrency: int | None = None,
        timeout: float | None = None,
        retry: Retry | None = None,
    ) -> Node[Req, Resp]: ...
    @overload
    def create_node(
        self,
        provider: Callable[[Req], Coroutine[Any, Any, Resp]],
        *,
        name: str | None = None,
        cancellation: CancellationPolicy = CancellationPolicy.WAIT,
        executor: Executor | None = None,
        max_concurrency: int | None = None,
        timeout: float | None = None,
        retry: Retry | None = None,
    ) -> Node[Req, Resp]: ...
    @overload
    def create_node(
        self,
        provider: Callable[[Req], Resp],
        *,
        name: str | None = None,
        cancellation: CancellationPolicy = CancellationPolicy.WAIT,
        executor: Executor | None = None,
        max_concurrency: int | None = None,
        timeout: float | None = None,
        retry: Retry | None = None,
    ) -> Node[Req, Resp]: ...
    def create_node(
        self,
        provider: Any,
        *,
        name: str | None = None,
        cancellation: CancellationPolicy = CancellationPolicy.WAIT,
        executor: Executor | None = None,
        max_concurrency: int | None = None,
        timeout: float | None = None,
        retry: Retry | None = None,
    ) -> Node[Any, Any]:
        """Create a node that runs `provider` once per message.

        A plain function runs inline (blocking, keep it quick); an `async def` function
        runs as one task per message, concurrently; a `cf.Workflow` runs as a nested
        session per message; a `cf.Service` brings its declared streams.

        `cancellation` says what the scope's cleanup does with the node's running task
        or nested session (S6.6): `WAIT` (default) cancels it and waits for its own
        cleanup, `TRY_CANCEL` cancels it without waiting, `ABANDON` lets it run on.

        `executor` runs the calls of a blocking function elsewhere (a worker thread with
        `cf.ThreadExecutor()`, ...): each call is then an activation, concurrent with the
        others (API §9, S10). It overrides the executor a `cf.Service` was made with.

        `max_concurrency`, `timeout` and `retry` control the activations of an async
        service or of a blocking one with an executor (S10.4): at most `max_concurrency`
        of them run at once in one run, the others waiting in order; an attempt that runs
        longer than `timeout` seconds fails with `TimeoutError`; a failed activation is
        tried again as `retry=cf.Retry(...)` says. Each overrides the service's own.
        Each wait for a slot, timeout and failed attempt is in the event log.

        Raises:
            InvalidArgument: `provider` is not callable, or is a coroutine object; a
                `cancellation` that is not a `cf.CancellationPolicy`, or other than
                `WAIT` for a blocking service that runs inline; an `executor` that is
                not a `cf.Executor`, or one given for an async service or a workflow;
                a control with a wrong value, or given for a blocking service that runs
                inline or for a workflow.
        """
        draft = self._draft
        draft.check_open()
        given = check_name(name, "builder.create_node(name=...)")
        where = "builder.create_node()"
        spec = with_executor(classify(provider, where), executor, where)
        spec = with_controls(spec, max_concurrency, timeout, retry, where)
        return draft.add_node(spec, given, cancellation, where)[1]

    def create_scope(
        self,
        build_fn: Callable[[Scope[Req, Resp], Builder], None],
        *,
        name: str | None = None,
        settings: ScopeSettings | None = None,
        streams: Mapping[str, type[Any]] | None = None,
        cancellation: CancellationPolicy = CancellationPolicy.WAIT,
    ) -> Node[Req, Resp]:
        """Create a nested scope: every message that enters it opens a new child session.

        The child's response comes out of the node's output; its stream messages come
        out of `node.streams.<name>`. A child session that is cancelled records a
        `ScopeCancelled` disposal here instead of cancelling this scope (S1.7).
        `cancellation` is the node's cancellation policy (S6.6), as for `create_node`.
        """
        where = "builder.create_scope()"
        hint = "To run it on every message, use builder.create_node({name})."
        draft = self._draft
        spec = draft.nested_scope(build_fn, name, settings, streams, where, hint)
        return draft.add_node(spec, spec.name, cancellation, where, reserved=True)[1]

    def create_fork_clone(self, *, name: str | None = None) -> ForkClone[Any]:
        """Create a fork that copies each message to every output made by `clone_output()`.

        `name` names the operation in events, causes and pictures (by default
        `fork_clone#N`); as for every name, one already taken in the scope gets `#2`, ...
        """
        given = check_name(name, "create_fork_clone(name=...)")
        return ForkClone(self._draft, self._draft.add_fork_clone(0, name=given))

    def create_unzip(self, n: int, *, name: str | None = None) -> Unzip:
        """Create an unzip for tuples of length `n`: element `i` goes to `outputs[i]`."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise InvalidArgument(f"create_unzip(n): n must be an int >= 1, got {shown(n)}")
        given = check_name(name, "create_unzip(name=...)")
        draft = self._draft
        index = draft.add_unzip(n, given)
        outputs = tuple(Output[Any](draft, index, i) for i in range(n))
        return Unzip(draft.name_of(index), InputSlot(draft, index), outputs)

    def create_fork_result(self, *, name: str | None = None) -> ForkResult:
        """Create a fork that routes `cf.Ok` values to `.ok` and `cf.Err` errors to `.err`."""
        given = check_name(name, "create_fork_result(name=...)")
        draft = self._draft
        index = draft.add_fork_result(given)
        return ForkResult(
            draft.name_of(index),
            InputSlot(draft, index),
            Output(draft, index, 0),
            Output(draft, index, 1),
        )

    def create_fork_option(self, *, name: str | None = None) -> ForkOption:
        """Create a fork that routes `None` to `.none` and anything else to `.some`."""
        given = check_name(name, "create_fork_option(name=...)")
        draft = self._draft
        index = draft.add_fork_option(given)
        return ForkOption(
            draft.name_of(index),
            InputSlot(draft, index),
            Output(draft, index, 0),
            Output(draft, index, 1),
        )

    def create_collect(
        self, min: int = 0, max: int | None = None, *, name: str | None = None
    ) -> Node[Any, list[Any]]:
        """Create a collect: it gathers messages into a list (S5).

        It emits when `max` items arrived, or when nothing upstream can send more and it
        holds at least `min` items; below `min` it records `DeficientCollection`.

        Raises:
            InvalidArgument: `min < 0` or `max < 1`.
            BuildError: `min > max`.
        """
        given = check_name(name, "create_collect(name=...)")
        draft = self._draft
        return draft.single(draft.add_collect(min, max, "create_collect()", given))

    def create_split(
        self, keys: Iterable[Hashable] = (), sequence: int = 0, *, name: str | None = None
    ) -> SplitOutputs:
        """Create a split (see `Chain.split_outputs`).

        Raises:
            InvalidArgument: `keys` is not a list or tuple of hashable keys (a `str` is
                refused: it is not a list of its characters), or `sequence` is not an
                int >= 0.
            BuildError: a key is listed twice.
        """
        given = check_name(name, "create_split(name=...)")
        return self._draft.add_split(keys, sequence, "create_split()", given)

    def create_cancel(self, *, name: str | None = None) -> InputSlot[object]:
        """Create a cancel operation: a message reaching it cancels the scope (`Triggered`
        with `value=str(message)`, and the operation's `name`). It keeps the scope alive
        like terminate does (S2.2)."""
        given = check_name(name, "create_cancel(name=...)")
        return InputSlot(self._draft, self._draft.add_cancel(False, given))

    def create_quiet_cancel(self, *, name: str | None = None) -> InputSlot[object]:
        """Like `create_cancel`, but the cause carries `value=None`."""
        given = check_name(name, "create_quiet_cancel(name=...)")
        return InputSlot(self._draft, self._draft.add_cancel(True, given))

    # ------------------------------------------------------------------ buffers [sync]

    def create_buffer(
        self, settings: BufferSettings | None = None, *, name: str | None = None
    ) -> Buffer[Any]:
        """Create a buffer: it stores, per session, the messages sent into it (S7.1).

        `settings` defaults to `BufferSettings.keep_last(1)`. Annotate the result to type
        it: `pans: cf.Buffer[Pan] = builder.create_buffer(cf.BufferSettings.keep_all())`.
        """
        if settings is None:
            settings = BufferSettings.keep_last(1)
        if not isinstance(settings, BufferSettings):
            raise InvalidArgument(
                "create_buffer(settings=...) takes a cf.BufferSettings, such as "
                f"cf.BufferSettings.keep_all(), got {shown(settings)}"
            )
        given = check_name(name, "create_buffer(name=...)")
        return self._draft.add_buffer(settings, given)

    @overload
    def join(self, buffers: Buffer[A] | Output[A], *, name: str | None = None) -> Chain[A]: ...
    @overload
    def join(
        self, buffers: tuple[Buffer[A] | Output[A]], *, name: str | None = None
    ) -> Chain[tuple[A]]: ...
    @overload
    def join(
        self,
        buffers: tuple[Buffer[A] | Output[A], Buffer[B] | Output[B]],
        *,
        name: str | None = None,
    ) -> Chain[tuple[A, B]]: ...
    @overload
    def join(
        self,
        buffers: tuple[Buffer[A] | Output[A], Buffer[B] | Output[B], Buffer[C] | Output[C]],
        *,
        name: str | None = None,
    ) -> Chain[tuple[A, B, C]]: ...
    @overload
    def join(
        self,
        buffers: tuple[
            Buffer[A] | Output[A],
            Buffer[B] | Output[B],
            Buffer[C] | Output[C],
            Buffer[D] | Output[D],
        ],
        *,
        name: str | None = None,
    ) -> Chain[tuple[A, B, C, D]]: ...
    @overload
    def join(
        self,
        buffers: Mapping[str, Buffer[Any] | Output[Any]],
        *,
        into: Callable[..., U],
        name: str | None = None,
    ) -> Chain[U]: ...
    @overload
    def join(
        self, buffers: Mapping[str, Buffer[Any] | Output[Any]], *, name: str | None = None
    ) -> Chain[dict[str, Any]]: ...
    @overload
    def join(
        self, buffers: tuple[Buffer[Any] | Output[Any], ...], *, name: str | None = None
    ) -> Chain[tuple[Any, ...]]: ...
    def join(
        self, buffers: Any, *, into: Callable[..., Any] | None = None, name: str | None = None
    ) -> Chain[Any]:
        """Join buffers: while every one holds an item, take the oldest of each and emit
        them together (S7.2).

        A tuple of buffers gives tuples, a dict gives dicts, and `into=` a class (an
        attrs class, a dataclass or any callable taking the keys as keyword arguments)
        builds one object per firing. Plain outputs get an implicit `keep_last(1)`
        buffer. A buffer marked with `buffer.join_by_cloning()` is copied, not pulled.

        Raises:
            BuildError: no buffers, a buffer listed twice, or keys that do not match the
                fields of `into`.
            IncompatibleLayout: a buffer of another workflow or scope.
        """
        given = check_name(name, "builder.join(name=...)")
        draft = self._draft
        return Chain(draft, Output(draft, draft.add_join(buffers, into, given), 0))

    @overload
    def listen(self, buffers: Buffer[A], *, name: str | None = None) -> Chain[BufferKey[A]]: ...
    @overload
    def listen(
        self, buffers: tuple[Buffer[A], Buffer[B]], *, name: str | None = None
    ) -> Chain[tuple[BufferKey[A], BufferKey[B]]]: ...
    @overload
    def listen(
        self, buffers: Mapping[str, Buffer[Any]], *, name: str | None = None
    ) -> Chain[dict[str, BufferKey[Any]]]: ...
    @overload
    def listen(
        self, buffers: tuple[Buffer[Any], ...], *, name: str | None = None
    ) -> Chain[tuple[BufferKey[Any], ...]]: ...
    def listen(self, buffers: Any, *, name: str | None = None) -> Chain[Any]:
        """Emit keys to `buffers` once per change of any of them (S7.3).

        The keys come in the shape of `buffers`: one key, a tuple or a dict of keys.
        Changes made through the keys it emitted do not wake it again, unless the
        service uses `key.allow_closed_loops()`.
        """
        given = check_name(name, "builder.listen(name=...)")
        draft = self._draft
        return Chain(draft, Output(draft, draft.add_listen(buffers, given), 0))

    def create_gate_open(self, buffers: Any, *, name: str | None = None) -> Node[Any, Any]:
        """Create an operation that opens the gates of `buffers` and passes each message on.

        Opening a closed gate wakes the buffer's listeners and joins (S7.3).
        """
        given = check_name(name, "create_gate_open(name=...)")
        return self._draft.add_gate(buffers, True, "builder.create_gate_open()", given)

    def create_gate_close(self, buffers: Any, *, name: str | None = None) -> Node[Any, Any]:
        """Create an operation that closes the gates of `buffers` and passes each message on.

        A closed buffer still stores items but wakes no listener or join (S7.4); closing
        records a `ClosedGate` disposal.
        """
        given = check_name(name, "create_gate_close(name=...)")
        return self._draft.add_gate(buffers, False, "builder.create_gate_close()", given)

    def create_trim(self, *branches: TrimBranch, name: str | None = None) -> Node[Any, Any]:
        """Create a trim: each message cleans up the operations of `branches` for its
        session (their queued messages are dropped, tasks cancelled, nested sessions
        interrupted), then records a `Trimming` disposal and passes the message on."""
        given = check_name(name, "create_trim(name=...)")
        return self._draft.add_trim(branches, "create_trim()", given)

    def on_cancel(self, buffers: Any, build_fn: CleanupFn, *, ending: bool = False) -> None:
        """Add a cleanup workflow that runs after the scope is cancelled or interrupted.

        It starts once the scope's operations are cleaned up; its response is ignored.
        The scope's cancellation is delivered only when it has ended (S6.1-S6.3).
        `buffers` are the buffers it gets keys to: one buffer, a tuple or a dict of
        them (`()` for none); the keys come in the same shape.

        `build_fn` takes one of two forms:

        * a build function `def build(scope, builder)`, which builds the cleanup
          workflow. Its request is the keys, or, with `ending=True`, a `cf.Ending`
          holding the keys and how the session ended.
        * the one-line form: a service called once, whose request is a `cf.Ending`
          (`ending.keys`, `ending.cancellation`): a function of one argument (plain or
          async), a `cf.Service` or a `cf.Workflow`.
          `builder.on_cancel(pans, undo)` is the same as a build function that
          connects `scope.start` to `undo` and `undo` to `scope.terminate`.

        A function with two required positional parameters is a build function, one
        that takes one argument is the one-line form; a callable whose signature cannot
        be read is taken as a build function.

        Raises:
            InvalidArgument: `build_fn` is neither form (the message explains both),
                an async build function, or `ending` is not a bool.
        """
        self._draft.add_cleanup("cancel", buffers, build_fn, ending)

    def on_terminate(self, buffers: Any, build_fn: CleanupFn, *, ending: bool = False) -> None:
        """Add a cleanup workflow that runs after the scope reached terminate.

        Both forms and `ending=` are as for `on_cancel`; the `cf.Ending` it gets says
        the session terminated (`ending.cancellation is None`).
        """
        self._draft.add_cleanup("terminate", buffers, build_fn, ending)

    def on_cleanup(self, buffers: Any, build_fn: CleanupFn, *, ending: bool = False) -> None:
        """Add a cleanup workflow that runs whenever the scope ends (see `on_cancel`).

        Its `cf.Ending` (one-line form, or `ending=True`) tells a cancellation from a
        terminate.
        """
        self._draft.add_cleanup("cleanup", buffers, build_fn, ending)
