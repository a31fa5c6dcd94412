"""Flows from conntrack: who talks to whom, how much each way, east-west or north-south.

Pure functions of a snapshot. One connection can be tracked in several namespaces (the
container host that forwards it, a container whose own rules make conntrack run there, the
namespace after a NAT): sightings whose tuples match, directly or once a sighting's NAT is
applied, are one flow. The sighting in a namespace that forwards the flow (neither end is
local to it) speaks for it; its counters are the flow's.

Classification, seen from the namespace that forwards the flow (the container host):
- east-west: both ends are on this host (containers, the host itself) and the host does not
  reach either through its uplink (the device of its default route);
- north-south: one end is not an address of this host, or is reached through the uplink, or
  the flow came in from outside through a published port (DNAT to a container).

Bytes are conntrack's: IP bytes, headers included (`payload()` estimates the TCP/UDP data
they carried, retransmissions included: conntrack counts every packet that crosses, and
cannot tell a segment sent again, so the application's own bytes are not knowable from it);
None when accounting was off when the connection started (net.netfilter.
nf_conntrack_acct counts only connections created after it was turned on).
"""

from __future__ import annotations

import functools
import ipaddress
from collections import defaultdict
from dataclasses import dataclass

from netscope.graph.host import HostGraph
from netscope.model import Snapshot
from netscope.model.netfilter import ConntrackEntry, CtTuple

EAST_WEST, NORTH_SOUTH = "east-west", "north-south"
MAIN_TABLE = 254
# bytes of headers conntrack counts in every packet: IP + TCP with the timestamps option
# Linux sends by default (a segmentation-offload super-packet is one packet, one header),
# IP + UDP. A SYN carries 8 more; other TCP options are not known, so payload is an estimate.
HEADER_BYTES = {("ipv4", "tcp"): 52, ("ipv6", "tcp"): 72, ("ipv4", "udp"): 28,
                ("ipv6", "udp"): 48}


def payload(nbytes: int | None, packets: int | None, family: str, proto: str) -> int | None:
    """The TCP/UDP data in `nbytes` IP bytes of `packets` packets, else None: what the
    transport carried, retransmissions included (measured on a veth lab: one 64 KiB
    segment-offload burst sent again added 65,160 bytes to a 10 MB transfer, 0.65%, and
    6.5% to a 1 MB one; conntrack cannot tell them apart). The pure ACKs of a bulk transfer
    the other way are header only and subtract out; those carrying SACK blocks (12 more
    bytes) are counted as a few data bytes."""
    header = HEADER_BYTES.get((family, proto))
    if header is None or nbytes is None or packets is None:
        return None
    return max(0, nbytes - packets * header)


@dataclass(frozen=True)
class FlowEnd:
    """One end of a flow: its address and port, and who holds the address on this host."""

    address: str
    port: int | None
    netns: str | None       # the namespace holding the address, None when none here does
    name: str               # that namespace's (or container's) name, else the address
    outside: bool           # beyond the container host (not here, or through its uplink)

    def text(self) -> str:
        addr = f"[{self.address}]" if ":" in self.address else self.address
        return addr if self.port is None else f"{addr}:{self.port}"


@dataclass(frozen=True)
class Flow:
    """A connection: client (who opened it), server (who answered, after any DNAT)."""

    id: str                  # the conntrack entry that speaks for it
    proto: str
    state: str | None
    client: FlowEnd
    server: FlowEnd
    dialled: str             # the destination as the client addressed it
    nat: tuple[str, ...]     # "DNAT a:p -> b:q", "SNAT a:p -> b:q"
    direction: str           # EAST_WEST or NORTH_SOUTH
    why: str
    tracked_in: tuple[str, ...]   # namespace ids whose conntrack saw it, speaker first
    to_server_packets: int | None = None
    to_server_bytes: int | None = None
    to_client_packets: int | None = None
    to_client_bytes: int | None = None
    family: str = "ipv4"

    @property
    def to_server_payload(self) -> int | None:
        return payload(self.to_server_bytes, self.to_server_packets, self.family, self.proto)

    @property
    def to_client_payload(self) -> int | None:
        return payload(self.to_client_bytes, self.to_client_packets, self.family, self.proto)

    @property
    def total_bytes(self) -> int:
        return (self.to_server_bytes or 0) + (self.to_client_bytes or 0)

    @property
    def counted(self) -> bool:
        return self.to_server_bytes is not None


@dataclass(frozen=True)
class FlowRow:
    """A flow as one namespace (container) on this host sees it: what it sent and got."""

    netns: str
    name: str
    role: str                # "client" (opened it) or "server"
    peer: FlowEnd
    flow: Flow

    @property
    def sent_bytes(self) -> int | None:
        return self.flow.to_server_bytes if self.role == "client" else self.flow.to_client_bytes

    @property
    def received_bytes(self) -> int | None:
        return self.flow.to_client_bytes if self.role == "client" else self.flow.to_server_bytes

    @property
    def sent_packets(self) -> int | None:
        f = self.flow
        return f.to_server_packets if self.role == "client" else f.to_client_packets

    @property
    def received_packets(self) -> int | None:
        f = self.flow
        return f.to_client_packets if self.role == "client" else f.to_server_packets

    @property
    def sent_payload(self) -> int | None:
        f = self.flow
        return f.to_server_payload if self.role == "client" else f.to_client_payload

    @property
    def received_payload(self) -> int | None:
        f = self.flow
        return f.to_client_payload if self.role == "client" else f.to_server_payload


