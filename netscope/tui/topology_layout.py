"""The host's topology drawn as lines of text, from the one projection every export draws
(netscope.graph.topology): bridges as hubs with the namespaces on their ports as boxes
below them, veth pairs between namespaces as joined boxes, devices built on a parent
(macvlan, ipvlan, vlan, VXLAN) hanging from that parent, the rest as a grid.

Pure (no Textual): `draw_topology` returns a `Picture`: lines of `Segment`s (see
topology_boxes) and the projection's edges it drew, so a test can hold the TUI to the exports'
edges. Hubs with many namespaces collapse the quiet ones (links up, no drops, nothing
highlighted) into groups by name, so a host with hundreds of namespaces reads as a few boxes
plus whatever needs attention; a group's edges count as drawn.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

from netscope.graph.host import HostGraph
from netscope.graph.topology import LOWER, PORT, TUNNEL, VETH, Edge, Topology
from netscope.model import Link
from netscope.model.labels import global_addresses
from netscope.tui.topology_boxes import (
    BOX_W,
    Line,
    Marks,
    Segment,
    box,
    drops_text,
    fit,
    glyph,
    grid,
    group_box,
    link_text,
)

__all__ = ["BOX_W", "GROUP_MIN", "MAX_BOXES", "Line", "Marks", "Picture", "Segment",
           "draw_topology"]

MAX_BOXES = 16
GROUP_MIN = 3


@dataclass
class Picture:
    """The drawing, and the projection's edges it shows (one by one or inside a group)."""

    lines: list[Line] = field(default_factory=list)
    edges: set[Edge] = field(default_factory=set)
    shown: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class _Spoke:
    """One box hanging from a hub: `near` is the hub's side (a bridge port; None for a
    device on a parent), `far` the device in the box, `netns` the box's namespace, `edges`
    the projection's edges the spoke stands for."""

    near: Link | None
    far: Link | None
    netns: str | None
    edges: tuple[Edge, ...]


def _ids(spoke: _Spoke) -> set[str | None]:
    return {spoke.near.id if spoke.near else None, spoke.far.id if spoke.far else None,
            spoke.netns}


def _must_show(spoke: _Spoke, marks: Marks) -> bool:
    """A link down, or something highlighted there: always drawn on its own."""
    ends = [x for x in (spoke.near, spoke.far) if x is not None] or [None]
    return (not all(x is not None and x.up for x in ends)
            or bool(marks.role(*_ids(spoke))))


def _spoke_drops(spoke: _Spoke, marks: Marks) -> int:
    return sum(marks.drop_count(i) or 0 for i in _ids(spoke))


def _group_key(name: str) -> str:
    return re.sub(r"\d+$", "", name) or name


def _groups(graph: HostGraph, spokes: list[_Spoke], marks: Marks
            ) -> tuple[list[_Spoke], list[tuple[str, list[_Spoke]]]]:
    """(spokes drawn one by one, [(group title, spokes)]) for a hub with many of them."""
    if marks.expanded or len(spokes) <= MAX_BOXES:
        return spokes, []
    must = [s for s in spokes if _must_show(s, marks)]
    # drops with a reason pull a namespace out of its group, the most dropping first, as long
    # as there is room: a drop storm over hundreds of namespaces stays a few readable boxes
    dropping = sorted((s for s in spokes if s not in must and _ids(s) & marks.alerts),
                      key=lambda s: -_spoke_drops(s, marks))
    drawn = {id(s) for s in must + dropping[:max(0, MAX_BOXES - len(must))]}
    single = [s for s in spokes if id(s) in drawn]
    by_key: dict[str, list[_Spoke]] = {}
    for s in spokes:
        if id(s) not in drawn:
            by_key.setdefault(_group_key(graph.ns_name(s.netns or "?")), []).append(s)
    groups, rest = [], []
    for key, members in sorted(by_key.items()):
        if len(members) >= GROUP_MIN:
            groups.append((f"{key}*", members))
        else:
            rest += members
    if len(single) + len(rest) > MAX_BOXES:
        groups.append(("other namespaces", rest))
    else:
        single += rest
    return single, groups


def _spoke_label(spoke: _Spoke, marks: Marks) -> Line:
    """What is written above a spoke's box: the bridge port, or the relation to the parent."""
    if spoke.near is not None:
        port = spoke.near
        return [glyph(port), Segment(fit(" " + port.name + marks.drop_mark(port.id), BOX_W),
                                     marks.role(port.id) or marks.drop_role(port.id), port.id)]
    far = spoke.far
    return [Segment("┆", "lower"),
            Segment(fit(f" {far.kind} on the parent" if far else " ?", BOX_W), "lower")]


def _spoke_box(graph: HostGraph, spoke: _Spoke, marks: Marks) -> list[Line]:
    port = spoke.near
    if spoke.far is None and port is not None and port.kind != "veth":
        remote = port.details.get("remote") or port.details.get("group")
        what = (f"vxlan {port.details.get('vni', '?')} → {remote or '(learned)'}"
                if port.kind == "vxlan" else f"{port.kind} port")
        return box(graph, marks, port.netns, None, empty=what)
    return box(graph, marks, spoke.netns, spoke.far)


