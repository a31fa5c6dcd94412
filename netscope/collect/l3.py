"""Addresses, routes (every table, IPv4 and IPv6), policy rules and neighbours."""

from __future__ import annotations

from netscope.collect.base import NsContext
from netscope.host import rtnl
from netscope.model import Address, Neighbour, Nexthop, Route, Rule


class AddressesCollector:
    name = "addresses"
    field = "addresses"

    def can_run(self) -> str | None:
        return None

    def collect(self, ctx: NsContext) -> list[Address]:
        out = []
        for raw in rtnl.dump_addrs(ctx.sock):
            link = ctx.link(raw.pop("ifindex"))
            ident = f"addr:{ctx.inode}/{link.split('/')[1]}/{raw['address']}/{raw['prefixlen']}"
            out.append(Address(id=ident, netns=ctx.netns, link=link, **raw))
        return out


class RoutesCollector:
    name = "routes"
    field = "routes"

    def can_run(self) -> str | None:
        return None

    def collect(self, ctx: NsContext) -> list[Route]:
        out = []
        seen: dict[str, int] = {}
        for raw in rtnl.dump_routes(ctx.sock):
            hops = tuple(
                Nexthop(gateway=h["gateway"], link=ctx.link(h["ifindex"]),
                        weight=h["weight"], flags=h["flags"])
                for h in raw.pop("nexthops"))
            oif = hops[0].link.split("/")[1] if hops and hops[0].link else "-"
            base = (f"route:{ctx.inode}/{raw['table']}/{raw['type']}/{raw['dst']}/"
                    f"{raw['metric'] or 0}/{raw['tos']}/{oif}")
            n = seen.get(base, 0)
            seen[base] = n + 1
            ident = base if n == 0 else f"{base}#{n}"
            out.append(Route(id=ident, netns=ctx.netns, nexthops=hops, **raw))
        return out


class RulesCollector:
    name = "rules"
    field = "rules"

    def can_run(self) -> str | None:
        return None

    def collect(self, ctx: NsContext) -> list[Rule]:
        out = []
        position: dict[str, int] = {}
        for raw in rtnl.dump_rules(ctx.sock):
            n = position[raw["family"]] = position.get(raw["family"], -1) + 1
            ident = f"rule:{ctx.inode}/{raw['family']}/{raw['priority']}/{n}"
            out.append(Rule(id=ident, netns=ctx.netns, **raw))
        return out


class NeighboursCollector:
    name = "neighbours"
    field = "neighbours"

    def can_run(self) -> str | None:
        return None

    def collect(self, ctx: NsContext) -> list[Neighbour]:
        out = []
        for raw in rtnl.dump_neighbours(ctx.sock):
            # NOARP entries are multicast/loopback bookkeeping, which `ip neigh` hides too
            if "NOARP" in raw["state"]:
                continue
            link = ctx.link(raw.pop("ifindex"))
            ident = f"neigh:{ctx.inode}/{link.split('/')[1]}/{raw['address']}"
            out.append(Neighbour(id=ident, netns=ctx.netns, link=link, **raw))
        return out
