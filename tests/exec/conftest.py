"""Fixtures of the executor tests: Dask clusters, in this process and as real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
# how long a real scheduler and its workers may take to come up, in seconds
START_TIMEOUT = 60


@pytest.fixture(scope="module")
def dask_client() -> Iterator[Any]:
    """A synchronous client of an in-process cluster: one worker with one thread, so that a
    second task waits while a first one runs."""
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a process we started: politely, then for sure."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def real_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A Dask scheduler and two workers, each a process of its own on 127.0.0.1, and a
    synchronous client of them. The workers can import crossflow and this directory's
    modules. Whatever happens, every process is stopped at the end."""
    from distributed import Client

    folder = tmp_path_factory.mktemp("dask")
    scheduler_file = folder / "scheduler.json"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    common = ["--no-dashboard", "--scheduler-file", str(scheduler_file)]
    processes: list[subprocess.Popen[bytes]] = []
    logs = []
    try:
        log = (folder / "scheduler.log").open("wb")
        logs.append(log)
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    *("-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1"),
                    *("--port", "0", *common),
                ],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        deadline = time.monotonic() + START_TIMEOUT
        while not scheduler_file.exists():
            assert processes[0].poll() is None, "the scheduler exited"
            assert time.monotonic() < deadline, "the scheduler did not start"
            time.sleep(0.05)
        for name in ("w1", "w2"):
            log = (folder / f"{name}.log").open("wb")
            logs.append(log)
            processes.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        *("-m", "distributed.cli.dask_worker", "--host", "127.0.0.1"),
                        *("--nthreads", "1", "--name", name, "--no-nanny", *common),
                    ],
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        with Client(scheduler_file=str(scheduler_file), timeout=START_TIMEOUT) as client:
            client.wait_for_workers(2, timeout=START_TIMEOUT)
            yield client
    finally:
        for process in reversed(processes):
            _stop(process)
        for log in logs:
            log.close()
