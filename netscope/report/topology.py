"""The topology picture every export draws: namespaces as groups of interfaces, joined by
veth pairs, bridge ports and lower-device links, arranged in layers around the hub.

Pure: `topology(snapshot)` returns plain data (groups, nodes, edges, layers) that the DOT,
Mermaid and SVG writers turn into text. Loopback devices are left out: every namespace has
one and it joins nothing.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass

from netscope.model import Snapshot
from netscope.model.index import SnapshotIndex
from netscope.model.labels import global_addresses, link_state, ns_order


@dataclass(frozen=True)
class Node:
    """An interface: `id` is its link id, `label` the device name, `detail` kind and state,
    `addresses` its non-link-local CIDRs, `state` "up", "down" or "unknown"."""

    id: str
    group: str
    label: str
    kind: str
    detail: str
    addresses: tuple[str, ...]
    state: str


@dataclass(frozen=True)
class Group:
    """A namespace: its name, the containers in it, its interfaces, its layer in the picture."""

    id: str
    label: str
    containers: tuple[str, ...]
    nodes: tuple[Node, ...]
    layer: int
    component: int


@dataclass(frozen=True)
class Edge:
    """"veth" (the two ends of a pair), "port" (bridge port -> bridge), "lower" (a macvlan,
    vlan or vxlan -> its parent device)."""

    a: str
    b: str
    kind: str


@dataclass(frozen=True)
class Topology:
    groups: tuple[Group, ...]
    edges: tuple[Edge, ...]


def _state(link) -> str:
    state = link_state(link)
    if state == "DOWN":
        return "down"
    return "up" if state == "UP" else "unknown"


def _edges(snapshot: Snapshot, shown: set[str]) -> list[Edge]:
    out, seen = [], set()
    for link in snapshot.links:
        if link.id not in shown:
            continue
        if link.peer and link.peer.link in shown:
            pair = tuple(sorted((link.id, link.peer.link)))
            if pair not in seen:
                seen.add(pair)
                out.append(Edge(pair[0], pair[1], "veth"))
        if link.master in shown:
            out.append(Edge(link.id, link.master, "port"))
        if link.parent in shown:
            out.append(Edge(link.id, link.parent, "lower"))
    return out


def _layers(order: list[str], edges: list[Edge], group_of: dict[str, str]
            ) -> dict[str, tuple[int, int]]:
    """(component, layer) per namespace: breadth-first from the best-connected namespace
    of each connected component, so the hub (the host, a bridge's namespace) is on top."""
    neighbours: dict[str, set[str]] = defaultdict(set)
    for e in edges:
        ga, gb = group_of[e.a], group_of[e.b]
        if ga != gb:
            neighbours[ga].add(gb)
            neighbours[gb].add(ga)
    placed: dict[str, tuple[int, int]] = {}
    component = 0
    for start in sorted(order, key=lambda g: (-len(neighbours[g]), order.index(g))):
        if start in placed:
            continue
        queue = deque([(start, 0)])
        placed[start] = (component, 0)
        while queue:
            current, depth = queue.popleft()
            for nxt in sorted(neighbours[current], key=order.index):
                if nxt not in placed:
                    placed[nxt] = (component, depth + 1)
                    queue.append((nxt, depth + 1))
        component += 1
    return placed


def topology(snapshot: Snapshot) -> Topology:
    """Groups in layer order, and the edges between their interfaces."""
    ix = SnapshotIndex(snapshot)
    order = ns_order(ix)
    nodes_by_ns: dict[str, list[Node]] = {}
    for ns_id in order:
        nodes = []
        for link in sorted(ix.links_by_ns.get(ns_id, []), key=lambda x: x.ifindex):
            if link.kind == "loopback" or link.name == "lo":
                continue
            detail = f"{link.kind} {link_state(link)} mtu {link.mtu}"
            nodes.append(Node(link.id, ns_id, link.name, link.kind, detail,
                              tuple(global_addresses(link, ix)), _state(link)))
        nodes_by_ns[ns_id] = nodes
    shown = {n.id for nodes in nodes_by_ns.values() for n in nodes}
    group_of = {n.id: n.group for nodes in nodes_by_ns.values() for n in nodes}
    edges = _edges(snapshot, shown)
    placed = _layers(order, edges, group_of)
    groups = [Group(ns_id, ix.ns_name(ns_id),
                    tuple(c.name for c in ix.containers_by_ns.get(ns_id, [])),
                    tuple(nodes_by_ns[ns_id]), placed[ns_id][1], placed[ns_id][0])
              for ns_id in order]
    groups.sort(key=lambda g: (g.component, g.layer))
    return Topology(tuple(groups), tuple(edges))
