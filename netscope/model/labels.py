"""One-line descriptions of model objects, in the network's own words.

Shared by `netscope show` (the text tree) and the TUI (tree labels, detail tabs), so both
say the same thing about the same object. Pure: reads the host graph, returns text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from netscope.model.cni import CniAllocation, CniNetwork, CniRange, in_range
from netscope.model.l2 import Link
from netscope.model.l3 import Route
from netscope.model.netns import Container, Pod

if TYPE_CHECKING:  # the graph is built over the model: only its type is needed here
    from netscope.graph.host import HostGraph

LOCAL_TABLE = 255
MAIN_TABLE = 254


def route_text(route: Route, graph: HostGraph) -> str:
    """`ip route`-style text: "default via 172.18.0.1 dev eth0", "10.0.0.0/8 dev br0 ..."."""
    dst = "default" if route.is_default else route.dst
    parts = [dst] if route.type == "unicast" else [route.type, dst]
    for hop in route.nexthops:
        if hop.gateway:
            parts += ["via", hop.gateway]
        if hop.link:
            link = graph.links.get(hop.link)
            parts += ["dev", link.name if link else hop.link]
    if route.table not in (MAIN_TABLE, LOCAL_TABLE):
        parts += ["table", str(route.table)]
    if route.protocol not in ("boot", "unspec"):
        parts += ["proto", route.protocol]
    if route.scope != "global":
        parts += ["scope", route.scope]
    if route.prefsrc:
        parts += ["src", route.prefsrc]
    if route.metric:
        parts += ["metric", str(route.metric)]
    return " ".join(parts)


def route_shown(r: Route) -> bool:
    """Whether a person reads this route first: not the local table nor kernel-made IPv6
    routes (they come and go with every address)."""
    return (r.table != LOCAL_TABLE and r.protocol != "kernel") or (
        r.family == "inet" and r.table == MAIN_TABLE)


def shown_routes(graph: HostGraph, ns_id: str, all_tables: bool = False) -> list[Route]:
    """The routes a person reads first (`route_shown`), or all of them."""
    return [r for r in graph.routes_in(ns_id) if all_tables or route_shown(r)]


def _short_id(object_id: str) -> str:
    """The runtime's own id, short, from a model id ("container:podman/<id>" -> 12 chars)."""
    return object_id.split(":", 1)[-1].rsplit("/", 1)[-1][:12]


def container_text(c: Container) -> str:
    """"container web 0123456789ab publishes ...", the runtime named when not Docker."""
    runtime = "" if c.runtime == "docker" else f"{c.runtime} "
    where = f" ({c.runtime_namespace})" if c.runtime_namespace else ""
    text = f"{runtime}container {c.name} {c.container_id[:12]}{where}"
    if c.shares_netns_with:
        text += f" (joined {_short_id(c.shares_netns_with)})"
    if c.ports:
        text += " publishes " + " ".join(c.ports)
    return text


def pod_text(pod: Pod, members: list[Container]) -> str:
    """"podman pod db 0123456789ab publishes ...; containers a, b" or, for Kubernetes,
    "pod shop/web-0 (containerd k8s.io, uid ...); containers app"."""
    infra = next((c for c in members if c.id == pod.infra_container), None)
    if pod.kube_namespace:
        where = [pod.runtime]
        if infra and infra.runtime_namespace:
            where[0] += f" {infra.runtime_namespace}"
        if pod.kube_uid:
            where.append(f"uid {pod.kube_uid}")
        text = f"pod {pod.display_name} ({', '.join(where)})"
    else:
        text = f"{pod.runtime} pod {pod.name} {pod.pod_id[:12]}"
    if pod.ports:
        text += " publishes " + " ".join(pod.ports)
    names = [c.kube_name or c.name for c in members if c.id != pod.infra_container]
    if names:
        text += "; containers " + ", ".join(sorted(names))
    if infra is not None:
        text += f"; infra {infra.name} {infra.container_id[:12]}"
    return text


def cni_network_text(net: CniNetwork) -> str:
    """"nsexp-net (/etc/cni/net.d/10-x.conflist, in use): bridge -> portmap, ipam host-local
    10.244.0.0/24"."""
    head = f"{net.name} ({net.path}{', in use' if net.in_use else ''})"
    if net.error:
        return f"{head}: not usable: {net.error}"
    chain = " -> ".join(
        p.type + (f"[{' '.join(f'{k}={v}' for k, v in p.details.items())}]" if p.details
                  else "") for p in net.plugins)
    ipam = sorted({p.ipam_type for p in net.plugins if p.ipam_type})
    text = f"{head}: {chain}"
    if ipam:
        text += f"; ipam {', '.join(ipam)}"
    if net.ranges:
        text += " " + ", ".join(
            r.subnet + (f" ({r.range_start}-{r.range_end})" if r.range_start or r.range_end
                        else "") for r in net.ranges)
    return text


