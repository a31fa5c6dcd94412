"""veth_not_in_bridge: a container's host-side veth that is not a port of the bridge."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from netscope.analysis.doctor.finding import Check, network, op, where
from netscope.graph.host import HostGraph
from netscope.model import Link


def detached_ports(graph: HostGraph) -> Iterator[tuple[Link, Link, Link, str]]:
    """(host veth, bridge, container eth0, subnet) for each container veth whose host end
    should be a port of a bridge in its namespace (the container's address is in the bridge's
    subnet) but is not."""
    bridges = [lk for lk in graph.snapshot.links if lk.kind == "bridge"]
    for link in graph.snapshot.links:
        if link.kind != "veth" or link.master:
            continue
        far = graph.veth_peer(link)
        if far is None or far.netns == link.netns or graph.container_interface(far.netns) is None:
            continue
        if [a for a in graph.addresses_on(link.id) if a.scope == "global"]:
            continue  # a routed (not bridged) veth: it has its own address
        far_addrs = [a for a in graph.addresses_on(far.id)
                     if a.family == "inet" and a.scope == "global"]
        for bridge in (b for b in bridges if b.netns == link.netns):
            nets = [network(ba) for ba in graph.addresses_on(bridge.id)]
            hit = next((n for n in nets if any(ipaddress.ip_address(a.address) in n
                                               for a in far_addrs)), None)
            if hit is not None:
                yield link, bridge, far, str(hit)
                break


def run(graph: HostGraph):
    for link, bridge, far, subnet in detached_ports(graph):
        address = next(a.address for a in graph.addresses_on(far.id)
                       if a.family == "inet" and a.scope == "global")
        yield CHECK.finding(
            where(graph, link.netns, link.name),
            f"{link.name} leads to {graph.ns_name(far.netns)} ({address}, in "
            f"{bridge.name}'s subnet {subnet}) but is not a port of {bridge.name}",
            evidence=(link.id, bridge.id, far.id), subject=link.id,
            repair=[op("ip", graph.ns_ref(link.netns),
                       args=["link", "set", link.name, "master", bridge.name],
                       undo=["link", "set", link.name, "nomaster"])])


CHECK = Check(
    id="veth_not_in_bridge", severity="error",
    title="a container's host veth is not attached to its bridge",
    explain="A container on a bridge network reaches its gateway and neighbours through the "
            "bridge: its host-side veth must be a bridge port. Detached, its frames arrive on "
            "a bare interface with no address, and nothing answers its ARP requests.",
    run=run)
