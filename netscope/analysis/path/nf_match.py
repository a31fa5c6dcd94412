"""Netfilter matches: does one condition of a rule hold for one packet?

`PacketContext` is what a match may look at; `match_result` answers True, False or None
(netscope cannot tell). Named sets are looked up by the evaluator (netfilter.py), which
knows the rule's table.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from netscope.model.netfilter import NfMatch, NfRule

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


def one_value(m: NfMatch, value: str, ctx: PacketContext) -> bool | None:
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
        results = [one_value(m, v, ctx) for v in m.values] or [None]
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




def packet_value(field: str, ctx: PacketContext) -> str | None:
    """The packet's value of one key field, as set elements are compared with it."""
    value = {"saddr": ctx.src, "daddr": ctx.dst, "proto": ctx.proto, "iif": ctx.iif,
             "oif": ctx.oif, "sport": ctx.sport, "dport": ctx.dport,
             "mark": ctx.mark}.get(field)
    return None if value is None else str(value)
