"""Properties of cleanup and uninterruptible scopes (S6.1-S6.4, S6.6, S4.5).

Every property runs on asyncio and on trio (the `anyio_backend` fixture of
conftest.py); the anyio pytest plugin runs hypothesis' examples of an `async def`
test inside one event loop per backend. The number of examples comes from the active
hypothesis profile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from support import cancel_caller_after

import crossflow as cf

# every run recounts its bookkeeping after each step (see `audited` in conftest.py)
pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("audited")]

TIMEOUT = 5

BuildFn = Callable[[cf.Scope[Any, Any], cf.Builder], None]

steps_ = st.lists(st.integers(0, 3), min_size=1, max_size=3)  # checkpoints per async step
# when the caller cancels: after this many checkpoints, or never
cancel_after = st.none() | st.integers(0, 30)


def _live_tasks() -> int:
    """How many tasks exist in the event loop right now."""
    try:
        return len(asyncio.all_tasks())
    except RuntimeError:  # no asyncio loop running: this is trio
        import trio

        def count(task: trio.lowlevel.Task) -> int:
            return 1 + sum(count(t) for n in task.child_nurseries for t in n.child_tasks)

        return count(trio.lowlevel.current_root_task())


def async_step(checkpoints: int) -> Callable[[Any], Any]:
    async def step(x: Any) -> Any:
        for _ in range(checkpoints):
            await anyio.lowlevel.checkpoint()
        return x

    return step


def recorder(log: list[tuple[str, str]], where: str, kind: str, asynchronous: bool) -> BuildFn:
    """A cleanup workflow that records `(where, kind)`, maybe after an async step."""

    def build(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        chain = builder.chain(scope.start)
        if asynchronous:
            chain = chain.then(async_step(2))
        chain.map(lambda _: log.append((where, kind))).connect(scope.terminate)

    return build


def add_cleanups(
    builder: cf.Builder, buf: cf.Buffer[Any], log: list[tuple[str, str]], where: str, asyn: bool
) -> None:
    builder.on_cancel(buf, recorder(log, where, "on_cancel", asyn))
    builder.on_terminate(buf, recorder(log, where, "on_terminate", asyn))
    builder.on_cleanup(buf, recorder(log, where, "on_cleanup", asyn))


async def run_with_caller_cancel(
    wf: cf.Workflow[Any, Any], request: Any, after: int | None
) -> tuple[str, Any]:
    """Run `wf`; unless `after` is None, the caller's task is cancelled after `after`
    checkpoints. ("response", value), ("cancelled", WorkflowCancelled) or
    ("caller cancelled", None)."""

    async def run() -> tuple[str, Any]:
        try:
            return ("response", await wf.run(request))
        except cf.WorkflowCancelled as error:
            return ("cancelled", error)

    return await cancel_caller_after(run, after)


def kinds(log: list[tuple[str, str]], where: str) -> list[str]:
    return sorted(kind for w, kind in log if w == where)


# --------------------------------------------------------------------------- (1)


@settings(deadline=None)
@given(
    steps=steps_,
    ending=st.sampled_from(["terminate", "cancel_on_none", "service_failed"]),
    nested=st.booleans(),
    asynchronous_cleanup=st.booleans(),
    after=cancel_after,
)
async def test_cleanup_workflows_run_exactly_once_per_session(
    steps: list[int], ending: str, nested: bool, asynchronous_cleanup: bool, after: int | None
) -> None:
    """S6.1-S6.3, S6.6: whatever the moment the caller cancels (or not at all), every
    session runs `on_cleanup` exactly once and exactly one of `on_cancel`/`on_terminate`,
    the one that matches its outcome; all of it before `run` returns or raises, and no
    task is left behind.

    The drawn async steps run in the root, or in a nested scope with its own cleanup
    workflows; the root then terminates, cancels itself (`cancel_on_none`) or fails.
    """
    log: list[tuple[str, str]] = []

    def boom(_: Any) -> Any:
        raise RuntimeError("boom")

    def inner(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        buf = builder.create_buffer()
        chain = builder.chain(scope.start).branch_clone(lambda c: c.connect(buf))
        for n in steps:
            chain = chain.then(async_step(n))
        chain.connect(scope.terminate)
        add_cleanups(builder, buf, log, "nested", asynchronous_cleanup)

    @cf.workflow
    def root(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        buf = builder.create_buffer()
        chain = builder.chain(scope.start).branch_clone(lambda c: c.connect(buf))
        if nested:
            chain = chain.then_scope(inner).map(lambda x: log.append(("nested", "response")) or x)
        else:
            for n in steps:
                chain = chain.then(async_step(n))
        if ending == "cancel_on_none":
            chain = chain.map(lambda _: None).cancel_on_none()
        elif ending == "service_failed":
            chain = chain.then(boom)
        chain.connect(scope.terminate)
        add_cleanups(builder, buf, log, "root", asynchronous_cleanup)

    before = _live_tasks()
    with anyio.fail_after(TIMEOUT):
        kind, value = await run_with_caller_cancel(root, 1, after)
    ended = list(log)  # what had happened when `run` returned or raised
    event(kind)
    assert _live_tasks() == before
    root_kinds = kinds(ended, "root")
    if kind == "response":
        assert ending == "terminate"
        assert value == 1
        assert root_kinds == ["on_cleanup", "on_terminate"]
    elif kind == "cancelled":
        assert ending != "terminate"
        assert root_kinds == ["on_cancel", "on_cleanup"]
    else:
        # the caller's cancellation may come while the root is already terminating
        assert root_kinds in (["on_cancel", "on_cleanup"], ["on_cleanup", "on_terminate"])
    if nested:
        nested_kinds = kinds(ended, "nested")
        assert nested_kinds.count("on_cleanup") == 1
        own = [k for k in nested_kinds if k in ("on_cancel", "on_terminate")]
        if "response" in nested_kinds:
            assert own == ["on_terminate"]
        else:
            assert len(own) == 1
    assert log == ended  # nothing ran after `run` ended


# --------------------------------------------------------------------------- (2)


@settings(deadline=None)
@given(
    steps=steps_,
    interruption=st.sampled_from(["caller", "parent terminates"]),
    moment=st.integers(0, 20),
    asynchronous_cleanup=st.booleans(),
)
async def test_uninterruptible_scopes_always_run_to_their_end(
    steps: list[int], interruption: str, moment: int, asynchronous_cleanup: bool
) -> None:
    """S6.4, S6.6: a nested uninterruptible scope whose parent is interrupted at any
    moment (the caller cancels, or the parent reaches terminate first) runs its last step
    and is cleaned up as terminated before `run` returns or raises; no task is left."""
    log: list[tuple[str, str]] = []

    def inner(scope: cf.Scope[Any, Any], builder: cf.Builder) -> None:
        buf = builder.create_buffer()
        chain = builder.chain(scope.start).branch_clone(lambda c: c.connect(buf))
        for n in steps:
            chain = chain.then(async_step(n))
        chain.map(lambda x: log.append(("scope", "last step")) or x).connect(scope.terminate)
        add_cleanups(builder, buf, log, "scope", asynchronous_cleanup)

    settings_ = cf.ScopeSettings(uninterruptible=True)

    @cf.workflow
    def parent(scope: cf.Scope[str, str], builder: cf.Builder) -> None:
        if interruption == "caller":
            builder.chain(scope.start).then_scope(inner, settings=settings_).connect(
                scope.terminate
            )
            return
        builder.chain(scope.start).fork_clone(
            lambda c: c.then_scope(inner, settings=settings_).dispose(),
            lambda c: (
                (c.then(async_step(moment)) if moment else c)
                .map(lambda _: "parent")
                .connect(scope.terminate)
            ),
        )

    before = _live_tasks()
    with anyio.fail_after(TIMEOUT):
        kind, value = await run_with_caller_cancel(
            parent, "request", moment if interruption == "caller" else None
        )
    ended = list(log)
    event(f"{interruption}: {kind}")
    assert _live_tasks() == before
    assert kind != "cancelled", value
    if kind == "response":
        assert value == ("request" if interruption == "caller" else "parent")
    assert kinds(ended, "scope") == ["last step", "on_cleanup", "on_terminate"]
    assert ended.index(("scope", "last step")) < min(
        ended.index(("scope", k)) for k in ("on_cleanup", "on_terminate")
    )
    assert log == ended
