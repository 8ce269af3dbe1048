#!/usr/bin/env python3
"""Run crossflow's benchmarks next to their floors and print one markdown table per workload.

    python benchmarks/run.py [--only W1,W3] [--json raw.jsonl] [--out report.md]
    python benchmarks/run.py --only SOAK      # the soak checks: minutes, never in the default run

Every job (a floor or a crossflow script, on one backend) runs in its own subprocess with the
interpreter running this file, and prints one JSON line (format: `_common.py`). The targets are
ratios to the floors measured in the same run, so machine speed cancels out; see README.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent  # the repository: its crossflow/ is the one measured, installed or not
PY = sys.executable
TIMEOUT_S = 600
BACKENDS = ("asyncio", "trio")

EXPLORE_WORKLOADS = ("work_sessions", "hour_delay_50")  # crossflow_explore.py's argv[2]

JOBS = [  # (workload, script, args): each one is a fresh subprocess
    ("W1", "floor_python_w1.py", []),
    ("W1", "floor_asyncio_w1.py", ["await"]),
    ("W1", "floor_asyncio_w1.py", ["taskgroup"]),
    *[("W1", "floor_anyio_w1.py", [b]) for b in BACKENDS],
    *[("W1", "crossflow_w1.py", [b]) for b in BACKENDS],
    *[("W1", "crossflow_w1.py", [b, "events-off"]) for b in BACKENDS],
    *[("W2", "floor_anyio_w2.py", [b]) for b in BACKENDS],
    *[("W2", "crossflow_w2.py", [b]) for b in BACKENDS],
    *[("W3", "floor_anyio_w3.py", [b]) for b in BACKENDS],
    *[("W3", "crossflow_w3.py", [b]) for b in BACKENDS],
    *[("W4", "floor_anyio_w4.py", [b]) for b in BACKENDS],
    *[("W4", "crossflow_w4.py", [b]) for b in BACKENDS],
    *[("W5", "crossflow_w5.py", [b]) for b in BACKENDS],
    *[("W6", "floor_anyio_w6.py", [b]) for b in BACKENDS],
    *[("W6", "crossflow_w6.py", [b]) for b in BACKENDS],
    *[("W7", "floor_anyio_w7.py", [b]) for b in BACKENDS],
    *[("W7", "crossflow_w7.py", [b]) for b in BACKENDS],
    *[("W8", "floor_anyio_w8.py", [b]) for b in BACKENDS],
    *[("W8", "crossflow_w8.py", [b]) for b in BACKENDS],
    *[("D1", "crossflow_d1.py", [b]) for b in BACKENDS],
    *[("W9", "floor_anyio_w9.py", [b]) for b in BACKENDS],
    *[("W9", "crossflow_w9.py", [b]) for b in BACKENDS],
    ("W10", "floor_dask_w10.py", []),
    *[("W10", "crossflow_w10.py", [b]) for b in BACKENDS],
    *[("W4T", "floor_anyio_w4t.py", [b]) for b in BACKENDS],
    *[("W4T", "crossflow_w4t.py", [b]) for b in BACKENDS],
    *[
        ("EXPLORE", "crossflow_explore.py", [b, which])
        for b in BACKENDS
        for which in EXPLORE_WORKLOADS
    ],
]

# The soak checks (memory over a minute of looping, and over 100,000 sessions) take minutes:
# they run only when asked for, with `--only SOAK`.
SOAK_EXITS = ("fork_option", "disposal_filter")
SOAK_JOBS = [
    *[("SOAK", "soak_loop.py", [b, e]) for b in BACKENDS for e in SOAK_EXITS],
    *[("SOAK", "soak_start.py", [b]) for b in BACKENDS],
]

# Targets: (workload, what, limit). The ratio is crossflow's median over the floor's median.
W1_LIMIT_US = 10.0  # crossflow asyncio µs/session
W2_LIMIT = 1.3  # ms/session vs the anyio task-group floor, same backend
W3_WALL_LIMIT, W3_RSS_LIMIT = 1.5, 2.0  # wall time and peak RSS vs the anyio floor, same backend
W4_LIMIT = 2.0  # cancel -> all cleanup vs the anyio floor, same backend
W5_LIMIT = 15.0  # time(N=1000) / time(N=100)
W6_LIMIT = 3.0  # join: ms/session vs the anyio floor (same number of tasks), same backend
W7_LIMIT = 3.0  # listener: ms/session vs the anyio floor (same number of tasks), same backend
W8_WALL_LIMIT, W8_RSS_LIMIT = 1.5, 2.0  # nested scope per item: wall time and peak RSS vs the floor
PAD_LIMIT = 1.3  # W6, W7: time with 2,000 idle operations added / time with 10
D1_LIMIT = 1.2  # W1 built from a diagram / the same workflow built in code, same backend
W9_LIMIT = 1.3  # 200 offloaded sleeps, 20 threads: ms/session vs the anyio floor, same backend
W10_LIMIT = 1.5  # 1,000 tiny functions on Dask: ms/session vs client.submit + gather
EXPLORE_LIMIT_S = 3.0  # 50 operations and an hour's delay, explored at every point: s/exploration

VERSIONS_SNIPPET = r"""
import json, sys, platform
from importlib.metadata import version, PackageNotFoundError
import crossflow
out = {"python": sys.version.split()[0], "implementation": platform.python_implementation(),
       "crossflow": crossflow.__version__}
