"""SOAK loop (crossflow's own, not timed): one session loops for a minute with the event log
off (`events=False`), and its memory must stay flat (S2.4: what a session keeps is bounded by
its graph, not by how long it runs).

The loop: an async step (`await anyio.lowlevel.checkpoint(); x + 1`) and a nested scope, then
back to the step, so the host task gets to sample memory while it runs. It leaves the loop
(never, within the minute) through one of:

* `fork_option` (argv[2] `fork_option`, the default): `x if x < BIG else None`, `some` back to
  the step, `none` to terminate: every turn records a `Branching` disposal for the branch not
  taken, the same operation and cause each time (kept once, with a count);
* `disposal_filter` (argv[2] `disposal_filter`): a `fork_clone` back to the step and to a
  `disposal_filter` that lets nothing through but `x >= BIG`, then terminate: every turn records
  a `Filtered` disposal whose reason names the message, different each time (the first and last
  entries are kept, the others counted).

The host samples the resident set size (/proc/self/statm) at the start and every `--every`
seconds for `--seconds` seconds, cancels the session, prints the samples and the verdict
(flat: the last third's max within a few MiB of the first third's; see soak_common.py), then
one JSON line. The cyclic garbage collector stays on.

    python benchmarks/soak_loop.py trio disposal_filter [--seconds 60] [--every 5]
"""

import argparse
import time

import anyio
import anyio.lowlevel
from _common import emit
from soak_common import flatness, rss_mib, say

import crossflow as cf

BIG = 10**15
EXITS = ("fork_option", "disposal_filter")


class Turns:
    count = 0


async def step(x):
    Turns.count += 1
    await anyio.lowlevel.checkpoint()
    return x + 1


def inner(scope, builder):
    builder.chain(scope.start).map(lambda x: x, name="pass").connect(scope.terminate)


def exits_through_fork_option(scope, builder):
    node = builder.create_node(step, name="step")
    builder.chain(scope.start).connect(node.input)
    turn = builder.chain(node.output).then_scope(inner, name="inner")
    turn.map(lambda x: x if x < BIG else None, name="more").fork_option(
        some=lambda chain: chain.connect(node.input),  # the loop
        none=lambda chain: chain.connect(scope.terminate),  # the way out
    )


def exits_through_disposal_filter(scope, builder):
    node = builder.create_node(step, name="step")
    builder.chain(scope.start).connect(node.input)
    builder.chain(node.output).then_scope(inner, name="inner").fork_clone(
        lambda chain: chain.connect(node.input),  # the loop
        lambda chain: chain.disposal_filter(lambda x: x if x >= BIG else None).connect(
            scope.terminate
        ),  # the way out
    )


BUILDS = {
    "fork_option": exits_through_fork_option,
    "disposal_filter": exits_through_disposal_filter,
}


async def soak(wf, seconds, every):
    samples = []  # (seconds since the start, MiB, turns)
    async with wf.start(0, events=False) as session:
        t0 = time.monotonic()
        k = 0
        while True:
            elapsed = time.monotonic() - t0
            samples.append((round(elapsed, 1), round(rss_mib(), 1), Turns.count))
            print(
                f"t={elapsed:5.1f} s  RSS {samples[-1][1]:7.1f} MiB  turns {Turns.count:,}",
                flush=True,
            )
            k += 1
            if k * every > seconds + 1e-9:
                break
            await anyio.sleep(max(0.0, t0 + k * every - time.monotonic()))
        session.cancel("the soak is over")
    try:
        await session.result()
        raise AssertionError("the loop ended on its own")
    except cf.WorkflowCancelled as error:
        cause = error.cancellation.cause
        if not isinstance(cause, cf.UserCancelled):
            raise AssertionError(f"the loop ended with {cause!r}, not with the cancel") from error
    return samples


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("backend", nargs="?", default="asyncio", choices=("asyncio", "trio"))
    ap.add_argument("exit", nargs="?", default="fork_option", choices=EXITS)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--every", type=float, default=5.0)
    a = ap.parse_args()
    wf = cf.Workflow.build(BUILDS[a.exit], name=f"loop_{a.exit}")
    print(
        f"soak: one session looping {a.seconds:g} s, exits through {a.exit}, events off, {a.backend}"
    )
    samples = anyio.run(soak, wf, a.seconds, a.every, backend=a.backend)
    verdict = flatness([mib for _, mib, _ in samples])
    print(say(verdict), flush=True)
    seconds, turns = samples[-1][0], samples[-1][2]
    emit(
        "SOAK",
        "crossflow",
        f"one session looping {a.seconds:g} s, exits through {a.exit}, events off, backend={a.backend}",
        check="loop",
        exit=a.exit,
        backend=a.backend,
        seconds=seconds,
        turns=turns,
        turns_per_s=round(turns / seconds) if seconds else None,
        samples=[{"s": s, "mib": mib, "turns": n} for s, mib, n in samples],
        **verdict,
    )


main()
