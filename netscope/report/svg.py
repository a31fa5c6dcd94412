"""The topology as an inline SVG (no scripts, no fonts to fetch): namespaces as boxes in
layers (the hub on top, what hangs off it below, wrapped into rows), interfaces as rows in
their box, veth pairs as curves between boxes, bridge ports as dashed brackets inside one."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from netscope.graph.topology import Group, Topology

BOX_W = 240
GAP_X = 40
GAP_Y = 56
HEADER_H = 34
LINE_H = 15
ROW_PAD = 6
PER_ROW = 6
MARGIN = 20
STATE_FILL = {"up": "#2e7d32", "down": "#c62828", "unknown": "#9e9e9e"}
EDGE = {"veth": ('stroke="#1565c0" stroke-width="2"', ""),
        "port": ('stroke="#6a1b9a" stroke-width="1.5"', ' stroke-dasharray="5 3"'),
        "lower": ('stroke="#616161" stroke-width="1.5"', ' stroke-dasharray="2 3"'),
        "tunnel": ('stroke="#ef6c00" stroke-width="2.5"', ' stroke-dasharray="8 3"'),
        "underlay": ('stroke="#455a64" stroke-width="2"', "")}


@dataclass
class _Placed:
    group: Group
    x: int
    y: int
    h: int
    rows: dict[str, tuple[int, int]]  # node id -> (top y, height)


def _node_height(n) -> int:
    return LINE_H * (2 + len(n.addresses)) + ROW_PAD


def _box_height(g: Group) -> int:
    return HEADER_H + max(sum(_node_height(n) for n in g.nodes), LINE_H + ROW_PAD) + ROW_PAD


def _layout(topo: Topology) -> tuple[list[_Placed], int, int]:
    rows: list[list[Group]] = []
    current_key = None
    for g in topo.groups:
        key = (g.component, g.layer)
        if key != current_key or len(rows[-1]) >= PER_ROW:
            rows.append([])
            current_key = key
        rows[-1].append(g)
    placed, y, width = [], MARGIN, 0
    for row in rows:
        x = MARGIN
        height = max(_box_height(g) for g in row)
        for g in row:
            node_rows, ny = {}, y + HEADER_H
            for n in g.nodes:
                node_rows[n.id] = (ny, _node_height(n))
                ny += _node_height(n)
            placed.append(_Placed(g, x, y, _box_height(g), node_rows))
            x += BOX_W + GAP_X
        width = max(width, x - GAP_X + MARGIN)
        y += height + GAP_Y
    return placed, max(width, BOX_W + 2 * MARGIN), y - GAP_Y + MARGIN


def _text(x: float, y: float, text: str, cls: str, limit: int = 36) -> str:
    shown = text if len(text) <= limit else text[:limit - 1] + "…"
    return f'<text x="{x:.0f}" y="{y:.0f}" class="{cls}">{escape(shown)}</text>'


def _group_svg(p: _Placed, out: list[str]) -> None:
    g = p.group
    out.append(f'<g class="ns" id="{escape(g.id)}"><title>{escape(g.id)}</title>')
    out.append(f'<rect x="{p.x}" y="{p.y}" width="{BOX_W}" height="{p.h}" rx="8" '
               'class="nsbox"/>')
    out.append(_text(p.x + 10, p.y + 16, g.label, "nsname", 32))
    if g.containers and g.containers != (g.label,):
        out.append(_text(p.x + 10, p.y + 29, "containers: " + ", ".join(g.containers), "sub"))
    elif g.containers:
        out.append(_text(p.x + 10, p.y + 29, "container", "sub"))
    if not g.nodes:
        out.append(_text(p.x + 10, p.y + HEADER_H + LINE_H, "(only lo)", "sub"))
    for n in g.nodes:
        top, h = p.rows[n.id]
        cls = "ifbox bridge" if n.kind == "bridge" else "ifbox"
        out.append(f'<rect x="{p.x + 8}" y="{top}" width="{BOX_W - 16}" height="{h - 4}" '
                   f'rx="4" class="{cls}"/>')
        out.append(f'<rect x="{p.x + 8}" y="{top}" width="5" height="{h - 4}" '
                   f'fill="{STATE_FILL[n.state]}"/>')
        out.append(_text(p.x + 20, top + LINE_H - 2, n.label, "ifname"))
        out.append(_text(p.x + 20, top + 2 * LINE_H - 2, n.detail, "sub"))
        for i, addr in enumerate(n.addresses):
            out.append(_text(p.x + 20, top + (3 + i) * LINE_H - 2, addr, "addr"))
    out.append("</g>")


def _edge_svg(kind: str, a: tuple[_Placed, tuple[int, int]], b: tuple[_Placed, tuple[int, int]],
              out: list[str]) -> None:
    (pa, (ya, ha)), (pb, (yb, hb)) = a, b
    style, dash = EDGE[kind]
    if pa is pb:  # a bracket on the box's left side, clear of the veth curves on the right
        x = pa.x + 8
        y1, y2 = ya + ha / 2, yb + hb / 2
        out.append(f'<path d="M{x},{y1:.0f} C{x - 14},{y1:.0f} {x - 14},{y2:.0f} {x},{y2:.0f}"'
                   f' fill="none" {style}{dash}/>')
        return
    if pa.y == pb.y:  # same row: from the side of one box to the side of the other
        left, right = (a, b) if pa.x < pb.x else (b, a)
        (pl, (yl, hl)), (pr, (yr, hr)) = left, right
        x1, y1, x2, y2 = pl.x + BOX_W, yl + hl / 2, pr.x, yr + hr / 2
        mid = (x1 + x2) / 2
        path = f"M{x1},{y1:.0f} C{mid:.0f},{y1:.0f} {mid:.0f},{y2:.0f} {x2},{y2:.0f}"
    else:  # different rows: from the upper box's right side down to the lower box's top
        upper, lower = (a, b) if pa.y < pb.y else (b, a)
        (pu, (yu, hu)), (pl, _row) = upper, lower
        x1, y1 = pu.x + BOX_W, yu + hu / 2
        x2, y2 = pl.x + BOX_W / 2, pl.y
        path = (f"M{x1},{y1:.0f} C{x1 + 60},{y1:.0f} {x2:.0f},{y2 - 50} {x2:.0f},{y2}")
    out.append(f'<path d="{path}" fill="none" {style}{dash} opacity="0.8"/>')


STYLE = """
.nsbox{fill:#f5f7fa;stroke:#90a4ae;stroke-width:1.2}
.ifbox{fill:#ffffff;stroke:#cfd8dc}
.bridge{fill:#f3e5f5}
text{font-family:Helvetica,Arial,sans-serif;font-size:11px;fill:#263238}
.nsname{font-weight:bold;font-size:13px}
.ifname{font-weight:bold}
.sub{fill:#607d8b;font-size:10px}
.addr{font-family:monospace;font-size:10.5px}
"""


def topology_svg(topo: Topology) -> str:
    """One <svg> element, sized to its content (viewBox set, so it scales)."""
    placed, width, height = _layout(topo)
    by_node = {nid: (p, row) for p in placed for nid, row in p.rows.items()}
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
           f'width="{width}" height="{height}" role="img" '
           'aria-label="network topology: namespaces, interfaces, veth pairs, bridges">',
           f"<style>{STYLE}</style>"]
    for p in placed:
        _group_svg(p, out)
    for e in topo.edges:
        if e.a in by_node and e.b in by_node:
            _edge_svg(e.kind, by_node[e.a], by_node[e.b], out)
    out.append("</svg>")
    return "\n".join(out)
