"""Workflows: a built, immutable graph that can be run any number of times."""

from __future__ import annotations

from collections.abc import Callable, Container, Coroutine, Hashable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, final, overload

from ._arguments import check_flag, check_name, check_stream_types, shown
from ._build import build_scope
from ._callables import build_fn_name, check_build_fn
from ._checks import check_settings
from ._errors import CrossflowError, InvalidArgument
from ._instructions import Delivery, DeliveryQueues, make_delivery
from ._model import Graph
from ._notebook import in_notebook_kernel, run_in_worker
from ._providers import ProviderSpec, ScopeProvider, provider_kind
from ._runtime._driver import run_workflow
from ._session import Session
from ._text import safe_repr
from ._viz._display import workflow as workflow_bundle
from ._viz._pictures import workflow_dot, workflow_mermaid, workflow_svg

if TYPE_CHECKING:
    from ._builder import Builder
    from ._handles import Scope
    from ._settings import ScopeSettings
    from .events import Event

Req = TypeVar("Req")
Resp = TypeVar("Resp")


def _check_events(events: object, on_event: object, where: str) -> None:
    check_flag(events, f"{where}(events=...)")
    if on_event is not None:
        if not callable(on_event):
            raise InvalidArgument(
                f"{where}(on_event=...) takes a function called with each cf.Event, "
                f"got {shown(on_event)}"
            )
        if not events:
            raise InvalidArgument(
                f"{where}(events=False, on_event=...): on_event receives the events that the "
                "run records, so it needs events=True (the default)"
            )


