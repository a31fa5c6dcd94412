"""Bridge and VXLAN forwarding databases: which port (or remote VTEP) a MAC is behind."""

from __future__ import annotations

from netscope.collect.base import NsContext
from netscope.host import rtnl
from netscope.model import FdbEntry


class FdbCollector:
    name = "fdb"
    field = "fdb"

    def can_run(self) -> str | None:
        return None

    def collect(self, ctx: NsContext) -> list[FdbEntry]:
        # forwarding entries live on bridges' ports and vxlan devices; a namespace with
        # neither has none worth a netlink dump (most "container" namespaces)
        kinds = {link.kind for link in ctx.results.get("links", [])}
        if not kinds & {"bridge", "vxlan"}:
            return []
        out = []
        for raw in rtnl.dump_neighbours(ctx.sock, rtnl.AF_BRIDGE):
            master = ctx.link(raw["master"])
            # Entries flagged "self" on a plain device are its own multicast filter list,
            # not forwarding state; keep those of bridges' ports and of vxlan devices.
            if master is None and raw["dst"] is None:
                continue
            link = ctx.link(raw["ifindex"])
            ident = (f"fdb:{ctx.inode}/{raw['ifindex']}/{raw['mac']}/{raw['vlan'] or 0}"
                     f"/{raw['dst'] or '-'}")
            out.append(FdbEntry(
                id=ident, netns=ctx.netns, link=link, mac=raw["mac"], master=master,
                vlan=raw["vlan"], state=raw["state"], flags=raw["flags"], dst=raw["dst"],
            ))
        return out
