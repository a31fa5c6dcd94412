"""Route lookup as the kernel does it: policy rules in priority order, then longest prefix,
then lowest metric, in the table a rule points at."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from netscope.model import Route, Rule

MAIN, LOCAL, DEFAULT = 254, 255, 253
# rules every namespace starts with, for a snapshot that holds none of a family
IMPLICIT_RULES = ((0, LOCAL), (32766, MAIN), (32767, DEFAULT))


@dataclass(frozen=True)
class Lookup:
    """The answer of a route lookup: the route (None for no route) and the rule that led there.

    `kind` is the route type (unicast, local, broadcast, blackhole, unreachable, prohibit) or
    "none"; `rule` is None when no policy rule matched or rules were implicit.
    """

    kind: str
    route: Route | None
    rule: Rule | None
    table: int | None


def in_prefix(address: str, cidr: str | None) -> bool:
    if cidr is None:
        return True
    try:
        return ipaddress.ip_address(address) in ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False


def _rule_matches(rule: Rule, src: str, dst: str, iif: str | None, oif: str | None,
                  mark: int) -> bool:
    ok = (in_prefix(src, rule.src) and in_prefix(dst, rule.dst)
          and (rule.iif is None or rule.iif == iif)
          and (rule.oif is None or rule.oif == oif)
          and (rule.fwmark is None
               or (mark & (rule.fwmask if rule.fwmask is not None else 0xFFFFFFFF))
               == rule.fwmark))
    return ok != rule.invert


def table_lookup(routes: list[Route], table: int, dst: str) -> Route | None:
    """The best route for `dst` in one table: longest prefix, then lowest metric."""
    best: Route | None = None
    best_key: tuple[int, int] | None = None
    address = ipaddress.ip_address(dst)
    for route in routes:
        if route.table != table or route.type == "multicast":
            continue
        network = ipaddress.ip_network(route.dst, strict=False)
        if address.version != network.version or address not in network:
            continue
        key = (-network.prefixlen, route.metric or 0)
        if best_key is None or key < best_key:
            best, best_key = route, key
    return best


def route_lookup(routes: list[Route], rules: list[Rule], family: str, src: str, dst: str,
                 iif: str | None = None, oif: str | None = None, mark: int = 0) -> Lookup:
    """What the kernel's fib_lookup would answer in one namespace."""
    fam_rules = sorted((r for r in rules if r.family == family), key=lambda r: r.priority)
    if not fam_rules:
        fam_rules = [Rule(id="", netns="", family=family, priority=p, action="lookup",
                          table=t) for p, t in IMPLICIT_RULES]
    fam_routes = [r for r in routes if r.family == family]
    for rule in fam_rules:
        if not _rule_matches(rule, src, dst, iif, oif, mark):
            continue
        if rule.action in ("blackhole", "unreachable", "prohibit"):
            return Lookup(rule.action, None, rule if rule.id else None, None)
        if rule.action != "lookup" or rule.table is None:
            continue
        route = table_lookup(fam_routes, rule.table, dst)
        if route is None or route.type == "throw":
            continue
        return Lookup(route.type, route, rule if rule.id else None, rule.table)
    return Lookup("none", None, None, None)
