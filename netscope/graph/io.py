"""The host graph as files other tools open: GraphML and networkx node-link JSON.

Both write HostGraph.nx (netscope.graph.typed, netfilter included): typed nodes (namespaces,
interfaces, bridges, containers, netfilter hooks, chains, rules, addresses) and typed edges
(veth pairs across namespaces, bridge ports, lower devices, routes, containers in their
namespaces, jumps, DNAT targets ...), every attribute a scalar. networkx reads them back
(`read_graphml`, `node_link_graph(..., edges="edges")`); Gephi, yEd and Cytoscape open the
GraphML. docs/graph.md describes the vocabulary.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from netscope.graph.host import HostGraph
from netscope.model.safe_text import is_safe, safe

if TYPE_CHECKING:
    import networkx as nx

GRAPH_FORMAT = "netscope-host-graph"
GRAPH_VERSION = 1


def export_graph(graph: HostGraph) -> nx.MultiDiGraph:
    """The typed graph with what describes the whole document as graph attributes
    (format, version, hostname, kernel, capture time) and every node id safe to show."""
    import networkx as nx

    g = graph.nx
    unsafe = {n: safe(n) for n in g if not is_safe(n)}
    out = nx.relabel_nodes(g, unsafe, copy=True) if unsafe else g.copy()
    h = graph.snapshot.header
    out.graph.update({"format": GRAPH_FORMAT, "version": GRAPH_VERSION,
                      "hostname": safe(h.hostname), "kernel": safe(h.kernel),
                      "captured_at": h.captured_at, "netscope_version": h.netscope_version})
    return out


def to_graphml(graph: HostGraph) -> str:
    """GraphML (directed, parallel edges kept): networkx.read_graphml, Gephi, yEd, Cytoscape."""
    import io

    import networkx as nx

    out = io.BytesIO()  # write_graphml, unlike generate_graphml, starts with <?xml ...?>
    nx.write_graphml(export_graph(graph), out, encoding="utf-8")
    return out.getvalue().decode("utf-8")


def to_node_link(graph: HostGraph) -> str:
    """networkx node-link JSON: {"directed", "multigraph", "graph", "nodes", "edges"};
    `networkx.node_link_graph(json.load(f), edges="edges")` reads it back."""
    import networkx as nx

    doc = nx.node_link_data(export_graph(graph), edges="edges")
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"