@final
class Workflow(ScopeProvider, Generic[Req, Resp]):
    """A built workflow: run it with `await wf.run(request)` or `wf.run_sync(request)`.

    A workflow is also a provider: use it as a node of another workflow
    (`chain.then(wf)`), where it runs as a nested session per message (S1.1).

    Attributes:
        name: the workflow's name (its root scope's name).
        streams: the declared stream-out names and their message types.
    """

    __slots__ = ("_delivery", "_graph", "_queues", "name", "streams")

    def __init__(self, graph: Graph, streams: Mapping[str, type[Any]]) -> None:
        self._graph = graph
        self.name = graph.name
        self.streams = dict(streams)
        self._queues = DeliveryQueues(serial=False)
        self._delivery: Delivery | None = None

    def __repr__(self) -> str:
        d = self._delivery
        instructed = (
            "" if d is None else f" label={d.label!r} preempt={d.preempt} ensure={d.ensure}"
        )
        return f"<Workflow {self.name!r}: {len(self._graph.operations)} operations{instructed}>"

    @property
    def graph(self) -> Graph:
        """The read-only graph of the workflow's root scope (API §10).

        Every operation with its kind and settings, every connection with its port, the
        scope's stream outs and cleanup workflows, and the graphs of nested scopes (as the
        `body` of scope operations). Pictures, diagrams and your own tools read it.
        """
        return self._graph

    def _provider_spec(self) -> ProviderSpec:
        return ProviderSpec(
            kind="scope",
            name=self.name,
            streams=tuple(self.streams),
            graph=self._graph,
            delivery=self._delivery,
            workflow=True,
            stream_types=tuple(self.streams.items()),
        )

    def instruct(
        self, *, label: Hashable = None, preempt: bool = False, ensure: bool = False
    ) -> Workflow[Req, Resp]:
        """This workflow with delivery instructions, sharing this workflow's queues (S7.5).

        Sessions with the same `label` run one at a time, in arrival order, whether they
        are started with `run` or as nodes of other workflows. A `preempt` request
        supplants the queued and running sessions of its label that were not given
        `ensure=True`: a queued one never starts (a node records a `Supplanted`
        disposal; `run` raises `WorkflowCancelled`), a running one is cancelled with
        `Supplanted`, uninterruptible or not.

        Raises:
            InvalidArgument: an unhashable label, or `preempt=True` without a label.
        """
        copy: Workflow[Req, Resp] = Workflow(self._graph, self.streams)
        copy._queues = self._queues
        copy._delivery = make_delivery(
            self._queues, label, preempt, ensure, f"{self.name}.instruct()"
        )
        return copy

    @staticmethod
    def build(
        build_fn: Callable[[Scope[Req, Resp], Builder], None],
        *,
        name: str | None = None,
        streams: Mapping[str, type[Any]] | None = None,
        settings: ScopeSettings | None = None,
    ) -> Workflow[Req, Resp]:
        """Build a workflow by calling `build_fn(scope, builder)` once.

        The workflow is named `name`, or after the build function (`pie`; a lambda
        after where it was written, `lambda@pipeline.py:12`).

        Raises:
            BuildError: the graph is wrong (the message says where and how to fix it).
            InvalidArgument: an argument has the wrong type, or `build_fn` is not a
                build function: a plain (not async) function called as
                `build_fn(scope, builder)`.

        Warns:
            UnreachableWarning: nothing that leaves `scope.start` can reach
                `scope.terminate` or a cancel operation, so every run would be
                cancelled (S2.3); or some operations can never receive a message.
        """
        return _build(build_fn, name, streams, settings, "Workflow.build")

    def run(
        self,
        request: Req,
        *,
        events: bool = True,
        on_event: Callable[[Event], object] | None = None,
    ) -> Coroutine[Any, Any, Resp]:
        """Run one session of the workflow and return its response: `await wf.run(x)`.

        Works inside any anyio event loop (asyncio or trio). Each call is an
        independent session. A workflow made only of blocking operations runs without
        starting any task.

        If the task awaiting `run` is cancelled, the session is cancelled
        (`UserCancelled`), its cleanup is awaited, and the backend's own cancellation
        exception propagates.

        The run records its event log (`crossflow.events`) unless `events=False`; a
        `WorkflowCancelled` carries it as `.events`. `on_event`, if given, is called with
        every event as the run goes (see `Workflow.start`).

        Raises:
            WorkflowCancelled: the session was cancelled; `.cancellation.cause` says why.
                When a service raised, its exception is the `__cause__`.
            InvalidArgument: `events` is not a bool, or `on_event` is not callable.
        """
        _check_events(events, on_event, "run")
        # the runtime's coroutine itself, not a wrapper around it: one frame less per run
        return run_workflow(self._graph, request, self._delivery, events, on_event)

    def start(
        self,
        request: Req,
        *,
        events: bool = True,
        on_event: Callable[[Event], object] | None = None,
    ) -> Session[Resp]:
        """A session of the workflow to run under your control (API §3).

        ```python
        async with wf.start(request) as session:
            async for item in session.streams.items:
                ...
            response = await session.result()
        ```

        The session starts when the `async with` block is entered and runs in the
        background of the block; leaving the block while it still runs cancels it and
        waits for its cleanup. `events=False` switches the event log off.

        `on_event(event)` is called on the event loop with every event, in log order, as
        the run goes: for progress displays, logging or tests. It runs between two
        operations, never in the middle of one, so it may call `session.cancel()`: the
        cancellation takes effect right after the operation that recorded the event. If it
        raises, it is called no more and the run issues a `CrossflowWarning` when it ends.

        Raises:
            InvalidArgument: `events` is not a bool, `on_event` is not callable, or
                `on_event` is given with `events=False`.
        """
        _check_events(events, on_event, "start")
        return Session(self._graph, request, self._delivery, self.streams, events, on_event)

    def run_sync(
        self,
        request: Req,
        *,
        backend: Literal["asyncio", "trio"] = "asyncio",
        events: bool = True,
        on_event: Callable[[Event], object] | None = None,
    ) -> Resp:
        """Run one session from synchronous code, starting an event loop for it.

        The session runs on a new event loop of `backend` and `run_sync` returns its
        response; the other arguments are those of `run`. Ctrl-C cancels the session,
        waits for its cleanup and raises `KeyboardInterrupt`.

        In a notebook (a Jupyter kernel, whose own event loop runs the cells), the
        session runs on its new loop in a worker thread while the cell waits for it;
        `on_event` is then called in that thread. Interrupting the kernel cancels the
        session, waits for its cleanup and raises `KeyboardInterrupt`; interrupting it
        again during the cleanup stops the waiting and lets the cleanup finish in
        the background. `await wf.run(request)` works in a cell too.

        Raises:
            WorkflowCancelled: the session was cancelled.
            CrossflowError: called from inside a running event loop that is not a
                notebook's (use `await wf.run(request)` there).
            InvalidArgument: `backend` is not "asyncio" or "trio", or see `run`.
        """
        import anyio

        if backend not in ("asyncio", "trio"):
            raise InvalidArgument(
                f"run_sync(backend=...) must be 'asyncio' or 'trio', got {shown(backend)}"
            )
        running = _running_event_loop()
        if running is None:
            _check_events(events, on_event, "run_sync")
            return anyio.run(
                partial(self.run, request, events=events, on_event=on_event), backend=backend
            )
        if not in_notebook_kernel():
            raise CrossflowError(
                f"{self.name}.run_sync() was called inside a running {running} event loop, "
                f"where it cannot start another one; use `await {self.name}.run(request)` there"
            )
        _check_events(events, on_event, "run_sync")
        run = partial(self.run, request, events=events, on_event=on_event)
        return run_in_worker(run, backend, f"{self.name}.run_sync")

    # ------------------------------------------------------------------ pictures (API §8)
    # drawn by crossflow._viz from `self.graph`; imported on first use

    def to_mermaid(self) -> str:
        """The workflow as a Mermaid flowchart: nested scopes and cleanup workflows are
        subgraphs, ports label their edges, buffer connections are dotted.

        The same workflow always gives the same text; every name is escaped.
        """
        return workflow_mermaid(self.graph)

    def to_dot(self) -> str:
        """The workflow in Graphviz's DOT language: nested scopes and cleanup workflows are
        clusters, ports label their edges, buffer connections are dashed.

        Rendering it needs Graphviz; crossflow itself never calls it.
        """
        return workflow_dot(self.graph)

    def to_svg(self) -> str:
        """The workflow drawn by crossflow itself, as an SVG document.

        A layered layout with nested scopes as boxes, buffer connections dashed, cleanup
        workflows in dashed boxes that say when they run. No external program, no
        network.
        """
        return workflow_svg(self.graph)

    def _repr_mimebundle_(
        self, include: Container[str] | None = None, exclude: Container[str] | None = None
    ) -> dict[str, str]:
        """The workflow in a notebook: its picture (SVG, HTML), Mermaid and its repr."""
        return workflow_bundle(self.graph, repr(self), include, exclude)


