"""Evaluate netfilter chains for one packet at one hook, against the structured rules.

A match netscope cannot evaluate (an unrecognised module, a named set, an ipset) makes the
rule "uncertain"; an uncertain rule that would decide the packet's fate stops the walk with
"uncertain at this rule" rather than a guess.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

from netscope.model.netfilter import NfChain, NfMatch, NfRule, NfTable

# priority of iptables' built-in chains when a chain does not carry one
TABLE_PRIORITY = {"raw": -300, "mangle": -150, "nat": -100, "filter": 0, "security": 50}
NAT_SRC_PRIORITY = 100  # nat at input/postrouting
ICMP_TYPES = {"echo-reply": 0, "destination-unreachable": 3, "echo-request": 8,
              "time-exceeded": 11, "any": -1}
PROTO_NUMBERS = {"icmp": 1, "tcp": 6, "udp": 17, "icmpv6": 58, "ipv6-icmp": 58, "sctp": 132}


@dataclass(frozen=True)
class PacketContext:
    """Everything a match may look at besides the packet's addresses and ports."""

    family: str                     # inet / inet6
    src: str
    dst: str
    proto: str
    sport: int | None
    dport: int | None
    iif: str | None
    oif: str | None
    ct_state: str = "new"
    mark: int = 0
    physdev_in: str | None = None
    physdev_out: str | None = None
    local_addresses: frozenset[str] = frozenset()
    icmp_type: int | None = None
    ct_status: tuple[str, ...] = ()


@dataclass(frozen=True)
class Verdict:
    """What one hook decided: accept/drop/uncertain, the deciding rule (or chain policy),
    and any NAT it asked for (`nat`: ("dnat"|"snat"|"masquerade"|"redirect", rule))."""

    verdict: str
    rule: NfRule | None = None
    chain: NfChain | None = None
    nat: tuple[str, NfRule] | None = None
    traversed: tuple[str, ...] = field(default=())


def _iface_matches(pattern: str, name: str | None) -> bool:
    if name is None:
        return False
    if pattern.endswith("+"):
        return name.startswith(pattern[:-1])
    return pattern == name


def _addr_matches(value: str, address: str) -> bool | None:
    if value.startswith("@"):
        return None
    try:
        if "-" in value:
            lo, hi = value.split("-", 1)
            a = ipaddress.ip_address(address)
            return ipaddress.ip_address(lo) <= a <= ipaddress.ip_address(hi)
        return ipaddress.ip_address(address) in ipaddress.ip_network(value, strict=False)
    except (ValueError, TypeError):
        return None


def _port_matches(value: str, port: int | None) -> bool | None:
    if port is None:
        return False
    try:
        if ":" in value or "-" in value:
            lo, hi = value.replace("-", ":").split(":", 1)
            return int(lo or 0) <= port <= int(hi or 65535)
        return int(value) == port
    except ValueError:
        return None


def _addr_type(address: str, ctx: PacketContext) -> str:
    a = ipaddress.ip_address(address)
    if address in ctx.local_addresses:
        return "local"
    if a.is_multicast:
        return "multicast"
    if a.version == 4 and str(a).endswith(".255"):
        return "broadcast"
    return "unicast"


def _one_value(m: NfMatch, value: str, ctx: PacketContext) -> bool | None:
    f = m.field
    if f == "iif":
        return _iface_matches(value, ctx.iif)
    if f == "oif":
        return _iface_matches(value, ctx.oif)
    if f == "physdev_in":
        return _iface_matches(value, ctx.physdev_in)
    if f == "physdev_out":
        return _iface_matches(value, ctx.physdev_out)
    if f == "saddr":
        return _addr_matches(value, ctx.src)
    if f == "daddr":
        return _addr_matches(value, ctx.dst)
    if f == "proto":
        v = value.lower()
        if v in ("all", "0"):
            return True
        return v == ctx.proto or PROTO_NUMBERS.get(ctx.proto) == (int(v) if v.isdigit() else -2)
    if f == "sport":
        return _port_matches(value, ctx.sport)
    if f == "dport":
        return _port_matches(value, ctx.dport)
    if f == "port":
        return bool(_port_matches(value, ctx.sport) or _port_matches(value, ctx.dport))
    if f == "ct_state":
        # iptables' --ctstate also knows the virtual states DNAT and SNAT
        v = value.lower()
        return v in ctx.ct_status if v in ("dnat", "snat") else v == ctx.ct_state
    if f == "ct_status":
        v = value.lower()
        if v in ("dnat", "snat"):
            return v in ctx.ct_status
        return None
    if f == "ct_direction":
        return value.lower() == ("reply" if ctx.ct_state == "established" else "original")
    if f == "saddr_type":
        return value.lower() == _addr_type(ctx.src, ctx)
    if f == "daddr_type":
        return value.lower() == _addr_type(ctx.dst, ctx)
    if f == "mark":
        try:
            val, _, mask = value.partition("/")
            return ctx.mark & int(mask or "0xffffffff", 0) == int(val, 0)
        except ValueError:
            return None
    if f == "icmp_type":
        if ctx.icmp_type is None:
            return False
        wanted = ICMP_TYPES.get(value.lower(), int(value) if value.isdigit() else None)
        return None if wanted is None else wanted in (-1, ctx.icmp_type)
    if f == "family":
        return value == ("ipv4" if ctx.family == "inet" else "ipv6")
    return None


