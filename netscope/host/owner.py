"""Owner marks: what netscope adds to a host carries the pid and start time of the process that
added it, so that a later netscope can tell a leftover (its owner is gone: killed, crashed)
from something a running netscope still uses, even after the pid was reused.

`mark(prefix)` makes a name such as `netscope_trace_4242_918273` (prefix, pid, start time in
clock ticks since boot); `owner_of(name, prefix)` reads it back; `alive(owner)` says whether
that very process still runs. Names of the old form `<prefix><pid>` (no start time) are
understood too: their owner counts as alive while the pid exists.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

# the temporary table `trace --rules` and `check` add in each namespace they trace
NFTRACE_TABLE_PREFIX = "netscope_trace_"


@dataclass(frozen=True)
class Owner:
    pid: int
    start: int | None  # None: an old mark without the start time


def start_time(pid: int) -> int | None:
    """Field 22 of /proc/PID/stat (start time in clock ticks since boot), None when the
    process is gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode(errors="replace")
    except OSError:
        return None
    rest = stat[stat.rfind(")") + 2:].split()
    if len(rest) < 20 or rest[0] in ("Z", "X"):
        return None
    return int(rest[19])


def mark(prefix: str, pid: int | None = None) -> str:
    """`prefix` + this process's (or `pid`'s) pid and start time."""
    pid = os.getpid() if pid is None else pid
    return f"{prefix}{pid}_{start_time(pid) or 0}"


def owner_of(name: str, prefix: str) -> Owner | None:
    """The owner a marked name records, None when `name` is not marked with `prefix`."""
    if not name.startswith(prefix):
        return None
    m = re.fullmatch(r"(\d+)(?:_(\d+))?", name[len(prefix):])
    if m is None:
        return None
    return Owner(int(m.group(1)), int(m.group(2)) if m.group(2) else None)


def alive(owner: Owner) -> bool:
    """Does the process that made the mark still run (same pid, same start time)?"""
    started = start_time(owner.pid)
    if started is None:
        return False
    return owner.start is None or owner.start == started
