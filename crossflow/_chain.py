"""Chains: a fluent way to add operations one after another."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Hashable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar, final, overload

from ._arguments import check_name, shown
from ._callables import callable_name, check_callable, check_one_argument, is_async_callable
from ._checks import check_min_max
from ._errors import BuildError, InvalidArgument
from ._handles import Buffer, InputSlot, Node, Output, Scope, TrimBranch
from ._model import FilterMode
from ._policy import CancellationPolicy
from ._providers import classify, provider_kind, with_controls, with_executor
from ._results import Err, Ok
from ._text import safe_repr

if TYPE_CHECKING:
    from ._builder import Builder
    from ._draft import Draft
    from ._executor import Executor, Retry
    from ._keys import BufferKey
    from ._operation_handles import SplitOutputs
    from ._providers import ProviderSpec
    from ._services import Service
    from ._settings import ScopeSettings
    from ._workflow import Workflow

T_co = TypeVar("T_co", covariant=True)
U = TypeVar("U")
A = TypeVar("A")
B = TypeVar("B")
C = TypeVar("C")
D = TypeVar("D")
R = TypeVar("R")
R1 = TypeVar("R1")
R2 = TypeVar("R2")


@final
class Chain(Generic[T_co]):
    """A fluent builder for a line of operations, starting from one output.

    Each method adds an operation fed by this chain's output and returns a new chain
    of that operation's output (or ends the chain). A chain's output can be used once:
    to send messages to several places, fork them (`fork_clone`, `branch_clone`).
    """

    __slots__ = ("_draft", "_output", "_size")

    def __init__(self, draft: Draft, output: Output[T_co], size: int | None = None) -> None:
        self._draft = draft
        self._output = output
        self._size = size  # known tuple length of the messages, for unzip

    def __repr__(self) -> str:
        return f"<Chain from {self._output!r}>"

    # ------------------------------------------------------------------ internals

    def _attach(self, add: Callable[[], int]) -> int:
        """Feed this chain into the operation `add` creates (after checking that this
        chain's output is still free); return its position."""
        d = self._draft
        d.check_open()
        d.check_free(self._output)
        index = add()
        d.link(self._output, index)
        return index

    def _next(self, index: int, port: int = 0, size: int | None = None) -> Chain[Any]:
        return Chain(self._draft, Output(self._draft, index, port), size)

    def _through(self, make: Callable[[], Node[Any, Any]]) -> Chain[Any]:
        """Feed this chain into the node `make` creates; continue from its output."""
        self._draft.check_free(self._output)
        node = make()
        self._draft.link(self._output, node.input._op)
        return Chain(self._draft, node.output)

    def _filter(
        self, mode: FilterMode, fn: Callable[[Any], Any] | None = None, name: str | None = None
    ) -> Chain[Any]:
        given = check_name(name, f"chain.{mode}(name=...)")
        return self._next(self._attach(lambda: self._draft.add_filter(mode, fn, given)))

    def _node(
        self,
        provider: object,
        name: object,
        cancellation: object,
        executor: object,
        controls: tuple[object, object, object] = (None, None, None),
    ) -> tuple[Node[Any, Any], ProviderSpec]:
        d = self._draft
        d.check_open()
        given = check_name(name, "chain.then(name=...)")
        d.check_free(self._output)
        spec = with_executor(classify(provider, "chain.then()"), executor, "chain.then()")
        spec = with_controls(spec, *controls, "chain.then()")
        index, node = d.add_node(spec, given, cancellation, "chain.then()")
        d.link(self._output, index)
        return node, spec

    # ------------------------------------------------------------------ ending

    def output(self) -> Output[T_co]:
        """End the chain and return its output, to connect it later."""
        return self._output

    @overload
    def connect(self, input_slot: InputSlot[T_co]) -> None: ...
    @overload
    def connect(self: Chain[A], input_slot: Buffer[A]) -> None: ...
    def connect(self, input_slot: InputSlot[Any] | Buffer[Any]) -> None:
        """End the chain by connecting its output to `input_slot` (or into a buffer).

        Raises:
            OutputAlreadyConnected: this chain's output was already used.
            IncompatibleLayout: `input_slot` belongs to another workflow or scope.
        """
        self._draft.connect(self._output, input_slot, "chain.connect(input_slot)")

    def dispose(self) -> None:
        """End the chain; its messages are discarded on purpose (no disposal is recorded)."""
        self._draft.discard(self._output)

    # ------------------------------------------------------------------ nodes

    @overload
    def then(
        self,
        provider: Workflow[T_co, U],
        *,
        name: str | None = None,
        cancellation: CancellationPolicy = CancellationPolicy.WAIT,
        executor: Executor | None = None,
        max_concurrency: int | None = None,
        timeout: float | None = None,
        retry: Retry | None = None,
    ) -> Chain[U]: ...
    @overload
    def then(
        self,
        provider: Service[T_co, U],
        *,
        name: str | None = None,
        cancellation: CancellationPolicy = CancellationPolicy.WAIT,
        executor: Executor | None = None,
        max_concurrency: int | None = None,
        timeout: float | None = None,
        retry: Retry | None = None,
    ) -> Chain[U]: ...
    @overload
    def then(
        self,
        provider: Callable[[T_co], Coroutine[Any, Any, U]],
        *,
        name: str | None = None,
        cancellation: CancellationPolicy = CancellationPolicy.WAIT,
        executor: Executor | None = None,
        max_concurrency: int | None = None,
        timeout: float | None = None,
        retry: Retry | None = None,
    ) -> Chain[U]: ...
    @overload
    def then(
        self,
        provider: Callable[[T_co], U],
        *,
        name: str | None = None,
        cancellation: CancellationPolicy = CancellationPolicy.WAIT,
        executor: Executor | None = None,
        max_concurrency: int | None = None,
        timeout: float | None = None,
        retry: Retry | None = None,
    ) -> Chain[U]: ...
    def then(
        self,
        provider: Any,
        *,
        name: str | None = None,
        cancellation: CancellationPolicy = CancellationPolicy.WAIT,
        executor: Executor | None = None,
        max_concurrency: int | None = None,
        timeout: float | None = None,
        retry: Retry | None = None,
    ) -> Chain[Any]:
        """Run `provider` on every message; continue with its responses.

        `provider` is a plain function (blocking, runs inline), an `async def` function
        (one task per message), a `cf.Service`, or a `cf.Workflow` (a nested session
        per message). `cancellation` is the node's cancellation policy (S6.6): see
        `Builder.create_node`, as for `executor`, `max_concurrency`, `timeout` and
        `retry` (API §9, S10.4).

        Raises:
            InvalidArgument: `provider` is not callable, or is a coroutine object; a
                `cancellation` other than `WAIT` for a blocking service that runs inline;
                an executor or a control that does not apply (see `create_node`).
        """
        node, spec = self._node(
            provider, name, cancellation, executor, (max_concurrency, timeout, retry)
        )
        return Chain(self._draft, node.output, spec.tuple_size)

    @overload
    def then_node(
        self,
        provider: Workflow[T_co, U],
        *,
        name: str | None = None,
        cancellation: CancellationPolicy = CancellationPolicy.WAIT,
        executor: Executor | None = None,
        max_concurrency: int | None = None,
        timeout: float | None = None,
        retry: Retry | None = None,
    ) -> Node[T_co, U]: ...
    @overload
    def then_node(
        self,
        provider: Service[T_co, U],
        *,
        name: str | None = None,
        cancellation: CancellationPolicy = CancellationPolicy.WAIT,
        executor: Executor | None = None,
        max_concurrency: int | None = None,
        timeout: float | None = None,
        retry: Retry | None = None,
    ) -> Node[T_co, U]: ...
    @overload
    def then_node(
        self,
        provider: Callable[[T_co], Coroutine[Any, Any, U]],
        *,
        name: str | None = None,
        cancellation: CancellationPolicy = CancellationPolicy.WAIT,
        executor: Executor | None = None,
        max_concurrency: int | None = None,
        timeout: float | None = None,
        retry: Retry | None = None,
    ) -> Node[T_co, U]: ...
    @overload
    def then_node(
        self,
        provider: Callable[[T_co], U],
        *,
        name: str | None = None,
        cancellation: CancellationPolicy = CancellationPolicy.WAIT,
        executor: Executor | None = None,
        max_concurrency: int | None = None,
        timeout: float | None = None,
        retry: Retry | None = None,
    ) -> Node[T_co, U]: ...
    def then_node(
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
        """Like `then`, but return the `Node`, to reach its stream outputs."""
        return self._node(
            provider, name, cancellation, executor, (max_concurrency, timeout, retry)
        )[0]

    @overload
    def map(
        self, fn: Callable[[T_co], Coroutine[Any, Any, U]], *, name: str | None = None
    ) -> Chain[U]: ...
    @overload
    def map(self, fn: Callable[[T_co], U], *, name: str | None = None) -> Chain[U]: ...
    def map(self, fn: Any, *, name: str | None = None) -> Chain[Any]:
        """Apply `fn` to every message: inline if it is a plain function, as a task if async."""
        kind = provider_kind(fn)
        if kind is not None:
            raise InvalidArgument(
                f"chain.map() takes a plain or async function, got the {kind} "
                f"{safe_repr(fn)}; use chain.then() for services and workflows"
            )
        check_callable(fn, "chain.map()")
        return self.then(fn, name=name)

    def then_scope(
        self,
        build_fn: Callable[[Scope[T_co, U], Builder], None],
        *,
        name: str | None = None,
        settings: ScopeSettings | None = None,
        streams: Mapping[str, type[Any]] | None = None,
        cancellation: CancellationPolicy = CancellationPolicy.WAIT,
    ) -> Chain[U]:
        """Run every message through a nested scope built by `build_fn` (a child session each).

        A child session that is cancelled does not cancel this scope: it records a
        `ScopeCancelled` disposal here (S1.7). `settings` may make the scope
        uninterruptible or give it a timeout; `cancellation` is the node's cancellation
        policy (S6.6).

        The scope is named `name`, or after its build function (`pricing`; a lambda
        after where it was written, `lambda@pipeline.py:12`), with `#2`, `#3`, ... when
        the name repeats in this scope. It is the operation's name in disposals and the
        nested scope's name in its session's events and cancellations.

        Raises:
            InvalidArgument: `build_fn` is not a build function (for example a step
                that takes one argument: use `chain.then` for that, or an `async def`
                function), or `name`, `settings` or `streams` has the wrong type.
        """
        d = self._draft
        d.check_open()
        d.check_free(self._output)
        where = "chain.then_scope()"
        hint = "To run it on every message, use chain.then({name})."
        spec = d.nested_scope(build_fn, name, settings, streams, where, hint)
        index, node = d.add_node(spec, spec.name, cancellation, where, reserved=True)
        d.link(self._output, index)
        return Chain(d, node.output)

    # ------------------------------------------------------------------ forks

    def fork_clone(
        self, *build_fns: Callable[[Chain[T_co]], R], name: str | None = None
    ) -> tuple[R, ...]:
        """Send a copy of each message to every branch, in the order given (S8.1).

        The first branch receives the message itself, the others a `copy.deepcopy`
        (immutable builtins are shared). Returns what the build functions return.
        `name` names the fork (by default `fork_clone#N`).
        """
        given = check_name(name, "chain.fork_clone(name=...)")
        if not build_fns:
            raise InvalidArgument(
                "chain.fork_clone() needs at least one branch: a function that builds on "
                "the branch's chain, for example `lambda chain: chain.connect(scope.terminate)`"
            )
        for fn in build_fns:
            _check_brancher(fn, "chain.fork_clone()")
        index = self._attach(lambda: self._draft.add_fork_clone(len(build_fns), name=given))
        return tuple(fn(self._next(index, i, self._size)) for i, fn in enumerate(build_fns))

    def branch_clone(self, build_fn: Callable[[Chain[T_co]], object]) -> Chain[T_co]:
        """Build one branch on a copy of each message; continue the chain with the original.

        The branch receives its copy before the chain continues (S8.1).
        """
        _check_brancher(build_fn, "chain.branch_clone()")
        # the branch is declared first, so it gets its copy first (S8.1); the chain
        # continues with the original message
        index = self._attach(lambda: self._draft.add_fork_clone(2, original=1))
        build_fn(self._next(index, 0, self._size))
        return self._next(index, 1, self._size)

    def _unzip_size(self, n: int | None, where: str) -> int:
        if n is None:
            if self._size is None:
                raise BuildError(
                    f"{where}: cannot tell how many elements the tuples have. Pass n=..., "
                    "or annotate the previous function's return type as a fixed tuple "
                    "(for example -> tuple[int, str])."
                )
            return self._size
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise InvalidArgument(f"{where}: n must be an int >= 1, got {shown(n)}")
        return n

    @overload
    def unzip(self: Chain[tuple[A, B]], n: int | None = None) -> tuple[Chain[A], Chain[B]]: ...
    @overload
    def unzip(
        self: Chain[tuple[A, B, C]], n: int | None = None
    ) -> tuple[Chain[A], Chain[B], Chain[C]]: ...
    @overload
    def unzip(
        self: Chain[tuple[A, B, C, D]], n: int | None = None
    ) -> tuple[Chain[A], Chain[B], Chain[C], Chain[D]]: ...
    @overload
    def unzip(self, n: int | None = None) -> tuple[Chain[Any], ...]: ...
    def unzip(self, n: int | None = None) -> tuple[Chain[Any], ...]:
        """One chain per tuple element: element `i` of every message goes to chain `i`.

        `n` (the tuple length) is needed when it cannot be read from the previous
        function's return annotation.
        """
        size = self._unzip_size(n, "chain.unzip()")
        index = self._attach(lambda: self._draft.add_unzip(size))
        return tuple(self._next(index, i) for i in range(size))

    def fork_unzip(self, *build_fns: Callable[[Chain[Any]], R]) -> tuple[R, ...]:
        """Unzip tuples and build one branch per element; returns what the functions return."""
        if not build_fns:
            raise InvalidArgument(
                "chain.fork_unzip() needs one branch per tuple element: a function that "
                "builds on that element's chain"
            )
        for fn in build_fns:
            _check_brancher(fn, "chain.fork_unzip()")
        chains = self.unzip(len(build_fns))
        return tuple(fn(c) for fn, c in zip(build_fns, chains, strict=True))

    def fork_result(
        self: Chain[Ok[A] | Err[B]],
        ok: Callable[[Chain[A]], R1],
        err: Callable[[Chain[B]], R2],
    ) -> tuple[R1, R2]:
        """Send `Ok.value` down `ok` and `Err.error` down `err`.

        The branch not taken records a `Branching` disposal.
        """
        _check_brancher(ok, "chain.fork_result(ok=...)")
        _check_brancher(err, "chain.fork_result(err=...)")
        index = self._attach(self._draft.add_fork_result)
        return ok(self._next(index, 0)), err(self._next(index, 1))

    def branch_for_err(
        self: Chain[Ok[A] | Err[B]], build_fn: Callable[[Chain[B]], object]
    ) -> Chain[A]:
        """Build a branch for `Err.error`; continue the chain with `Ok.value`."""
        _check_brancher(build_fn, "chain.branch_for_err()")
        index = self._attach(self._draft.add_fork_result)
        build_fn(self._next(index, 1))
        return self._next(index, 0)

    def fork_option(
        self: Chain[A | None],
        some: Callable[[Chain[A]], R1],
        none: Callable[[Chain[None]], R2],
    ) -> tuple[R1, R2]:
        """Send `None` down `none` (as `None`) and anything else down `some`.

        The branch not taken records a `Branching` disposal.
        """
        _check_brancher(some, "chain.fork_option(some=...)")
        _check_brancher(none, "chain.fork_option(none=...)")
        index = self._attach(self._draft.add_fork_option)
        return some(self._next(index, 0)), none(self._next(index, 1))

    def branch_for_none(
        self: Chain[A | None], build_fn: Callable[[Chain[None]], object]
    ) -> Chain[A]:
        """Build a branch for `None`; continue the chain with every other value."""
        _check_brancher(build_fn, "chain.branch_for_none()")
        index = self._attach(self._draft.add_fork_option)
        build_fn(self._next(index, 1))
        return self._next(index, 0)

    # ------------------------------------------------------------------ filters

    def cancel_on_err(self: Chain[Ok[A] | Err[B]], *, name: str | None = None) -> Chain[A]:
        """Pass `Ok.value` on; an `Err` cancels the scope with `Filtered` (S4.2)."""
        return self._filter("cancel_on_err", name=name)

    def dispose_on_err(self: Chain[Ok[A] | Err[B]], *, name: str | None = None) -> Chain[A]:
        """Pass `Ok.value` on; an `Err` is disposed of (`Filtered`)."""
        return self._filter("dispose_on_err", name=name)

    def dispose_on_ok(self: Chain[Ok[A] | Err[B]], *, name: str | None = None) -> Chain[B]:
        """Pass `Err.error` on; an `Ok` is disposed of (`Filtered`)."""
        return self._filter("dispose_on_ok", name=name)

    def cancel_on_none(self: Chain[A | None], *, name: str | None = None) -> Chain[A]:
        """Pass values on unchanged; `None` cancels the scope with `Filtered`."""
        return self._filter("cancel_on_none", name=name)

    def dispose_on_none(self: Chain[A | None], *, name: str | None = None) -> Chain[A]:
        """Pass values on unchanged; `None` is disposed of (`Filtered`)."""
        return self._filter("dispose_on_none", name=name)

    def dispose_on_some(self: Chain[A | None], *, name: str | None = None) -> Chain[None]:
        """Pass `None` on; anything else is disposed of (`Filtered`)."""
        return self._filter("dispose_on_some", name=name)

    def cancellation_filter(
        self, fn: Callable[[T_co], U | None], *, name: str | None = None
    ) -> Chain[U]:
        """Pass `fn(message)` on; when it returns `None` the scope is cancelled (`Filtered`)."""
        _check_filter(fn, "chain.cancellation_filter()")
        return self._filter("cancellation_filter", fn, name)

    def disposal_filter(
        self, fn: Callable[[T_co], U | None], *, name: str | None = None
    ) -> Chain[U]:
        """Pass `fn(message)` on; when it returns `None` the message is disposed (`Filtered`)."""
        _check_filter(fn, "chain.disposal_filter()")
        return self._filter("disposal_filter", fn, name)

    # ------------------------------------------------------------------ single-message ops

    def then_cancel(self, *, name: str | None = None) -> None:
        """End the chain in a cancel: the scope is cancelled with `Triggered(value=str(msg))`.

        An explicit cancel keeps the scope alive while it can be reached (S2.2). `name`
        names the cancel operation, as `Triggered.operation` shows it.
        """
        given = check_name(name, "chain.then_cancel(name=...)")
        self._attach(lambda: self._draft.add_cancel(False, given))

    def then_quiet_cancel(self, *, name: str | None = None) -> None:
        """Like `then_cancel`, with `Triggered(value=None)`."""
        given = check_name(name, "chain.then_quiet_cancel(name=...)")
        self._attach(lambda: self._draft.add_cancel(True, given))

    def trigger(self, *, name: str | None = None) -> Chain[None]:
        """Replace every message with `None`."""
        return self._filter("trigger", name=name)

    def noop(self, *, name: str | None = None) -> Chain[T_co]:
        """Pass every message on unchanged."""
        return self._filter("noop", name=name)

    def delay(self, seconds: float, *, name: str | None = None) -> Chain[T_co]:
        """Pass every message on after `seconds`: a cancellable timer per message.

        `name` names the operation in events and disposals (default `delay#<n>`).

        A pending timer counts as activity of its session (S2.1). When the session is
        cleaned up, its pending timers are cancelled and a `TimerCancelled` event is
        recorded for each; the messages they held go nowhere (S6.1).

        Raises:
            InvalidArgument: `seconds` is not a finite number >= 0.
        """
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            raise InvalidArgument(
                f"chain.delay(seconds) takes a number of seconds, got {seconds!r} "
                f"of type {type(seconds).__name__}"
            )
        if not 0 <= seconds < float("inf"):
            raise InvalidArgument(
                f"chain.delay({seconds!r}): the delay must be a finite number of seconds >= 0"
            )
        given = check_name(name, "chain.delay(name=...)")
        index = self._attach(lambda: self._draft.add_delay(seconds, given))
        return self._next(index)

    def spread(self: Chain[Iterable[A]], *, name: str | None = None) -> Chain[A]:
        """Send one message per element of each iterable; an empty one records `EmptySpread`.

        `name` names the operation (by default `spread#N`)."""
        given = check_name(name, "chain.spread(name=...)")
        return self._next(self._attach(lambda: self._draft.add_spread(given)))

    def collect(
        self, min: int = 0, max: int | None = None, *, name: str | None = None
    ) -> Chain[list[T_co]]:
        """Gather messages into lists (S5).

        Emits exactly `max` items when `max` is reached; otherwise emits what it holds
        once nothing upstream can send more, if it holds at least `min` (else records
        `DeficientCollection`). `collect(min=0, max=1)` catches "that branch can no
        longer happen": it emits `[]`.

        Raises:
            InvalidArgument: `min < 0` or `max < 1`, or a `name` that is not a str.
            BuildError: `min > max`.
        """
        check_min_max(min, max, "chain.collect()")
        given = check_name(name, "chain.collect(name=...)")
        return self._next(
            self._attach(lambda: self._draft.add_collect(min, max, "chain.collect()", given))
        )

    def collect_all(self, *, name: str | None = None) -> Chain[list[T_co]]:
        """`collect(min=0, max=None)`: everything, once upstream falls quiet."""
        return self.collect(0, None, name=name)

    def collect_n(self, n: int, *, name: str | None = None) -> Chain[list[T_co]]:
        """`collect(min=n, max=n)`: lists of exactly `n` items."""
        return self.collect(n, n, name=name)

    def split_outputs(self, keys: Iterable[Hashable] = (), sequence: int = 0) -> SplitOutputs:
        """End the chain in a split; returns its outputs (`.key(k)`, `.seq(i)`, `.remaining`)."""
        self._draft.check_free(self._output)
        split = self._draft.add_split(keys, sequence, "create_split()")
        self._draft.link(self._output, split._op)
        return split

    def split(
        self, build: Callable[[SplitOutputs], R], keys: Iterable[Hashable] = (), sequence: int = 0
    ) -> R:
        """Like `split_outputs`, handing the outputs to `build`; returns what it returns."""
        check_one_argument(build, "chain.split()", "the cf.SplitOutputs")
        return build(self.split_outputs(keys, sequence))

    # ------------------------------------------------------------------ buffers [sync]

    def then_push(self: Chain[A], buffer: Buffer[A]) -> Chain[None]:
        """Push every message into `buffer`; the chain continues with `None` (S7.1)."""
        d = self._draft
        d.check_open()
        d.buffer_op(buffer, "chain.then_push()", False)  # checked before anything is added
        return self._next(self._attach(lambda: d.add_push(buffer, "chain.then_push()")))

    def _access(
        self, buffers: Any, with_msg: bool, where: str, name: str | None = None
    ) -> Chain[Any]:
        d = self._draft
        d.buffer_set(buffers, where)  # checked before anything is added
        given = check_name(name, f"{where[:-2]}(name=...)")
        return self._next(self._attach(lambda: d.add_access(buffers, with_msg, where, given)))

    @overload
    def with_access(
        self, buffers: Buffer[A], *, name: str | None = None
    ) -> Chain[tuple[T_co, BufferKey[A]]]: ...
    @overload
    def with_access(
        self, buffers: tuple[Buffer[A], Buffer[B]], *, name: str | None = None
    ) -> Chain[tuple[T_co, tuple[BufferKey[A], BufferKey[B]]]]: ...
    @overload
    def with_access(
        self, buffers: Mapping[str, Buffer[Any]], *, name: str | None = None
    ) -> Chain[tuple[T_co, dict[str, BufferKey[Any]]]]: ...
    @overload
    def with_access(
        self, buffers: tuple[Buffer[Any], ...], *, name: str | None = None
    ) -> Chain[tuple[T_co, tuple[BufferKey[Any], ...]]]: ...
    def with_access(self, buffers: Any, *, name: str | None = None) -> Chain[Any]:
        """Pair every message with keys to `buffers`: `(msg, keys)` (S7).

        The keys come in the shape of `buffers` (one key, a tuple or a dict). Only
        messages trigger it: changes of the buffers do not (use `builder.listen` for that).
        """
        return self._access(buffers, True, "chain.with_access()", name)

    @overload
    def then_access(
        self, buffers: Buffer[A], *, name: str | None = None
    ) -> Chain[BufferKey[A]]: ...
    @overload
    def then_access(
        self, buffers: tuple[Buffer[A], Buffer[B]], *, name: str | None = None
    ) -> Chain[tuple[BufferKey[A], BufferKey[B]]]: ...
    @overload
    def then_access(
        self, buffers: Mapping[str, Buffer[Any]], *, name: str | None = None
    ) -> Chain[dict[str, BufferKey[Any]]]: ...
    @overload
    def then_access(
        self, buffers: tuple[Buffer[Any], ...], *, name: str | None = None
    ) -> Chain[tuple[BufferKey[Any], ...]]: ...
    def then_access(self, buffers: Any, *, name: str | None = None) -> Chain[Any]:
        """Replace every message with keys to `buffers` (see `with_access`)."""
        return self._access(buffers, False, "chain.then_access()", name)

    def then_gate_open(self, buffers: Any) -> Chain[T_co]:
        """Open the gates of `buffers`, then pass the message on unchanged (S7.3)."""
        d = self._draft
        return self._through(lambda: d.add_gate(buffers, True, "chain.then_gate_open()"))

    def then_gate_close(self, buffers: Any) -> Chain[T_co]:
        """Close the gates of `buffers`, then pass the message on unchanged (S7.4)."""
        d = self._draft
        return self._through(lambda: d.add_gate(buffers, False, "chain.then_gate_close()"))

    def then_trim(self, *branches: TrimBranch) -> Chain[T_co]:
        """Clean up the operations of `branches` for this session, then pass the message on.

        Their queued messages are dropped, their tasks cancelled and awaited, their
        nested sessions interrupted (uninterruptible ones are waited for); then a
        `Trimming` disposal is recorded and the message goes on.
        """
        return self._through(lambda: self._draft.add_trim(branches, "create_trim()"))


def _check_brancher(fn: object, where: str) -> None:
    """A fork's branch: a function that receives the branch's chain and builds on it."""
    kind = provider_kind(fn)
    if kind is not None:
        raise InvalidArgument(
            f"{where} takes functions that build a branch from its chain, got the {kind} "
            f"{safe_repr(fn)}; to run it on the branch, write `lambda chain: "
            "chain.then(service)...` and end the branch (connect it, or dispose() of it)"
        )
    check_one_argument(fn, where, "the branch's cf.Chain")


def _check_filter(fn: object, where: str) -> None:
    """A filter function: plain (it runs inline), called with each message."""
    check_callable(fn, where)
    if is_async_callable(fn):
        raise InvalidArgument(
            f"{where} takes a plain function, not the async function {callable_name(fn)!r}: "
            "a filter decides inline. Run the async work in a node first (chain.then(...)), "
            "then filter its result"
        )
    check_one_argument(fn, where, "each message")
