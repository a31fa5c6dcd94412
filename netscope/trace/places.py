"""Names for the places probe events happen: netns inode + ifindex -> namespace/container/device.

Events carry numbers only; the host graph of a snapshot names them (HostGraph: one place for
names and relations). Namespaces created after the snapshot (a container started mid-trace)
trigger one fresh snapshot, at most once a second.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from netscope.graph.host import HostGraph
from netscope.model import Link, Snapshot, link_id, ns_id

SnapshotSource = Callable[[], Snapshot]
_REFRESH_EVERY_S = 1.0


class Places:
    """Namespace and device names for (netns inode, ifindex) pairs, from the host graph."""

    def __init__(self, snapshot: Snapshot, refresh: SnapshotSource | None = None) -> None:
        self._graph = HostGraph.of(snapshot)
        self._refresh = refresh
        self._refreshed_at = time.monotonic()

    @property
    def graph(self) -> HostGraph:
        """The host graph names come from (a newer one after a refresh)."""
        return self._graph

    def _known(self, inode: int) -> bool:
        if ns_id(inode) in self._graph.namespaces:
            return True
        if self._refresh and time.monotonic() - self._refreshed_at >= _REFRESH_EVERY_S:
            self._refreshed_at = time.monotonic()
            self._graph = HostGraph.of(self._refresh())
        return ns_id(inode) in self._graph.namespaces

    def namespace(self, inode: int) -> str:
        """Container name, namespace name, or "netns <inode>" when it is not (yet) known."""
        if not inode:
            return "?"
        if self._known(inode):
            return self._graph.ns_name(ns_id(inode))
        return f"netns {inode}"

    def link(self, inode: int, ifindex: int) -> Link | None:
        return self._graph.links.get(link_id(inode, ifindex)) if ifindex else None

    def device(self, inode: int, ifindex: int) -> str:
        if not ifindex:
            return "-"
        link = self.link(inode, ifindex) if self._known(inode) else None
        return link.name if link else f"if{ifindex}"

    def master(self, inode: int, ifindex: int) -> str | None:
        """Name of the bridge (or bond, vrf) this device is enslaved to."""
        master = self._graph.master(link_id(inode, ifindex))
        return master.name if master else None

    def master_kind(self, inode: int, ifindex: int) -> str | None:
        master = self._graph.master(link_id(inode, ifindex))
        return master.kind if master else None

    def kind(self, inode: int, ifindex: int) -> str | None:
        link = self.link(inode, ifindex)
        return link.kind if link else None

    def owns(self, inode: int, address: str) -> bool:
        """Does an interface in namespace `inode` hold this IP address?"""
        return self._graph.is_local(ns_id(inode), address)