def _key(proto: str, t: CtTuple, reverse: bool = False) -> tuple:
    src, sport, dst, dport = t.src, t.sport, t.dst, t.dport
    if reverse:  # the reply tuple read backwards: the original as it leaves after NAT
        src, sport, dst, dport = dst, dport, src, sport
    return (proto, src, sport, dst, dport, t.icmp_id)


@functools.lru_cache(maxsize=4096)
def _unicast(address: str) -> bool:
    """Not multicast, loopback or broadcast: a destination a flow between two ends can have."""
    try:
        dst = ipaddress.ip_address(address)
    except ValueError:
        return False
    return not (dst.is_multicast or dst.is_loopback or address == "255.255.255.255")


class _Host:
    """What classification asks the host graph, with the answers kept (thousands of
    connections share a few addresses, and a route lookup costs ~0.1 ms)."""

    def __init__(self, graph: HostGraph) -> None:
        self.graph = graph
        self._places: dict[tuple[str, str], tuple[str | None, str, bool]] = {}
        self._routing: dict[str, bool] = {}

    def name(self, netns: str) -> str:
        return self.graph.ns_name(netns)

    def owners(self, address: str) -> list[str]:
        return self.graph.address_owners(address)

    def owner(self, address: str, near: str) -> str | None:
        """The namespace holding `address`; with several (two copies of one lab), the one
        `near` holds itself or is joined to by a veth pair."""
        owners = self.graph.address_owners(address)
        if len(owners) <= 1:
            return owners[0] if owners else None
        for candidate in (near, *sorted(self.graph.adjacent_namespaces(near))):
            if candidate in owners:
                return candidate
        return owners[0]

    def routes_between(self, netns: str) -> bool:
        """A namespace that can pass traffic between interfaces (a container host)."""
        if netns not in self._routing:
            links = [lk for lk in self.graph.links_in(netns) if lk.kind != "loopback"]
            self._routing[netns] = any(lk.kind == "bridge" for lk in links) or len(links) >= 2
        return self._routing[netns]

    def uplink(self, netns: str) -> str | None:
        """The link id of the namespace's IPv4 default route, if it has one."""
        for r in self.graph.routes_in(netns):
            if r.is_default and r.family == "inet" and r.table == MAIN_TABLE and r.nexthops:
                return r.nexthops[0].link
        return None

    def via_uplink(self, netns: str, address: str) -> bool:
        uplink = self.uplink(netns)
        if uplink is None or ":" in address:
            return False
        lk = self.graph.route_lookup(netns, "inet", "0.0.0.0", address)
        hops = lk.route.nexthops if lk.route else ()
        return bool(hops) and hops[0].link == uplink

    def end(self, address: str, port: int | None, seen_in: str) -> FlowEnd:
        netns, name, outside = self._place(address, seen_in)
        return FlowEnd(address, port, netns, name, outside)

    def _place(self, address: str, seen_in: str) -> tuple[str | None, str, bool]:
        """(owner, name, outside) of an address seen from a namespace."""
        key = (address, seen_in)
        if key not in self._places:
            netns = self.owner(address, seen_in)
            outside = netns is None or (netns != seen_in and self.routes_between(seen_in)
                                        and self.via_uplink(seen_in, address))
            self._places[key] = (netns, self.name(netns) if netns else address, outside)
        return self._places[key]


def _nat(e: ConntrackEntry) -> tuple[str, ...]:
    out = []
    if e.dnat:
        out.append(f"DNAT {_hp(e.orig.dst, e.orig.dport)} -> {_hp(e.reply.src, e.reply.sport)}")
    if e.snat:
        out.append(f"SNAT {_hp(e.orig.src, e.orig.sport)} -> {_hp(e.reply.dst, e.reply.dport)}")
    return tuple(out)


def _hp(address: str, port: int | None) -> str:
    addr = f"[{address}]" if ":" in address else address
    return addr if port is None else f"{addr}:{port}"


def _speaker(host: _Host, sightings: list[tuple[str, ConntrackEntry]]
             ) -> tuple[str, ConntrackEntry]:
    """The sighting from a namespace that forwards the flow, else one from a container host,
    else the first."""
    if len(sightings) == 1:
        return sightings[0]

    def rank(item: tuple[str, ConntrackEntry]) -> tuple[int, int]:
        netns, e = item
        local = any(netns in host.owners(a) for a in (e.orig.src, e.reply.src))
        return (1 if local else 0, 0 if host.routes_between(netns) else 1)
    return min(sightings, key=rank)


