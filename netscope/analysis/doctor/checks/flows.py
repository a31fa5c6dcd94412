"""Representative flows the netfilter checks walk: containers to their gateway's far side."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from netscope.analysis.doctor.view import DoctorView
from netscope.analysis.path.packet import Hop, Packet, PathResult
from netscope.analysis.path.walk import _walk
from netscope.model import Link


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


def bridge_networks(view: DoctorView) -> Iterator[BridgeNet]:
    for bridge in view.snapshot.links:
        if bridge.kind != "bridge":
            continue
        default = next((r for r in view.ix.routes_by_ns.get(bridge.netns, [])
                        if r.is_default and r.family == "inet" and r.table == 254
                        and r.nexthops), None)
        egress = view.ix.links.get(default.nexthops[0].link) if default else None
        upstream = default.nexthops[0].gateway if default else None
        for ba in view.ix.addresses_by_link.get(bridge.id, []):
            if ba.family != "inet":
                continue
            net = view.network(ba)
            for port in view.ix.ports_by_bridge.get(bridge.id, []):
                far = view.far_end(port)
                if far is None or view.container_like(far.netns) is None:
                    continue
                mine = [a.address for a in view.ix.addresses_by_link.get(far.id, [])
                        if a.family == "inet" and view.network(a) == net]
                if mine:
                    yield BridgeNet(bridge, str(net), ba.address, far.netns, mine[0],
                                    egress if egress is not bridge else None, upstream)
                    break


def bridge_members(view: DoctorView, netns: str) -> list[tuple[str, str]]:
    """(container namespace, IPv4 address) of every container on a bridge in `netns`."""
    out = []
    for bridge in view.ix.links_by_ns.get(netns, []):
        if bridge.kind != "bridge":
            continue
        for port in view.ix.ports_by_bridge.get(bridge.id, []):
            far = view.far_end(port)
            if far is None or view.container_like(far.netns) is None:
                continue
            out += [(far.netns, a.address) for a in view.ix.addresses_by_link.get(far.id, [])
                    if a.family == "inet" and a.scope == "global"]
    return out


def walk_from(view: DoctorView, netns: str, src: str, dst: str, proto: str = "icmp",
              port: int | None = None) -> PathResult:
    pkt = Packet("inet", src, dst, proto, 40000 if port else None, port)
    return _walk(view, pkt, netns, with_reply=True)


def blocking_hop(result: PathResult) -> Hop | None:
    """The hop that ended a walk (or its reply) badly, or None when both got through."""
    for r in (result, result.reply):
        if r is not None and r.end not in ("delivered", "left_host") and r.hops:
            return r.hops[-1]
    return None