def match_result(m: NfMatch, ctx: PacketContext) -> bool | None:
    """True/False, or None when netscope cannot tell."""
    if not m.recognised:
        return None
    if m.field == "physdev_is_bridged":
        result: bool | None = ctx.physdev_in is not None or ctx.physdev_out is not None
    else:
        results = [_one_value(m, v, ctx) for v in m.values] or [None]
        result = True if True in results else (None if None in results else False)
    if result is None:
        return None
    return not result if m.negated else result


def rule_result(rule: NfRule, ctx: PacketContext) -> bool | None:
    """Does the rule match: True, False, or None (some match cannot be evaluated)."""
    unknown = False
    for m in rule.matches:
        r = match_result(m, ctx)
        if r is False:
            return False
        if r is None:
            unknown = True
    return None if unknown else True


def _chain_priority(chain: NfChain, hook: str) -> int:
    if chain.priority is not None:
        return chain.priority
    if chain.table == "nat" and hook in ("input", "postrouting"):
        return NAT_SRC_PRIORITY
    return TABLE_PRIORITY.get(chain.table, 0)


def base_chains(tables: Iterable[NfTable], netns: str, family: str, hook: str,
                established: bool) -> list[NfChain]:
    """The base chains a packet of `family` crosses at `hook` in `netns`, in priority order.

    NAT chains see only the first packet of a connection, so not `established` ones.
    """
    families = {"inet": ("ip", "inet"), "inet6": ("ip6", "inet")}[family]
    chains = [c for t in tables if t.netns == netns and t.family in families
              for c in t.chains if c.hook == hook]
    if established:
        chains = [c for c in chains if c.table != "nat" and c.type != "nat"]
    return sorted(chains, key=lambda c: _chain_priority(c, hook))


class _Walker:
    def __init__(self, tables: list[NfTable], ctx: PacketContext) -> None:
        self.ctx = ctx
        self.by_name = {(c.netns, c.family, c.table, c.name): c
                        for t in tables for c in t.chains}
        self.traversed: list[str] = []

    def run(self, chain: NfChain, depth: int = 0) -> Verdict | None:
        """A final Verdict, or None when the chain ran to its end (or returned)."""
        self.traversed.append(chain.id)
        if depth > 32:
            return Verdict("uncertain", chain=chain)
        for rule in chain.rules:
            result = rule_result(rule, self.ctx)
            if result is False:
                continue
            decisive = rule.terminal or rule.action in ("jump", "goto")
            if result is None:
                if decisive:
                    return Verdict("uncertain", rule=rule, chain=chain)
                continue
            if rule.action in ("jump", "goto") and rule.jump:
                target = self.by_name.get((chain.netns, chain.family, chain.table, rule.jump))
                if target is None:
                    return Verdict("uncertain", rule=rule, chain=chain)
                sub = self.run(target, depth + 1)
                if sub is not None:
                    return sub
                if rule.action == "goto":
                    return None
                continue
            if rule.action == "return":
                return None
            if rule.action == "accept":
                return Verdict("accept", rule=rule, chain=chain)
            if rule.action in ("drop", "reject"):
                return Verdict(rule.action, rule=rule, chain=chain)
            if rule.action in ("dnat", "snat", "masquerade", "redirect"):
                return Verdict("accept", rule=rule, chain=chain, nat=(rule.action, rule))
            if rule.action == "queue":
                return Verdict("uncertain", rule=rule, chain=chain)
        return None


def evaluate_hook(tables: list[NfTable], netns: str, hook: str, ctx: PacketContext
                  ) -> Verdict:
    """Run every base chain of `hook` in order: the first drop (or uncertainty) ends it;
    NAT decisions are collected (the first DNAT/SNAT wins, as in the kernel)."""
    walker = _Walker(tables, ctx)
    nat = None
    last: Verdict | None = None
    chains = base_chains(tables, netns, ctx.family, hook, ctx.ct_state != "new")
    for chain in chains:
        v = walker.run(chain)
        if v is None:
            policy = (chain.policy or "accept").lower()
            if policy == "drop":
                return Verdict("drop", chain=chain, traversed=tuple(walker.traversed))
            last = Verdict("accept", chain=chain)
            continue
        if v.verdict != "accept":
            return Verdict(v.verdict, v.rule, v.chain, nat, tuple(walker.traversed))
        if v.nat and nat is None:
            nat = v.nat
        last = v
    if last is None:
        return Verdict("accept", traversed=tuple(walker.traversed))
    return Verdict("accept", last.rule, last.chain, nat, tuple(walker.traversed))