def _hub(graph: HostGraph, spokes: list[_Spoke], marks: Marks, width: int,
         picture: Picture) -> list[Line]:
    """The boxes (and groups) hanging from one bridge or parent device."""
    single, groups = _groups(graph, spokes, marks)
    cells = [(_spoke_label(s, marks), _spoke_box(graph, s, marks)) for s in single]
    lines = grid(cells, width, trunk_last=not groups)
    for g, (title, members) in enumerate(groups):
        last = g == len(groups) - 1
        ends = [x for s in members for x in (s.near, s.far) if x is not None]
        far = [s.far for s in members if s.far is not None]
        what = "veth ends" if members[0].near is not None else "devices"
        drawn = group_box(graph, title, len(members), ends, far, marks,
                          min(width - 2, 3 * BOX_W), what)
        lines.append([Segment("└" if last else "├"), Segment("┬")])
        for row in drawn:
            lines.append([Segment(" " if last else "│"), *row])
    for s in spokes:
        picture.edges.update(s.edges)
        picture.shown.update(x for x in (s.netns,) if x)
    return lines


def _bridge_spokes(graph: HostGraph, topo: Topology, bridge: Link) -> list[_Spoke]:
    out = []
    for port_id in sorted(topo.ports(bridge.id), key=lambda i: graph.links[i].name):
        port = graph.links[port_id]
        partner = topo.veth_partner(port_id)
        far = graph.links[partner] if partner else None
        edges = [Edge(port_id, bridge.id, PORT)]
        if partner:
            edges.append(Edge(*sorted((port_id, partner)), VETH))
        out.append(_Spoke(port, far, far.netns if far else None, tuple(edges)))
    return out


def _visible_spokes(spokes: list[_Spoke], marks: Marks) -> list[_Spoke]:
    return [s for s in spokes if marks.visible is None or s.netns in marks.visible]


def _hub_section(graph: HostGraph, topo: Topology, marks: Marks, hub_ns: str, width: int,
                 picture: Picture) -> list[Line]:
    links = sorted(graph.links_in(hub_ns), key=lambda x: x.ifindex)
    title = f"━━ {graph.ns_name(hub_ns)} "
    dropped = marks.drop_count(hub_ns)
    tally = f"· {drops_text(dropped)} " if dropped else ""
    lines: list[Line] = [[Segment(title, marks.role(hub_ns, base="title"), hub_ns),
                          Segment(tally, marks.drop_role(hub_ns)),
                          Segment("━" * max(0, width - len(title) - len(tally)), "dim")]]
    devices: Line = [Segment("  ")]
    for link in links:
        node = topo.node(link.id)
        if (node is None or link.kind == "bridge" or graph.master(link) is not None
                or topo.veth_partner(link.id)):
            continue
        devices += [glyph(link), Segment(
            f" {link_text(link, graph)}{marks.drop_mark(link.id)}   ",
            marks.role(link.id) or marks.drop_role(link.id), link.id)]
    if len(devices) > 1:
        lines.append(devices)
    for bridge in (x for x in links if x.kind == "bridge"):
        spokes = _visible_spokes(_bridge_spokes(graph, topo, bridge), marks)
        addrs = " ".join(global_addresses(bridge, graph))
        lines.append([Segment("◆ ", "title"), glyph(bridge),
                      Segment(f" {bridge.name}", marks.role(bridge.id, base="title"), bridge.id),
                      Segment(f"  bridge  {addrs}  {len(spokes)} ports", "dim"),
                      Segment(marks.drop_mark(bridge.id), marks.drop_role(bridge.id))])
        lines += _hub(graph, spokes, marks, width, picture)
        lines.append([])
    picture.shown.add(hub_ns)
    return lines


def _pairs(graph: HostGraph, topo: Topology, marks: Marks, picture: Picture) -> list[Line]:
    """Veth pairs that are not bridge ports: two boxes joined."""
    lines: list[Line] = []
    ported = {e.a for e in topo.edges if e.kind == PORT}
    for edge in sorted(topo.edges, key=lambda e: e.a):
        if edge.kind != VETH or edge.a in ported or edge.b in ported:
            continue
        left, right = graph.links[edge.a], graph.links[edge.b]
        if marks.visible is not None and not {left.netns, right.netns} & marks.visible:
            continue
        a, b = box(graph, marks, left.netns, left), box(graph, marks, right.netns, right)
        edge_role = marks.role(left.id, right.id)
        for k in range(4):
            mid = Segment("══════" if k == 1 else "      ", edge_role or "dim")
            lines.append([*a[k], mid, *b[k]])
        picture.edges.add(edge)
        picture.shown.update((left.netns, right.netns))
    return lines


