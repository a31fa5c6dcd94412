"""What changed between two snapshots, in words for the event log, with the ids to highlight.

Pure (no Textual): compares two snapshots by the model's stable ids, named through their host
graphs (built once per snapshot: the app asks the same graphs for everything else).
"""

from __future__ import annotations

from dataclasses import dataclass

from netscope.graph.host import HostGraph
from netscope.model import Snapshot
from netscope.model.labels import link_state, route_text

# neighbour states worth a line in the log; REACHABLE <-> STALE churns all the time
NOTABLE_NEIGH_STATES = frozenset({"FAILED", "INCOMPLETE"})


@dataclass(frozen=True)
class Change:
    """One change: a sentence, its kind (link, address, route, neighbour, namespace), the
    ids of the objects to highlight (links and namespaces), and the namespace it happened in
    (what the filter judges it by)."""

    kind: str
    text: str
    ids: tuple[str, ...]
    netns: str = ""


def _by_id(items) -> dict:
    return {item.id: item for item in items}


def _namespace_changes(old: HostGraph, new: HostGraph) -> list[Change]:
    out = []
    for ns_id in new.namespaces.keys() - old.namespaces.keys():
        out.append(Change("namespace", f"{new.ns_name(ns_id)} appeared", (ns_id,), ns_id))
    for ns_id in old.namespaces.keys() - new.namespaces.keys():
        out.append(Change("namespace", f"{old.ns_name(ns_id)} is gone", (), ns_id))
    return out


def _link_changes(old: HostGraph, new: HostGraph) -> list[Change]:
    out = []
    gone_ns = old.namespaces.keys() - new.namespaces.keys()
    new_ns = new.namespaces.keys() - old.namespaces.keys()
    for lid, link in new.links.items():
        before = old.links.get(lid)
        where = new.link_label(lid)
        if before is None:
            if link.netns not in new_ns:
                out.append(Change("link", f"{where} added ({link.kind}, {link_state(link)})",
                                  (lid, link.netns), link.netns))
            continue
        parts = []
        if link_state(before) != link_state(link):
            parts.append(f"{link_state(before)} -> {link_state(link)}")
        if before.mtu != link.mtu:
            parts.append(f"mtu {before.mtu} -> {link.mtu}")
        if before.master != link.master:
            master = new.link_label(link.master).split(":", 1)[-1] if link.master else None
            parts.append(f"now in bridge {master}" if master else "left its bridge")
        if parts:
            out.append(Change("link", f"{where}: " + ", ".join(parts), (lid, link.netns),
                              link.netns))
    for lid, link in old.links.items():
        if lid not in new.links and link.netns not in gone_ns:
            out.append(Change("link", f"{old.link_label(lid)} removed", (link.netns,),
                              link.netns))
    return out


def _address_changes(old: HostGraph, new: HostGraph) -> list[Change]:
    out = []
    a, b = _by_id(old.snapshot.addresses), _by_id(new.snapshot.addresses)
    for aid in b.keys() - a.keys():
        addr = b[aid]
        if addr.netns in old.namespaces and addr.link in old.links:
            out.append(Change("address", f"{new.link_label(addr.link)}: address {addr.cidr} added",
                              (addr.link,), addr.netns))
    for aid in a.keys() - b.keys():
        addr = a[aid]
        if addr.link in new.links:
            out.append(Change("address",
                              f"{new.link_label(addr.link)}: address {addr.cidr} removed",
                              (addr.link,), addr.netns))
    return out


def _worth_a_line(route) -> bool:
    # the routes `netscope show` prints: not the local table, not kernel-made IPv6 ones
    return route.table != 255 and (route.protocol != "kernel" or route.family == "inet")


def _route_changes(old: HostGraph, new: HostGraph) -> list[Change]:
    out = []
    a = {k: r for k, r in _by_id(old.snapshot.routes).items() if _worth_a_line(r)}
    b = {k: r for k, r in _by_id(new.snapshot.routes).items() if _worth_a_line(r)}
    for rid in sorted(b.keys() - a.keys()):
        r = b[rid]
        if r.netns in old.namespaces:
            out.append(Change("route", f"{new.ns_name(r.netns)}: route {route_text(r, new)} added",
                              (r.netns,), r.netns))
    for rid in sorted(a.keys() - b.keys()):
        r = a[rid]
        if r.netns in new.namespaces:
            out.append(Change("route",
                              f"{new.ns_name(r.netns)}: route {route_text(r, old)} removed",
                              (r.netns,), r.netns))
    return out


def _neighbour_changes(old: HostGraph, new: HostGraph) -> list[Change]:
    out = []
    a = _by_id(old.snapshot.neighbours)
    for nid, n in _by_id(new.snapshot.neighbours).items():
        was = set(a[nid].state) if nid in a else set()
        now = set(n.state) & NOTABLE_NEIGH_STATES
        if now and not was & now:
            out.append(Change("neighbour", f"{new.link_label(n.link)}: neighbour {n.address} "
                                           f"{'/'.join(sorted(now))}", (n.link,), n.netns))
    return out


def diff_snapshots(old: Snapshot, new: Snapshot) -> list[Change]:
    """Every change a person would want to see, namespaces first."""
    a, b = HostGraph.of(old), HostGraph.of(new)
    return [*_namespace_changes(a, b), *_link_changes(a, b), *_address_changes(a, b),
            *_route_changes(a, b), *_neighbour_changes(a, b)]


class HiddenChanges:
    """Changes in namespaces the filter hides: not logged one by one but counted, and said in
    one line ("N changes in filtered-out namespaces") when the app asks: before the next line
    it shows, and on a timer."""

    def __init__(self) -> None:
        self.pending = 0

    def split(self, changes: list[Change], visible: frozenset[str] | None) -> list[Change]:
        """The changes to log; the others are counted."""
        if visible is None:
            return changes
        shown = [c for c in changes if c.netns in visible]
        self.pending += len(changes) - len(shown)
        return shown

    def line(self) -> str | None:
        """The summary line of what was counted since the last one (None: nothing was)."""
        if not self.pending:
            return None
        text = (f"{self.pending} change{'s' if self.pending > 1 else ''} in filtered-out "
                "namespaces")
        self.pending = 0
        return text
