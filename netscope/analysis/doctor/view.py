"""The doctor's view of a snapshot: the walk context plus L2 segments and naming helpers."""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from functools import cached_property

from netscope.analysis.path.context import WalkContext
from netscope.model import Address, Link, Namespace


class DoctorView(WalkContext):
    """Everything checks share, computed once per snapshot."""

    @cached_property
    def segments(self) -> dict[str, frozenset[str]]:
        """link id -> the L2 segment it is on: links joined by veth pairs and bridges."""
        parent: dict[str, str] = {}

        def find(x: str) -> str:
            while parent.setdefault(x, x) != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        def union(a: str, b: str) -> None:
            parent[find(a)] = find(b)

        for link in self.snapshot.links:
            find(link.id)
            if link.peer and link.peer.link:
                union(link.id, link.peer.link)
            master = self.ix.links.get(link.master) if link.master else None
            if master is not None and master.kind == "bridge":
                union(link.id, master.id)
            if link.kind in ("macvlan", "macvtap", "ipvlan") and link.parent:
                union(link.id, link.parent)  # they send on their parent's wire
        # VXLAN devices of one VNI carry one Ethernet segment between hosts
        by_vni: dict[tuple, str] = {}
        for link in self.snapshot.links:
            if link.kind == "vxlan" and link.details.get("vni") is not None:
                key = (link.details.get("vni"), link.details.get("dstport"))
                if key in by_vni:
                    union(link.id, by_vni[key])
                else:
                    by_vni[key] = link.id
        groups: dict[str, set[str]] = defaultdict(set)
        for lid in parent:
            groups[find(lid)].add(lid)
        return {lid: frozenset(groups[find(lid)]) for lid in parent}

    def segment_is_visible(self, link_id: str) -> bool:
        """True when every link of the segment is virtual (veth, bridge ...): all its hosts
        are on this machine, so "nobody owns that address" is a fact, not a guess."""
        members = self.segments.get(link_id, frozenset({link_id}))
        return all(self.ix.links[m].kind in ("veth", "bridge", "vxlan", "macvlan", "ipvlan",
                                             "loopback") for m in members)

    def segment_addresses(self, link_id: str) -> list[Address]:
        members = self.segments.get(link_id, frozenset({link_id}))
        return [a for a in self.snapshot.addresses if a.link in members]

    def ns_ref(self, netns: str) -> str:
        """How an operation names a namespace: its ip-netns name, a path, or None (self)."""
        ns = self.ix.namespaces[netns]
        if ns.is_self:
            return ""
        for kind in ("named", "docker", "proc"):
            for o in ns.origins:
                if o.kind == kind:
                    return o.path.rsplit("/", 1)[-1] if kind == "named" else o.path
        return ""

    def where(self, netns: str, device: str | None = None) -> str:
        name = self.ix.ns_name(netns)
        return f"{name}/{device}" if device else name

    def namespace(self, netns: str) -> Namespace:
        return self.ix.namespaces[netns]

    def bridge_of(self, link: Link) -> Link | None:
        master = self.ix.links.get(link.master) if link.master else None
        return master if master is not None and master.kind == "bridge" else None

    def container_like(self, netns: str) -> Link | None:
        """The one interface of a namespace that has only lo and one veth, else None."""
        links = [lk for lk in self.ix.links_by_ns.get(netns, []) if lk.kind != "loopback"]
        if len(links) == 1 and links[0].kind == "veth" and not self.namespace(netns).is_self:
            return links[0]
        return None

    def far_end(self, link: Link) -> Link | None:
        return self.ix.links.get(link.peer.link) if link.peer and link.peer.link else None

    @staticmethod
    def network(address: Address) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        return ipaddress.ip_network(f"{address.address}/{address.prefixlen}", strict=False)


def op(kind: str, netns: str, **fields) -> dict:
    """A repair operation as data (see netscope.actions.ops); netns "" is the host's own."""
    return {"op": kind, "netns": netns or None, **fields}