def _lowers(graph: HostGraph, topo: Topology, marks: Marks, width: int,
            picture: Picture) -> list[Line]:
    """Each parent device with the macvlans, vlans and VXLANs built on it hanging below."""
    lines: list[Line] = []
    for parent_id in topo.parents():
        parent = graph.links[parent_id]
        spokes = []
        for upper_id in topo.uppers(parent_id):
            upper = graph.links[upper_id]
            spokes.append(_Spoke(None, upper, upper.netns, (Edge(upper_id, parent_id, LOWER),)))
        visible = _visible_spokes(spokes, marks)
        if marks.visible is not None and not visible and parent.netns not in marks.visible:
            continue
        kinds = ", ".join(sorted({s.far.kind for s in spokes}))
        lines.append([Segment("┆ ", "lower"), glyph(parent),
                      Segment(f" {link_text(parent, graph)}", marks.role(parent.id,
                                                                         base="title"),
                              parent.id),
                      Segment(f" in {graph.ns_name(parent.netns)}", marks.role(
                          parent.netns, base="dim"), parent.netns),
                      Segment(f"  parent of {len(spokes)} {kinds}", "dim"),
                      Segment(marks.drop_mark(parent.id), marks.drop_role(parent.id))])
        lines += _hub(graph, visible, marks, width, picture)
        lines.append([])
    return lines


def _hub_visible(graph: HostGraph, topo: Topology, marks: Marks, netns: str) -> bool:
    bridges = [x for x in graph.links_in(netns) if x.kind == "bridge"]
    if not bridges:
        return False
    if marks.visible is None or netns in marks.visible:
        return True
    return any(_visible_spokes(_bridge_spokes(graph, topo, b), marks) for b in bridges)


def _rest(graph: HostGraph, marks: Marks, width: int, namespaces: list[str]) -> list[Line]:
    lines: list[Line] = [[Segment("━━ other namespaces", "title")]]
    cells = []
    for ns in namespaces:
        links = [x for x in graph.links_in(ns) if x.kind != "loopback"]
        first = links[0] if links else next(iter(graph.links_in(ns)), None)
        cells.append(box(graph, marks, ns, first, empty="(no interface)"))
    per_row = max(1, width // (BOX_W + 1))
    for i in range(0, len(cells), per_row):
        for k in range(4):
            line: Line = []
            for cell in cells[i:i + per_row]:
                line += [*cell[k], Segment(" ")]
            lines.append(line)
    return lines


def draw_topology(graph: HostGraph, marks: Marks, width: int = 100) -> Picture:
    """The whole picture, top to bottom: hubs, point-to-point pairs, devices on a parent,
    everything else; in a cluster document, that for each node, then the tunnels and the
    network between the nodes."""
    if not graph.nodes:
        return _draw(graph, marks, width, graph.ns_order(), Picture())
    picture = Picture()
    for node in graph.nodes:
        mine = frozenset(ns for ns in graph.ns_order() if graph.node_of(ns) == node.name)
        shown = mine if marks.visible is None else mine & marks.visible
        if not shown:
            continue
        title = f"══ node {node.name}  {node.kernel}  captured {node.captured_at} "
        picture.lines.append([Segment(title, "title"),
                              Segment("═" * max(0, width - len(title)), "title")])
        _draw(graph, dataclasses.replace(marks, visible=shown), width,
              [ns for ns in graph.ns_order() if ns in shown], picture)
    picture.lines += _between_nodes(graph, graph.topology, marks, picture)
    return picture


def _between_nodes(graph: HostGraph, topo: Topology, marks: Marks,
                   picture: Picture) -> list[Line]:
    """One line per tunnel or underlay edge between nodes."""
    lines: list[Line] = []
    for edge in topo.between_nodes():
        a, b = graph.links[edge.a], graph.links[edge.b]
        if marks.visible is not None and not {a.netns, b.netns} & marks.visible:
            continue
        if edge.kind == TUNNEL:
            how = f"  vxlan {a.details.get('vni', '?')} ⇄  "
        else:
            how = "  ─── network between nodes ───  "
        lines.append([Segment("  "), glyph(a),
                      Segment(f" {graph.link_label(a.id)}", marks.role(a.id), a.id),
                      Segment(how, marks.role(a.id, b.id) or ("lower" if edge.kind == TUNNEL
                                                              else "dim")),
                      glyph(b), Segment(f" {graph.link_label(b.id)}", marks.role(b.id), b.id)])
        picture.edges.add(edge)
    if lines:
        lines.insert(0, [Segment("━━ between nodes (tunnels, and the network they cross)",
                                 "title")])
    return lines


def _draw(graph: HostGraph, marks: Marks, width: int, order: list[str],
          picture: Picture) -> Picture:
    topo = graph.topology
    for netns in order:
        if _hub_visible(graph, topo, marks, netns):
            picture.lines += _hub_section(graph, topo, marks, netns, width, picture)
    pairs = _pairs(graph, topo, marks, picture)
    if pairs:
        picture.lines += [[Segment("━━ veth pairs between namespaces", "title")], *pairs, []]
    lowers = _lowers(graph, topo, marks, width, picture)
    if lowers:
        picture.lines += [[Segment("━━ devices on a parent (macvlan, ipvlan, vlan, VXLAN)",
                                   "title")], *lowers]
    rest = [ns for ns in order if ns not in picture.shown
            and (marks.visible is None or ns in marks.visible)]
    if rest:
        picture.lines += _rest(graph, marks, width, rest)
    return picture
