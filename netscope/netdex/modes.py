"""The networking modes netdex compares: which lab, which two endpoints, what lies between.

Each mode names a lab (topology/*.toml), the node the client runs in and the node the server
runs in. The server address comes from the lab's topology (an address of the server node on
a subnet the client shares, else its first address), or is loopback for the modes whose two
endpoints share one namespace. Pure: nothing is run here.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from netscope.labs.topology import Topology

LOOPBACK = "127.0.0.1"
BASELINE = "host"


@dataclass(frozen=True)
class Mode:
    key: str
    lab: str
    client: str
    server: str
    crossing: str          # what a packet crosses between the two endpoints, in words
    loopback: bool = False


MODES: tuple[Mode, ...] = (
    Mode("host", "host-mode", "inet", "host",
         "one veth pair: a client on the LAN to a port of the host's own network"),
    Mode("bridge-nat", "docker-bridge", "c1", "inet",
         "veth, docker0 bridge, routing + FORWARD, MASQUERADE, the host's uplink"),
    Mode("user-bridge", "user-bridges", "web", "app",
         "veth, user bridge br-front (bridged, FORWARD via br_netfilter), veth"),
    Mode("container", "container-mode", "c1", "c1",
         "nothing: --network container:X shares one namespace, so the loopback",
         loopback=True),
    Mode("none", "none-mode", "c1", "c1",
         "nothing: --network none has only the loopback", loopback=True),
    Mode("macvlan", "macvlan", "c2", "c1",
         "macvlan siblings on one parent (bridge mode): no veth, no bridge"),
    Mode("overlay", "overlay-vxlan", "c1", "c2",
         "veth, br0, VXLAN encapsulation, underlay veth, decapsulation, br0, veth"),
    Mode("pod", "pod-network", "pod-a", "pod-b1",
         "veth, cni0 bridge (FORWARD via br_netfilter), veth"),
)


class ModeError(ValueError):
    """A mode that does not fit its lab (a node or address missing); says which."""


def select(keys: list[str] | None) -> list[Mode]:
    """The modes named (all when None), in the order of MODES. Raises ModeError."""
    if not keys:
        return list(MODES)
    known = {m.key: m for m in MODES}
    unknown = [k for k in keys if k not in known]
    if unknown:
        raise ModeError(f"unknown mode {unknown[0]!r}: choose from {', '.join(known)}")
    return [m for m in MODES if m.key in keys]


def _addresses(topo: Topology, node: str) -> list[ipaddress.IPv4Interface]:
    out = []
    for link in topo.links:
        if link.node == node:
            out += [ipaddress.IPv4Interface(a) for a in link.addresses if ":" not in a]
    return out


def server_address(mode: Mode, topo: Topology) -> str:
    """Where the client connects: loopback, or the server node's address the client can
    reach directly (same subnet) if it has one, else its first. Raises ModeError."""
    nodes = {n.key for n in topo.nodes}
    for node in (mode.client, mode.server):
        if node not in nodes:
            raise ModeError(f"lab {mode.lab} has no node {node!r} (mode {mode.key})")
    if mode.loopback:
        return LOOPBACK
    theirs = _addresses(topo, mode.server)
    if not theirs:
        raise ModeError(f"node {mode.server} of lab {mode.lab} has no IPv4 address")
    mine = [a.network for a in _addresses(topo, mode.client)]
    shared = [a for a in theirs if a.network in mine]
    return str((shared or theirs)[0].ip)
