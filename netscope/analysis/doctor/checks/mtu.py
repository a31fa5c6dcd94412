"""veth_mtu_mismatch and overlay_mtu_mismatch: packets larger than the path can carry."""

from __future__ import annotations

from netscope.analysis.doctor.finding import Check, op, where
from netscope.graph.host import HostGraph

VXLAN_OVERHEAD = 50


def run_veth(graph: HostGraph):
    done = set()
    for link in graph.snapshot.links:
        peer = graph.veth_peer(link)
        if link.kind != "veth" or peer is None or peer.mtu == link.mtu or peer.id in done:
            continue
        done.add(link.id)
        small, big = (link, peer) if link.mtu < peer.mtu else (peer, link)
        yield VETH_MTU.finding(
            where(graph, big.netns, big.name),
            f"{graph.link_label(big.id)} has MTU {big.mtu} but its peer "
            f"{graph.link_label(small.id)} has {small.mtu}",
            evidence=(big.id, small.id), subject=big.id,
            repair=[op("ip", graph.ns_ref(big.netns),
                       args=["link", "set", big.name, "mtu", str(small.mtu)],
                       undo=["link", "set", big.name, "mtu", str(big.mtu)])])


def _underlay_mtu(graph: HostGraph, vx) -> int | None:
    lower = graph.links.get(vx.parent) if vx.parent else None
    if lower is not None:
        return lower.mtu
    local = vx.details.get("local")
    for a in graph.snapshot.addresses:
        if a.netns == vx.netns and a.address == local:
            return graph.links[a.link].mtu
    return None


def run_overlay(graph: HostGraph):
    """One finding per overlay segment (a VNI), naming every interface too big for it."""
    done: set[frozenset[str]] = set()
    for vx in sorted(graph.snapshot.links, key=lambda lk: lk.id):
        if vx.kind != "vxlan":
            continue
        members = graph.segment(vx.id)
        if members in done:
            continue
        done.add(members)
        tunnels = [graph.links[m] for m in members if graph.links[m].kind == "vxlan"]
        underlays = [u for u in (_underlay_mtu(graph, t) for t in tunnels) if u is not None]
        if not underlays:
            continue
        limit = min(underlays) - VXLAN_OVERHEAD
        too_big = sorted((graph.links[m] for m in members
                          if graph.links[m].mtu > limit and graph.links[m].kind != "bridge"),
                         key=lambda lk: lk.id)
        if not too_big:
            continue
        names = ", ".join(graph.link_label(lk.id) for lk in too_big)
        yield OVERLAY_MTU.finding(
            f"vni{vx.details.get('vni')}",
            f"VXLAN {vx.details.get('vni')} carries at most {limit}-byte packets (underlay "
            f"{min(underlays)} - {VXLAN_OVERHEAD}), but {names} use MTU {too_big[0].mtu}",
            evidence=tuple(lk.id for lk in (*tunnels, *too_big)), subject=vx.id,
            repair=[op("ip", graph.ns_ref(lk.netns), args=["link", "set", lk.name, "mtu",
                                                          str(limit)],
                       undo=["link", "set", lk.name, "mtu", str(lk.mtu)]) for lk in too_big])


VETH_MTU = Check(
    id="veth_mtu_mismatch", severity="warning", title="the two ends of a veth disagree on MTU",
    explain="A veth end accepts frames up to its own MTU: the side with the larger MTU may send "
            "packets the other side drops. Small packets (ping, handshakes) pass; large "
            "transfers stall.",
    run=run_veth)

OVERLAY_MTU = Check(
    id="overlay_mtu_mismatch", severity="error",
    title="container MTU larger than the overlay can carry",
    explain="VXLAN wraps every frame in 50 bytes of headers. If containers on the overlay use "
            "the full underlay MTU, their large packets no longer fit once wrapped and are "
            "dropped: pings work, bulk transfers hang.",
    run=run_overlay)
