"""neighbour_failed: a gateway whose ARP/ND resolution failed."""

from __future__ import annotations

from netscope.analysis.doctor.finding import Check, where
from netscope.graph.host import HostGraph


def run(graph: HostGraph):
    gateways = {(hop.link, hop.gateway) for r in graph.snapshot.routes for hop in r.nexthops
                if hop.gateway}
    for n in graph.snapshot.neighbours:
        if not set(n.state) & {"FAILED", "INCOMPLETE"}:
            continue
        is_gateway = (n.link, n.address) in gateways
        yield CHECK.finding(
            where(graph, n.netns, graph.links[n.link].name if n.link in graph.links
                       else None) + f"/{n.address}",
            f"{graph.ns_name(n.netns)} could not resolve {n.address} on "
            f"{graph.link_label(n.link)} ({'/'.join(n.state)})"
            + ("; it is a gateway of this namespace" if is_gateway else ""),
            evidence=(n.id,), subject=n.link,
            severity="warning" if is_gateway else "info")


CHECK = Check(
    id="neighbour_failed", severity="warning", title="an address nobody answered ARP/ND for",
    explain="Before sending to a neighbour the kernel asks for its MAC (ARP for IPv4, ND for "
            "IPv6). FAILED or INCOMPLETE means it asked and nobody answered: the host is down, "
            "on another segment, or the address is wrong. For a gateway, everything routed "
            "through it is lost.",
    run=run, symptom=True)
