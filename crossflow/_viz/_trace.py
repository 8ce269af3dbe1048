"""What a run did, per operation, read from its event log: the run overlay (API §8).

For every operation drawn: how often it started and finished, how often it failed,
what it disposed of and why, whether it cancelled its scope; for every frame: how many
sessions it had and how they ended. What the log does not say directly is inferred only
where it is certain:

* reached: an operation with an event of its own, the target of a service that
  returned or of a fork that clones or unzips, and the only source of a reached
  operation's only input;
* never reached: everything in a scope that never had a session, services, delays and
  nested scopes that never started although their scope's sessions have all ended,
  a terminate that no session reached, and operations whose every input comes from
  operations never reached.

For a root session cancelled as `Unreachable`, the disposals that led there are
numbered on the picture and listed under it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .._causes import (
    Cancellation,
    Disposal,
    Filtered,
    Interrupted,
    ScopeCancelled,
    ServiceFailed,
    Triggered,
    Unreachable,
)
from .._model import Connection, Operation
from .._text import counted, describe_error, seconds_text
from ..events import (
    Cancelled,
    CleanupFailed,
    CleanupStarted,
    Disposed,
    Event,
    OperationFinished,
    SessionStarted,
    Terminated,
)
from ._frames import Frame, Frames, Key
from ._labels import clip, safe_text
from ._layout import Mark, Status
from ._progress import ACTIVITY, Counts

NUMBERED = 9  # disposals numbered on the picture; the caption says how many more
SHOWN = 3  # causes listed per operation in its tooltip

_LABEL = re.compile(r"^(.*)\[(\d+)\]$")


class OpStats(Counts):
    """What happened at one operation, over every session of its scope: its activations
    (counted as `Counts` says), and more."""

    __slots__ = ("disposals", "errors", "numbers", "origin", "sessions")

    def __init__(self) -> None:
        super().__init__()
        self.sessions = 0  # child sessions it opened (nested scopes, workflow nodes)
        self.disposals: dict[str, int] = {}  # why -> how many times
        self.errors: list[str] = []
        self.origin: list[str] = []  # the cancellations it caused
        self.numbers: list[int] = []

    @property
    def disposed(self) -> int:
        return sum(self.disposals.values())

    @property
    def active(self) -> bool:
        return bool(self.started or self.sessions or self.disposals or self.origin)


class ScopeStats:
    """How the sessions of one frame went."""

    __slots__ = ("cancelled", "causes", "cleanup_failures", "interrupted", "sessions",
                 "terminated")  # fmt: skip

    def __init__(self) -> None:
        self.sessions = 0
        self.terminated = 0
        self.cancelled = 0
        self.interrupted = 0
        self.causes: list[str] = []
        self.cleanup_failures: list[str] = []

    @property
    def running(self) -> int:
        return self.sessions - self.terminated - self.cancelled


def cause_kind(cancellation: Cancellation) -> str:
    return type(cancellation.cause).__name__


def short(text: str, limit: int = 90) -> str:
    return clip(safe_text(" ".join(text.split())), limit)


class Trace:
    """The run overlay of one run: built from its events, read by the layout and Mermaid."""

    def __init__(
        self,
        frames: Frames,
        events: Sequence[Event],
        *,
        recorded: bool = True,
        state: str | None = None,
    ) -> None:
        self.frames = frames
        self.recorded = recorded
        self.ops: dict[tuple[Key, str], OpStats] = {}
        self.scopes: dict[Key, ScopeStats] = {}
        self.cancellation: Cancellation | None = None
        self.numbered: list[tuple[int, str]] = []  # (number, text) for the caption
        self.more_numbered = 0
        self.elapsed = 0.0
        self.events = len(events)
        by_key = {frame.key: frame for frame in frames.all}
        self._by_key = by_key
        derived = "RUNNING" if events else None
        paths: dict[tuple[str, ...], Key | None] = {}
        root_path: tuple[str, ...] | None = None
        first = events[0].time if events else 0.0
        for event in events:
            path = event.path
            if isinstance(event, SessionStarted):
                key = self._open(paths, path, event.scope)
                paths[path] = key
                if key is not None:
                    self._scope(key).sessions += 1
                if root_path is None:
                    root_path = path
                continue
            key = paths.get(path)
            if isinstance(event, ACTIVITY):
                if key is not None:
                    stats = self._op(key, event.operation)
                    stats.count(event)
                    failure = event.error if isinstance(event, OperationFinished) else None
                    if failure is not None and len(stats.errors) < SHOWN:
                        stats.errors.append(describe_error(failure, None))
            elif isinstance(event, Disposed):
                if key is not None:
                    disposal = event.disposal
                    why = _disposal_text(disposal)
                    stats = self._op(key, disposal.operation)
                    stats.disposals[why] = stats.disposals.get(why, 0) + disposal.count
            elif isinstance(event, Terminated):
                if key is not None:
                    self._scope(key).terminated += 1
                if path == root_path:
                    derived = "TERMINATED"
            elif isinstance(event, Cancelled):
                if key is not None:
                    self._cancelled(key, event.cancellation, path == root_path)
                if path == root_path:
                    derived = "CANCELLED"
                    self.cancellation = event.cancellation
            elif isinstance(event, CleanupStarted):
                if path == root_path and derived == "RUNNING":
                    derived = "TERMINATING" if event.cancellation is None else "CANCELLING"
            elif isinstance(event, CleanupFailed) and key is not None:
                failures = self._scope(key).cleanup_failures
                if len(failures) < SHOWN:
                    failures.append(short(str(event.cancellation)))
            self.elapsed = event.time - first
        self.state = state if state is not None else derived
        self.ended = self.state in ("TERMINATED", "CANCELLED")
        self._status: dict[tuple[Key, str], Status | None] = {}
        for frame in frames.all:
            self._infer(frame)

    # ------------------------------------------------------------------ reading the log

    def _op(self, key: Key, name: str) -> OpStats:
        stats = self.ops.get((key, name))
        if stats is None:
            stats = self.ops[(key, name)] = OpStats()
        return stats

    def _scope(self, key: Key) -> ScopeStats:
        stats = self.scopes.get(key)
        if stats is None:
            stats = self.scopes[key] = ScopeStats()
        return stats

    def _open(
        self, paths: dict[tuple[str, ...], Key | None], path: tuple[str, ...], scope: str
    ) -> Key | None:
        """The frame a new session runs in, from its path and its scope's name."""
        if len(path) == 1:
            return ()
        parent_key = paths.get(path[:-1])
        if parent_key is None:
            return None
        parent = self._by_key.get(parent_key)
        if parent is None:
            return None
        found = _LABEL.match(path[-1])
        label = found.group(1) if found else path[-1]
        graph = parent.graph
        if label in graph:
            op = graph[label]
            if op.body is not None and op.body.name == scope:
                self._op(parent_key, label).sessions += 1
                return None if id(op) in parent.collapsed else (*parent_key, label)
        if label.startswith("on_"):
            when = label[3:]
            candidates = [i for i, c in enumerate(graph.cleanups) if c.when == when]
            for i in candidates:
                if graph.cleanups[i].body.name == scope:
                    return (*parent_key, i)
            if candidates:
                return (*parent_key, candidates[0])
        return None

    def _cancelled(self, key: Key, cancellation: Cancellation, root: bool) -> None:
        scope = self._scope(key)
        scope.cancelled += 1
        cause = cancellation.cause
        if isinstance(cause, Interrupted):
            scope.interrupted += 1
            return
        if len(scope.causes) < SHOWN:
            scope.causes.append(short(str(cancellation), 160))
        if isinstance(cause, Triggered | Filtered | ServiceFailed):
            stats = self._op(key, cause.operation)
            if len(stats.origin) < SHOWN:
                stats.origin.append(short(str(cause), 160))
        if root and isinstance(cause, Unreachable):
            for number, disposal in enumerate(cause.disposals, start=1):
                if number > NUMBERED:
                    self.more_numbered = len(cause.disposals) - NUMBERED + cause.omitted
                    break
                self._op(key, disposal.operation).numbers.append(number)
                self.numbered.append((number, short(str(disposal), 200)))
            else:
                self.more_numbered = cause.omitted

    # ------------------------------------------------------------------ inference

    def _infer(self, frame: Frame) -> None:
        graph = frame.graph
        stats = self.scopes.get(frame.key)
        ran = stats is not None and stats.sessions > 0
        ops = graph.operations
        status: dict[int, Status | None] = {}
        if not self.recorded:
            for op in ops:
                self._status[(frame.key, op.name)] = None
            return
        if not ran:
            # a scope that never had a session: nothing in it was reached (once the run is
            # over; while it runs, nothing is known yet)
            for op in ops:
                self._status[(frame.key, op.name)] = "unreached" if self.ended else None
            return
        reached: set[int] = set()
        for op in ops:
            s = self.ops.get((frame.key, op.name))
            if s is not None and s.active:
                reached.add(id(op))
        reached.add(id(graph.start))
        assert stats is not None
        if stats.terminated:
            reached.add(id(graph.terminate))
        incoming: dict[int, list[Connection]] = {id(op): [] for op in ops}
        outgoing: dict[int, list[Connection]] = {id(op): [] for op in ops}
        for c in graph.connections:
            incoming[id(c.target)].append(c)
            outgoing[id(c.source)].append(c)
        changed = True
        while changed:
            changed = False
            for op in ops:
                if id(op) not in reached:
                    continue
                s = self.ops.get((frame.key, op.name))
                # a start, a clone or unzip sends on every port; a service that returned
                # sends on `out`
                every_port = op.kind in ("start", "fork_clone", "unzip")
                returned = op.kind == "node" and s is not None and s.finished > s.failed
                if every_port or returned:
                    for c in outgoing[id(op)]:
                        sends = every_port or c.port == "out"
                        if c.kind == "message" and sends and id(c.target) not in reached:
                            reached.add(id(c.target))
                            changed = True
                inputs = incoming[id(op)]
                if (
                    len(inputs) == 1
                    and inputs[0].kind == "message"
                    and id(inputs[0].source) not in reached
                ):
                    reached.add(id(inputs[0].source))
                    changed = True
        unreached: set[int] = set()
        if stats.running == 0:
            for op in ops:
                if id(op) in reached:
                    continue
                if op.kind in ("node", "delay", "scope", "terminate"):
                    unreached.add(id(op))
            changed = True
            while changed:
                changed = False
                for op in ops:
                    if id(op) in reached or id(op) in unreached or op.kind in ("start", "buffer"):
                        continue
                    inputs = incoming[id(op)]
                    if inputs and all(
                        c.kind == "message" and id(c.source) in unreached for c in inputs
                    ):
                        unreached.add(id(op))
                        changed = True
        for op in ops:
            s = self.ops.get((frame.key, op.name))
            result: Status | None = None
            if s is not None and s.failed:
                result = "failed"
            elif s is not None and s.origin:
                result = "origin"
            elif s is not None and s.running and not self.ended:
                result = "running"
            elif s is not None and s.disposals:
                result = "disposed"
            elif s is not None and (s.started or s.sessions):
                result = "ran"
            elif id(op) in reached:
                result = "reached"
            elif id(op) in unreached:
                result = "unreached"
            status[id(op)] = result
            self._status[(frame.key, op.name)] = result

    # ------------------------------------------------------------------ the overlay

    def status(self, frame: Frame, op: Operation) -> Status | None:
        return self._status.get((frame.key, op.name))

    def operation(self, frame: Frame, op: Operation) -> Mark | None:
        """What the picture says about `op` (see `_layout.Overlay`)."""
        status = self.status(frame, op)
        s = self.ops.get((frame.key, op.name))
        lines: list[str] = []
        tooltip: list[str] = []
        if s is not None:
            if s.started:
                running = s.running
                if running or s.cancelled:
                    text = f"started {_times(s.started)}"
                    if s.cancelled:
                        text += f", cancelled {_times(s.cancelled)}"
                    if running and not self.ended:
                        text += f", {running} running"
                else:
                    text = f"ran {_times(s.finished)}"
                if s.failed:
                    text += f", {s.failed} failed"
                lines.append(text)
                told = f"started {s.started}, finished {s.finished}, failed {s.failed}"
                if s.cancelled:
                    told += f", cancelled {s.cancelled}"
                tooltip.append(told)
            if s.sessions:
                lines.append(counted(s.sessions, "session"))
                tooltip.append(f"opened {s.sessions} child session(s)")
            if s.errors:
                lines.append(short(s.errors[0], 40))
                tooltip.extend(f"raised {e}" for e in s.errors)
            if s.disposals:
                lines.append(f"disposed {_times(s.disposed)}")
                shown = list(s.disposals.items())[:SHOWN]
                tooltip.extend(f"disposed {_times(n)}: {why}" for why, n in shown)
            if s.origin:
                lines.append("cancelled its scope")
                tooltip.extend(f"cancelled its scope: {o}" for o in s.origin)
        if status == "unreached":
            lines.append("never reached")
        elif status == "reached" and op.kind not in ("start", "terminate"):
            lines.append("reached")
        if not lines and status is None:
            return None
        numbers = tuple(s.numbers) if s is not None else ()
        return Mark(tuple(lines), status, "\n".join(tooltip), numbers)

    def frame(self, frame: Frame) -> Mark | None:
        """What the picture says about a frame: its sessions and how they ended."""
        if not self.recorded:
            if frame.key == ():
                return Mark((f"{self.state or 'not started'} · no events recorded",), None)
            return None
        stats = self.scopes.get(frame.key)
        if stats is None or stats.sessions == 0:
            if frame.key == () and self.state is None:
                return Mark(("not started",), None)
            return Mark(("never ran",), "unreached") if self.ended else None
        lines: list[str] = []
        if frame.key == ():
            lines.append(f"{self.state} after {seconds_text(self.elapsed)}")
        else:
            parts = [counted(stats.sessions, "session")]
            if stats.terminated:
                parts.append(f"{stats.terminated} terminated")
            if stats.cancelled > stats.interrupted:
                parts.append(f"{stats.cancelled - stats.interrupted} cancelled")
            if stats.interrupted:
                parts.append(f"{stats.interrupted} interrupted")
            if stats.running:
                parts.append(f"{stats.running} running")
            lines.append(", ".join(parts))
        tooltip = list(stats.causes) + [f"cleanup failed: {f}" for f in stats.cleanup_failures]
        if stats.causes:
            lines.append(short(stats.causes[0], 56))
        status: Status
        if stats.cancelled > stats.interrupted:
            status = "failed"
        elif stats.running:
            status = "running"
        else:
            status = "ran"
        numbers: tuple[int, ...] = ()
        if frame.op is not None and frame.parent is not None:
            own = self.ops.get((frame.parent.key, frame.op.name))
            numbers = tuple(own.numbers) if own is not None else ()
        return Mark(tuple(lines), status, "\n".join(tooltip), numbers)

    def travelled(self, frame: Frame, connection: Connection) -> bool | None:
        """True when the run certainly sent messages along `connection`, False when it
        certainly did not, None when the log does not say."""
        if not self.recorded:
            return None
        a = self.status(frame, connection.source)
        b = self.status(frame, connection.target)
        if a == "unreached" or b == "unreached":
            return False
        done = ("ran", "reached", "disposed", "failed", "origin", "running")
        if connection.kind == "message" and a in done and b in done:
            return True
        return None

    # ------------------------------------------------------------------ Mermaid

    def annotate(self, frame: Frame, op: Operation) -> tuple[list[str], str | None]:
        mark = self.operation(frame, op)
        if mark is None:
            return [], None
        return list(mark.lines), mark.status

    def frame_note(self, frame: Frame) -> str | None:
        mark = self.frame(frame)
        return mark.lines[0] if mark is not None and mark.lines else None

    # ------------------------------------------------------------------ the caption

    def title(self) -> str:
        name = self.frames.root.graph.name
        return f"run of {name}: {self.state or 'not started'}"

    def caption(self) -> list[str]:
        if not self.recorded:
            return [f"{self.title()}; the run recorded no events (events=False)."]
        lines = [f"{self.title()}, {self.events} events in {seconds_text(self.elapsed)}."]
        if self.cancellation is not None:
            lines.append("Cancelled: " + short(str(self.cancellation), 400))
            root = self.cancellation.root_cause()
            if root is not self.cancellation.cause:
                lines.append("Innermost cause: " + short(str(root), 300))
        if self.numbered:
            lines.append("The disposals that made terminate unreachable, in order:")
            lines.extend(f"  {n}. {text}" for n, text in self.numbered)
            if self.more_numbered:
                lines.append(f"  ... and {self.more_numbered} more")
        return lines

    def statuses(self) -> list[str]:
        """The colours used in the picture, for its legend."""
        used = {s for s in self._status.values() if s is not None}
        order = ("ran", "reached", "running", "disposed", "failed", "origin", "unreached")
        return [s for s in order if s in used and s not in ("reached", "origin")]


def _disposal_text(disposal: Disposal) -> str:
    cause = disposal.cause
    if isinstance(cause, ScopeCancelled):
        root = cause.cancellation.root_cause()
        return short(f"a nested session was cancelled: {root}", 200)
    return short(str(cause), 200)


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"
