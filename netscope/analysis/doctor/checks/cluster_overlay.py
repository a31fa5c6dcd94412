"""overlay_fdb_missing / overlay_fdb_stale / overlay_neigh_missing / overlay_neigh_stale:
on a node of a cluster document, the entries a flannel-style VXLAN device needs for another
node (a neighbour entry: the remote device's address -> its MAC; an FDB entry: that MAC ->
the remote node's VTEP) are missing or point at the wrong place."""

from __future__ import annotations

from collections.abc import Iterator

from netscope.analysis.doctor.finding import Check, Finding
from netscope.graph.host import HostGraph
from netscope.model import Link


def _pairs(graph: HostGraph) -> Iterator[tuple[Link, Link]]:
    """(device on one node, its twin on another node) for neighbour-directed VXLAN devices
    (no fixed remote: each remote node is found by its neighbour and FDB entries)."""
    for vx in graph.snapshot.links:
        node = graph.node_of(vx.netns)
        if vx.kind != "vxlan" or node is None or vx.details.get("remote"):
            continue
        for other in graph.nodes:
            root = graph.node_root(other.name)
            if other.name == node or root is None:
                continue
            twin = graph.vxlan_twin(vx, root)
            if twin is not None and twin.mac:
                yield vx, twin


def run_fdb_missing(graph: HostGraph) -> Iterator[Finding]:
    for vx, twin in _pairs(graph):
        here, there = graph.node_of(vx.netns), graph.node_of(twin.netns)
        if not any(f.mac.lower() == twin.mac.lower() for f in graph.fdb_of(vx.id)):
            yield FDB_MISSING.finding(
                f"{here}/{vx.name}/{there}",
                f"on node {here}, {vx.name} has no FDB entry for node {there}'s "
                f"{twin.name} ({twin.mac}): frames to node {there}'s pods are dropped "
                f"(expected: {twin.mac} dst {graph.vtep_address(twin)})",
                evidence=(vx.id, twin.id), subject=vx.id)


def run_fdb_stale(graph: HostGraph) -> Iterator[Finding]:
    for vx, twin in _pairs(graph):
        here, there = graph.node_of(vx.netns), graph.node_of(twin.netns)
        vtep = graph.vtep_address(twin)
        entries = [f for f in graph.fdb_of(vx.id) if f.mac.lower() == twin.mac.lower()]
        if entries and vtep and not any(f.dst == vtep for f in entries):
            yield FDB_STALE.finding(
                f"{here}/{vx.name}/{there}",
                f"on node {here}, {vx.name} sends {twin.mac} (node {there}'s {twin.name}) to "
                f"{', '.join(str(f.dst) for f in entries)}, but node {there}'s VTEP is {vtep}",
                evidence=(vx.id, twin.id, *(f.id for f in entries)), subject=vx.id)


def _remote_addresses(graph: HostGraph, vx: Link, twin: Link):
    """(address of the twin, this node's neighbour entry for it or None), for the twin's
    addresses this node routes through."""
    gateways = {h.gateway for r in graph.routes_in(vx.netns) for h in r.nexthops}
    for a in graph.addresses_on(twin.id):
        if a.family == "inet" and a.scope == "global" and a.address in gateways:
            yield a.address, graph.neighbour(vx, a.address)


def run_neigh_missing(graph: HostGraph) -> Iterator[Finding]:
    for vx, twin in _pairs(graph):
        here, there = graph.node_of(vx.netns), graph.node_of(twin.netns)
        for address, neigh in _remote_addresses(graph, vx, twin):
            if neigh is None:
                yield NEIGH_MISSING.finding(
                    f"{here}/{vx.name}/{there}",
                    f"on node {here}, {vx.name} has no neighbour entry for {address} (node "
                    f"{there}'s {twin.name}): the route to node {there}'s pods through it "
                    "waits for ARP that no VXLAN peer answers",
                    evidence=(vx.id, twin.id), subject=vx.id)


def run_neigh_stale(graph: HostGraph) -> Iterator[Finding]:
    for vx, twin in _pairs(graph):
        here, there = graph.node_of(vx.netns), graph.node_of(twin.netns)
        for address, neigh in _remote_addresses(graph, vx, twin):
            if neigh is not None and neigh.lladdr and \
                    neigh.lladdr.lower() != twin.mac.lower():
                yield NEIGH_STALE.finding(
                    f"{here}/{vx.name}/{there}",
                    f"on node {here}, {vx.name} maps {address} to {neigh.lladdr}, but node "
                    f"{there}'s {twin.name} has MAC {twin.mac}",
                    evidence=(vx.id, twin.id, neigh.id), subject=vx.id)


_EXPLAIN = ("A flannel-style VXLAN device does not learn where remote MACs live: for every "
            "other node, flanneld writes a neighbour entry (the remote device's address -> its "
            "MAC) and an FDB entry (that MAC -> the remote node's underlay address). When one "
            "is missing or stale, this node's pods cannot reach that node's pods, while every "
            "other pair works. Restart flanneld on this node (it rewrites them), or add the "
            "entry by hand: `bridge fdb append MAC dev flannel.1 dst NODE_IP`, "
            "`ip neigh replace ADDR lladdr MAC dev flannel.1 nud permanent`.")

FDB_MISSING = Check(id="overlay_fdb_missing", severity="error",
                    title="a node's VXLAN device does not know another node's VTEP",
                    explain=_EXPLAIN, run=run_fdb_missing)
FDB_STALE = Check(id="overlay_fdb_stale", severity="error",
                  title="a node's VXLAN device sends another node's MAC to the wrong VTEP",
                  explain=_EXPLAIN, run=run_fdb_stale)
NEIGH_MISSING = Check(id="overlay_neigh_missing", severity="error",
                      title="a node has no neighbour entry for another node's VXLAN device",
                      explain=_EXPLAIN, run=run_neigh_missing)
NEIGH_STALE = Check(id="overlay_neigh_stale", severity="error",
                    title="a node maps another node's VXLAN address to the wrong MAC",
                    explain=_EXPLAIN, run=run_neigh_stale)
