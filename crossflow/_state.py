"""The states a session goes through (S9.1)."""

from __future__ import annotations

import enum


class SessionState(enum.Enum):
    """Where a session is in its life.

    `RUNNING` → `TERMINATING` (terminate reached, cleanup under way) → `TERMINATED`;
    `RUNNING` → `CANCELLING` (cancellation under way) → `CANCELLED`.
    """

    RUNNING = "running"
    TERMINATING = "terminating"
    TERMINATED = "terminated"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"

    @property
    def ended(self) -> bool:
        """True once the session delivered its response or its cancellation."""
        return self is SessionState.TERMINATED or self is SessionState.CANCELLED

    def __repr__(self) -> str:
        return f"SessionState.{self.name}"
