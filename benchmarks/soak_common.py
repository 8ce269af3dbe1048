"""Helpers of the soak checks (`soak_loop.py`, `soak_start.py`): resident memory read from
/proc/self/statm, and the verdict on a series of samples.

A series is flat when the largest sample of its last third is within `TOLERANCE_MIB` of the
largest sample of its first third: memory may grow while caches and arenas fill at the start,
but not keep growing with the work done.
"""

import os

TOLERANCE_MIB = 5.0
_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mib():
    """Resident memory of this process now, in MiB (Linux: /proc/self/statm)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * _PAGE / 2**20


def flatness(mib):
    """The verdict on RSS samples in MiB, oldest first (at least three of them)."""
    if len(mib) < 3:
        raise ValueError(f"need at least 3 samples to judge, got {len(mib)}")
    third = len(mib) // 3
    first, last = max(mib[:third]), max(mib[-third:])
    growth = last - first
    return {
        "first_third_max_mib": round(first, 1),
        "last_third_max_mib": round(last, 1),
        "growth_mib": round(growth, 1),
        "tolerance_mib": TOLERANCE_MIB,
        "flat": growth <= TOLERANCE_MIB,
    }


def say(verdict):
    """One line for a reader: the verdict and its numbers."""
    word = "FLAT" if verdict["flat"] else "GROWING"
    return (
        f"verdict: {word}: last third's max {verdict['last_third_max_mib']} MiB, first third's "
        f"max {verdict['first_third_max_mib']} MiB, growth {verdict['growth_mib']:+} MiB "
        f"(flat: within {verdict['tolerance_mib']:g} MiB)"
    )
