"""Build the host graph from a snapshot.

Nodes are keyed by model ids; each carries `kind` (a NodeKind) and `obj` (the model object).
Edges carry `kind` (an EdgeKind) and, for routes, the route. Multi-edges are allowed: a
namespace routes many prefixes through one interface.
"""

from __future__ import annotations

from enum import StrEnum

import networkx as nx

from netscope.model import Snapshot


class NodeKind(StrEnum):
    NAMESPACE = "netns"
    INTERFACE = "interface"
    BRIDGE = "bridge"
    CONTAINER = "container"


class EdgeKind(StrEnum):
    IN_NAMESPACE = "in_namespace"   # interface -> its namespace
    VETH_PEER = "veth_peer"         # veth end -> the other end (both directions)
    BRIDGE_PORT = "bridge_port"     # port -> bridge it is enslaved to (and back)
    LOWER = "lower"                 # macvlan/vlan/vxlan -> parent device
    ROUTE_VIA = "route_via"         # namespace -> interface a route leaves through
    RUNS_IN = "runs_in"             # container -> namespace
    SHARES_NETNS = "shares_netns"   # container -> container whose namespace it joined


def build_graph(snapshot: Snapshot) -> nx.MultiDiGraph:
    """The whole host as one graph (see the module docstring for the vocabulary)."""
    g = nx.MultiDiGraph()
    for ns in snapshot.namespaces:
        g.add_node(ns.id, kind=NodeKind.NAMESPACE, obj=ns, label=ns.name)
    for link in snapshot.links:
        kind = NodeKind.BRIDGE if link.kind == "bridge" else NodeKind.INTERFACE
        g.add_node(link.id, kind=kind, obj=link, label=link.name)
        g.add_edge(link.id, link.netns, kind=EdgeKind.IN_NAMESPACE)
    for link in snapshot.links:
        if link.peer is not None and link.peer.link in g:
            g.add_edge(link.id, link.peer.link, kind=EdgeKind.VETH_PEER)
        if link.master in g:
            g.add_edge(link.id, link.master, kind=EdgeKind.BRIDGE_PORT)
            g.add_edge(link.master, link.id, kind=EdgeKind.BRIDGE_PORT)
        if link.parent in g:
            g.add_edge(link.id, link.parent, kind=EdgeKind.LOWER)
    for route in snapshot.routes:
        for hop in route.nexthops:
            if hop.link in g and route.type == "unicast":
                g.add_edge(route.netns, hop.link, kind=EdgeKind.ROUTE_VIA, route=route,
                           gateway=hop.gateway)
    for c in snapshot.containers:
        g.add_node(c.id, kind=NodeKind.CONTAINER, obj=c, label=c.name)
        if c.netns in g:
            g.add_edge(c.id, c.netns, kind=EdgeKind.RUNS_IN)
        if c.shares_netns_with in g:
            g.add_edge(c.id, c.shares_netns_with, kind=EdgeKind.SHARES_NETNS)
    return g


def edges_of_kind(g: nx.MultiDiGraph, kind: EdgeKind):
    """(u, v, data) for every edge of one kind."""
    return ((u, v, d) for u, v, d in g.edges(data=True) if d["kind"] == kind)
