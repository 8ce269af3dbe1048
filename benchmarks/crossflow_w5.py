"""W5 crossflow (no peer has reachability): reachability-check scaling.

A main chain of N blocking nodes from start to terminate (each maps x -> x + 1). At each main node a
`fork_clone` of the node's input feeds (first) a side branch `map(lambda _: None) -> fork_option(some=dispose,
none=dispose)`: the side branch always receives None, so its `fork_option` records a `Branching` disposal
(the `some` branch not taken) and the session's reachability is re-checked. Every session therefore
records N `Branching` disposals and still terminates with the response N. (Messages move breadth-first and
terminate ends the session at once, so the side branch must not trail the main chain: hung after the
last node, or emitted after the main hop as `branch_clone` does, the last side message would still be
queued when terminate fires and be dropped: N - 1 disposals. Hence a fork_clone of the node's input
whose first branch is the side branch.)

Reports µs/session for N = 10, 100, 1000 and ratio = time(N=1000) / time(N=100); a full upstream search
per disposal would make the ratio about 100 (quadratic), the goal is at most 15 (linear).
argv[1] = asyncio | trio.
"""

import sys

import anyio
from _common import REPEATS, check, emit, now, stats

import crossflow as cf

backend = sys.argv[1] if len(sys.argv) > 1 else "asyncio"
SIZES = (10, 100, 1000)
TOTAL_NODES = 100_000  # main-chain nodes per repeat: sessions = TOTAL_NODES // N (at least 20)
GOAL = 15.0


def side_branch(c: cf.Chain[int]) -> None:
    c.map(lambda _: None).fork_option(some=lambda s: s.dispose(), none=lambda s: s.dispose())


def main_node(c: cf.Chain[int]) -> cf.Chain[int]:
    return c.map(lambda x: x + 1)


def make(n: int) -> cf.Workflow[int, int]:
    def build(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        chain = builder.chain(scope.start)
        for _ in range(n):
            _, chain = chain.fork_clone(side_branch, main_node)
        chain.connect(scope.terminate)

    return cf.Workflow.build(build, name=f"w5_n{n}")


def check_disposals(wf: cf.Workflow[int, int], n: int) -> None:
    """Untimed: one session watched through `on_event`, to show that each session really
    records N `Branching` disposals even though it terminates (a terminated session's
    disposals are only in its events)."""
    seen: list[cf.events.Disposed] = []

    def watch(event: cf.events.Event) -> None:
        if isinstance(event, cf.events.Disposed):
            seen.append(event)

    async def one() -> int:
        return await wf.run(0, on_event=watch)

    r = anyio.run(one, backend=backend)
    branching = sum(isinstance(e.disposal.cause, cf.Branching) for e in seen)
    check(r == n, f"N={n}: bad result {r!r}")
    check(
        branching == n and len(seen) == n,
        f"N={n}: {branching} Branching of {len(seen)} disposals, want {n}",
    )


def check_public(n: int) -> None:
    """Untimed, public API only: the same graph with its last hop sent to a dead end is cancelled as
    Unreachable, and that cancellation accounts for every disposal of the session: the N side-branch
    Branchings and the final Filtered (S2.4 keeps the first and last ones of a long list and counts the
    rest in `omitted`)."""

    def build(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        chain = builder.chain(scope.start)
        for _ in range(n):
            _, chain = chain.fork_clone(side_branch, main_node)
        # the response N is not None, so dispose_on_some drops it (a Filtered disposal) and terminate is
        # then unreachable
        chain.dispose_on_some().connect(scope.terminate)

    wf = cf.Workflow.build(build, name=f"w5_dead_n{n}")
    try:
        anyio.run(wf.run, 0, backend=backend)
    except cf.WorkflowCancelled as e:
        cause = e.cancellation.cause
        check(
            isinstance(cause, cf.Unreachable), f"N={n}: cancelled with {cause!r}, want Unreachable"
        )
        kinds = [type(d.cause).__name__ for d in cause.disposals]
        total = sum(d.count for d in cause.disposals) + cause.omitted
        check(
            kinds.count("Branching") == len(kinds) - 1
            and kinds[-1] == "Filtered"
            and total == n + 1,
            f"N={n}: Unreachable accounts for {total} disposals ({kinds.count('Branching')} Branching "
            f"listed of {len(kinds)}), want {n + 1}",
        )
    else:
        raise AssertionError(f"N={n}: dead-end variant terminated")


async def time_all(wfs, sessions_of):
    """The sizes are interleaved (every repeat times N=10, 100, 1000 in turn), so machine noise hits
    them alike; returns {n: [seconds per repeat]}."""

    async def one(n):
        wf, sessions = wfs[n], sessions_of[n]
        t = now()
        for _ in range(sessions):
            r = await wf.run(0)
            if r != n:
                raise AssertionError(f"bad result {r!r}")
        return now() - t

    for n in SIZES:
        await one(n)  # warm-up
    elapsed = {n: [] for n in SIZES}
    for _ in range(REPEATS):
        for n in SIZES:
            elapsed[n].append(await one(n))
    return elapsed


def main():
    wfs, build_ms, sessions_of = {}, {}, {}
    for n in SIZES:
        t = now()
        wfs[n] = make(n)
        build_ms[n] = (now() - t) * 1e3
        check_disposals(wfs[n], n)
        check_public(n)
        sessions_of[n] = max(20, TOTAL_NODES // n)
    elapsed = anyio.run(time_all, wfs, sessions_of, backend=backend)
    per_session = {n: stats(elapsed[n], 1e6 / sessions_of[n]) for n in SIZES}
    ratio = per_session[1000]["median"] / per_session[100]["median"]
    # the same ratio within each repeat (the two sizes timed back to back)
    per_repeat = [
        (a / sessions_of[1000]) / (b / sessions_of[100])
        for a, b in zip(elapsed[1000], elapsed[100])
    ]
    emit(
        "W5",
        "crossflow",
        f"N blocking nodes + N fork_option Branching disposals, backend={backend}",
        unit="us/session",
        repeats=REPEATS,
        sizes=list(SIZES),
        sessions={str(k): v for k, v in sessions_of.items()},
        us_per_session={str(k): v for k, v in per_session.items()},
        us_per_node={str(k): v["median"] / k for k, v in per_session.items()},
        build_ms={str(k): v for k, v in build_ms.items()},
        ratio_1000_over_100=ratio,
        ratio_per_repeat=stats(per_repeat),
        goal=GOAL,
        disposals_checked=True,
        note=None,
    )


main()