def _running_event_loop() -> str | None:
    """The name of the event loop running in this thread, if any."""
    import asyncio
    import sys

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


@overload
def workflow(build_fn: Callable[[Scope[Req, Resp], Builder], None], /) -> Workflow[Req, Resp]: ...
@overload
def workflow(
    *,
    name: str | None = None,
    streams: Mapping[str, type[Any]] | None = None,
    settings: ScopeSettings | None = None,
) -> Callable[[Callable[[Scope[Req, Resp], Builder], None]], Workflow[Req, Resp]]: ...
def workflow(
    build_fn: Callable[..., None] | None = None,
    /,
    *,
    name: str | None = None,
    streams: Mapping[str, type[Any]] | None = None,
    settings: ScopeSettings | None = None,
) -> Any:
    """Build a workflow from a build function: `@cf.workflow` or `@cf.workflow(name=...)`.

    The build function takes `(scope: cf.Scope[Req, Resp], builder: cf.Builder)`;
    type checkers infer `Workflow[Req, Resp]` from the `scope` annotation. The options
    are checked when `cf.workflow(...)` is called, before anything is decorated.

    Raises:
        BuildError: the graph is wrong.
        InvalidArgument: an argument has the wrong type, or the decorated function is
            not a build function (see `Workflow.build`).

    Warns:
        UnreachableWarning: see `Workflow.build`.
    """
    if build_fn is not None:
        return _build(build_fn, name, streams, settings, "cf.workflow")
    # the options are checked here, where they are given, not when the decorator is applied
    _check_options(name, streams, settings, "cf.workflow")

    def decorate(fn: Callable[..., None]) -> Workflow[Any, Any]:
        return _build(fn, name, streams, settings, "cf.workflow")

    return decorate


_STEP_HINT = (
    "To make a workflow that runs it on the request, connect it in a build function: "
    "builder.chain(scope.start).then({name}).connect(scope.terminate)."
)


def _check_options(
    name: object, streams: object, settings: object, label: str
) -> tuple[str | None, dict[str, Any], ScopeSettings]:
    given = check_name(name, f"{label}(name=...)")
    stream_types = check_stream_types(streams, f"{label}()")
    return given, stream_types, check_settings(settings, f"{label}()")


def _build(
    build_fn: object, name: object, streams: object, settings: object, label: str
) -> Workflow[Any, Any]:
    where = f"{label}()"
    if provider_kind(build_fn) is not None:
        raise InvalidArgument(
            f"{where} expects a build function `def build(scope, builder) -> None`, got the "
            f"{provider_kind(build_fn)} {safe_repr(build_fn)}, which is built already"
        )
    check_build_fn(build_fn, where, _STEP_HINT)
    assert callable(build_fn)  # invariant: check_build_fn rejected everything else
    given, stream_types, checked = _check_options(name, streams, settings, label)
    graph = build_scope(
        build_fn,
        name=given if given is not None else build_fn_name(build_fn),
        settings=checked,
        streams=stream_types,
    )
    return Workflow(graph, stream_types)
