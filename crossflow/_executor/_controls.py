"""Per-node controls: `max_concurrency`, `timeout` and `retry=cf.Retry(...)` (API §9, S10.4).

They are values: checked where they are given (`cf.service`, `create_node`, `then`,
`then_node`), carried in the graph model (`NodeSettings`) and applied by the runtime.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import final

import attrs

from .._arguments import check_seconds, shown
from .._errors import InvalidArgument


def _check_attempts(attempts: object) -> int:
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
        raise InvalidArgument(
            f"cf.Retry(attempts=...) takes the number of attempts in all, a positive int "
            f"(3: the first call and two more), got {shown(attempts)}"
        )
    return attempts


def _check_backoff(backoff: object) -> tuple[float, ...]:
    values = backoff if isinstance(backoff, Sequence) and not isinstance(backoff, str) else None
    if values is None:
        values = (backoff,)
    if not values:
        raise InvalidArgument(
            "cf.Retry(backoff=...) takes seconds to wait before each new attempt: a number, "
            "or a sequence of numbers (one per new attempt, the last repeats), "
            f"got {shown(backoff)}"
        )
    checked: list[float] = []
    for value in values:
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not value >= 0
            or value == math.inf
        ):
            raise InvalidArgument(
                "cf.Retry(backoff=...) takes seconds to wait before each new attempt: a "
                "number >= 0, or a sequence of them (one per new attempt, the last repeats), "
                f"got {shown(backoff)}"
            )
        checked.append(float(value))
    return tuple(checked)


def _check_on(on: object) -> tuple[type[BaseException], ...]:
    classes = on if isinstance(on, tuple) else (on,)
    if not classes or not all(isinstance(c, type) and issubclass(c, Exception) for c in classes):
        raise InvalidArgument(
            "cf.Retry(on=...) takes the exception classes to try again on: one class or a "
            f"tuple of them, such as (ConnectionError, TimeoutError), got {shown(on)}"
        )
    return classes


@final
@attrs.frozen(init=False)
class Retry:
    """How a node tries a failed activation again (S10.4).

    `cf.Retry(3)` calls the service up to three times in all: a call that raises one of
    the exception classes `on` (default: any `Exception`) is tried again, after waiting
    `backoff` seconds, before the failure counts (S4.3). A timeout (`timeout=`) fails an
    attempt with `TimeoutError`, which is retried like any other failure it matches. A
    cancellation is never retried. Each failed attempt is recorded as an `AttemptFailed`
    event.

    Attributes:
        attempts: the number of attempts in all, at least 1.
        backoff: seconds to wait before each new attempt: the n-th entry before attempt
            n + 1, the last one repeating. `cf.Retry(4, backoff=(0.1, 0.5, 2))` waits
            0.1 s, 0.5 s, then 2 s.
        on: the exception classes that are worth another attempt.

    Raises:
        InvalidArgument: `attempts` is not a positive int, `backoff` is not a number
            >= 0 or a sequence of them, `on` is not an exception class or a tuple of them.
    """

    attempts: int
    backoff: tuple[float, ...]
    on: tuple[type[BaseException], ...]

    def __init__(
        self,
        attempts: int = 3,
        *,
        backoff: float | Sequence[float] = 0.0,
        on: type[Exception] | tuple[type[Exception], ...] = Exception,
    ) -> None:
        self.__attrs_init__(_check_attempts(attempts), _check_backoff(backoff), _check_on(on))

    def __repr__(self) -> str:
        backoff = self.backoff[0] if len(self.backoff) == 1 else self.backoff
        on = self.on[0] if len(self.on) == 1 else self.on
        names = on.__name__ if isinstance(on, type) else f"({', '.join(c.__name__ for c in on)})"
        return f"Retry({self.attempts}, backoff={backoff!r}, on={names})"

    def delay(self, attempt: int) -> float:
        """Seconds to wait after attempt number `attempt` (from 1) failed."""
        return self.backoff[min(attempt, len(self.backoff)) - 1]

    def retries(self, error: BaseException, attempt: int) -> bool:
        """Whether attempt number `attempt` (from 1), failing with `error`, is tried again."""
        return attempt < self.attempts and isinstance(error, self.on)


def check_max_concurrency(value: object, where: str) -> int | None:
    """`None` or a positive int."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidArgument(
            f"{where} takes how many activations of the node may run at once, a positive "
            f"int (or None for no limit), got {shown(value)}"
        )
    return value


def check_timeout(value: object, where: str) -> float | None:
    """`None` or a positive number of seconds; `inf` is no timeout."""
    seconds = check_seconds(value, where)
    return None if seconds is None or seconds == math.inf else float(seconds)


def check_retry(value: object, where: str) -> Retry | None:
    """`None` or a `cf.Retry`."""
    if value is None or isinstance(value, Retry):
        return value
    hint = ""
    if isinstance(value, int) and not isinstance(value, bool):
        hint = f" (for {value} attempts in all: cf.Retry({value}))"
    elif value is Retry:
        hint = " (call it: cf.Retry(3))"
    raise InvalidArgument(f"{where} takes a cf.Retry or None, got {shown(value)}{hint}")
