"""EXPLORE (crossflow's own, no peer): what `crossflow.testing.explore` costs.

Two workloads, each explored at every point (a plain run, a run cancelled after each
event of the plain run, a run per service activation failing), with virtual time, as
`explore_sync` does it:

* `work_sessions`: the scheduling workflow of examples/work_sessions for three tasks,
  each run with a fresh sqlite store, and the check the test suite uses after every run
  (tests/test_work_sessions.py: nothing left open, the effects, a second run after an
  invalid-state cancellation). The check is part of the measured time.
* `hour_delay_50`: a chain of 50 operations, 24 blocking maps, 24 async services that
  await a checkpoint, one `delay(3600)` in the middle and one map after it; the check
  only looks at the outcome. Without virtual time a single run would take an hour.

Reports, per workload, one JSON line: runs per exploration, seconds per exploration
(median, min, max of the timed repeats) and runs per second (the median exploration's
rate, the slowest one's as `min`, the fastest one's as `max`). argv[1] = asyncio | trio;
argv[2] = work_sessions | hour_delay_50 picks one workload (default: both, one line each).

    python benchmarks/crossflow_explore.py trio
    python benchmarks/crossflow_explore.py trio hour_delay_50
"""

import sys
from pathlib import Path

import anyio
from _common import REPEATS, check, emit, now, stats

import crossflow as cf
from crossflow import testing as cft

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import test_work_sessions as work_sessions  # noqa: E402

backend = sys.argv[1] if len(sys.argv) > 1 else "asyncio"
WORKLOADS = ("work_sessions", "hour_delay_50")
chosen = sys.argv[2:] or list(WORKLOADS)
for name in chosen:
    if name not in WORKLOADS:
        sys.exit(f"unknown workload {name!r}: one of {', '.join(WORKLOADS)}")
HOUR = 3600.0
OPERATIONS = 50


def chain_with_an_hour() -> cf.Workflow[int, int]:
    async def step(x: int) -> int:
        await anyio.lowlevel.checkpoint()
        return x + 1

    def build(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        chain = builder.chain(scope.start)
        for i in range(24):
            chain = chain.map(lambda x: x + 1, name=f"map{i}").then(step, name=f"step{i}")
        chain.delay(HOUR, name="an hour").map(lambda x: x + 1, name="last").connect(scope.terminate)

    return cf.Workflow.build(build, name="hour_delay_50")


HOUR_WORKFLOW = chain_with_an_hour()


def check_hour(outcome: cft.Outcome[int]) -> None:
    if outcome.responded:
        check(outcome.response == 49, f"bad response {outcome.response!r}")
    else:
        check(outcome.point is not None, "the plain run was cancelled")


def explore_hour() -> cft.ExplorationReport:
    return cft.explore_sync(HOUR_WORKFLOW, 0, check=check_hour, backend=backend)


def explore_work_sessions() -> cft.ExplorationReport:
    exploration = work_sessions.Exploration(
        work_sessions.SHIPMENT, why=work_sessions.BUSINESS_PROCESS
    )
    try:
        return cft.explore_sync(
            exploration.workflow,
            work_sessions.SHIPMENT,
            check=exploration.check,
            reason=exploration.reason,
            backend=backend,
        )
    finally:
        exploration.close()


def measure(name, explore, expected_runs):
    def one():
        started = now()
        report = explore()
        elapsed = now() - started
        check(report.runs == expected_runs, f"{name}: {report.runs} runs, not {expected_runs}")
        check(report.virtual_time, f"{name}: not in virtual time")
        return elapsed

    one()  # warm-up
    times = [one() for _ in range(REPEATS)]
    seconds = stats(times)
    emit(
        "EXPLORE",
        "crossflow",
        f"{name}-{backend}",
        unit="s/exploration",
        runs=expected_runs,
        repeats=len(times),
        s_per_exploration=seconds,
        # the slowest exploration has the lowest rate: min and max swap sides
        runs_per_s={
            "median": expected_runs / seconds["median"],
            "min": expected_runs / seconds["max"],
            "max": expected_runs / seconds["min"],
        },
    )


if "work_sessions" in chosen:
    measure("work_sessions", explore_work_sessions, 22)
if "hour_delay_50" in chosen:
    measure("hour_delay_50", explore_hour, 1 + (1 + 2 * OPERATIONS + 3) + (OPERATIONS - 1))
