"""The text tree `netscope show` prints: namespace -> interfaces -> bridge ports -> routes."""

from __future__ import annotations

from collections.abc import Iterator

from netscope.graph.host import HostGraph
from netscope.graph.workloads import allocation_lines, workload_lines
from netscope.model import Snapshot
from netscope.model.labels import cni_network_text, link_line, port_line, route_text, shown_routes


def render_tree(snapshot: Snapshot, all_tables: bool = False) -> Iterator[str]:
    graph = HostGraph.of(snapshot)
    h = snapshot.header
    yield (f"{h.hostname}  kernel {h.kernel}  {h.captured_at}  "
           f"{len(snapshot.namespaces)} namespaces, {len(snapshot.containers)} containers"
           + (f", {len(snapshot.pods)} pods" if snapshot.pods else ""))
    for ns_id in graph.ns_order():
        ns = graph.namespaces[ns_id]
        workloads = workload_lines(graph, ns_id)
        label = ns.name
        if workloads:
            label += "  [" + "; ".join(workloads) + "]"
        yield ""
        yield f"{label}  ({ns.id})"
        for line in allocation_lines(graph, ns_id):
            yield "  " + line
        links = sorted(graph.links_in(ns_id), key=lambda x: x.ifindex)
        for link in links:
            yield "  " + link_line(link, graph)
            for port in sorted(graph.bridge_ports(link), key=lambda x: x.name):
                yield "    " + port_line(port, graph)
        routes = shown_routes(graph, ns_id, all_tables)
        if routes:
            yield "  routes:"
            for r in routes:
                yield "    " + route_text(r, graph)
    yield from _cni_lines(snapshot, graph)
    if snapshot.errors:
        yield ""
        yield "collector errors:"
        for e in snapshot.errors:
            where = f" in {graph.ns_name(e.netns)}" if e.netns else ""
            yield f"  {e.collector}{where}: {e.message}"


def _cni_lines(snapshot: Snapshot, graph: HostGraph) -> Iterator[str]:
    """The CNI configurations found, and allocations no namespace holds."""
    if not snapshot.cni_networks:
        return
    yield ""
    yield "cni networks:"
    for net in snapshot.cni_networks:
        yield "  " + cni_network_text(net)
    for line in allocation_lines(graph, None):
        yield "    " + line
