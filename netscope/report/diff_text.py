"""`netscope diff` as text: changes grouped by namespace, then the counters that moved."""

from __future__ import annotations

from itertools import groupby

from netscope.report.diff import SnapshotDiff

MARKS = {"added": "+", "removed": "-", "changed": "~"}


def render_diff(diff: SnapshotDiff, counter_limit: int = 20) -> list[str]:
    """Lines of text; `counter_limit` caps the list of rules whose counters moved."""
    lines = [f"before: {diff.before}", f"after:  {diff.after}", ""]
    if diff.empty:
        lines.append("no changes (neighbour states, conntrack entries and counters aside)")
    for netns, group in groupby(diff.changes, key=lambda c: c.netns):
        lines.append(netns)
        for c in group:
            text = f"  {MARKS[c.change]} {c.what:<9} {c.subject}"
            if c.detail:
                text += f"  ({c.detail})" if c.change != "changed" else f": {c.detail}"
            lines.append(text)
    if diff.counters:
        lines += ["", "counters that moved between the two (packets, bytes):"]
        for c in diff.counters[:counter_limit]:
            lines.append(f"  {c.packets:+8d} {c.bytes:+10d}  {c.netns}  {c.subject}")
        if len(diff.counters) > counter_limit:
            lines.append(f"  ... and {len(diff.counters) - counter_limit} more (--json has all)")
    spaces = len({c.netns for c in diff.changes})
    lines += ["", f"{len(diff.changes)} change{'s' if len(diff.changes) != 1 else ''} in "
              f"{spaces} namespace{'s' if spaces != 1 else ''}"]
    return lines
