"""Interfaces, and the exact veth peer (or lower device) of each, across namespaces."""

from __future__ import annotations

from collections.abc import Callable

from netscope.collect.base import NsContext
from netscope.host import rtnl
from netscope.host.rtnl import PEER_KINDS
from netscope.model import Link, link_id
from netscope.model.made import replaced


class LinksCollector:
    name = "links"
    field = "links"

    def can_run(self) -> str | None:
        return None

    def collect(self, ctx: NsContext) -> list[Link]:
        links = rtnl.dump_links(ctx.sock, ctx.inode)
        ctx.links.update((link.ifindex, link.id) for link in links)
        return links


class ChangedLinksCollector(LinksCollector):
    """The links collector for a live re-read where notifications said which interfaces
    changed: in a namespace of `changed` (inode -> ifindexes) those are asked one by one and
    the others kept from `previous` (inode -> its links, in ifindex order); a namespace where
    one is new to `previous`, or not in `changed`, is dumped whole. A bridge with a thousand
    ports: one port going down costs one RTM_GETLINK, not a dump of a thousand."""

    def __init__(self, previous: dict[int, list[Link]], changed: dict[int, set[int]]) -> None:
        self._previous, self._changed = previous, changed

    def collect(self, ctx: NsContext) -> list[Link]:
        wanted = self._changed.get(ctx.inode)
        before = {x.ifindex: x for x in self._previous.get(ctx.inode, ())}
        if not wanted or not before or not wanted <= before.keys():
            return super().collect(ctx)
        fresh = rtnl.get_links(ctx.sock, ctx.inode, sorted(wanted))
        # gone ones (None) left out; ifindex order kept, as a dump gives it
        links = [x for x in (fresh.get(i, x) for i, x in before.items()) if x is not None]
        ctx.links.update((link.ifindex, link.id) for link in links)
        return links


# (observer inode, nsid, inodes worth trying first) -> inode the nsid means, or None
NsidLookup = Callable[[int, int, list[int]], int | None]


def _hints(links: list[Link]) -> dict[tuple[int, int], list[int]]:
    """(ifindex, its peer's ifindex) -> namespaces holding such a link: likely peer homes."""
    hints: dict[tuple[int, int], list[int]] = {}
    for link in links:
        if link.peer is not None:
            ino = int(link.netns.split(":", 1)[1])
            hints.setdefault((link.ifindex, link.peer.ifindex), []).append(ino)
    return hints


def resolve_peers(links: list[Link], nsid_to_inode: NsidLookup) -> list[Link]:
    """Fill in the peer of every link whose peer lives in another namespace.

    `nsid_to_inode(observer_inode, nsid, likely)` answers which namespace an nsid means *inside the
    observing namespace* (nsids are per namespace). A peer netscope cannot place exactly is
    marked unresolved with the reason, never guessed.
    """
    by_id = {link.id: link for link in links}
    hints = _hints(links)
    out = []
    for link in links:
        peer = link.peer
        if peer is None or peer.link is not None or peer.netnsid is None:
            out.append(link)
            continue
        observer = int(link.netns.split(":", 1)[1])
        likely = hints.get((peer.ifindex, link.ifindex), [])
        target = nsid_to_inode(observer, peer.netnsid, likely)
        if target is None:
            reason = (f"peer ifindex {peer.ifindex} is in a namespace (nsid {peer.netnsid}) "
                      "that netscope cannot see")
            resolved = replaced(peer, unresolved=reason)
        else:
            candidate = link_id(target, peer.ifindex)
            if candidate in by_id:
                resolved = replaced(peer, link=candidate)
            else:
                resolved = replaced(
                    peer, unresolved=f"ifindex {peer.ifindex} not found in ns:{target}")
        if link.kind in PEER_KINDS:
            out.append(replaced(link, peer=resolved))
        else:
            out.append(replaced(link, peer=None, parent=resolved.link))
    return out
