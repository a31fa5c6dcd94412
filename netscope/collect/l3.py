"""Addresses, routes (every table, IPv4 and IPv6), policy rules and neighbours."""

from __future__ import annotations

from netscope.collect.base import NsContext
from netscope.host import rtnl
from netscope.model import Address, Neighbour, Route, Rule


class AddressesCollector:
    name = "addresses"
    field = "addresses"

    def can_run(self) -> str | None:
        return None

    def collect(self, ctx: NsContext) -> list[Address]:
        return rtnl.dump_addrs(ctx.sock, ctx.inode)


class RoutesCollector:
    name = "routes"
    field = "routes"

    def can_run(self) -> str | None:
        return None

    def collect(self, ctx: NsContext) -> list[Route]:
        return rtnl.dump_routes(ctx.sock, ctx.inode)


class RulesCollector:
    name = "rules"
    field = "rules"

    def can_run(self) -> str | None:
        return None

    def collect(self, ctx: NsContext) -> list[Rule]:
        return rtnl.dump_rules(ctx.sock, ctx.inode)


class NeighboursCollector:
    name = "neighbours"
    field = "neighbours"

    def can_run(self) -> str | None:
        return None

    def collect(self, ctx: NsContext) -> list[Neighbour]:
        # NOARP entries (multicast/loopback bookkeeping) are left out, as `ip neigh` does
        return rtnl.dump_neighbours(ctx.sock, ctx.inode)
