"""What a scope's cleanup does with a node's running work (S6.6)."""

from __future__ import annotations

import enum


class CancellationPolicy(enum.Enum):
    """How the cleanup of a scope treats a node's running task or nested session.

    Set it per node: `builder.create_node(provider, cancellation=...)`, and the same
    keyword on `chain.then`, `chain.then_node`, `chain.then_scope` and
    `builder.create_scope`. Whatever the policy, no task outlives the outermost
    `run` or `start`: the runtime waits for work it left running in the background.
    """

    #: cancel the task or nested session and wait until it has finished its own cleanup
    WAIT = "wait"
    #: cancel it, but do not wait: its cleanup runs to completion in the background
    TRY_CANCEL = "try_cancel"
    #: do not cancel it: it runs on to completion in the background, its result dropped
    ABANDON = "abandon"

    def __repr__(self) -> str:
        return f"CancellationPolicy.{self.name}"
