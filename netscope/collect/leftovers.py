"""Leftovers of killed netscopes in one namespace: nft trace tables whose owner mark names a
process that is gone (see netscope.host.owner). Read from what the netfilter collector found;
nothing is removed here (collection is read-only)."""

from __future__ import annotations

import os

from netscope.collect.base import NsContext
from netscope.host.owner import NFTRACE_TABLE_PREFIX, alive, owner_of
from netscope.model.leftover import Leftover


class LeftoversCollector:
    name = "leftovers"
    field = "leftovers"

    def can_run(self) -> str | None:
        return None

    def collect(self, ctx: NsContext) -> list[Leftover]:
        out = []
        for table in ctx.results.get("tables", []):
            owner = owner_of(table.name, NFTRACE_TABLE_PREFIX)
            if owner is None or owner.pid == os.getpid() or alive(owner):
                continue
            out.append(Leftover(id=f"leftover:{ctx.inode}/{table.family}/{table.name}",
                                netns=ctx.netns, kind="nft_table",
                                name=f"{table.family} {table.name}", owner_pid=owner.pid))
        return out
