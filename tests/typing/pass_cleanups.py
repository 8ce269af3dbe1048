"""Cleanups in both forms, and `cf.Ending`, as users type them (checked by mypy, never run)."""

from __future__ import annotations

from typing import assert_type

import crossflow as cf


def undo(ending: cf.Ending[cf.BufferKey[int]]) -> None:
    assert_type(ending.keys, cf.BufferKey[int])
    assert_type(ending.cancellation, cf.Cancellation | None)
    assert_type(ending.cancelled, bool)


async def undo_later(ending: cf.Ending[dict[str, cf.BufferKey[int]]]) -> None:
    assert_type(ending.keys, dict[str, cf.BufferKey[int]])


@cf.service
def undo_service(ending: cf.Ending[cf.BufferKey[int]]) -> None:
    pass


def undo_flow_body(
    scope: cf.Scope[cf.Ending[cf.BufferKey[int]], None], builder: cf.Builder
) -> None:
    builder.chain(scope.start).map(undo).connect(scope.terminate)


undo_flow = cf.Workflow.build(undo_flow_body)
assert_type(undo_flow, cf.Workflow[cf.Ending[cf.BufferKey[int]], None])


def drain(scope: cf.Scope[cf.BufferKey[int], None], builder: cf.Builder) -> None:
    builder.chain(scope.start).map(lambda key: None).connect(scope.terminate)


@cf.workflow
def wf(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
    pans: cf.Buffer[int] = builder.create_buffer()
    builder.chain(scope.start).fork_clone(
        lambda c: c.connect(pans), lambda c: c.connect(scope.terminate)
    )
    builder.on_cancel(pans, undo)
    builder.on_cancel({"pans": pans}, undo_later)
    builder.on_terminate(pans, undo_service)
    builder.on_cleanup(pans, undo_flow)
    builder.on_cleanup(pans, drain)
    builder.on_cancel(pans, undo_flow_body, ending=True)


assert_type(cf.ScopeSettings(cleanup_timeout=2.5).cleanup_timeout, float | None)
