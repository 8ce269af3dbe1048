"""Services that run in worker processes (`cf.ProcessExecutor`), at module level so that
they pickle by reference: a worker process imports this module to run them (its
directory is on the path the workers get)."""

from __future__ import annotations

import time


def add_one(x: int) -> int:
    return x + 1


def work_then_add_one(x: int) -> int:
    """Takes a little real time, as work in a process does."""
    time.sleep(0.2)
    return x + 1
