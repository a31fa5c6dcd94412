"""overlapping_subnets: two interfaces of one namespace claim overlapping subnets."""

from __future__ import annotations

import ipaddress
import itertools

from netscope.analysis.doctor.finding import Check, where
from netscope.graph.host import HostGraph


def run(graph: HostGraph):
    by_ns: dict[str, list] = {}
    for r in graph.snapshot.routes:
        if r.table == 254 and r.family == "inet" and r.protocol == "kernel" and r.nexthops \
                and r.nexthops[0].link and not r.is_default:
            by_ns.setdefault(r.netns, []).append(r)
    for netns, routes in by_ns.items():
        for a, b in itertools.combinations(routes, 2):
            if a.nexthops[0].link == b.nexthops[0].link:
                continue
            na, nb = ipaddress.ip_network(a.dst), ipaddress.ip_network(b.dst)
            if not na.overlaps(nb):
                continue
            la, lb = (graph.links[r.nexthops[0].link].name for r in (a, b))
            yield CHECK.finding(
                f"{where(graph, netns)}/{na}~{nb}",
                f"in {graph.ns_name(netns)}, {la} ({na}) and {lb} ({nb}) overlap: addresses in "
                f"the overlap are reached by whichever route is more specific",
                evidence=(a.id, b.id), subject=netns)


CHECK = Check(
    id="overlapping_subnets", severity="warning",
    title="overlapping subnets on two interfaces of one namespace",
    explain="When two networks attached to one host overlap (a Docker bridge taking the same "
            "range as the office LAN or a VPN is the classic case), the longest prefix wins and "
            "the other network becomes unreachable for the overlapping addresses.",
    run=run)
