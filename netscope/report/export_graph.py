"""Topology as Graphviz DOT (`dot -Tsvg`) and as a Mermaid flowchart (paste into an issue)."""

from __future__ import annotations

from netscope.graph.host import HostGraph
from netscope.graph.topology import Topology
from netscope.model import Snapshot

DOT_COLOURS = {"up": "#2e7d32", "down": "#c62828", "unknown": "#757575"}
EDGE_STYLES = {"veth": 'dir=none, penwidth=2, color="#1565c0"',
               "port": 'dir=none, style=dashed, color="#6a1b9a"',
               "lower": 'dir=none, style=dotted, color="#616161"',
               "tunnel": 'dir=none, style=bold, color="#ef6c00", label="vxlan"',
               "underlay": 'dir=none, penwidth=2, color="#455a64"'}


def _dot_str(text: str) -> str:
    """A DOT double-quoted string: backslashes and quotes escaped, newlines as \\n."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _group_title(name: str, containers: tuple[str, ...]) -> str:
    if containers and containers != (name,):
        return f"{name} ({', '.join(containers)})"
    return f"container {name}" if containers else name


def to_dot(snapshot: Snapshot, topo: Topology | None = None) -> str:
    """A `digraph` with one cluster per namespace, one box per interface."""
    topo = topo or HostGraph.of(snapshot).topology
    h = snapshot.header
    lines = ["digraph netscope {",
             f"  label={_dot_str(f'{h.hostname}  {h.captured_at}  (netscope)')};",
             '  labelloc=t; rankdir=LR; compound=true; fontname="Helvetica";',
             '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", '
             'fontname="Helvetica", fontsize=10];',
             '  edge [fontname="Helvetica", fontsize=9];']
    for i, g in enumerate(topo.groups):
        lines.append(f"  subgraph cluster_{i} {{")
        lines.append(f"    label={_dot_str(_group_title(g.label, g.containers))};")
        lines.append('    style="rounded"; color="#90a4ae";')
        if not g.nodes:
            lines.append(f"    {_dot_str(g.id + '/empty')} [label=\"(only lo)\", shape=plain];")
        for n in g.nodes:
            label = "\n".join((n.label, n.detail, *n.addresses))
            shape = ', shape=box3d, fillcolor="#f3e5f5"' if n.kind == "bridge" else ""
            lines.append(f"    {_dot_str(n.id)} [label={_dot_str(label)}, "
                         f'color="{DOT_COLOURS[n.state]}"{shape}];')
        lines.append("  }")
    for e in topo.edges:
        lines.append(f"  {_dot_str(e.a)} -> {_dot_str(e.b)} [{EDGE_STYLES[e.kind]}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _mermaid_text(text: str) -> str:
    """Text safe inside a Mermaid ["..."] label."""
    for raw, entity in (("&", "#amp;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;")):
        text = text.replace(raw, entity)
    return text


def to_mermaid(snapshot: Snapshot, topo: Topology | None = None) -> str:
    """A `flowchart LR`: subgraphs for namespaces, `---` for veth pairs, `-.-` for bridge
    ports, `-.->` for lower devices. Ids are generated (n1, n2 ...): names are only labels."""
    topo = topo or HostGraph.of(snapshot).topology
    ids: dict[str, str] = {}
    lines = ["flowchart LR"]
    for gi, g in enumerate(topo.groups):
        lines.append(f'  subgraph g{gi}["{_mermaid_text(_group_title(g.label, g.containers))}"]')
        if not g.nodes:
            lines.append(f'    g{gi}e["(only lo)"]')
        for n in g.nodes:
            ids[n.id] = f"n{len(ids) + 1}"
            label = "<br/>".join(_mermaid_text(x) for x in (n.label, n.detail, *n.addresses))
            lines.append(f'    {ids[n.id]}["{label}"]')
        lines.append("  end")
    arrows = {"veth": "---", "port": "-.-", "lower": "-.->", "tunnel": "===", "underlay": "---"}
    for e in topo.edges:
        lines.append(f"  {ids[e.a]} {arrows[e.kind]} {ids[e.b]}")
    down = [ids[n.id] for g in topo.groups for n in g.nodes if n.state == "down"]
    if down:
        lines.append("  classDef down stroke:#c62828,stroke-width:2px")
        lines.append(f"  class {','.join(down)} down")
    return "\n".join(lines) + "\n"
