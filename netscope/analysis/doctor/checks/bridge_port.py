"""veth_not_in_bridge: a container's host-side veth that is not a port of the bridge."""

from __future__ import annotations

import ipaddress

from netscope.analysis.doctor.finding import Check
from netscope.analysis.doctor.view import DoctorView, op


def run(view: DoctorView):
    bridges = [lk for lk in view.snapshot.links if lk.kind == "bridge"]
    for link in view.snapshot.links:
        if link.kind != "veth" or link.master:
            continue
        far = view.far_end(link)
        if far is None or far.netns == link.netns or view.container_like(far.netns) is None:
            continue
        far_addrs = [a for a in view.snapshot.addresses if a.link == far.id and a.family ==
                     "inet" and a.scope == "global"]
        if view.ix.addresses_by_link.get(link.id):
            continue  # a routed (not bridged) veth: it has its own address
        for bridge in bridges:
            if bridge.netns != link.netns:
                continue
            for ba in view.ix.addresses_by_link.get(bridge.id, []):
                net = view.network(ba)
                if any(ipaddress.ip_address(a.address) in net for a in far_addrs):
                    yield CHECK.finding(
                        view.where(link.netns, link.name),
                        f"{link.name} leads to {view.ix.ns_name(far.netns)} "
                        f"({far_addrs[0].address}, in {bridge.name}'s subnet {net}) but is not "
                        f"a port of {bridge.name}",
                        evidence=(link.id, bridge.id, far.id), subject=link.id,
                        repair=[op("ip", view.ns_ref(link.netns),
                                   args=["link", "set", link.name, "master", bridge.name],
                                   undo=["link", "set", link.name, "nomaster"])])
                    break


CHECK = Check(
    id="veth_not_in_bridge", severity="error",
    title="a container's host veth is not attached to its bridge",
    explain="A container on a bridge network reaches its gateway and neighbours through the "
            "bridge: its host-side veth must be a bridge port. Detached, its frames arrive on "
            "a bare interface with no address, and nothing answers its ARP requests.",
    run=run)
