"""host_veth_down and veth_orphan: a veth end that is down, or whose peer is gone."""

from __future__ import annotations

from netscope.analysis.doctor.finding import Check
from netscope.analysis.doctor.view import DoctorView, op


def run_down(view: DoctorView):
    for link in view.snapshot.links:
        if link.kind != "veth" or link.up:
            continue
        peer = view.far_end(link)
        if peer is None:
            continue  # veth_orphan covers it
        yield HOST_VETH_DOWN.finding(
            view.where(link.netns, link.name),
            f"{view.ix.link_label(link.id)} is down, so nothing crosses to "
            f"{view.ix.link_label(peer.id)}",
            evidence=(link.id, peer.id), subject=link.id,
            repair=[op("ip", view.ns_ref(link.netns), args=["link", "set", link.name, "up"],
                       undo=["link", "set", link.name, "down"])])


def run_orphan(view: DoctorView):
    for link in view.snapshot.links:
        if link.kind != "veth" or link.peer is None or link.peer.link:
            continue
        yield VETH_ORPHAN.finding(
            view.where(link.netns, link.name),
            f"{view.ix.link_label(link.id)} has no reachable peer: {link.peer.unresolved}",
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
