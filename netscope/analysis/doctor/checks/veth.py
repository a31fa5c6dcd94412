"""host_veth_down and veth_orphan: a veth end that is down, or whose peer is gone."""

from __future__ import annotations

from netscope.analysis.doctor.finding import Check, op, where
from netscope.graph.host import HostGraph


def run_down(graph: HostGraph):
    for link in graph.snapshot.links:
        if link.kind != "veth" or link.up:
            continue
        peer = graph.veth_peer(link)
        if peer is None:
            continue  # veth_orphan covers it
        yield HOST_VETH_DOWN.finding(
            where(graph, link.netns, link.name),
            f"{graph.link_label(link.id)} is down, so nothing crosses to "
            f"{graph.link_label(peer.id)}",
            evidence=(link.id, peer.id), subject=link.id,
            repair=[op("ip", graph.ns_ref(link.netns), args=["link", "set", link.name, "up"],
                       undo=["link", "set", link.name, "down"])])


def run_orphan(graph: HostGraph):
    for link in graph.snapshot.links:
        if link.kind != "veth" or link.peer is None or link.peer.link:
            continue
        if graph.underlay_neighbours(link):
            continue  # a node's uplink: what is across it is another node of the cluster
        yield VETH_ORPHAN.finding(
            where(graph, link.netns, link.name),
            f"{graph.link_label(link.id)} has no reachable peer: {link.peer.unresolved}",
            evidence=(link.id,), subject=link.id)


HOST_VETH_DOWN = Check(
    id="host_veth_down", severity="error", title="a veth end is down",
    explain="A veth pair is a cable between two namespaces: both ends must be up for frames "
            "to cross. With one end down, the namespace behind it is cut off, though its own "
            "end may still look up.",
    run=run_down)

VETH_ORPHAN = Check(
    id="veth_orphan", severity="warning", title="a veth whose peer netscope cannot find",
    explain="Every veth has a peer. When the peer's namespace is not visible (no process, "
            "bind mount or name holds it) the interface leads nowhere anyone can inspect; "
            "usually a container died and left half of its cable behind.",
    run=run_orphan)
