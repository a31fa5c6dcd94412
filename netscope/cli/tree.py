"""The text tree `netscope show` prints: namespace -> interfaces -> bridge ports -> routes."""

from __future__ import annotations

from collections.abc import Iterator

from netscope.model import Snapshot
from netscope.model.index import SnapshotIndex
from netscope.model.labels import (
    container_text,
    link_line,
    ns_order,
    port_line,
    route_text,
    shown_routes,
)


def render_tree(snapshot: Snapshot, all_tables: bool = False) -> Iterator[str]:
    index = SnapshotIndex(snapshot)
    h = snapshot.header
    yield (f"{h.hostname}  kernel {h.kernel}  {h.captured_at}  "
           f"{len(snapshot.namespaces)} namespaces, {len(snapshot.containers)} containers")
    for ns_id in ns_order(index):
        ns = index.namespaces[ns_id]
        containers = index.containers_by_ns.get(ns_id, [])
        label = ns.name
        if containers:
            label += "  [" + ", ".join(container_text(c) for c in containers) + "]"
        yield ""
        yield f"{label}  ({ns.id})"
        links = sorted(index.links_by_ns.get(ns_id, []), key=lambda x: x.ifindex)
        for link in links:
            yield "  " + link_line(link, index)
            for port in sorted(index.ports_by_bridge.get(link.id, []), key=lambda x: x.name):
                yield "    " + port_line(port, index)
        routes = shown_routes(index, ns_id, all_tables)
        if routes:
            yield "  routes:"
            for r in routes:
                yield "    " + route_text(r, index)
    if snapshot.errors:
        yield ""
        yield "collector errors:"
        for e in snapshot.errors:
            where = f" in {index.ns_name(e.netns)}" if e.netns else ""
            yield f"  {e.collector}{where}: {e.message}"
