"""Interfaces, and the exact veth peer (or lower device) of each, across namespaces."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from netscope.collect.base import NsContext
from netscope.host import rtnl
from netscope.model import BridgePort, Link, VethPeer, link_id

# kinds whose IFLA_LINK names their peer; for the others it names the lower (parent) device
PEER_KINDS = frozenset({"veth", "netkit"})


class LinksCollector:
    name = "links"
    field = "links"

    def can_run(self) -> str | None:
        return None

    def collect(self, ctx: NsContext) -> list[Link]:
        out = []
        for raw in rtnl.dump_links(ctx.sock):
            ifindex = raw["ifindex"]
            lid = link_id(ctx.inode, ifindex)
            ctx.links[ifindex] = lid
            peer = parent = None
            lower, nsid = raw["link"], raw["link_netnsid"]
            if raw["kind"] in PEER_KINDS and lower:
                # same namespace when no nsid is given: exact already
                here = link_id(ctx.inode, lower) if nsid is None else None
                peer = VethPeer(lower, nsid, here)
            elif lower and lower != ifindex and nsid is None:
                parent = link_id(ctx.inode, lower)
            elif raw["kind"] == "vxlan" and raw["details"].get("link_ifindex"):
                parent = link_id(ctx.inode, int(raw["details"]["link_ifindex"]))
            if lower and nsid is not None and raw["kind"] not in PEER_KINDS:
                # a macvlan/ipvlan whose parent lives elsewhere: resolved like a peer
                peer = VethPeer(lower, nsid, None)
            port = raw["bridge_port"]
            out.append(Link(
                id=lid,
                netns=ctx.netns,
                ifindex=ifindex,
                name=raw["name"],
                kind=raw["kind"],
                operstate=raw["operstate"],
                flags=raw["flags"],
                mtu=raw["mtu"],
                mac=raw["mac"],
                master=ctx.link(raw["master"]),
                alias=raw["alias"],
                peer=peer,
                parent=parent,
                bridge_port=BridgePort(**port) if port else None,
                details=raw["details"],
                sysctls=raw["sysctls"],
            ))
        return out


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
            resolved = dataclasses.replace(peer, unresolved=reason)
        else:
            candidate = link_id(target, peer.ifindex)
            if candidate in by_id:
                resolved = dataclasses.replace(peer, link=candidate)
            else:
                resolved = dataclasses.replace(
                    peer, unresolved=f"ifindex {peer.ifindex} not found in ns:{target}")
        if link.kind in PEER_KINDS:
            out.append(dataclasses.replace(link, peer=resolved))
        else:
            out.append(dataclasses.replace(link, peer=None, parent=resolved.link))
    return out
