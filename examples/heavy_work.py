"""Blocking and heavy work off the event loop: worker threads, worker processes, and the
per-node controls (a concurrency limit, a timeout, retries)."""

from __future__ import annotations

import hashlib
import time

import anyio

import crossflow as cf


@cf.service(offload=True)  # a worker thread: the event loop keeps running meanwhile
def fetch(name: str) -> str:
    time.sleep(0.2)  # stands for a blocking client: an HTTP call, a database query
    return f"contents of {name}"


def digest(text: str) -> str:
    # CPU-bound: a worker process. Defined at module level, so that it pickles.
    data = text.encode()
    for _ in range(50_000):
        data = hashlib.sha256(data).digest()
    return data.hex()[:12]


@cf.workflow
def digests(scope: cf.Scope[list[str], list[str]], builder: cf.Builder) -> None:
    (
        builder.chain(scope.start)
        .spread()
        .then(fetch, max_concurrency=4, retry=cf.Retry(3, backoff=0.5, on=ConnectionError))
        .then(digest, executor=cf.ProcessExecutor(limit=2), timeout=30.0)
        .collect_all()
        .connect(scope.terminate)
    )


@cf.service(offload=True)
def long_job(steps: int) -> int:
    done = 0
    for _ in range(steps):
        if cf.cancel_requested():  # a thread cannot be interrupted: it checks, and returns
            break
        time.sleep(0.01)
        done += 1
    return done


@cf.workflow
def job(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
    builder.chain(scope.start).then(long_job).connect(scope.terminate)


async def cancel_a_job() -> None:
    async with job.start(1_000) as session:
        await anyio.sleep(0.2)
        session.cancel("not needed any more")
        try:
            await session.result()
        except cf.WorkflowCancelled as cancelled:
            print(cancelled.cancellation)
    for event in session.events:
        if isinstance(event, cf.events.TaskCancelled):
            print(event.describe())


if __name__ == "__main__":
    started = time.perf_counter()
    print(digests.run_sync(["a.txt", "b.txt", "c.txt", "d.txt", "e.txt"]))
    print(f"done in {time.perf_counter() - started:.1f} s: fetches at once, digests in processes")
    anyio.run(cancel_a_job)
