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

from .._causes import Disposal, Unreachable

FIRST = 100
LAST = 100


class Disposals:
    """The disposals of one session."""

    __slots__ = ("counts", "first", "last", "omitted")

    def __init__(self) -> None:
        self.first: list[Disposal] = []
        self.last: deque[Disposal] | None = None  # once `first` is full
        # each entry kept (as a disposal that happened once: same operation, same
        # cause) -> how often it happened; a disposal hashes once, and its hash is cached
        self.counts: dict[Disposal, int] = {}
        self.omitted = 0

    def __repr__(self) -> str:
        return f"<Disposals {len(self)} kept, {self.omitted} omitted>"

    def __len__(self) -> int:
        return len(self.first) + (len(self.last) if self.last is not None else 0)

    def add(self, disposal: Disposal) -> None:
        n = disposal.count
        if n != 1:
            disposal = attrs.evolve(disposal, count=1)
        counts = self.counts
        count = counts.get(disposal)
        if count is not None:
            counts[disposal] = count + n  # a repeat: one entry, counted
            return
        counts[disposal] = n
        if len(self.first) < FIRST:
            self.first.append(disposal)
            return
        last = self.last
        if last is None:
            last = self.last = deque()
        if len(last) == LAST:
            self.omitted += counts.pop(last.popleft())
        last.append(disposal)

    def kept(self) -> tuple[Disposal, ...]:
        """The entries, in the order they first happened, each with its count."""
        entries = self.first if self.last is None else [*self.first, *self.last]
        counts = self.counts
        return tuple(d if (n := counts[d]) == 1 else attrs.evolve(d, count=n) for d in entries)

    def unreachable(self, scope: str) -> Unreachable:
        """The `Unreachable` cause for a session of `scope` with these disposals."""
        return Unreachable(scope, self.kept(), self.omitted)
