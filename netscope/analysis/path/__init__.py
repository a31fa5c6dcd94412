"""Static path walk: `path(snapshot, "web", "db", proto="tcp", port=80)` -> expected Journey."""

from __future__ import annotations

import ipaddress

from netscope.analysis.path.walk import _walk
from netscope.graph.endpoints import EndpointError
from netscope.graph.host import HostGraph
from netscope.model import Snapshot
from netscope.model.journey import Hop, Journey, Packet, Verdict

__all__ = ["EndpointError", "Hop", "Journey", "Packet", "Verdict", "expected_path", "path"]

EPHEMERAL_PORT = 40000


def path(snapshot: Snapshot | HostGraph, src: str, dst: str, proto: str = "icmp",
         port: int | None = None, size: int = 0) -> Journey:
    """Walk a packet from SRC to DST (IPs, container or namespace names), and its reply.

    The source address is the one the kernel would choose for the route to DST
    (HostGraph.resolve_pair): `trace` and `check` pick the same. With `size`, the packet is
    that many bytes long and may not be fragmented: a device whose MTU is smaller stops it.
    Raises EndpointError when SRC or DST names nothing (or several things)."""
    graph = snapshot if isinstance(snapshot, HostGraph) else HostGraph.of(snapshot)
    if proto not in ("icmp", "tcp", "udp"):
        raise EndpointError(f"unknown protocol {proto!r}: use icmp, tcp or udp")
    if proto in ("tcp", "udp") and port is None:
        raise EndpointError(f"{proto} needs a destination port: add --port N")
    source, target = graph.resolve_pair(src, dst)
    version = ipaddress.ip_address(target.address).version
    family = "inet" if version == 4 else "inet6"
    src_addr = source.address
    if ipaddress.ip_address(src_addr).version != version:
        src_addr = graph.source_for(source.netns, target.address)
        if src_addr is None:
            raise EndpointError(f"{source.label} has no IPv{version} address to send from")
    pkt = Packet(family, src_addr, target.address, proto,
                 EPHEMERAL_PORT if proto != "icmp" else None, port if proto != "icmp" else None,
                 size=size)
    return _walk(graph, pkt, source.netns, with_reply=True)


def expected_path(snapshot: Snapshot | HostGraph, src: str | None, dst: str | None,
                  proto: str | None, port: int | None) -> Journey | None:
    """The expected journey from src to dst, or None when it cannot be walked (no src or
    dst, or they name nothing): for callers that compare, not require, the walk."""
    if not src or not dst:
        return None
    try:
        return path(snapshot, src, dst, proto or "icmp", port)
    except (EndpointError, ValueError, KeyError):
        return None
