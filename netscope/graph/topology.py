"""The one topology projection: what the TUI and every export (DOT, Mermaid, SVG, HTML) draw.

`project(graph)` (or `HostGraph.topology`, built once per graph) turns the host graph into
plain data: namespaces as groups of interfaces, edges between interfaces, and a layer per
namespace. Edges are of three kinds, all taken from the HostGraph's relations:

- "veth": the two ends of a veth pair (a, b sorted);
- "port": a bridge port -> its bridge (a = port, b = bridge);
- "lower": a device built on a parent -> the parent (a = macvlan/ipvlan/vlan/vxlan, b = its
  lower device);
- in a cluster document, between nodes: "tunnel", a VXLAN device and its twin (same VNI) on
  another node whose VTEP this node's FDB (or fixed remote) sends to; "underlay", a node's
  interface and another node's interface on the same subnet (a, b sorted for both).

Loopback devices are left out: every namespace has one and it joins nothing. The TUI groups
and collapses this picture for hundreds of namespaces; it never derives an edge of its own.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from netscope.model.labels import global_addresses, link_state

if TYPE_CHECKING:
    from netscope.graph.host import HostGraph
    from netscope.model import Link

VETH, PORT, LOWER, TUNNEL, UNDERLAY = "veth", "port", "lower", "tunnel", "underlay"


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
    """A namespace: its name, the containers in it, its interfaces, its place in the picture
    (`component`: which connected part of the host, `layer`: hops from that part's hub), and
    in a cluster document the node it is on."""

    id: str
    label: str
    containers: tuple[str, ...]
    nodes: tuple[Node, ...]
    layer: int
    component: int
    node: str | None = None


@dataclass(frozen=True)
class Edge:
    """Between two interfaces: kind "veth", "port" or "lower" (see the module docstring)."""

    a: str
    b: str
    kind: str


@dataclass(frozen=True)
class Topology:
    """Groups in drawing order (component, then layer), and the edges between interfaces."""

    groups: tuple[Group, ...]
    edges: tuple[Edge, ...]

    @cached_property
    def _adjacent(self) -> dict[tuple[str, str], list[str]]:
        out: dict[tuple[str, str], list[str]] = defaultdict(list)
        for e in self.edges:
            if e.kind == VETH:
                out[(VETH, e.a)].append(e.b)
                out[(VETH, e.b)].append(e.a)
            else:  # port -> bridge, upper -> parent: kept by the side they hang from
                out[(e.kind, e.b)].append(e.a)
        return dict(out)

    @cached_property
    def _nodes(self) -> dict[str, Node]:
        return {n.id: n for g in self.groups for n in g.nodes}

    def node(self, link_id: str) -> Node | None:
        return self._nodes.get(link_id)

    def veth_partner(self, link_id: str) -> str | None:
        """The other end of the veth pair `link_id` is in, when it is drawn."""
        found = self._adjacent.get((VETH, link_id))
        return found[0] if found else None

    def ports(self, bridge_id: str) -> list[str]:
        """Ids of the bridge's ports, in the order the snapshot lists them."""
        return self._adjacent.get((PORT, bridge_id), [])

    def uppers(self, parent_id: str) -> list[str]:
        """Ids of the devices built on `parent_id` (its macvlans, vlans, vxlans)."""
        return self._adjacent.get((LOWER, parent_id), [])

    def between_nodes(self) -> list[Edge]:
        """The tunnel and underlay edges between nodes (cluster documents)."""
        return [e for e in self.edges if e.kind in (TUNNEL, UNDERLAY)]

    def parents(self) -> list[str]:
        """Ids of the devices something is built on, in drawing order."""
        order = {n.id: i for i, n in enumerate(self._nodes.values())}
        return sorted({e.b for e in self.edges if e.kind == LOWER}, key=order.__getitem__)


def node_state(link: Link) -> str:
    """"up", "down" or "unknown" (administratively up, the carrier not known to be)."""
    state = link_state(link)
    if state == "DOWN":
        return "down"
    return "up" if state == "UP" else "unknown"


def _edges(graph: HostGraph, shown: set[str]) -> list[Edge]:
    out, seen = [], set()
    for link in graph.snapshot.links:
        if link.id not in shown:
            continue
        peer = graph.veth_peer(link)
        if peer is not None and peer.id in shown:
            pair = tuple(sorted((link.id, peer.id)))
            if pair not in seen:
                seen.add(pair)
                out.append(Edge(pair[0], pair[1], VETH))
        master = graph.master(link)
        if master is not None and master.id in shown:
            out.append(Edge(link.id, master.id, PORT))
        lower = graph.lower(link)
        if lower is not None and lower.id in shown:
            out.append(Edge(link.id, lower.id, LOWER))
    if graph.nodes:
        out += _between_nodes(graph, shown)
    return out


def _between_nodes(graph: HostGraph, shown: set[str]) -> list[Edge]:
    """Tunnel and underlay edges between the nodes of a cluster document."""
    out: set[Edge] = set()
    for link in graph.snapshot.links:
        if link.id not in shown or graph.node_of(link.netns) is None:
            continue
        if link.kind == "vxlan":
            sends_to = {f.dst for f in graph.fdb_of(link.id) if f.dst}
            sends_to |= {str(link.details["remote"])} if link.details.get("remote") else set()
            for other in graph.nodes:
                root = graph.node_root(other.name)
                twin = graph.vxlan_twin(link, root) if root and other.name != \
                    graph.node_of(link.netns) else None
                if twin is not None and twin.id in shown and \
                        graph.vtep_address(twin) in sends_to:
                    out.add(Edge(*sorted((link.id, twin.id)), TUNNEL))
        for far, _address in graph.underlay_neighbours(link):
            if far.id in shown:
                out.add(Edge(*sorted((link.id, far.id)), UNDERLAY))
    return sorted(out, key=lambda e: (e.kind, e.a, e.b))


def _layers(order: list[str], edges: list[Edge], group_of: dict[str, str]
            ) -> dict[str, tuple[int, int]]:
    """(component, layer) per namespace: breadth-first from the best-connected namespace
    of each connected component, so the hub (the host, a bridge's namespace) is on top."""
    position = {g: i for i, g in enumerate(order)}
    neighbours: dict[str, set[str]] = defaultdict(set)
    for e in edges:
        ga, gb = group_of[e.a], group_of[e.b]
        if ga != gb:
            neighbours[ga].add(gb)
            neighbours[gb].add(ga)
    placed: dict[str, tuple[int, int]] = {}
    component = 0
    for start in sorted(order, key=lambda g: (-len(neighbours[g]), position[g])):
        if start in placed:
            continue
        queue = deque([(start, 0)])
        placed[start] = (component, 0)
        while queue:
            current, depth = queue.popleft()
            for nxt in sorted(neighbours[current], key=position.__getitem__):
                if nxt not in placed:
                    placed[nxt] = (component, depth + 1)
                    queue.append((nxt, depth + 1))
        component += 1
    return placed


def project(graph: HostGraph) -> Topology:
    """The topology of `graph`: groups in layer order and the edges between their
    interfaces. Prefer `graph.topology`, which builds it once."""
    order = graph.ns_order()
    nodes_by_ns: dict[str, list[Node]] = {}
    for ns_id in order:
        nodes = []
        for link in sorted(graph.links_in(ns_id), key=lambda x: x.ifindex):
            if link.kind == "loopback" or link.name == "lo":
                continue
            detail = f"{link.kind} {link_state(link)} mtu {link.mtu}"
            nodes.append(Node(link.id, ns_id, link.name, link.kind, detail,
                              tuple(global_addresses(link, graph)), node_state(link)))
        nodes_by_ns[ns_id] = nodes
    group_of = {n.id: n.group for nodes in nodes_by_ns.values() for n in nodes}
    edges = _edges(graph, set(group_of))
    placed = _layers(order, edges, group_of)
    groups = [Group(ns_id, graph.ns_name(ns_id),
                    tuple(c.name for c in graph.containers_in(ns_id)),
                    tuple(nodes_by_ns[ns_id]), placed[ns_id][1], placed[ns_id][0],
                    graph.node_of(ns_id))
              for ns_id in order]
    groups.sort(key=lambda g: (g.component, g.layer))
    return Topology(tuple(groups), tuple(edges))
