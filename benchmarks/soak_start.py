"""SOAK start (crossflow's own, not timed): 100,000 sessions opened with `start()`, one after
the other, with the cyclic garbage collector off: memory must stay flat, and a
`gc.collect()` afterwards must find nothing of crossflow's (a session leaves no reference
cycle behind: its memory goes as soon as its handle does).

Each session runs `map(x + 1) -> step -> terminate`, where `step` is an async service that
sends its message on a declared stream and returns `x + 1`; the host reads the stream to its
end and the response (both checked), with the event log on (the default). After 1,000 warm-up
sessions and a `gc.collect()`, the collector is switched off; the resident set size
(/proc/self/statm) is sampled before the first session and after every `--every` sessions.
Then the collector runs once with `gc.DEBUG_SAVEALL`, which keeps whatever it found: the
objects whose class comes from `crossflow` must be none. Prints the samples, the verdict
(flat: the last third's max within a few MiB of the first third's; see soak_common.py) and
what the collector found, then one JSON line.

    python benchmarks/soak_start.py trio [--sessions 100000] [--every 10000]
"""

import argparse
import collections
import gc
import time

import anyio
import anyio.lowlevel
from _common import emit
from soak_common import flatness, rss_mib, say

import crossflow as cf

WARM_UP = 1_000


@cf.service(streams={"sent": int})
async def step(x: int, *, streams: cf.Streams) -> int:
    streams.sent.send(x)
    await anyio.lowlevel.checkpoint()
    return x + 1


def build(scope, builder):
    node = builder.chain(scope.start).map(lambda x: x + 1, name="add").then_node(step)
    builder.chain(node.streams.sent).connect(scope.streams.sent)
    builder.chain(node.output).connect(scope.terminate)


wf = cf.Workflow.build(build, name="soak_start", streams={"sent": int})


async def once(i):
    async with wf.start(i) as session:
        streamed = [m async for m in session.streams.sent]
        response = await session.result()
    if streamed != [i + 1] or response != i + 2:
        raise AssertionError(f"session {i}: streamed {streamed}, response {response!r}")


async def soak(sessions, every):
    for i in range(WARM_UP):
        await once(i)
    gc.collect()
    gc.disable()
    samples = [(0, round(rss_mib(), 1))]  # (sessions so far, MiB)
    print(f"sessions {0:>9,}  RSS {samples[-1][1]:7.1f} MiB", flush=True)
    t0 = time.perf_counter()
    for i in range(sessions):
        await once(i)
        if (i + 1) % every == 0:
            samples.append((i + 1, round(rss_mib(), 1)))
            print(f"sessions {i + 1:>9,}  RSS {samples[-1][1]:7.1f} MiB", flush=True)
    return samples, time.perf_counter() - t0


def collect():
    """Run the collector once, keeping what it finds; what it found, by module and type."""
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        found = gc.collect()
        kinds = collections.Counter(
            f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.garbage
        )
    finally:
        gc.garbage.clear()
        gc.set_debug(0)
        gc.enable()
    ours = {k: n for k, n in kinds.items() if k.startswith("crossflow")}
    return found, ours, dict(kinds.most_common(5))


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("backend", nargs="?", default="asyncio", choices=("asyncio", "trio"))
    ap.add_argument("--sessions", type=int, default=100_000)
    ap.add_argument("--every", type=int, default=10_000)
    a = ap.parse_args()
    print(f"soak: {a.sessions:,} sessions with start(), cyclic GC off, {a.backend}", flush=True)
    samples, seconds = anyio.run(soak, a.sessions, a.every, backend=a.backend)
    found, ours, top = collect()
    verdict = flatness([mib for _, mib in samples])
    print(say(verdict))
    print(
        f"gc.collect() afterwards found {found} objects, {sum(ours.values())} of them crossflow's"
        + (f": {ours}" if ours else "")
        + (f"; most common: {top}" if top else ""),
        flush=True,
    )
    emit(
        "SOAK",
        "crossflow",
        f"{a.sessions:,} start() sessions, cyclic GC off, backend={a.backend}",
        check="start",
        backend=a.backend,
        sessions=a.sessions,
        seconds=round(seconds, 1),
        us_per_session=round(seconds / a.sessions * 1e6, 1) if a.sessions else None,
        samples=[{"sessions": n, "mib": mib} for n, mib in samples],
        gc_found=found,
        gc_found_crossflow=ours,
        gc_found_top=top,
        nothing_of_ours=not ours,
        **verdict,
    )


main()
