"""rp_filter_asymmetric: strict reverse-path filtering drops traffic that arrives on an
interface other than the one the route back leaves by."""

from __future__ import annotations

from netscope.analysis.doctor.finding import Check, op, where
from netscope.graph.host import HostGraph


def _strict(graph: HostGraph, link) -> bool:
    values = [link.sysctls.get("ipv4.rp_filter"),
              graph.sysctl(link.netns, "net.ipv4.conf.all.rp_filter")]
    return max((int(v) for v in values if v and v.isdigit()), default=0) == 1


def _senders(graph: HostGraph, link) -> set[str]:
    """Source addresses of packets that enter the namespace by `link`: for each neighbour
    namespace on its segment, the source each of its routes out onto that segment picks
    (the route's preferred source, else the address of the interface it leaves by)."""
    segment = graph.segment(link.id)
    out = set()
    for r in graph.snapshot.routes:
        if r.netns == link.netns or r.family != "inet" or r.type != "unicast":
            continue
        for hop in r.nexthops:
            if hop.link not in segment:
                continue
            if r.prefsrc:
                out.add(r.prefsrc)
            else:
                out.update(a.address for a in graph.addresses_on(hop.link)
                           if a.family == "inet" and a.scope == "global")
    return out


def run(graph: HostGraph):
    """For each strict interface that takes part in routing (not a bridge port), every source
    that can arrive through it must be routed back through it."""
    for link in graph.snapshot.links:
        if link.kind == "loopback" or link.master or not _strict(graph, link):
            continue
        for src in sorted(_senders(graph, link)):
            back = graph.route_lookup(link.netns, "inet",
                                "0.0.0.0", src)
            if back.route is None or any(h.link == link.id for h in back.route.nexthops):
                continue
            out = graph.links.get(back.route.nexthops[0].link) if back.route.nexthops else None
            key = (f"net.ipv4.conf.{link.name}.rp_filter"
                   if link.sysctls.get("ipv4.rp_filter") == "1" else "net.ipv4.conf.all.rp_filter")
            yield CHECK.finding(
                where(graph, link.netns, link.name),
                f"packets from {src} arrive on {link.name} but the route back leaves by "
                f"{out.name if out else '?'}; strict rp_filter on {link.name} drops them",
                evidence=(link.id, back.route.id), subject=link.id,
                repair=[op("sysctl", graph.ns_ref(link.netns), key=key, value="2")])
            break


CHECK = Check(
    id="rp_filter_asymmetric", severity="error",
    title="strict rp_filter drops traffic that arrives asymmetrically",
    explain="With rp_filter=1 (strict) the kernel accepts a packet only if the route back to "
            "its source leaves by the interface it came in on: a defence against spoofing. "
            "With asymmetric routing (in by one interface, back by another) legitimate packets "
            "fail that test and vanish without a trace. Loose mode (2) only asks that some "
            "route back exists.",
    run=run)
