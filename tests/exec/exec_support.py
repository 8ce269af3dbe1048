"""Services for the executor tests, at module level so that they pickle by reference: a
worker process or a Dask worker imports this module to run them (its directory is on
the path the workers get).

Functions that run in another process talk back through files: each one that needs to be
watched takes a path, writes its process id there when it starts, and writes a second
file when it ends.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import crossflow as cf


def double(x: int) -> int:
    return x * 2


def fail(x: int) -> int:
    raise ValueError(f"bad input {x}")


def pid_of(_: object) -> int:
    return os.getpid()


def unpicklable_response(_: object) -> Any:
    return threading.Lock()


class Unpicklable(Exception):
    """An exception that carries a lock: it cannot be pickled."""

    def __init__(self) -> None:
        super().__init__("with a lock")
        self.lock = threading.Lock()


def raise_unpicklable(_: object) -> int:
    raise Unpicklable()


def started_file(path: str) -> Path:
    return Path(path + ".started")


def ended_file(path: str) -> Path:
    return Path(path + ".ended")


def run_until_cancelled(path: str) -> str:
    """Say that it started (its pid), then work until asked to stop; say that it ended."""
    started_file(path).write_text(str(os.getpid()))
    try:
        for _ in range(60_000):  # at most a minute
            if cf.cancel_requested():
                return "stopped"
            time.sleep(0.001)
        return "ran out"
    finally:
        ended_file(path).write_text("ended")


def run_forever(path: str) -> str:
    """Say that it started, then never stop by itself (a process must be killed)."""
    started_file(path).write_text(str(os.getpid()))
    while True:
        time.sleep(0.01)


def run_until_released(path: str) -> str:
    """Say that it started, then wait for the file `path + ".release"`; say that it ended.
    It does not look at `cf.cancel_requested()`: it stands for work that cannot stop."""
    started_file(path).write_text(str(os.getpid()))
    try:
        release = Path(path + ".release")
        for _ in range(60_000):
            if release.exists():
                return "released"
            time.sleep(0.001)
        return "ran out"
    finally:
        ended_file(path).write_text("ended")


def exclusive(path: str) -> str:
    """Hold the lock file `path` for a moment: two calls at once would collide."""
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    try:
        time.sleep(0.05)
    finally:
        os.close(fd)
        os.unlink(path)
    return "done"


def process_alive(pid: int) -> bool:
    """Whether process `pid` still exists (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
    return "\nState:\tZ" not in status


def release(path: str) -> None:
    """Let `run_until_released(path)` return."""
    Path(path + ".release").write_text("go")


def has_ended(path: str) -> bool:
    """Whether a watched function has ended."""
    return ended_file(path).exists()


def same(x: Any) -> Any:
    return x


def scheduler_keys(dask_scheduler: Any) -> list[str]:
    """Run on a Dask scheduler: the keys of the tasks it knows."""
    return [str(key) for key in dask_scheduler.tasks]


def has_started(path: str) -> bool:
    """Whether a watched function has started."""
    return started_file(path).exists()