def cni_allocation_text(a: CniAllocation, ranges: tuple[CniRange, ...]) -> str:
    """"cni net0 10.244.7.2 on eth0, allocated to 0123456789ab"; `ranges`: the IPAM ranges
    of its network, to say when the address lies outside them."""
    text = f"cni {a.network} {a.address}"
    if a.ifname:
        text += f" on {a.ifname}"
    text += f", allocated to {a.container_id[:12]}"
    if in_range(a.address, ranges) is False:
        text += " (outside the network's ranges)"
    if a.netns is None:
        text += ": no namespace holds it (leaked)"
    return text


def link_state(link: Link) -> str:
    """"UP", "DOWN", or "UP/<operstate>" when administratively up but not running."""
    state = "UP" if link.up else "DOWN"
    if link.up and link.operstate not in ("UP", "UNKNOWN"):
        state = f"UP/{link.operstate}"
    return state


def global_addresses(link: Link, graph: HostGraph) -> list[str]:
    """The link's addresses as CIDRs, link-local ones left out."""
    return [a.cidr for a in graph.addresses_on(link.id) if a.scope != "link"]


def peer_text(link: Link, graph: HostGraph) -> str | None:
    """"<-> ns:dev" for a veth whose peer is known, "<-> ? (why)" otherwise, None for no peer."""
    if link.peer is None:
        return None
    if not link.peer.link:
        return f"<-> ? ({link.peer.unresolved})"
    peer = graph.links.get(link.peer.link)
    where = graph.link_label(link.peer.link)
    if peer and peer.netns == link.netns:
        where = peer.name
    return f"<-> {where}"


def link_line(link: Link, graph: HostGraph) -> str:
    """Name, kind, state, MTU, master, addresses, veth peer, parent and vxlan details."""
    parts = [f"{link.name}", link.kind, link_state(link), f"mtu {link.mtu}"]
    if link.master:
        parts.append(f"master {graph.link_label(link.master).split(':', 1)[1]}")
    addrs = global_addresses(link, graph)
    if addrs:
        parts.append(" ".join(addrs))
    peer = peer_text(link, graph)
    if peer:
        parts.append(peer)
    if link.parent:
        parts.append(f"on {graph.link_label(link.parent)}")
    if link.kind == "vxlan" and link.details:
        parts.append(" ".join(f"{k} {v}" for k, v in link.details.items()
                              if k in ("vni", "remote", "local", "dstport")))
    note = pod_network_note(link, graph)
    if note:
        parts.append(f"[{note}]")
    progs = graph.bpf_programs_on(link)
    if progs:
        parts.append("eBPF " + ", ".join(f"{b.hook} {b.label}" for b in progs))
    return "  ".join(parts)


def pod_network_note(link: Link, graph: HostGraph) -> str | None:
    """What a pod network made this interface for, recognised by how its plugin makes it:
    flannel's VXLAN device (flannel.<VNI>, UDP 8472, one FDB entry per remote node),
    Calico's workload veths (cali*, proxy ARP on, no address: pods route through /32s)."""
    if link.kind == "vxlan" and (link.name.startswith("flannel.") or
                                 link.details.get("dstport") == 8472):
        remotes = {f.dst for f in graph.fdb_of(link.id) if f.dst}
        return f"flannel VXLAN, {len(remotes)} remote node{'s' if len(remotes) != 1 else ''}"
    if link.kind == "veth" and link.name.startswith("cali") and \
            link.sysctls.get("ipv4.proxy_arp") == "1":
        return "Calico workload interface: proxy ARP, routed /32"
    return None


def port_line(port: Link, graph: HostGraph) -> str:
    """A bridge port: "port veth0 (forwarding)  <-> web:eth0"."""
    state = port.bridge_port.state if port.bridge_port else "?"
    peer = ""
    if port.peer and port.peer.link:
        peer = f"  <-> {graph.link_label(port.peer.link)}"
    return f"port {port.name} ({state}){peer}"


def human_bytes(n: int) -> str:
    """1536 -> "1.5 KiB": byte counts as people read them."""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"
