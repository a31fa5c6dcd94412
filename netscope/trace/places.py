"""Names for the places probe events happen: netns inode + ifindex -> namespace/container/device.

Events carry numbers only; a snapshot of the host names them. Namespaces created after the
snapshot (a container started mid-trace) trigger one fresh snapshot, at most once a second.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable

from netscope.model import Snapshot, link_id, ns_id
from netscope.model.index import SnapshotIndex

SnapshotSource = Callable[[], Snapshot]
_REFRESH_EVERY_S = 1.0


class Places:
    """Namespace and device names for (netns inode, ifindex) pairs."""

    def __init__(self, snapshot: Snapshot, refresh: SnapshotSource | None = None) -> None:
        self._index = SnapshotIndex(snapshot)
        self._refresh = refresh
        self._refreshed_at = time.monotonic()
        self._owned: tuple[SnapshotIndex, set[tuple[str, str]]] | None = None

    @property
    def index(self) -> SnapshotIndex:
        return self._index

    def _known(self, inode: int) -> bool:
        if ns_id(inode) in self._index.namespaces:
            return True
        if self._refresh and time.monotonic() - self._refreshed_at >= _REFRESH_EVERY_S:
            self._refreshed_at = time.monotonic()
            self._index = SnapshotIndex(self._refresh())
        return ns_id(inode) in self._index.namespaces

    def namespace(self, inode: int) -> str:
        """Container name, namespace name, or "netns <inode>" when it is not (yet) known."""
        if not inode:
            return "?"
        if self._known(inode):
            return self._index.ns_name(ns_id(inode))
        return f"netns {inode}"

    def device(self, inode: int, ifindex: int) -> str:
        if not ifindex:
            return "-"
        link = self._index.links.get(link_id(inode, ifindex)) if self._known(inode) else None
        return link.name if link else f"if{ifindex}"

    def master(self, inode: int, ifindex: int) -> str | None:
        """Name of the bridge (or bond, vrf) this device is enslaved to."""
        link = self._index.links.get(link_id(inode, ifindex))
        if link is None or link.master is None:
            return None
        master = self._index.links.get(link.master)
        return master.name if master else None

    def master_kind(self, inode: int, ifindex: int) -> str | None:
        link = self._index.links.get(link_id(inode, ifindex))
        master = self._index.links.get(link.master) if link and link.master else None
        return master.kind if master else None

    def kind(self, inode: int, ifindex: int) -> str | None:
        link = self._index.links.get(link_id(inode, ifindex))
        return link.kind if link else None

    def owns(self, inode: int, address: str) -> bool:
        """Does an interface in namespace `inode` hold this IP address?"""
        if self._owned is None or self._owned[0] is not self._index:
            pairs = {(a.netns, a.address) for a in self._index.snapshot.addresses}
            self._owned = (self._index, pairs)
        return (ns_id(inode), address) in self._owned[1]


def resolve_endpoint(index: SnapshotIndex, text: str) -> str:
    """An IP address for SRC/DST given as an IP, a container name or a namespace name.

    Raises LookupError with a one-line message when nothing matches.
    """
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    wanted = [ns.id for ns in index.namespaces.values() if ns.name == text]
    for container in index.snapshot.containers:
        if text in (container.name, container.container_id[:12]) and container.netns:
            wanted.append(container.netns)
    if not wanted:
        raise LookupError(f"{text!r} is neither an IP address nor a known container or "
                          "namespace (see `netscope show`)")
    for netns in wanted:
        for addr in index.snapshot.addresses:
            if addr.netns == netns and addr.family == "inet" and addr.scope == "global":
                return addr.address
    raise LookupError(f"{text!r} has no global IPv4 address to trace; give an IP instead")
