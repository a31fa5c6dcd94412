"""duplicate_ip: two interfaces on one L2 segment hold the same address."""

from __future__ import annotations

from collections import defaultdict

from netscope.analysis.doctor.finding import Check
from netscope.graph.host import HostGraph


def run(graph: HostGraph):
    seen: dict[tuple[frozenset[str], str], list] = defaultdict(list)
    for a in graph.snapshot.addresses:
        if a.scope in ("host", "link"):
            continue
        segment = graph.segment(a.link)
        if segment is None or len(segment) < 2:
            continue
        seen[(segment, a.address)].append(a)
    for (_segment, address), holders in sorted(seen.items(), key=lambda kv: kv[0][1]):
        if len(holders) < 2:
            continue
        where = ", ".join(sorted(graph.link_label(a.link) for a in holders))
        yield CHECK.finding(
            address, f"{address} is held by {len(holders)} interfaces on one network: {where}",
            evidence=tuple(a.id for a in holders), subject=holders[0].link)


CHECK = Check(
    id="duplicate_ip", severity="error", title="two interfaces on one L2 segment hold the same IP",
    explain="On one Ethernet segment, an IP must map to one MAC. With two owners, ARP answers "
            "race: neighbours cache whichever replied last, and traffic flips between the two "
            "hosts. netscope cannot know which one should keep it, so it does not repair this.",
    run=run)