for p in ["anyio", "trio"]:
    try: out[p] = version(p)
    except PackageNotFoundError: out[p] = "not installed"
print(json.dumps(out))
"""

TITLES = {
    "W1": "W1 chain — 10-node linear chain, x+1 per node (sync body), 2,000 sequential sessions per repeat",
    "W2": "W2 fan-out — 1,000 items → async fn (await sleep(0); x*2) → gathered and summed; "
    "1 session per repeat",
    "W3": "W3 concurrent sessions — 10,000 concurrent 3-node sessions, middle node awaits sleep(0.01)",
    "W4": "W4 cancel latency — one session, 100 parallel branches each awaiting a 1 h sleep; "
    "cancel once all started",
    "W5": "W5 reachability scaling — N blocking nodes, N `Branching` disposals per session (crossflow only)",
    "W6": "W6 join — 2 branches × 1,000 items → async step → 2 keep_all buffers, joined pairwise "
    "→ collect_all; 1 session per repeat",
    "W7": "W7 listener — 1,000 items → async step → keep_all buffer; a listener's blocking service "
    "drains it at each of the 1,000 wakes; 1 session per repeat",
    "W8": "W8 nested scopes — 10,000 items spread into a nested scope each (one async step awaiting "
    "a checkpoint), collected and summed; 1 session per repeat",
    "D1": "D1 diagrams — W1 built from a JSON diagram (ten `add` nodes over JSON numbers) vs the same "
    "nodes built in code, 2,000 sequential sessions per repeat; load and check of a 500-operation diagram",
    "W9": "W9 threads — 200 blocking calls of time.sleep(0.005) fanned out with offload=True, "
    "20 threads at a time; 1 session per repeat",
    "W10": "W10 Dask — 1,000 tiny functions on an in-process Dask cluster through DaskExecutor; "
    "1 session per repeat",
    "W4T": "W4T cancel latency in threads — W4 with the 100 branches in worker threads that poll "
    "cf.cancel_requested() every millisecond (reported, no target)",
    "EXPLORE": "EXPLORE — `cft.explore_sync` at every point, in virtual time: the work-session "
    "example (22 runs) and a chain of 50 operations with a one-hour delay (154 runs); no floor",
    "SOAK": "SOAK memory — one session looping for 60 s with `events=False`; 100,000 `start()` "
    "sessions with the cyclic GC off (not timed; only with `--only SOAK`)",
}


# ---------------------------------------------------------------------------- running


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def run_job(script: str, args: list[str]) -> tuple[dict, float]:
    t = time.perf_counter()
    try:
        p = subprocess.run(
            [PY, script, *args],
            cwd=HERE,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            env=child_env(),
        )
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"timeout after {TIMEOUT_S}s"}, time.perf_counter() - t
    lines = [line for line in p.stdout.splitlines() if line.startswith("{")]
    if p.returncode != 0 or not lines:
        tail = (p.stderr or p.stdout).strip().splitlines()[-3:]
        return {
            "ok": False,
            "error": f"rc={p.returncode}: " + " | ".join(tail),
        }, time.perf_counter() - t
    r = json.loads(lines[-1])
    if p.stderr.strip():
        r["stderr_tail"] = p.stderr.strip().splitlines()[-5:]
    return r, time.perf_counter() - t


# ---------------------------------------------------------------------------- formatting


def f(x: float | None, nd: int = 1) -> str:
    if x is None:
        return "–"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.{max(nd, 2)}f}" if abs(x) < 1 else f"{x:.2f}"


def mmm(d: dict | None) -> str:
    return " | ".join((f(d["median"]), f(d["min"]), f(d["max"]))) if d else "– | – | –"


def rng(d: dict | None) -> str:
    return f"{f(d['median'])} ({f(d['min'])}–{f(d['max'])})" if d else "–"


def backend_of(r: dict) -> str | None:
    args = r.get("args") or []
    return args[0] if args and args[0] in BACKENDS else None


def find(
    rows: list[dict], script_prefix: str, backend: str | None, variant: str = ""
) -> dict | None:
    """The first good row of a script on a backend; `variant` picks one by its extra arg."""
    for r in rows:
        if (
            r.get("ok")
            and r["script"].startswith(script_prefix)
            and backend_of(r) == backend
            and (variant in r["args"] if variant else len(r["args"]) <= 1)
        ):
            return r
    return None


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def verdict(value: float | None, limit: float, extra_ok: bool = True) -> str:
    if value is None:
        return "no data"
    return "**met**" if value <= limit and extra_ok else "**MISSED**"


def failures(rows: list[dict]) -> list[str]:
    return [
        f"| {r.get('peer', r['script'])} | {r['script']} {' '.join(r['args'])} | FAILED: "
        f"{r['error'][:200]} |"
        for r in rows
        if not r.get("ok")
    ]


def measurements(w: str, rows: list[dict]) -> list[str]:
    out: list[str] = []
    ok = [r for r in rows if r.get("ok")]
    if w == "W1":
        out += [
            "| peer | variant | µs/session median | min | max | µs/hop median (min–max) |",
            "|---|---|---:|---:|---:|---:|",
        ]
        out += [
            f"| {r['peer']} | {r['variant']} | {mmm(r['us_per_session'])} | {rng(r['us_per_hop'])} |"
            for r in ok
        ]
    elif w == "W2":
        out += ["| peer | variant | ms/session median | min | max |", "|---|---|---:|---:|---:|"]
        out += [f"| {r['peer']} | {r['variant']} | {mmm(r['ms_per_session'])} |" for r in ok]
    elif w in ("W3", "W8"):
        out += [
            "| peer | variant | wall s median | min | max | RSS after import (MiB) | peak RSS (MiB) |",
            "|---|---|---:|---:|---:|---:|---:|",
        ]
        out += [
            f"| {r['peer']} | {r['variant']} | {mmm(r['wall_s'])} | {r['rss_after_import_mib']:.0f} | "
            f"{r['peak_rss_mib']:.0f} |"
            for r in ok
        ]
    elif w in ("W9", "W10"):
        out += ["| peer | variant | ms/session median | min | max |", "|---|---|---:|---:|---:|"]
        out += [f"| {r['peer']} | {r['variant']} | {mmm(r['ms_per_session'])} |" for r in ok]
    elif w in ("W4", "W4T"):
        out += [
            "| peer | variant | cancel→run stopped, ms median (min–max) | cancel→all 100 `finally` ran, "
            "ms median (min–max) | cleanup ran for all 100 (per repeat) | note |",
            "|---|---|---:|---:|---|---|",
        ]
        for r in ok:
            b = r["ms_cancel_to_all_cleanup"]
            counts = "yes" if r["cleanup_ran_all"] else f"NO: {r['cleanup_counts']}"
            if r["cleanup_at_return"] != r["cleanup_counts"]:
                counts += f"; at 'stopped': {r['cleanup_at_return']}"
            out.append(
                f"| {r['peer']} | {r['variant']} | {rng(r['ms_cancel_to_return'])} | "
                f"{rng(b) if b else 'never (within 2 s)'} | {counts} | {r.get('note') or ''} |"
            )
    elif w == "W5":
        out += [
            "| peer | variant | µs/session N=10 median (min–max) | N=100 | N=1000 | µs/node N=10 / 100 / 1000 "
            "| time(1000)/time(100) of medians | same, per repeat median (min–max) | build ms N=1000 |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in ok:
            s, pn = r["us_per_session"], r["us_per_node"]
            out.append(
                f"| {r['peer']} | {r['variant']} | {rng(s['10'])} | {rng(s['100'])} | {rng(s['1000'])} | "
                f"{f(pn['10'])} / {f(pn['100'])} / {f(pn['1000'])} | {f(r['ratio_1000_over_100'])} | "
                f"{rng(r.get('ratio_per_repeat'))} | {f(r['build_ms']['1000'])} |"
            )
    elif w in ("W6", "W7"):
        out += [
            "| peer | variant | ms/session median | min | max | padded N=10: ms/session median (min–max) "
            "| N=2000 | time(2000)/time(10) of medians | same, per repeat median (min–max) "
            "| crossflow calls/session N=10 / 2000 |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in ok:
            sc = r.get("scaling")
            pad = "– | – | – | – | –"
            if sc:
                small, large = (str(n) for n in sc["sizes"])
                ms, calls = sc["ms_per_session"], sc["crossflow_calls"]
                pad = (
                    f"{rng(ms[small])} | {rng(ms[large])} | {f(sc['ratio'])} | "
                    f"{rng(sc['ratio_per_repeat'])} | {calls[small]:,} / {calls[large]:,}"
                )
            out.append(f"| {r['peer']} | {r['variant']} | {mmm(r['ms_per_session'])} | {pad} |")
    elif w == "SOAK":
        out += [
            "| peer | variant | RSS samples (MiB) | first third max | last third max | growth | "
            "work done | gc.collect() afterwards |",
            "|---|---|---|---:|---:|---:|---:|---|",
        ]
        for r in ok:
            mibs = ", ".join(f"{x['mib']:.1f}" for x in r["samples"])
            if r["check"] == "loop":
                work = f"{r['turns']:,} turns in {r['seconds']:g} s"
                found = "–"
            else:
                work = f"{r['sessions']:,} sessions, {f(r['us_per_session'])} µs each"
                ours = sum(r["gc_found_crossflow"].values())
                found = f"{r['gc_found']:,} objects, {ours:,} of crossflow's"
            out.append(
                f"| {r['peer']} | {r['variant']} | {mibs} | {f(r['first_third_max_mib'])} | "
                f"{f(r['last_third_max_mib'])} | {r['growth_mib']:+.1f} MiB | {work} | {found} |"
            )
    elif w == "EXPLORE":
        out += [
            "| peer | variant | runs per exploration | s/exploration median | min | max | "
            "runs/s median (slowest–fastest) |",
            "|---|---|---:|---:|---:|---:|---:|",
        ]
        out += [
            f"| {r['peer']} | {r['variant']} | {r['runs']} | {mmm(r['s_per_exploration'])} | "
            f"{rng(r['runs_per_s'])} |"
            for r in ok
        ]
    elif w == "D1":
        out += [
            "| peer | variant | µs/session from the diagram median (min–max) | in code | "
            "ratio of medians | ratio per repeat median (min–max) | load + check of 500 operations, ms |",
            "|---|---|---:|---:|---:|---:|---:|",
        ]
        out += [
            f"| {r['peer']} | {r['variant']} | {rng(r['us_per_session_diagram'])} | "
            f"{rng(r['us_per_session_code'])} | {f(r['ratio'])} | {rng(r['ratio_per_repeat'])} | "
            f"{rng(r['load_check_ms'])} |"
            for r in ok
        ]
    return out + failures(rows)


def targets(w: str, rows: list[dict]) -> tuple[list[str], list[tuple[str, str]]]:
    """Markdown rows of the target table, and (target, verdict) pairs for the summary."""
    out = [
        "| target | backend | crossflow | floor | ratio | goal | status |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    summary: list[tuple[str, str]] = []

    def add(name: str, backend: str, mine: str, floor: str, r: str, goal: str, status: str) -> None:
        out.append(f"| {name} | {backend} | {mine} | {floor} | {r} | {goal} | {status} |")
        if status != "info":
            summary.append((f"{w} {name} ({backend})", status))

    if w == "SOAK":  # no floors: each check has its own verdict
        for r in (r for r in rows if r.get("ok")):
            goal = f"≤ {r['tolerance_mib']:g} MiB"
            flat = "**met**" if r["flat"] else "**MISSED**"
            if r["check"] == "loop":
                name = f"memory flat over {r['seconds']:g} s of a loop exiting through {r['exit']}"
                add(name, r["backend"], f"{r['growth_mib']:+.1f} MiB", "–", "–", goal, flat)
            else:
                name = f"memory flat over {r['sessions']:,} start() sessions, GC off"
                add(name, r["backend"], f"{r['growth_mib']:+.1f} MiB", "–", "–", goal, flat)
                ours = sum(r["gc_found_crossflow"].values())
                add(
                    "gc.collect() afterwards finds nothing of crossflow's",
                    r["backend"],
                    f"{ours:,}",
                    "–",
                    "–",
                    "0",
                    "**met**" if r["nothing_of_ours"] else "**MISSED**",
                )
        return out, summary

    for b in BACKENDS:
        cf = find(rows, "crossflow_", b)
        if w == "W1":
            fl = find(rows, "floor_anyio_w1", b)
            mine = cf["us_per_session"]["median"] if cf else None
            base = fl["us_per_session"]["median"] if fl else None
            if b == "asyncio":
                add(
                    "µs/session ≤ 10 (ratio: to the anyio TG+1 task floor)",
                    b,
                    f"{f(mine)} µs",
                    f"{f(base)} µs",
                    f(ratio(mine, base)),
                    f"≤ {W1_LIMIT_US:g} µs",
                    verdict(mine, W1_LIMIT_US),
                )
            else:
                add(
                    "µs/session (no target on trio)",
                    b,
                    f"{f(mine)} µs",
                    f"{f(base)} µs",
                    f(ratio(mine, base)),
                    "–",
                    "info",
                )
            off = find(rows, "crossflow_", b, "events-off")
            quiet = off["us_per_session"]["median"] if off else None
            add(
                "event log on by default: µs/session with it / without it (`events=False`)",
                b,
                f"{f(mine)} µs",
                f"{f(quiet)} µs",
                f(ratio(mine, quiet)),
                "–",
                "info",
            )
        elif w == "W2":
            fl = find(rows, "floor_anyio_w2", b)
            mine = cf["ms_per_session"]["median"] if cf else None
            base = fl["ms_per_session"]["median"] if fl else None
            r = ratio(mine, base)
            add(
                "ms/session vs anyio TG floor",
                b,
                f"{f(mine)} ms",
                f"{f(base)} ms",
                f(r),
                f"≤ {W2_LIMIT:g}",
                verdict(r, W2_LIMIT),
            )
        elif w in ("W3", "W8"):
            fl = find(rows, f"floor_anyio_{w.lower()}", b)
            wall_limit, rss_limit = (
                (W3_WALL_LIMIT, W3_RSS_LIMIT) if w == "W3" else (W8_WALL_LIMIT, W8_RSS_LIMIT)
            )
            mine = cf["wall_s"]["median"] if cf else None
            base = fl["wall_s"]["median"] if fl else None
            r = ratio(mine, base)
            add(
                "wall time vs anyio TG floor",
                b,
                f"{f(mine)} s",
                f"{f(base)} s",
                f(r),
                f"≤ {wall_limit:g}",
                verdict(r, wall_limit),
            )
            mine = cf["peak_rss_mib"] if cf else None
            base = fl["peak_rss_mib"] if fl else None
            r = ratio(mine, base)
            add(
                "peak RSS vs anyio TG floor",
                b,
                f"{f(mine)} MiB",
                f"{f(base)} MiB",
                f(r),
                f"≤ {rss_limit:g}",
                verdict(r, rss_limit),
            )
            if (
                cf and fl
            ):  # growth above the after-import RSS: what the 10,000 sessions themselves cost
                gm = cf["peak_rss_mib"] - cf["rss_after_import_mib"]
                gb = fl["peak_rss_mib"] - fl["rss_after_import_mib"]
                add(
                    "peak RSS growth above after-import",
                    b,
                    f"{f(gm)} MiB",
                    f"{f(gb)} MiB",
                    f(ratio(gm, gb)),
                    "–",
                    "info",
                )
        elif w == "W4":
            fl = find(rows, "floor_anyio_w4", b)
            mc = cf["ms_cancel_to_all_cleanup"] if cf else None
            bc = fl["ms_cancel_to_all_cleanup"] if fl else None
            mine = mc["median"] if mc else None
            base = bc["median"] if bc else None
            r = ratio(mine, base)
            all_ran = bool(cf and cf["cleanup_ran_all"])
            add(
                "cancel → all 100 `finally` ran, vs anyio floor",
                b,
                f"{f(mine)} ms",
                f"{f(base)} ms",
                f(r),
                f"≤ {W4_LIMIT:g}",
                verdict(r, W4_LIMIT),
            )
            add(
                "every `finally` ran (all repeats)",
                b,
                ("yes" if all_ran else "NO") if cf else "–",
                ("yes" if fl["cleanup_ran_all"] else "NO") if fl else "–",
                "–",
                "yes",
                ("**met**" if all_ran else "**MISSED**") if cf else "no data",
            )
        elif w in ("W9", "W10"):
            floor = "floor_anyio_w9" if w == "W9" else "floor_dask_w10"
            fl = find(rows, floor, b if w == "W9" else None)
            mine = cf["ms_per_session"]["median"] if cf else None
            base = fl["ms_per_session"]["median"] if fl else None
            r = ratio(mine, base)
            limit = W9_LIMIT if w == "W9" else W10_LIMIT
            add(
                "ms/session vs " + ("anyio to_thread floor" if w == "W9" else "submit + gather"),
                b,
                f"{f(mine)} ms",
                f"{f(base)} ms",
                f(r),
                f"≤ {limit:g}",
                verdict(r, limit),
            )
        elif w == "W4T":
            fl = find(rows, "floor_anyio_w4t", b)
            mc = cf["ms_cancel_to_all_cleanup"] if cf else None
            bc = fl["ms_cancel_to_all_cleanup"] if fl else None
            mine = mc["median"] if mc else None
            base = bc["median"] if bc else None
            add(
                "cancel → all 100 threads returned, vs anyio floor",
                b,
                f"{f(mine)} ms",
                f"{f(base)} ms",
                f(ratio(mine, base)),
                "–",
                "info",
            )
        elif w == "W5":
            r = cf["ratio_1000_over_100"] if cf else None
            add(
                "time(N=1000) / time(N=100)",
                b,
                f(r),
                "–",
                f(r),
                f"≤ {W5_LIMIT:g}",
                verdict(r, W5_LIMIT),
            )
        elif w in ("W6", "W7"):
            fl = find(rows, f"floor_anyio_{w.lower()}", b)
            mine = cf["ms_per_session"]["median"] if cf else None
            base = fl["ms_per_session"]["median"] if fl else None
            r = ratio(mine, base)
            limit = W6_LIMIT if w == "W6" else W7_LIMIT
            add(
                "ms/session vs anyio floor (same number of tasks)",
                b,
                f"{f(mine)} ms",
                f"{f(base)} ms",
                f(r),
                f"≤ {limit:g}",
                verdict(r, limit),
            )
            sc = cf.get("scaling") if cf else None
            r = sc["ratio"] if sc else None
            add(
                "time(N=2000) / time(N=10), N idle operations added",
                b,
                f(r),
                "–",
                f(r),
                f"≤ {PAD_LIMIT:g}",
                verdict(r, PAD_LIMIT),
            )
        elif w == "EXPLORE":
            for which in EXPLORE_WORKLOADS:
                ex = find(rows, "crossflow_explore", b, which)
                sec = ex["s_per_exploration"]["median"] if ex else None
                rate = ex["runs_per_s"]["median"] if ex else None
                mine = f"{f(sec)} s, {f(rate)} runs/s" if ex else "–"
                if which == "hour_delay_50":
                    add(
                        "s per exploration: 50 operations, a 1 h delay, every point",
                        b,
                        mine,
                        "–",
                        "–",
                        f"≤ {EXPLORE_LIMIT_S:g} s",
                        verdict(sec, EXPLORE_LIMIT_S),
                    )
                else:
                    add(
                        "s per exploration: the work-session example (reported, no target)",
                        b,
                        mine,
                        "–",
                        "–",
                        "–",
                        "info",
                    )
        elif w == "D1":
            r = cf["ratio"] if cf else None
            add(
                "µs/session built from a diagram / built in code",
                b,
                f"{f(cf['us_per_session_diagram']['median'])} µs" if cf else "–",
                f"{f(cf['us_per_session_code']['median'])} µs" if cf else "–",
                f(r),
                f"≤ {D1_LIMIT:g}",
                verdict(r, D1_LIMIT),
            )
            ms = cf["load_check_ms"]["median"] if cf else None
            add("load + check of a 500-operation diagram (ms)", b, f(ms), "–", "–", "–", "info")
    return out, summary


# ---------------------------------------------------------------------------- main


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--only",
        default="",
        help="comma list of workloads, e.g. W1,W3; SOAK (the soak checks) runs only when named",
    )
    ap.add_argument("--out", help="write the markdown report here")
    ap.add_argument("--json", help="append the raw JSON results (one per line) here")
    a = ap.parse_args()
    only = {w.strip().upper() for w in a.only.split(",") if w.strip()}
    unknown = only - {w for w, _, _ in JOBS + SOAK_JOBS}
    if unknown:
        ap.error(f"unknown workload(s): {', '.join(sorted(unknown))}")
    jobs = JOBS + (SOAK_JOBS if "SOAK" in only else [])

    versions = json.loads(
        subprocess.run(
            [PY, "-c", VERSIONS_SNIPPET],
            capture_output=True,
            text=True,
            check=True,
            cwd=HERE,
            env=child_env(),
        ).stdout
    )
    started = datetime.datetime.now().isoformat(timespec="seconds")
    load0 = os.getloadavg()
    t_all = time.perf_counter()
    results: dict[str, list[dict]] = {}
    for w, script, args in jobs:
        if only and w not in only:
            continue
        print(f"[{w}] {script} {' '.join(args)} ...", file=sys.stderr, flush=True)
        r, dt = run_job(script, args)
        r.update(script=script, args=args, job_wall_s=round(dt, 1))
        r.setdefault("workload", w)
        print(
            f"    -> {'ok' if r.get('ok') else 'FAILED: ' + r['error']} ({dt:.1f}s)"
            + (f" stderr: {r['stderr_tail']}" if r.get("stderr_tail") else ""),
            file=sys.stderr,
            flush=True,
        )
        results.setdefault(w, []).append(r)
        if a.json:
            with open(a.json, "a") as fh:
                fh.write(json.dumps(r) + "\n")
    load1 = os.getloadavg()

    cpu = "?"
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as fh:
            cpu = next(
                (ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), "?"
            )
    md = [
        "# crossflow benchmarks",
        "",
        f"Run {started} on {os.cpu_count()} CPU(s) ({cpu}), {platform.system()} {platform.release()}; "
        f"load avg before {load0[0]:.2f}, after {load1[0]:.2f}; {time.perf_counter() - t_all:.0f} s in all. "
        f"Interpreter: `{PY}`.",
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()),
        "",
        "Method: each row is a separate subprocess; 1 untimed warm-up repeat, then 5 timed repeats "
        "(time.perf_counter); median, min and max of the 5 are shown. Every repeat checks its result. "
        "Ratios are crossflow's median over the floor's median from this same run.",
        "",
    ]
    summary: list[tuple[str, str]] = []
    for w in sorted(results):
        md += [f"## {TITLES.get(w, w)}", ""] + measurements(w, results[w]) + [""]
        rows, s = targets(w, results[w])
        md += rows + [""]
        summary += s
    if summary:
        missed = [t for t, v in summary if v != "**met**"]
        md += [
            "## Summary",
            "",
            f"{len(summary) - len(missed)} of {len(summary)} targets met."
            + (" Missed or without data: " + "; ".join(missed) + "." if missed else ""),
            "",
        ]
    text = "\n".join(md)
    print(text)
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(text + "\n")
    return 1 if any(not r.get("ok") for rs in results.values() for r in rs) else 0


if __name__ == "__main__":
    sys.exit(main())
