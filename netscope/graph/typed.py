"""The host graph as a typed networkx MultiDiGraph: what GraphML and node-link export write.

Nodes are keyed by model ids; every node has `kind` (a NodeKind) and `label`, plus scalar
attributes of its object (so GraphML, Gephi, yEd and Cytoscape read them). Edges have `kind`
(an EdgeKind). Relations come from the HostGraph: nothing here re-derives them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from netscope.model.safe_text import safe

if TYPE_CHECKING:
    import networkx as nx

    from netscope.graph.host import HostGraph


class NodeKind(StrEnum):
    NAMESPACE = "netns"
    INTERFACE = "interface"
    BRIDGE = "bridge"
    CONTAINER = "container"
    POD = "pod"                     # a Podman pod or a Kubernetes pod sandbox
    HOOK = "hook"                   # a netfilter hook of one packet family in a namespace
    CHAIN = "chain"
    RULE = "rule"
    ADDRESS = "address"             # ip:<cidr> a rule names


class EdgeKind(StrEnum):
    IN_NAMESPACE = "in_namespace"   # interface (or hook) -> its namespace
    VETH_PEER = "veth_peer"         # veth end -> the other end (both directions)
    BRIDGE_PORT = "bridge_port"     # port -> bridge it is enslaved to (and back)
    LOWER = "lower"                 # macvlan/vlan/vxlan -> parent device
    ROUTE_VIA = "route_via"         # namespace -> interface a route leaves through
    RUNS_IN = "runs_in"             # container -> namespace
    SHARES_NETNS = "shares_netns"   # container -> container whose namespace it joined
    MEMBER_OF = "member_of"         # container -> its pod
    HOOK_ENTRY = "hook_entry"       # hook -> base chain, `order` in priority order
    HAS_RULE = "has_rule"           # chain -> rule, `position`
    JUMP = "jump"                   # chain -> chain, `rule` that jumps
    GOTO = "goto"                   # chain -> chain, `rule`
    NAMES_INTERFACE = "names_interface"  # rule -> interface, `field`, `negated`
    NAMES_ADDRESS = "names_address"  # rule -> ip:<cidr>, `field`, `negated`
    ADDRESS_ON = "address_on"       # ip:<cidr> -> interface holding that address/subnet
    NAT_TO = "nat_to"               # DNAT rule -> namespace / container it sends to


def scalars(**attrs) -> dict:
    """Attributes GraphML can hold: None left out, tuples joined, text made safe to show
    (a device name is untrusted: no control character reaches a viewer)."""
    out = {}
    for key, value in attrs.items():
        if value is None:
            continue
        if isinstance(value, tuple | list):
            value = " ".join(str(v) for v in value)
        if isinstance(value, str):
            value = safe(value)
        out[key] = value
    return out


def typed_graph(hg: HostGraph) -> nx.MultiDiGraph:
    """The whole host as one typed graph (see the module docstring for the vocabulary)."""
    import networkx as nx

    g = nx.MultiDiGraph()
    for ns in hg.namespaces.values():
        g.add_node(ns.id, **scalars(kind=NodeKind.NAMESPACE.value, label=ns.name,
                                     inode=ns.inode, is_self=ns.is_self))
    for link in hg.links.values():
        kind = NodeKind.BRIDGE if link.kind == "bridge" else NodeKind.INTERFACE
        addresses = tuple(a.cidr for a in hg.addresses_on(link.id))
        g.add_node(link.id, **scalars(kind=kind.value, label=link.name, netns=link.netns,
                                       link_kind=link.kind, ifindex=link.ifindex,
                                       mtu=link.mtu, mac=link.mac, operstate=link.operstate,
                                       up=link.up, addresses=addresses or None))
        g.add_edge(link.id, link.netns, kind=EdgeKind.IN_NAMESPACE.value)
    for link in hg.links.values():
        peer = hg.veth_peer(link)
        if peer is not None:
            g.add_edge(link.id, peer.id, kind=EdgeKind.VETH_PEER.value)
        bridge = hg.master(link)
        if bridge is not None:
            g.add_edge(link.id, bridge.id, kind=EdgeKind.BRIDGE_PORT.value)
            g.add_edge(bridge.id, link.id, kind=EdgeKind.BRIDGE_PORT.value)
        lower = hg.lower(link)
        if lower is not None:
            g.add_edge(link.id, lower.id, kind=EdgeKind.LOWER.value)
    for ns_id in hg.namespaces:
        for route in hg.routes_in(ns_id):
            if route.type != "unicast":
                continue
            for hop in route.nexthops:
                if hop.link in hg.links:
                    g.add_edge(ns_id, hop.link, **scalars(
                        kind=EdgeKind.ROUTE_VIA.value, dst=route.dst, table=route.table,
                        gateway=hop.gateway))
    for p in hg.pods.values():
        g.add_node(p.id, **scalars(kind=NodeKind.POD.value, label=p.display_name,
                                    runtime=p.runtime, pod_id=p.pod_id,
                                    kube_namespace=p.kube_namespace, kube_uid=p.kube_uid,
                                    ports=p.ports or None))
        if p.netns in hg.namespaces:
            g.add_edge(p.id, p.netns, kind=EdgeKind.RUNS_IN.value)
    for c in hg.containers.values():
        g.add_node(c.id, **scalars(kind=NodeKind.CONTAINER.value, label=hg.container_name(c),
                                    container_id=c.container_id, image=c.image,
                                    runtime=c.runtime, ports=c.ports or None))
        if c.netns in hg.namespaces:
            g.add_edge(c.id, c.netns, kind=EdgeKind.RUNS_IN.value)
        if c.shares_netns_with in hg.containers:
            g.add_edge(c.id, c.shares_netns_with, kind=EdgeKind.SHARES_NETNS.value)
        if c.pod in hg.pods:
            g.add_edge(c.id, c.pod, kind=EdgeKind.MEMBER_OF.value)
    return g


def edges_of_kind(g: nx.MultiDiGraph, kind: EdgeKind):
    """(u, v, data) for every edge of one kind."""
    return ((u, v, d) for u, v, d in g.edges(data=True) if d["kind"] == kind)
