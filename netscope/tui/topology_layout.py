"""The host's topology drawn as lines of text: bridges as hubs with their namespaces as boxes
below them, veth pairs between namespaces as joined boxes, the rest as a grid.

Pure (no Textual): `draw_topology` returns lines of `Segment`s whose `style` is a role name
(up, down, changed, path, current, drop, selected, dim, title) the widget maps to colours,
and whose `target` is the id a click selects. Bridges with many ports collapse their quiet
namespaces (links up, no drops, nothing highlighted) into groups by name, so a host with
hundreds of namespaces reads as a few boxes plus whatever needs attention.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from netscope.model import Link
from netscope.model.index import SnapshotIndex
from netscope.model.labels import global_addresses, ns_order
from netscope.model.safe_text import safe

BOX_W = 28
MAX_BOXES = 16
GROUP_MIN = 3


@dataclass(frozen=True)
class Segment:
    text: str
    style: str = ""
    target: str | None = None


Line = list[Segment]


@dataclass
class Marks:
    """What to highlight: changed ids, the journey's ids, the selection, drop counts per link,
    the namespaces the filter lets through (None: all), and whether groups are expanded."""

    changed: frozenset[str] = frozenset()
    on_path: frozenset[str] = frozenset()
    current: frozenset[str] = frozenset()
    dropped: frozenset[str] = frozenset()
    selected: str | None = None
    # drop counters per link id and namespace id; None while drops are not being counted
    drops: dict[str, int] | None = None
    visible: frozenset[str] | None = None
    expanded: bool = False
    # links and namespaces with drops the kernel gave a reason for (not NOT_SPECIFIED)
    alerts: frozenset[str] = frozenset()

    def drop_count(self, link: str | None) -> int | None:
        if self.drops is None:
            return None
        return self.drops.get(link or "", 0)

    def drop_role(self, *ids: str | None) -> str:
        """"drop" (red) for drops with a reason, "drops" for unspecified ones only, else ""."""
        if any(i in self.alerts for i in ids if i):
            return "drop"
        return "drops" if any(self.drop_count(i) for i in ids) else ""

    def drop_mark(self, link: str | None) -> str:
        """" ✗N" after a device name when it dropped N packets, else ""."""
        n = self.drop_count(link)
        return f" ✗{n}" if n else ""

    def role(self, *ids: str | None, base: str = "") -> str:
        """The strongest highlight any of `ids` has, else `base`."""
        present = {i for i in ids if i}
        for marked, role in ((self.dropped, "drop"), (self.current, "current")):
            if present & marked:
                return role
        if self.selected in present:
            return "selected"
        if present & self.changed:
            return "changed"
        if present & self.on_path:
            return "path"
        return base


def _glyph(link: Link | None) -> Segment:
    if link is None:
        return Segment("?", "dim")
    if link.up and link.operstate in ("UP", "UNKNOWN"):
        return Segment("●", "up")
    return Segment("○", "down")


def _drops_text(n: int) -> str:
    return f"{n} drop" if n == 1 else f"{n} drops"


def _fit(text: str, width: int) -> str:
    text = safe(text)  # escaped before measuring, so boxes stay aligned around hostile names
    return text[: width - 1] + "…" if len(text) > width else text.ljust(width)


def _link_text(link: Link, index: SnapshotIndex) -> str:
    addrs = global_addresses(link, index)
    return f"{link.name} {addrs[0]}" if addrs else link.name


@dataclass(frozen=True)
class _Spoke:
    """A bridge port and what is on the other end of its veth."""

    port: Link
    peer: Link | None
    netns: str | None


def _box(index: SnapshotIndex, marks: Marks, netns: str | None, inner: Link | None,
         title: str | None = None, width: int = BOX_W) -> list[Line]:
    """A namespace box: title, one link with its state, the drop count."""
    w = width - 2
    name = title or (index.ns_name(netns) if netns else "?")
    role = marks.role(netns, inner.id if inner else None)
    head = f"─ {_fit(name, w - 3).rstrip()} "
    top = [Segment("┌" + head + "─" * (w - len(head)) + "┐", role or "title", netns)]
    if inner is not None:
        body = [Segment("│", role), _glyph(inner),
                Segment(_fit(" " + _link_text(inner, index), w - 1), role, inner.id),
                Segment("│", role)]
        drops = marks.drop_count(inner.id)
        links = len(index.links_by_ns.get(netns, [])) if netns else 0
        info = f" {links} links · " + (_drops_text(drops) if drops is not None
                                       else f"mtu {inner.mtu}")
        info_line = [Segment("│", role),
                     Segment(_fit(info, w), marks.drop_role(inner.id) or "dim"),
                     Segment("│", role)]
    else:
        body = [Segment("│", role), Segment(_fit(" (peer not visible)", w), "dim"),
                Segment("│", role)]
        info_line = [Segment("│" + " " * w + "│", role)]
    bottom = [Segment("└" + "─" * w + "┘", role)]
    return [top, body, info_line, bottom]


def _spokes(index: SnapshotIndex, bridge: Link) -> list[_Spoke]:
    out = []
    for port in sorted(index.ports_by_bridge.get(bridge.id, []), key=lambda x: x.name):
        peer = index.links.get(port.peer.link) if port.peer and port.peer.link else None
        out.append(_Spoke(port, peer, peer.netns if peer else None))
    return out


def _spoke_ids(spoke: _Spoke) -> set[str | None]:
    return {spoke.port.id, spoke.peer.id if spoke.peer else None, spoke.netns}


def _must_show(spoke: _Spoke, marks: Marks) -> bool:
    """A link down, or something highlighted there: always drawn on its own."""
    return (not all(x is not None and x.up for x in (spoke.port, spoke.peer))
            or bool(marks.role(*_spoke_ids(spoke))))


def _spoke_drops(spoke: _Spoke, marks: Marks) -> int:
    return sum(marks.drop_count(i) or 0 for i in _spoke_ids(spoke))


def _group_key(name: str) -> str:
    return re.sub(r"\d+$", "", name) or name


def _groups(index: SnapshotIndex, spokes: list[_Spoke], marks: Marks
            ) -> tuple[list[_Spoke], list[tuple[str, list[_Spoke]]]]:
    """(spokes drawn one by one, [(group title, spokes)]) for a bridge with many ports."""
    if marks.expanded or len(spokes) <= MAX_BOXES:
        return spokes, []
    must = [s for s in spokes if _must_show(s, marks)]
    # drops with a reason pull a namespace out of its group, the most dropping first, as long
    # as there is room: a drop storm over hundreds of namespaces stays a few readable boxes
    dropping = sorted((s for s in spokes if s not in must and _spoke_ids(s) & marks.alerts),
                      key=lambda s: -_spoke_drops(s, marks))
    drawn = {id(s) for s in must + dropping[:max(0, MAX_BOXES - len(must))]}
    single = [s for s in spokes if id(s) in drawn]
    by_key: dict[str, list[_Spoke]] = {}
    for s in spokes:
        if id(s) not in drawn:
            by_key.setdefault(_group_key(index.ns_name(s.netns or "?")), []).append(s)
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


def _group_box(index: SnapshotIndex, title: str, members: list[_Spoke], marks: Marks,
               width: int) -> list[Line]:
    w = width - 2
    addrs = [a for s in members if s.peer for a in global_addresses(s.peer, index)[:1]]
    span = f"{addrs[0]} … {addrs[-1]}" if len(addrs) > 1 else (addrs[0] if addrs else "")
    head = f"─ {title} · {len(members)} namespaces "
    ids = [i for s in members for i in (s.port.id, s.peer.id if s.peer else None) if i]
    dropped = sum(marks.drop_count(i) or 0 for i in ids)
    return [
        [Segment("┌" + head + "─" * max(0, w - len(head)) + "┐", "title")],
        [Segment("│"), Segment("●", "up"),
         Segment(_fit(f" all {2 * len(members)} veth ends UP"
                      + (f" · {_drops_text(dropped)}" if marks.drops is not None else ""), w - 1),
                 marks.drop_role(*ids)),
         Segment("│")],
        [Segment("│"), Segment(_fit(f" {span}  (e: expand groups)", w), "dim"), Segment("│")],
        [Segment("└" + "─" * w + "┘")],
    ]


def _grid(cells: list[tuple[Link, list[Line], Marks]], width: int, trunk_last: bool
          ) -> list[Line]:
    """Rows of boxes hanging from a bus line; each with its host-side port above it."""
    per_row = max(1, (width - 1) // (BOX_W + 1))
    lines: list[Line] = []
    rows = [cells[i:i + per_row] for i in range(0, len(cells), per_row)]
    for r, row in enumerate(rows):
        last = r == len(rows) - 1 and trunk_last
        trunk = " " if last else "│"
        bus = [Segment("└" if last else "├")]
        ports: Line = [Segment(trunk)]
        for n, (port, _, marks) in enumerate(row):
            bus.append(Segment("┬" + ("─" * BOX_W if n < len(row) - 1 else "")))
            label = _fit(" " + port.name + marks.drop_mark(port.id), BOX_W)
            ports += [_glyph(port), Segment(label, marks.role(port.id) or marks.drop_role(
                port.id), port.id)]
        lines += [bus, ports]
        for k in range(4):
            line: Line = [Segment(trunk)]
            for _, box, _ in row:
                line += [*box[k], Segment(" ")]
            lines.append(line)
    return lines


def _hub_section(index: SnapshotIndex, marks: Marks, hub_ns: str, width: int,
                 shown: set[str]) -> list[Line]:
    links = sorted(index.links_by_ns.get(hub_ns, []), key=lambda x: x.ifindex)
    bridges = [x for x in links if x.kind == "bridge"]
    title = f"━━ {index.ns_name(hub_ns)} "
    dropped = marks.drop_count(hub_ns)
    tally = f"· {_drops_text(dropped)} " if dropped else ""
    lines: list[Line] = [[Segment(title, marks.role(hub_ns, base="title"), hub_ns),
                          Segment(tally, marks.drop_role(hub_ns)),
                          Segment("━" * max(0, width - len(title) - len(tally)), "dim")]]
    devices: Line = [Segment("  ")]
    for link in links:
        if (link.kind in ("bridge", "loopback") or link.master
                or (link.peer and link.peer.link)):
            continue
        devices += [_glyph(link), Segment(
            f" {_link_text(link, index)}{marks.drop_mark(link.id)}   ",
            marks.role(link.id) or marks.drop_role(link.id), link.id)]
    if len(devices) > 1:
        lines.append(devices)
    for bridge in bridges:
        spokes = [s for s in _spokes(index, bridge)
                  if marks.visible is None or s.netns in marks.visible]
        addrs = " ".join(global_addresses(bridge, index))
        lines.append([Segment("◆ ", "title"), _glyph(bridge),
                      Segment(f" {bridge.name}", marks.role(bridge.id, base="title"), bridge.id),
                      Segment(f"  bridge  {addrs}  {len(spokes)} ports", "dim"),
                      Segment(marks.drop_mark(bridge.id), marks.drop_role(bridge.id))])
        single, groups = _groups(index, spokes, marks)
        cells = [(s.port, _box(index, marks, s.netns, s.peer), marks) for s in single]
        lines += _grid(cells, width, trunk_last=not groups)
        for g, (title, members) in enumerate(groups):
            last = g == len(groups) - 1
            box = _group_box(index, title, members, marks, min(width - 2, 3 * BOX_W))
            lines.append([Segment("└" if last else "├"), Segment("┬")])
            for row in box:
                lines.append([Segment(" " if last else "│"), *row])
        shown.update(s.netns for s in spokes if s.netns)
        lines.append([])
    shown.add(hub_ns)
    return lines


def _pairs(index: SnapshotIndex, marks: Marks, shown: set[str]) -> list[Line]:
    """Veth pairs between two namespaces that are not bridge ports: two boxes joined."""
    lines: list[Line] = []
    seen: set[str] = set()
    for link in sorted(index.snapshot.links, key=lambda x: x.id):
        peer = index.links.get(link.peer.link) if link.peer and link.peer.link else None
        if (peer is None or link.id in seen or link.master or peer.master
                or peer.netns == link.netns):
            continue
        if marks.visible is not None and not {link.netns, peer.netns} & marks.visible:
            continue
        seen.update((link.id, peer.id))
        left = _box(index, marks, link.netns, link)
        right = _box(index, marks, peer.netns, peer)
        edge_role = marks.role(link.id, peer.id)
        for k in range(4):
            mid = Segment("══════" if k == 1 else "      ", edge_role or "dim")
            lines.append([*left[k], mid, *right[k]])
        shown.update((link.netns, peer.netns))
    return lines


def _hub_visible(index: SnapshotIndex, marks: Marks, netns: str) -> bool:
    bridges = [x for x in index.links_by_ns.get(netns, []) if x.kind == "bridge"]
    if not bridges:
        return False
    if marks.visible is None or netns in marks.visible:
        return True
    return any(s.netns in marks.visible for b in bridges for s in _spokes(index, b))


def draw_topology(index: SnapshotIndex, marks: Marks, width: int = 100) -> list[Line]:
    """The whole picture, top to bottom: hubs, point-to-point pairs, everything else."""
    shown: set[str] = set()
    lines: list[Line] = []
    for netns in ns_order(index):
        if _hub_visible(index, marks, netns):
            lines += _hub_section(index, marks, netns, width, shown)
    pairs = _pairs(index, marks, shown)
    if pairs:
        lines += [[Segment("━━ veth pairs between namespaces", "title")], *pairs, []]
    rest = [ns for ns in ns_order(index) if ns not in shown
            and (marks.visible is None or ns in marks.visible)]
    if rest:
        lines.append([Segment("━━ other namespaces", "title")])
        cells = []
        for ns in rest:
            links = [x for x in index.links_by_ns.get(ns, []) if x.kind != "loopback"]
            first = links[0] if links else next(iter(index.links_by_ns.get(ns, [])), None)
            cells.append(_box(index, marks, ns, first))
        per_row = max(1, width // (BOX_W + 1))
        for i in range(0, len(cells), per_row):
            for k in range(4):
                line: Line = []
                for box in cells[i:i + per_row]:
                    line += [*box[k], Segment(" ")]
                lines.append(line)
    return lines
