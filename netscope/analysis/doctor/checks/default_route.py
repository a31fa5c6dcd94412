"""no_default_route and wrong_gateway: a container that cannot leave its subnet."""

from __future__ import annotations

import ipaddress

from netscope.analysis.doctor.checks.bridge_port import detached_ports
from netscope.analysis.doctor.finding import Check, network, op, where
from netscope.graph.host import HostGraph


def _bridge_gateway(graph: HostGraph, eth: str) -> tuple[str | None, str | None]:
    """(bridge name, its address in the container's subnet) for a container's eth0."""
    link = graph.links[eth]
    host_end = graph.veth_peer(link)
    bridge = graph.bridge_of(host_end) if host_end else None
    if bridge is None:
        return None, None
    mine = [a for a in graph.snapshot.addresses if a.link == eth and a.family == "inet"
            and a.scope == "global"]
    for ba in graph.addresses_on(bridge.id):
        if ba.family == "inet" and any(ipaddress.ip_address(a.address) in network(ba)
                                       for a in mine):
            return bridge.name, ba.address
    return bridge.name, None


def run_missing(graph: HostGraph):
    for ns in graph.snapshot.namespaces:
        eth = graph.container_interface(ns.id)
        if eth is None or not eth.up:
            continue
        if any(r.is_default and r.family == "inet" and r.table == 254
               for r in graph.routes_in(ns.id)):
            continue
        bridge, gateway = _bridge_gateway(graph, eth.id)
        if bridge is None or gateway is None:
            continue  # not a bridge-attached container: it may be isolated on purpose
        yield NO_DEFAULT_ROUTE.finding(
            where(graph, ns.id),
            f"{ns.name} has no default route: it reaches only its own subnet, not the "
            f"gateway {gateway} on {bridge} or anything beyond",
            evidence=(ns.id, eth.id), subject=ns.id,
            repair=[op("ip", graph.ns_ref(ns.id),
                       args=["route", "add", "default", "via", gateway, "dev", eth.name],
                       undo=["route", "del", "default", "via", gateway, "dev", eth.name])])


def run_wrong_gateway(graph: HostGraph):
    # a container cut off from its bridge: veth_not_in_bridge names the cause
    detached = {far.id for _, _, far, _ in detached_ports(graph)}
    for route in graph.snapshot.routes:
        if not (route.is_default and route.family == "inet" and route.table == 254):
            continue
        for hop in route.nexthops:
            if not hop.gateway or hop.link not in graph.links:
                continue
            link = graph.links[hop.link]
            if link.id in detached or not graph.segment_is_visible(link.id):
                continue  # a physical network: its hosts are outside what netscope sees
            onlink = any(ipaddress.ip_address(hop.gateway) in network(a)
                         for a in graph.addresses_on(link.id) if a.family ==
                         "inet")
            owners = [a for a in graph.segment_addresses(link.id) if a.address == hop.gateway]
            if onlink and owners:
                continue
            bridge, right = _bridge_gateway(graph, link.id)
            problem = ("is not on any subnet of " + link.name if not onlink
                       else "is an address nobody on that network owns")
            repair = []
            if right and right != hop.gateway:
                repair = [op("ip", graph.ns_ref(route.netns),
                             args=["route", "replace", "default", "via", right, "dev",
                                   link.name],
                             undo=["route", "replace", "default", "via", hop.gateway, "dev",
                                   link.name, *(["onlink"] if not onlink else [])])]
            yield WRONG_GATEWAY.finding(
                where(graph, route.netns),
                f"{graph.ns_name(route.netns)}'s default gateway {hop.gateway} {problem}"
                + (f"; {bridge} answers at {right}" if right else ""),
                evidence=(route.id, link.id), subject=route.netns, repair=repair)


NO_DEFAULT_ROUTE = Check(
    id="no_default_route", severity="error", title="a container has no default route",
    explain="Without a default route a namespace knows only its directly connected subnets: "
            "packets to anywhere else fail at once with 'network unreachable', before they "
            "leave the container.",
    run=run_missing)

WRONG_GATEWAY = Check(
    id="wrong_gateway", severity="error",
    title="a default gateway that is not on-link or that nobody answers for",
    explain="The kernel sends off-subnet packets to the gateway's MAC, found by ARP. A gateway "
            "outside the interface's subnet cannot be reached at all; one inside it that no "
            "host owns never answers ARP, so every packet waits and is dropped (neighbour "
            "FAILED).",
    run=run_wrong_gateway)
