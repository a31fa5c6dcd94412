"""Named nft sets and maps, looked up the way the kernel does for one packet.

`RulesetIndex` is built once per ruleset (a list of NfTable) and answers: which chain a jump
names, which set `@name` is, and which element of a set or map a packet's key hits. Big maps
(kube-proxy's `service-ips` holds one element per service port: 5,000 and more on real
nodes) are indexed by exact key, so a lookup costs a dict access, not a scan; only elements
with a prefix or a range are compared one by one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from netscope.model.netfilter import NfChain, NfElement, NfSet, NfTable

PROTO_NAMES = {"1": "icmp", "6": "tcp", "17": "udp", "58": "ipv6-icmp", "132": "sctp",
               "33": "dccp", "136": "udplite"}

ChainKey = tuple[str, str, str, str]  # (netns, family, table, name)
# priority of iptables' built-in chains when a chain does not carry one
TABLE_PRIORITY = {"raw": -300, "mangle": -150, "nat": -100, "filter": 0, "security": 50}
NAT_SRC_PRIORITY = 100  # nat at input/postrouting


def chain_priority(chain: NfChain, hook: str) -> int:
    """Where a base chain runs among those of its hook (lower first)."""
    if chain.priority is not None:
        return chain.priority
    if chain.table == "nat" and hook in ("input", "postrouting"):
        return NAT_SRC_PRIORITY
    return TABLE_PRIORITY.get(chain.table, 0)


def _exact(field: str, text: str) -> str | None:
    """The normal form of an exact key component, or None when it is a prefix or range."""
    if field in ("saddr", "daddr"):
        if "-" in text:
            return None
        if "/" in text:
            try:
                net = ipaddress.ip_network(text, strict=False)
            except ValueError:
                return None
            return str(net.network_address) if net.num_addresses == 1 else None
        return text
    if field in ("sport", "dport"):
        return text if text.isdigit() else None
    if field == "proto":
        return PROTO_NAMES.get(text, text)
    if field in ("iif", "oif"):
        return None if text.endswith(("*", "+")) else text.strip('"')
    return text


def component_matches(field: str, text: str, value: str | None) -> bool:
    """Does one key component of an element (prefix, range ...) hold the packet's value?"""
    if value is None:
        return False
    if field in ("saddr", "daddr"):
        try:
            address = ipaddress.ip_address(value)
            if "-" in text:
                low, high = text.split("-", 1)
                return ipaddress.ip_address(low) <= address <= ipaddress.ip_address(high)
            return address in ipaddress.ip_network(text, strict=False)
        except ValueError:
            return False
    if field in ("sport", "dport"):
        low, _, high = text.partition("-")
        try:
            return int(low) <= int(value) <= int(high or low)
        except ValueError:
            return False
    if field in ("iif", "oif") and text.endswith(("*", "+")):
        return value.startswith(text[:-1])
    return _exact(field, text) == value


class ElementIndex:
    """The elements of one set or map, by exact key, plus those that need comparing."""

    def __init__(self, fields: tuple[str, ...], elements: Iterable[NfElement]) -> None:
        self.fields = fields
        self.exact: dict[tuple[str, ...], NfElement] = {}
        self.ranged: list[NfElement] = []
        for element in elements:
            if len(element.key) != len(fields):
                continue
            key = tuple(_exact(f, t) for f, t in zip(fields, element.key, strict=True))
            if None in key:
                self.ranged.append(element)
            else:
                self.exact.setdefault(key, element)  # type: ignore[arg-type]

    def find(self, values: tuple[str | None, ...]) -> NfElement | None:
        """The element whose key holds `values` (one per field), or None."""
        if None not in values:
            hit = self.exact.get(values)  # type: ignore[arg-type]
            if hit is not None:
                return hit
        for element in self.ranged:
            if all(component_matches(f, t, v)
                   for f, t, v in zip(self.fields, element.key, values, strict=True)):
                return element
        return None


class RulesetIndex:
    """Chains and sets of a ruleset by name, and element indexes built when first used."""

    def __init__(self, tables: list[NfTable]) -> None:
        self.tables = tables
        self.chains: dict[ChainKey, NfChain] = {
            (c.netns, c.family, c.table, c.name): c for t in tables for c in t.chains}
        self.by_id: dict[str, NfChain] = {c.id: c for c in self.chains.values()}
        self.sets: dict[ChainKey, NfSet] = {
            (s.netns, s.family, s.table, s.name): s for t in tables for s in t.sets}
        self._elements: dict[tuple[int, tuple[str, ...]], ElementIndex] = {}
        self._base: dict[tuple[str, str], list[NfChain]] = {}
        for t in tables:
            for c in t.chains:
                if c.hook is not None:
                    self._base.setdefault((t.netns, c.hook), []).append(c)

    def base(self, netns: str, family: str, hook: str, established: bool) -> list[NfChain]:
        """The base chains a packet of `family` ("inet"/"inet6") crosses at `hook` in
        `netns`, in priority order; NAT chains only for a connection's first packet."""
        key = (netns, f"{family}/{hook}/{established}")
        got = self._base.get(key)
        if got is None:
            families = {"inet": ("ip", "inet"), "inet6": ("ip6", "inet")}[family]
            got = [c for c in self._base.get((netns, hook), ()) if c.family in families
                   and not (established and (c.table == "nat" or c.type == "nat"))]
            got.sort(key=lambda c: chain_priority(c, hook))
            self._base[key] = got
        return got

    def chain(self, near: NfChain, name: str) -> NfChain | None:
        """The chain `name` in the table of `near` (jumps never leave their table)."""
        return self.chains.get((near.netns, near.family, near.table, name))

    def named_set(self, near: NfChain, ref: str) -> NfSet | None:
        """The set `@name` (ref with or without the @) in the table of `near`."""
        return self.sets.get((near.netns, near.family, near.table, ref.lstrip("@")))

    def elements(self, owner: object, fields: tuple[str, ...],
                 elements: Iterable[NfElement]) -> ElementIndex:
        """The index of `elements` (of a named set, or written in a rule: `owner`)."""
        key = (id(owner), fields)
        index = self._elements.get(key)
        if index is None:
            index = self._elements[key] = ElementIndex(fields, elements)
        return index


# the indexes of the rulesets asked about most recently: a walk evaluates a dozen hooks in a
# few namespaces, the doctor hundreds, each against the same list object
_RECENT: dict[int, tuple[list[NfTable], RulesetIndex]] = {}
RECENT_MAX = 32


def index_of(tables: list[NfTable]) -> RulesetIndex:
    """The RulesetIndex of `tables` (built once per list object while it is among the
    RECENT_MAX last asked about)."""
    got = _RECENT.get(id(tables))
    if got is not None and got[0] is tables:
        return got[1]
    index = RulesetIndex(tables)
    if len(_RECENT) >= RECENT_MAX:
        _RECENT.pop(next(iter(_RECENT)))
    _RECENT[id(tables)] = (tables, index)
    return index
