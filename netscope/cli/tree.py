"""The text tree `netscope show` prints: namespace -> interfaces -> bridge ports -> routes."""

from __future__ import annotations

from collections.abc import Iterator

from netscope.model import Container, Link, Route, Snapshot
from netscope.model.index import SnapshotIndex

LOCAL_TABLE = 255
MAIN_TABLE = 254


def _ns_order(index: SnapshotIndex) -> list[str]:
    # the namespace netscope runs in first, then containers, then the rest, by name
    def key(ns_id: str) -> tuple:
        ns = index.namespaces[ns_id]
        return (not ns.is_self, ns_id not in index.containers_by_ns, ns.name)
    return sorted(index.namespaces, key=key)


def _route_text(route: Route, index: SnapshotIndex) -> str:
    dst = "default" if route.is_default else route.dst
    parts = [dst] if route.type == "unicast" else [route.type, dst]
    for hop in route.nexthops:
        if hop.gateway:
            parts += ["via", hop.gateway]
        if hop.link:
            link = index.links.get(hop.link)
            parts += ["dev", link.name if link else hop.link]
    if route.table not in (MAIN_TABLE, LOCAL_TABLE):
        parts += ["table", str(route.table)]
    if route.protocol not in ("boot", "unspec"):
        parts += ["proto", route.protocol]
    if route.scope != "global":
        parts += ["scope", route.scope]
    if route.prefsrc:
        parts += ["src", route.prefsrc]
    if route.metric:
        parts += ["metric", str(route.metric)]
    return " ".join(parts)


def _container_text(c: Container) -> str:
    text = f"container {c.name} {c.container_id[:12]}"
    if c.shares_netns_with:
        text += f" (joined {c.shares_netns_with.split(':', 1)[1][:12]})"
    if c.ports:
        text += " publishes " + " ".join(c.ports)
    return text


def _link_line(link: Link, index: SnapshotIndex) -> str:
    state = "UP" if link.up else "DOWN"
    if link.up and link.operstate not in ("UP", "UNKNOWN"):
        state = f"UP/{link.operstate}"
    parts = [f"{link.name}", link.kind, state, f"mtu {link.mtu}"]
    if link.master:
        parts.append(f"master {index.link_label(link.master).split(':', 1)[1]}")
    addrs = [a.cidr for a in index.addresses_by_link.get(link.id, []) if a.scope != "link"]
    if addrs:
        parts.append(" ".join(addrs))
    if link.peer is not None:
        if link.peer.link:
            peer = index.links.get(link.peer.link)
            where = index.link_label(link.peer.link)
            if peer and peer.netns == link.netns:
                where = peer.name
            parts.append(f"<-> {where}")
        else:
            parts.append(f"<-> ? ({link.peer.unresolved})")
    if link.parent:
        parts.append(f"on {index.link_label(link.parent)}")
    if link.kind == "vxlan" and link.details:
        parts.append(" ".join(f"{k} {v}" for k, v in link.details.items()
                              if k in ("vni", "remote", "local", "dstport")))
    return "  ".join(parts)


def render_tree(snapshot: Snapshot, all_tables: bool = False) -> Iterator[str]:
    index = SnapshotIndex(snapshot)
    h = snapshot.header
    yield (f"{h.hostname}  kernel {h.kernel}  {h.captured_at}  "
           f"{len(snapshot.namespaces)} namespaces, {len(snapshot.containers)} containers")
    for ns_id in _ns_order(index):
        ns = index.namespaces[ns_id]
        containers = index.containers_by_ns.get(ns_id, [])
        label = ns.name
        if containers:
            label += "  [" + ", ".join(_container_text(c) for c in containers) + "]"
        yield ""
        yield f"{label}  ({ns.id})"
        links = sorted(index.links_by_ns.get(ns_id, []), key=lambda x: x.ifindex)
        for link in links:
            yield "  " + _link_line(link, index)
            for port in sorted(index.ports_by_bridge.get(link.id, []), key=lambda x: x.name):
                state = port.bridge_port.state if port.bridge_port else "?"
                peer = ""
                if port.peer and port.peer.link:
                    peer = f"  <-> {index.link_label(port.peer.link)}"
                yield f"    port {port.name} ({state}){peer}"
        routes = [r for r in index.routes_by_ns.get(ns_id, [])
                  if all_tables or (r.table != LOCAL_TABLE and r.protocol != "kernel")
                  or (r.family == "inet" and r.table == MAIN_TABLE)]
        if routes:
            yield "  routes:"
            for r in routes:
                yield "    " + _route_text(r, index)
    if snapshot.errors:
        yield ""
        yield "collector errors:"
        for e in snapshot.errors:
            where = f" in {index.ns_name(e.netns)}" if e.netns else ""
            yield f"  {e.collector}{where}: {e.message}"
