"""Representative flows the netfilter checks walk: containers to their gateway's far side."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from netscope.analysis.doctor.finding import network
from netscope.analysis.path.walk import _walk
from netscope.graph.host import HostGraph
from netscope.model import Link
from netscope.model.journey import Hop, Journey, Packet


@dataclass(frozen=True)
class BridgeNet:
    """A bridge with an IPv4 subnet, its namespace's egress, and one container on it."""

    bridge: Link
    subnet: str
    gateway_ip: str
    container_ns: str
    container_ip: str
    egress: Link | None        # the interface the bridge namespace's default route uses
    upstream: str | None       # that default route's gateway


def bridge_networks(graph: HostGraph) -> Iterator[BridgeNet]:
    for bridge in graph.snapshot.links:
        if bridge.kind != "bridge":
            continue
        default = next((r for r in graph.routes_in(bridge.netns)
                        if r.is_default and r.family == "inet" and r.table == 254
                        and r.nexthops), None)
        egress = graph.links.get(default.nexthops[0].link) if default else None
        upstream = default.nexthops[0].gateway if default else None
        for ba in graph.addresses_on(bridge.id):
            if ba.family != "inet":
                continue
            net = network(ba)
            for port in graph.bridge_ports(bridge.id):
                far = graph.veth_peer(port)
                if far is None or graph.container_interface(far.netns) is None:
                    continue
                mine = [a.address for a in graph.addresses_on(far.id)
                        if a.family == "inet" and network(a) == net]
                if mine:
                    yield BridgeNet(bridge, str(net), ba.address, far.netns, mine[0],
                                    egress if egress is not bridge else None, upstream)
                    break


def bridge_members(graph: HostGraph, netns: str) -> list[tuple[str, str]]:
    """(container namespace, IPv4 address) of every container on a bridge in `netns`."""
    out = []
    for bridge in graph.links_in(netns):
        if bridge.kind != "bridge":
            continue
        for port in graph.bridge_ports(bridge.id):
            far = graph.veth_peer(port)
            if far is None or graph.container_interface(far.netns) is None:
                continue
            out += [(far.netns, a.address) for a in graph.addresses_on(far.id)
                    if a.family == "inet" and a.scope == "global"]
    return out


def walk_from(graph: HostGraph, netns: str, src: str, dst: str, proto: str = "icmp",
              port: int | None = None) -> Journey:
    pkt = Packet("inet", src, dst, proto, 40000 if port else None, port)
    return _walk(graph, pkt, netns, with_reply=True)


def blocking_hop(result: Journey) -> Hop | None:
    """The hop that ended a walk (or its reply) badly, or None when both got through (on
    every branch of a random choice: the first bad one is named)."""
    for _, whole in result.outcomes():
        for r in (whole, whole.reply):
            if r is not None and not r.verdict.fine and r.hops:
                return r.hops[-1]
    return None
