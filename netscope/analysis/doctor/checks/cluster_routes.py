"""Routing between nodes of a cluster document: pod_cidr_route_missing (a node cannot route
to another node's pods), pod_cidr_overlap (two nodes' pod networks overlap),
cluster_route_asymmetric (two nodes reach each other's pods by different means), and
service_endpoint_unreachable (a DNAT rule sends traffic to a pod on a node this node
cannot reach)."""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Iterator

from netscope.analysis.doctor.finding import Check, Finding
from netscope.graph.host import HostGraph
from netscope.model.journey import Verdict


def _probe(net) -> str:
    """An address inside a pod network (its first host) to look routes up for."""
    return str(next(net.hosts(), net.network_address))


def _route_to(graph: HostGraph, node: str, net):
    """(route, node it leads to or None) for node's route towards pod network `net`; the
    route is None when only a default route (or nothing) covers it."""
    root = graph.node_root(node)
    if root is None:
        return None, None
    lk = graph.route_lookup(root, "inet", "0.0.0.0", _probe(net))
    route = lk.route
    if route is None or route.is_default or lk.kind != "unicast":
        return None, None
    hop = route.nexthops[0] if route.nexthops else None
    if hop is None or hop.gateway is None:
        return route, None
    owners = {graph.node_of(ns) for ns in graph.address_owners(hop.gateway)}
    owners.discard(node)
    return route, owners.pop() if len(owners) == 1 else None


def _pairs(graph: HostGraph):
    names = [n.name for n in graph.nodes]
    for here, there in itertools.permutations(names, 2):
        for net in graph.pod_networks(there):
            yield here, there, net


def run_route_missing(graph: HostGraph) -> Iterator[Finding]:
    for here, there, net in _pairs(graph):
        route, target = _route_to(graph, here, net)
        if route is None:
            yield ROUTE_MISSING.finding(
                f"{here}/{net}", f"node {here} has no route to node {there}'s pod network {net}"
                f": its traffic to those pods follows the default route instead",
                subject=graph.node_root(here))
        elif target is not None and target != there:
            yield ROUTE_MISSING.finding(
                f"{here}/{net}", f"node {here} routes node {there}'s pod network {net} to "
                f"node {target} ({route.dst} via {route.nexthops[0].gateway})",
                evidence=(route.id,), subject=graph.node_root(here))


def run_asymmetric(graph: HostGraph) -> Iterator[Finding]:
    names = [n.name for n in graph.nodes]
    for a, b in itertools.combinations(names, 2):
        kinds = []
        for here, there in ((a, b), (b, a)):
            nets = graph.pod_networks(there)
            route = _route_to(graph, here, nets[0])[0] if nets else None
            link = graph.links.get(route.nexthops[0].link) if route and route.nexthops \
                else None
            kinds.append((route, link))
        (ra, la), (rb, lb) = kinds
        if ra and rb and la and lb and la.kind != lb.kind:
            yield ASYMMETRIC.finding(
                f"{a}~{b}", f"node {a} reaches node {b}'s pods by {la.name} ({la.kind}) but node "
                f"{b} answers by {lb.name} ({lb.kind})", evidence=(ra.id, rb.id),
                subject=graph.node_root(a))


def run_overlap(graph: HostGraph) -> Iterator[Finding]:
    nets = [(n.name, net) for n in graph.nodes for net in graph.pod_networks(n.name)]
    for (na, a), (nb, b) in itertools.combinations(nets, 2):
        if na != nb and a.overlaps(b):
            yield OVERLAP.finding(
                f"{na}~{nb}", f"node {na}'s pod network {a} overlaps node {nb}'s {b}: a pod "
                f"address there may be on either node", subject=graph.node_root(na))


def run_endpoint_unreachable(graph: HostGraph) -> Iterator[Finding]:
    from netscope.analysis.path.walk import _walk
    from netscope.model.journey import Packet

    seen: set[tuple[str, str]] = set()
    for table in graph.tables:
        here = graph.node_of(table.netns)
        if here is None or table.netns != graph.node_root(here):
            continue
        for chain in table.chains:
            for rule in chain.rules:
                addr, port = _target(rule.nat_to) if rule.action == "dnat" else (None, None)
                if addr is None or (here, addr) in seen:
                    continue
                seen.add((here, addr))
                owners = [ns for ns in graph.address_owners(addr)
                          if graph.node_of(ns) not in (here, None)]
                if not owners:
                    continue
                src = graph.source_for(table.netns, addr)
                if src is None:
                    continue
                pkt = Packet("inet", src, addr, "tcp", 40000, port or 80)
                journey = _walk(graph, pkt, table.netns, with_reply=False)
                if journey.verdict == Verdict.DELIVERED:
                    continue
                service = rule.comment or chain.name
                yield ENDPOINT_UNREACHABLE.finding(
                    f"{here}/{addr}", f"on node {here}, {service} sends traffic to {addr} on "
                    f"node {graph.node_of(owners[0])}, which node {here} cannot reach "
                    f"({journey.summary})", evidence=(rule.id,), subject=table.netns)


def _target(nat_to: str | None) -> tuple[str | None, int | None]:
    if not nat_to:
        return None, None
    addr, _, port = nat_to.partition(":")
    try:
        return str(ipaddress.ip_address(addr)), int(port) if port.isdigit() else None
    except ValueError:
        return None, None


ROUTE_MISSING = Check(
    id="pod_cidr_route_missing", severity="error",
    title="a node has no route to another node's pod network",
    explain="Pods on different nodes reach each other through a route per remote pod network "
            "(flannel's `POD_CIDR via FLANNEL_IP dev flannel.1`, host-gw's `POD_CIDR via "
            "NODE_IP`, Calico's BGP routes). Where one is missing, traffic to that node's pods "
            "takes the default route and is lost, in one direction only.",
    run=run_route_missing)
ASYMMETRIC = Check(
    id="cluster_route_asymmetric", severity="warning",
    title="two nodes reach each other's pods by different paths",
    explain="When the request crosses an overlay and the reply a direct route (or the "
            "reverse), replies arrive on an interface the sender did not use: rp_filter and "
            "stateful firewalls on the way drop them, and MTUs differ.",
    run=run_asymmetric)
OVERLAP = Check(
    id="pod_cidr_overlap", severity="error", title="two nodes' pod networks overlap",
    explain="Each node gets its own slice of the cluster's pod CIDR; two nodes holding "
            "overlapping slices give the same address to two pods, and routes to it go to "
            "whichever node the other nodes' routes name.",
    run=run_overlap)
ENDPOINT_UNREACHABLE = Check(
    id="service_endpoint_unreachable", severity="error",
    title="a service sends traffic to a pod on a node this node cannot reach",
    explain="kube-proxy on every node DNATs a service's traffic to any of its endpoints, "
            "wherever they run. If this node cannot route to the node an endpoint is on, the "
            "connections that pick it hang, and only from this node.",
    run=run_endpoint_unreachable)
