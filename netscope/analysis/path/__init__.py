"""Static path walk: `path(snapshot, "web", "db", proto="tcp", port=80)`."""

from __future__ import annotations

import ipaddress

from netscope.analysis.path.context import WalkContext
from netscope.analysis.path.endpoints import Endpoint, EndpointError, resolve
from netscope.analysis.path.packet import End, Hop, Packet, PathResult
from netscope.analysis.path.walk import _walk
from netscope.graph.routing import route_lookup
from netscope.model import Snapshot

__all__ = ["End", "EndpointError", "Hop", "Packet", "PathResult", "path"]

EPHEMERAL_PORT = 40000


def path(snapshot: Snapshot, src: str, dst: str, proto: str = "icmp",
         port: int | None = None) -> PathResult:
    """Walk a packet from SRC to DST (IPs, container or namespace names), and its reply.

    Raises EndpointError when SRC or DST names nothing (or several things)."""
    ctx = WalkContext(snapshot)
    source: Endpoint = resolve(ctx.ix, src, "source")
    target: Endpoint = resolve(ctx.ix, dst, "destination")
    if target.address is None:
        raise EndpointError(f"{dst} has no IPv4 address to send to: give an address")
    family = "inet" if ipaddress.ip_address(target.address).version == 4 else "inet6"
    src_addr = source.address
    if src_addr is None or ipaddress.ip_address(src_addr).version != \
            ipaddress.ip_address(target.address).version:
        lk = route_lookup(ctx.routes(source.netns), ctx.rules(source.netns), family, "0.0.0.0"
                          if family == "inet" else "::", target.address, iif="lo")
        link = None
        if lk.route and lk.route.nexthops and lk.route.nexthops[0].link:
            link = ctx.ix.links.get(lk.route.nexthops[0].link)
        src_addr = ctx.source_address(source.netns, link, lk.route.prefsrc if lk.route else None,
                                      family)
    if src_addr is None:
        raise EndpointError(f"{source.label} has no address to send from")
    if proto not in ("icmp", "tcp", "udp"):
        raise EndpointError(f"unknown protocol {proto!r}: use icmp, tcp or udp")
    if proto in ("tcp", "udp") and port is None:
        raise EndpointError(f"{proto} needs a destination port: add --port N")
    pkt = Packet(family, src_addr, target.address, proto,
                 EPHEMERAL_PORT if proto != "icmp" else None, port if proto != "icmp" else None)
    return _walk(ctx, pkt, source.netns, with_reply=True)
