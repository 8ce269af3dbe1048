"""What a session keeps of its disposals, for an `Unreachable` (S2.4).

Every disposal is kept in order, but a disposal that repeats one already kept (same
operation, same cause) only raises that entry's count: a loop that turns a million
times through a fork keeps one `Branching`. Causes that never repeat exactly (a filter's
reason names each message) are bounded too: the first `FIRST` and the last `LAST`
entries are kept, and the ones in between are counted as omitted. So what a session
holds is bounded by its graph, not by how long it runs.
"""

from __future__ import annotations

from collections import deque

import attrs

from .._causes import Disposal, DisposalCause, Unreachable

FIRST = 100
LAST = 100


class Disposals:
    """The disposals of one session."""

    __slots__ = ("counts", "first", "last", "omitted")

    def __init__(self) -> None:
        self.first: list[Disposal] = []
        self.last: deque[Disposal] | None = None  # once `first` is full
        # (operation, cause) -> how often it happened, for each entry kept
        self.counts: dict[tuple[str, DisposalCause], int] = {}
        self.omitted = 0

    def __repr__(self) -> str:
        return f"<Disposals {len(self)} kept, {self.omitted} omitted>"

    def __len__(self) -> int:
        return len(self.first) + (len(self.last) if self.last is not None else 0)

    def add(self, disposal: Disposal) -> None:
        key = (disposal.operation, disposal.cause)
        counts = self.counts
        count = counts.get(key)
        if count is not None:
            counts[key] = count + disposal.count  # a repeat: one entry, counted
            return
        counts[key] = disposal.count
        if len(self.first) < FIRST:
            self.first.append(disposal)
            return
        last = self.last
        if last is None:
            last = self.last = deque()
        if len(last) == LAST:
            dropped = last.popleft()
            self.omitted += counts.pop((dropped.operation, dropped.cause))
        last.append(disposal)

    def kept(self) -> tuple[Disposal, ...]:
        """The entries, in the order they first happened, each with its count."""
        entries = self.first if self.last is None else [*self.first, *self.last]
        counts = self.counts
        return tuple(
            d if (n := counts[(d.operation, d.cause)]) == d.count else attrs.evolve(d, count=n)
            for d in entries
        )

    def unreachable(self, scope: str) -> Unreachable:
        """The `Unreachable` cause for a session of `scope` with these disposals."""
        return Unreachable(scope, self.kept(), self.omitted)
