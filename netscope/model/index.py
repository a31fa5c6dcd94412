"""Look-ups over a snapshot (by id, by namespace, by link) that every reader needs."""

from __future__ import annotations

from collections import defaultdict
from functools import cached_property

from netscope.model.l2 import FdbEntry, Link
from netscope.model.l3 import Address, Neighbour, Route, Rule
from netscope.model.netns import Container, Namespace
from netscope.model.snapshot import Snapshot


def _group(items, key) -> dict:
    out: dict = defaultdict(list)
    for item in items:
        out[key(item)].append(item)
    return dict(out)


class SnapshotIndex:
    """Read-only indexes over one snapshot, built lazily."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    @cached_property
    def namespaces(self) -> dict[str, Namespace]:
        return {ns.id: ns for ns in self.snapshot.namespaces}

    @cached_property
    def links(self) -> dict[str, Link]:
        return {link.id: link for link in self.snapshot.links}

    @cached_property
    def links_by_ns(self) -> dict[str, list[Link]]:
        return _group(self.snapshot.links, lambda x: x.netns)

    @cached_property
    def addresses_by_link(self) -> dict[str, list[Address]]:
        return _group(self.snapshot.addresses, lambda x: x.link)

    @cached_property
    def routes_by_ns(self) -> dict[str, list[Route]]:
        return _group(self.snapshot.routes, lambda x: x.netns)

    @cached_property
    def rules_by_ns(self) -> dict[str, list[Rule]]:
        return _group(self.snapshot.rules, lambda x: x.netns)

    @cached_property
    def neighbours_by_ns(self) -> dict[str, list[Neighbour]]:
        return _group(self.snapshot.neighbours, lambda x: x.netns)

    @cached_property
    def fdb_by_link(self) -> dict[str, list[FdbEntry]]:
        return _group(self.snapshot.fdb, lambda x: x.link)

    @cached_property
    def ports_by_bridge(self) -> dict[str, list[Link]]:
        return _group((link for link in self.snapshot.links if link.master), lambda x: x.master)

    @cached_property
    def containers_by_ns(self) -> dict[str, list[Container]]:
        return _group((c for c in self.snapshot.containers if c.netns), lambda x: x.netns)

    def ns_name(self, netns: str) -> str:
        ns = self.namespaces.get(netns)
        return ns.name if ns else netns

    def link_label(self, link_id: str | None) -> str:
        """"<namespace name>:<device>" for a link id, or the id itself when unknown."""
        if link_id is None:
            return "?"
        link = self.links.get(link_id)
        if link is None:
            return link_id
        return f"{self.ns_name(link.netns)}:{link.name}"
