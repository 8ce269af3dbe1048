"""W4 crossflow: one session with 100 parallel async branches (spread -> then(async branch) -> collect_all ->
terminate), each awaiting anyio.sleep(3600) inside try/finally. Once all 100 started, the task running
`wf.run` is cancelled through an anyio cancel scope (as floor_anyio_w4.py cancels its task group);
times cancel -> `wf.run` has stopped, and -> all 100 `finally` blocks ran. argv[1] = asyncio | trio."""

import sys

import anyio
import anyio.lowlevel
from _common import (
    REPEATS,
    W4_BRANCHES,
    W4_GRACE_S,
    W4_SLEEP,
    W4_START_TIMEOUT_S,
    Branches,
    now,
    w4_emit,
)

import crossflow as cf

backend = sys.argv[1] if len(sys.argv) > 1 else "asyncio"


async def branch(b: Branches) -> None:
    b.on_start()
    try:
        await anyio.sleep(W4_SLEEP)
    finally:
        b.on_finish()


@cf.workflow
def hundred(scope: cf.Scope[Branches, list[None]], builder: cf.Builder) -> None:
    # the request is the session's counters; every branch gets it
    (
        builder.chain(scope.start)
        .map(lambda b: [b] * W4_BRANCHES)
        .spread()
        .then(branch)
        .collect_all()
        .connect(scope.terminate)
    )


async def one():
    b = Branches(anyio.Event())
    stopped, scopes, outcome = anyio.Event(), [], []

    async def session():
        try:
            with anyio.CancelScope() as cs:
                scopes.append(cs)
                try:
                    await hundred.run(b)
                    outcome.append("returned normally")
                except cf.WorkflowCancelled as e:
                    outcome.append(f"WorkflowCancelled({e.cancellation.cause!r})")
            if cs.cancelled_caught:
                outcome.append("backend cancellation")
        finally:
            stopped.set()

    async with anyio.create_task_group() as outer:
        outer.start_soon(session)
        with anyio.fail_after(W4_START_TIMEOUT_S):
            await b.all_started.wait()
        t0 = now()
        scopes[0].cancel()
        await stopped.wait()
        t1 = now()
        at_return = b.finished
        # API §2 says run waits for the session's cleanup; if some finally did not run yet, poll like the
        # asyncio peers do (sleep(0) for up to the grace period)
        while b.finished < W4_BRANCHES and now() - t0 < W4_GRACE_S:
            await anyio.lowlevel.checkpoint()
        t2 = t1 if at_return == W4_BRANCHES else now()
    to_all = t2 - t0 if b.finished == W4_BRANCHES else None
    return t1 - t0, to_all, b.finished, at_return, "/".join(outcome) or "?"


async def main():
    await one()  # warm-up
    rows = [await one() for _ in range(REPEATS)]
    return [list(c) for c in zip(*rows)]


to_ret, to_all, counts, at_ret, outcomes = anyio.run(main, backend=backend)
w4_emit(
    "crossflow",
    f"cancel scope around wf.run, backend={backend}",
    to_ret,
    to_all,
    counts,
    at_ret,
    note=f"run outcome: {sorted(set(outcomes))}",
)
