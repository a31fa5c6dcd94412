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
        return rtnl.dump_fdb(ctx.sock, ctx.inode)
