"""Look-ups the path walk needs over one snapshot, built once."""

from __future__ import annotations

from collections import defaultdict
from functools import cached_property

from netscope.model import Link, Snapshot
from netscope.model.index import SnapshotIndex
from netscope.model.netfilter import NfTable


class WalkContext:
    """A snapshot with the indexes the walk uses: local addresses, owners, neighbours."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.ix = SnapshotIndex(snapshot)

    def collected(self, collector: str) -> bool:
        """Whether `collector` ran for this snapshot: if not, its data is unknown, not empty."""
        return collector in self.snapshot.header.collectors

    @cached_property
    def tables(self) -> list[NfTable]:
        return list(getattr(self.snapshot, "tables", ()))

    @cached_property
    def local_addresses(self) -> dict[str, frozenset[str]]:
        out: dict[str, set[str]] = defaultdict(set)
        for a in self.snapshot.addresses:
            out[a.netns].add(a.address)
        return {ns: frozenset(v) for ns, v in out.items()}

    @cached_property
    def ips_by_link(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = defaultdict(list)
        for a in self.snapshot.addresses:
            out[a.link].append(a.address)
        return dict(out)

    def is_local(self, netns: str, address: str) -> bool:
        return address in self.local_addresses.get(netns, frozenset())

    def neighbour(self, link: Link, address: str):
        for n in self.ix.neighbours_by_ns.get(link.netns, []):
            if n.link == link.id and n.address == address:
                return n
        return None

    def routes(self, netns: str):
        return self.ix.routes_by_ns.get(netns, [])

    def rules(self, netns: str):
        return self.ix.rules_by_ns.get(netns, [])

    def sysctl(self, netns: str, key: str) -> str | None:
        ns = self.ix.namespaces.get(netns)
        return ns.sysctls.get(key) if ns else None

    def source_address(self, netns: str, link: Link | None, prefsrc: str | None,
                       family: str) -> str | None:
        """The address the kernel would pick as source for a packet leaving by `link`."""
        if prefsrc:
            return prefsrc
        pool = [a for a in self.snapshot.addresses if a.netns == netns and a.family == family
                and a.scope == "global"]
        on_link = [a for a in pool if link is not None and a.link == link.id]
        chosen = on_link or pool
        return chosen[0].address if chosen else None
