"""The pieces the topology drawing is made of: segments of text with a role, the highlights
(Marks), namespace boxes, group boxes and the bus a row of boxes hangs from.

Pure (no Textual). A `Segment`'s `style` is a role name (up, down, changed, path, current,
drop, drops, selected, dim, title, lower) that the widget maps to a themed style, and its
`target` is the id a click selects.
"""

from __future__ import annotations

from dataclasses import dataclass

from netscope.graph.host import HostGraph
from netscope.model import Link
from netscope.model.labels import global_addresses
from netscope.model.safe_text import safe

BOX_W = 28


@dataclass(frozen=True)
class Segment:
    text: str
    style: str = ""
    target: str | None = None


Line = list[Segment]


@dataclass(frozen=True)
class Marks:
    """What to highlight: changed ids, the journey's ids (expected path, observed path, the
    current hop, the drop, where observed and expected part), the selection, drop counts per
    link, the namespaces the filter lets through (None: all), and whether groups are
    expanded."""

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
    # the expected path drawn under an observed one, and where the two part
    expected: frozenset[str] = frozenset()
    parted: frozenset[str] = frozenset()

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
        for marked, role in ((self.dropped, "drop"), (self.parted, "parted"),
                             (self.current, "current")):
            if present & marked:
                return role
        if self.selected in present:
            return "selected"
        if present & self.changed:
            return "changed"
        if present & self.on_path:
            return "path"
        if present & self.expected:
            return "expected"
        return base


def glyph(link: Link | None) -> Segment:
    if link is None:
        return Segment("?", "dim")
    if link.up and link.operstate in ("UP", "UNKNOWN"):
        return Segment("●", "up")
    return Segment("○", "down")


def drops_text(n: int) -> str:
    return f"{n} drop" if n == 1 else f"{n} drops"


def fit(text: str, width: int) -> str:
    text = safe(text)  # escaped before measuring, so boxes stay aligned around hostile names
    return text[: width - 1] + "…" if len(text) > width else text.ljust(width)


def link_text(link: Link, graph: HostGraph) -> str:
    addrs = global_addresses(link, graph)
    return f"{link.name} {addrs[0]}" if addrs else link.name


def box(graph: HostGraph, marks: Marks, netns: str | None, inner: Link | None,
        empty: str = "(peer not visible)", width: int = BOX_W) -> list[Line]:
    """A namespace box: title, one link with its state, the drop count (or `empty` when
    there is no link to show)."""
    w = width - 2
    name = graph.ns_name(netns) if netns else "?"
    role = marks.role(netns, inner.id if inner else None)
    head = f"─ {fit(name, w - 3).rstrip()} "
    top = [Segment("┌" + head + "─" * (w - len(head)) + "┐", role or "title", netns)]
    if inner is not None:
        body = [Segment("│", role), glyph(inner),
                Segment(fit(" " + link_text(inner, graph), w - 1), role, inner.id),
                Segment("│", role)]
        drops = marks.drop_count(inner.id)
        links = len(graph.links_in(netns)) if netns else 0
        info = f" {links} links · " + (drops_text(drops) if drops is not None
                                       else f"mtu {inner.mtu}")
        info_line = [Segment("│", role),
                     Segment(fit(info, w), marks.drop_role(inner.id) or "dim"),
                     Segment("│", role)]
    else:
        body = [Segment("│", role), Segment(fit(" " + empty, w), "dim"), Segment("│", role)]
        info_line = [Segment("│" + " " * w + "│", role)]
    bottom = [Segment("└" + "─" * w + "┘", role)]
    return [top, body, info_line, bottom]


def group_box(graph: HostGraph, title: str, members: int, ends: list[Link], far: list[Link],
              marks: Marks, width: int, what: str = "veth ends") -> list[Line]:
    """`members` namespaces folded into one box: their devices' (`ends`) state, the span of
    the addresses in the boxes (`far`)."""
    w = width - 2
    addrs = [a for x in far for a in global_addresses(x, graph)[:1]]
    span = f"{addrs[0]} … {addrs[-1]}" if len(addrs) > 1 else (addrs[0] if addrs else "")
    head = f"─ {title} · {members} namespaces "
    ids = [x.id for x in ends]
    dropped = sum(marks.drop_count(i) or 0 for i in ids)
    return [
        [Segment("┌" + head + "─" * max(0, w - len(head)) + "┐", "title")],
        [Segment("│"), Segment("●", "up"),
         Segment(fit(f" all {len(ends)} {what} UP"
                     + (f" · {drops_text(dropped)}" if marks.drops is not None else ""), w - 1),
                 marks.drop_role(*ids)),
         Segment("│")],
        [Segment("│"), Segment(fit(f" {span}  (e: expand groups)", w), "dim"), Segment("│")],
        [Segment("└" + "─" * w + "┘")],
    ]


def grid(cells: list[tuple[Line, list[Line]]], width: int, trunk_last: bool) -> list[Line]:
    """Rows of boxes hanging from a bus line, each with its label (the near end: a bridge
    port, the relation to a parent) above it."""
    per_row = max(1, (width - 1) // (BOX_W + 1))
    lines: list[Line] = []
    rows = [cells[i:i + per_row] for i in range(0, len(cells), per_row)]
    for r, row in enumerate(rows):
        last = r == len(rows) - 1 and trunk_last
        trunk = " " if last else "│"
        bus = [Segment("└" if last else "├")]
        labels: Line = [Segment(trunk)]
        for n, (label, _) in enumerate(row):
            bus.append(Segment("┬" + ("─" * BOX_W if n < len(row) - 1 else "")))
            labels += label
        lines += [bus, labels]
        for k in range(4):
            line: Line = [Segment(trunk)]
            for _, cell in row:
                line += [*cell[k], Segment(" ")]
            lines.append(line)
    return lines