def _classify(host: _Host, netns: str, e: ConntrackEntry, client: FlowEnd,
              server: FlowEnd) -> tuple[str, str]:
    here = host.name(netns)
    if client.outside and server.outside:
        return NORTH_SOUTH, f"passes through {here} between two ends beyond it"
    if client.outside:
        published = e.dnat and host.owner(e.orig.dst, netns) == netns
        if published:
            return NORTH_SOUTH, (f"arrives from {client.name} through the published port "
                                 f"{_hp(e.orig.dst, e.orig.dport)} of {here}")
        return NORTH_SOUTH, f"arrives from {client.name}, beyond {here}"
    if server.outside:
        how = "not on this host" if server.netns is None else f"reached through {here}'s uplink"
        masq = f", source rewritten to {e.reply.dst}" if e.snat else ""
        return NORTH_SOUTH, f"leaves the host: {server.address} is {how}{masq}"
    return EAST_WEST, f"stays on this host: {client.name} -> {server.name}"


def _graph(snapshot: Snapshot | HostGraph) -> HostGraph:
    return snapshot if isinstance(snapshot, HostGraph) else HostGraph.of(snapshot)


def flows(snapshot: Snapshot | HostGraph) -> list[Flow]:
    """Every flow conntrack knows of, merged across namespaces, largest first."""
    graph = _graph(snapshot)
    snapshot = graph.snapshot
    host = _Host(graph)
    parent: dict[tuple, tuple] = {}

    def find(k: tuple) -> tuple:
        while parent.setdefault(k, k) != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    sightings: list[tuple[str, ConntrackEntry, tuple]] = []
    for table in snapshot.conntrack:
        for e in table.entries:
            if not _unicast(e.orig.dst):
                continue
            key = _key(e.proto, e.orig)
            sightings.append((table.netns, e, key))
            after_nat = _key(e.proto, e.reply, reverse=True)
            if after_nat != key:  # only NAT links a sighting to another tuple
                parent[find(key)] = find(after_nat)
    groups: dict[tuple, list[tuple[str, ConntrackEntry]]] = defaultdict(list)
    for netns, e, key in sightings:
        groups[find(key) if parent else key].append((netns, e))
    out = [_flow(host, group) for group in groups.values()]
    return sorted(out, key=lambda f: (-f.total_bytes, f.id))


def _flow(host: _Host, group: list[tuple[str, ConntrackEntry]]) -> Flow:
    netns, e = _speaker(host, group)
    client = host.end(e.orig.src, e.orig.sport, netns)
    server = host.end(e.reply.src, e.reply.sport, netns)
    direction, why = _classify(host, netns, e, client, server)
    counted = e if e.orig_bytes is not None or len(group) == 1 else next(
        (s for _, s in group if s.orig_bytes is not None), e)
    tracked = (netns,) if len(group) == 1 else (
        netns, *dict.fromkeys(n for n, _ in group if n != netns))
    return Flow(id=e.id, proto=e.proto, state=e.state, client=client, server=server,
                dialled=_hp(e.orig.dst, e.orig.dport), nat=_nat(e), direction=direction,
                why=why, tracked_in=tracked,
                to_server_packets=counted.orig_packets, to_server_bytes=counted.orig_bytes,
                to_client_packets=counted.reply_packets, to_client_bytes=counted.reply_bytes,
                family=e.family)


def flow_rows(snapshot: Snapshot | HostGraph, ns: str | None = None, top: int | None = None
              ) -> list[FlowRow]:
    """Flows per namespace on this host (each end that is here and not outside gets a row),
    optionally only those of namespace id `ns`; the `top` flows by bytes. For the TUI."""
    graph = _graph(snapshot)
    host = _Host(graph)
    chosen = flows(graph)
    if ns is not None:
        chosen = [f for f in chosen if ns in (f.client.netns, f.server.netns)]
    if top is not None:
        chosen = chosen[:top]
    rows = []
    for f in chosen:
        for role, me, peer in (("client", f.client, f.server), ("server", f.server, f.client)):
            if me.netns is None or me.outside or (ns is not None and me.netns != ns):
                continue
            rows.append(FlowRow(me.netns, host.name(me.netns), role, peer, f))
    return sorted(rows, key=lambda r: (r.name, -r.flow.total_bytes, r.flow.id))


def neighbourhood(snapshot: Snapshot | HostGraph, ns: str) -> set[str]:
    """`ns` and the namespaces joined to it by a veth pair or a lower/upper device (macvlan
    on its parent): those whose conntrack can see its flows (its container host)."""
    return {ns} | _graph(snapshot).adjacent_namespaces(ns)


@dataclass(frozen=True)
class FlowSource:
    """Where a namespace's flow figures come from."""

    netns: str
    name: str
    active: bool
    accounting: bool
    entries: int


def sources(snapshot: Snapshot | HostGraph) -> list[FlowSource]:
    """Each namespace's conntrack: running or not, accounting on or off."""
    graph = _graph(snapshot)
    return sorted((FlowSource(t.netns, graph.ns_name(t.netns), t.active, t.accounting,
                              len(t.entries)) for t in graph.snapshot.conntrack),
                  key=lambda s: (not s.active, s.name))
