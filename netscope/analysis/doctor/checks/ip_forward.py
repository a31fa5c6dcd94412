"""ip_forward_off: a namespace others route through has IPv4 forwarding disabled."""

from __future__ import annotations

from netscope.analysis.doctor.finding import Check, op, where
from netscope.graph.host import HostGraph


def _gateways_used(graph: HostGraph) -> dict[str, set[str]]:
    """address -> namespaces (other than its owner) that route through it as a gateway."""
    used: dict[str, set[str]] = {}
    for route in graph.snapshot.routes:
        for hop in route.nexthops:
            if hop.gateway and route.family == "inet":
                used.setdefault(hop.gateway, set()).add(route.netns)
    return used


def run(graph: HostGraph):
    used = _gateways_used(graph)
    for a in graph.snapshot.addresses:
        users = used.get(a.address, set()) - {a.netns}
        link = graph.links.get(a.link)
        if not users or link is None or a.family != "inet":
            continue
        ns = graph.namespaces[a.netns]
        global_off = ns.sysctls.get("net.ipv4.ip_forward") == "0"
        link_off = link.sysctls.get("ipv4.forwarding") == "0"
        if not (global_off or link_off):
            continue
        names = ", ".join(sorted(graph.ns_name(u) for u in users))
        key = "net.ipv4.ip_forward" if global_off else f"net.ipv4.conf.{link.name}.forwarding"
        yield CHECK.finding(
            where(graph, a.netns),
            f"{graph.ns_name(a.netns)} is the gateway ({a.address} on {link.name}) of "
            f"{names}, but {key} = 0: it drops every packet it should route on",
            evidence=(ns.id, link.id, f"{key}=0"), subject=ns.id,
            repair=[op("sysctl", graph.ns_ref(a.netns), key=key, value="1")])
        used[a.address] = set()  # one finding per namespace address is enough


CHECK = Check(
    id="ip_forward_off", severity="error",
    title="IPv4 forwarding is off where a namespace must route",
    explain="A packet that arrives for an address that is not the namespace's own must be "
            "forwarded: the kernel does that only when net.ipv4.ip_forward (or the input "
            "interface's forwarding switch) is 1. Containers that use this namespace as their "
            "gateway can reach it, but nothing beyond it.",
    run=run)
