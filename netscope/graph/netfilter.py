"""Netfilter in the host graph: hooks, chains, rules, and what rules name.

`add_netfilter(graph, snapshot)` adds, for every namespace with tables:
- a hook node per packet family and hook (`hook:<inode>/<ipv4|ipv6|bridge|arp|netdev>/<hook>`)
  with `hook_entry` edges to its base chains, `order` 0, 1, ... in priority order (raw,
  mangle, nat, filter for iptables' tables), and an `in_namespace` edge to the namespace;
- chain nodes (ids of the model) with `has_rule` edges to rule nodes (`position`), and
  `jump`/`goto` edges from the chain to the target chain (with the `rule`);
- from rules: `names_interface` edges to the interfaces they match (iif/oif/physdev, `+`
  wildcards expanded), `names_address` edges to address nodes (`ip:<cidr>`) which have
  `address_on` edges to the interfaces holding that address or subnet, and `nat_to` edges
  from DNAT rules to the namespace (and container) the translated address lives in.
Docker's chains carry their meaning in `label`; a DNAT rule that publishes a container's
port is labelled "publishes tcp/8080 -> <container>:80".
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from enum import StrEnum

import networkx as nx

from netscope.model import Snapshot
from netscope.model.index import SnapshotIndex
from netscope.model.netfilter import HOOKS, NfChain, NfRule, NfTable

IFACE_FIELDS = ("iif", "oif", "physdev_in", "physdev_out")
ADDR_FIELDS = ("saddr", "daddr")
# which packet families cross a table of each family
PACKET_FAMILIES = {"ip": ("ipv4",), "ip6": ("ipv6",), "inet": ("ipv4", "ipv6"),
                   "bridge": ("bridge",), "arp": ("arp",), "netdev": ("netdev",)}
TABLE_ORDER = {"raw": 0, "mangle": 1, "nat": 2, "filter": 3, "security": 4}


class NfNodeKind(StrEnum):
    HOOK = "hook"
    CHAIN = "chain"
    RULE = "rule"
    ADDRESS = "address"


class NfEdgeKind(StrEnum):
    IN_NAMESPACE = "in_namespace"       # hook -> its namespace (as interfaces have)
    HOOK_ENTRY = "hook_entry"           # hook -> base chain, `order` in priority order
    HAS_RULE = "has_rule"               # chain -> rule, `position`
    JUMP = "jump"                       # chain -> chain, `rule` that jumps
    GOTO = "goto"                       # chain -> chain, `rule`
    NAMES_INTERFACE = "names_interface"  # rule -> interface, `field`, `negated`
    NAMES_ADDRESS = "names_address"     # rule -> ip:<cidr>, `field`, `negated`
    ADDRESS_ON = "address_on"           # ip:<cidr> -> interface holding that address/subnet
    NAT_TO = "nat_to"                   # DNAT rule -> namespace / container it sends to


def nat_address(nat_to: str | None) -> str | None:
    """The address in a NAT target ("10.0.0.2:80", "[fd00::1]:80", "a-b:p"), or None when it
    names ports only (REDIRECT, MASQUERADE --to-ports)."""
    if not nat_to or nat_to.startswith(":"):
        return None
    if nat_to.startswith("["):
        addr = nat_to[1:nat_to.find("]")]
    elif nat_to.count(":") > 1:
        addr = nat_to
    else:
        addr = nat_to.split(":", 1)[0]
    addr = addr.split("-", 1)[0]
    try:
        return str(ipaddress.ip_address(addr))
    except ValueError:
        return None


def _nat_port(nat_to: str) -> str | None:
    tail = nat_to.rsplit("]", 1)[-1] if nat_to.startswith("[") else nat_to
    if tail.count(":") == 1:
        return tail.split(":", 1)[1] or None
    return None


Owners = dict[str, list[tuple[str, str]]]


def address_owners(snapshot: Snapshot) -> Owners:
    """address -> [(namespace id, link id)] of every interface holding it."""
    owners: Owners = defaultdict(list)
    for a in snapshot.addresses:
        owners[a.address].append((a.netns, a.link))
    return owners


def dnat_targets(rule: NfRule, index: SnapshotIndex, owners: Owners) -> list[str]:
    """Namespaces holding the address a DNAT rule translates to, best first: those whose
    interface is a veth peer of an interface in the rule's namespace, else any."""
    addr = nat_address(rule.nat_to) if rule.action == "dnat" else None
    if addr is None:
        return []
    found = owners.get(addr, [])
    others = [(ns, link) for ns, link in found if ns != rule.netns] or found
    near = [ns for ns, link in others if _peer_ns(index, link) == rule.netns]
    return list(dict.fromkeys(near or [ns for ns, _ in others]))


def _peer_ns(index: SnapshotIndex, link_id: str) -> str | None:
    link = index.links.get(link_id)
    if link is None or link.peer is None or link.peer.link is None:
        return None
    peer = index.links.get(link.peer.link)
    return peer.netns if peer else None


def publish_label(rule: NfRule, index: SnapshotIndex, owners: Owners) -> str | None:
    """"publishes tcp/8080 -> web:80" for a DNAT rule whose target is a container."""
    targets = dnat_targets(rule, index, owners)
    names = [c.name for ns in targets for c in index.containers_by_ns.get(ns, [])
             if not c.shares_netns_with]
    if not names:
        return None
    proto = next((m.values[0] for m in rule.matches if m.field == "proto" and not m.negated),
                 "any")
    dport = next((",".join(m.values) for m in rule.matches
                  if m.field == "dport" and not m.negated), "any")
    port = _nat_port(rule.nat_to or "")
    return f"publishes {proto}/{dport} -> {names[0]}" + (f":{port}" if port else "")


def _hook_node(inode: str, family: str, hook: str) -> str:
    return f"hook:{inode}/{family}/{hook}"


def _chain_sort_key(chain: NfChain) -> tuple:
    return (chain.priority if chain.priority is not None else 0,
            TABLE_ORDER.get(chain.table, 9), chain.table, chain.name)


def _add_hooks(g: nx.MultiDiGraph, tables: list[NfTable]) -> None:
    entries: dict[tuple[str, str, str], list[NfChain]] = defaultdict(list)
    for table in tables:
        for chain in table.chains:
            if chain.hook is None:
                continue
            for fam in PACKET_FAMILIES.get(table.family, (table.family,)):
                entries[(table.netns, fam, chain.hook)].append(chain)
    for (netns, fam, hook), chains in entries.items():
        node = _hook_node(netns.removeprefix("ns:"), fam, hook)
        g.add_node(node, kind=NfNodeKind.HOOK, label=f"{fam} {hook.upper()}", family=fam,
                   hook=hook, order=HOOKS.index(hook) if hook in HOOKS else len(HOOKS))
        if netns in g:
            g.add_edge(node, netns, kind=NfEdgeKind.IN_NAMESPACE)
        for order, chain in enumerate(sorted(chains, key=_chain_sort_key)):
            g.add_edge(node, chain.id, kind=NfEdgeKind.HOOK_ENTRY, order=order,
                       priority=chain.priority)


def _iface_targets(pattern: str, links) -> list[str]:
    if pattern.endswith("+"):
        return [link.id for link in links if link.name.startswith(pattern[:-1])]
    return [link.id for link in links if link.name == pattern]


def _address_node(g: nx.MultiDiGraph, value: str, index: SnapshotIndex) -> str | None:
    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None  # a range or a named set: nothing to point at
    node = f"ip:{net}"
    if node in g:
        return node
    g.add_node(node, kind=NfNodeKind.ADDRESS, label=str(net))
    if net.prefixlen == 0:
        return node
    for a in index.snapshot.addresses:
        if a.link not in g:
            continue
        held = ipaddress.ip_network(a.cidr, strict=False)
        if held == net or (net.num_addresses == 1 and
                           ipaddress.ip_address(a.address) == net.network_address):
            g.add_edge(node, a.link, kind=NfEdgeKind.ADDRESS_ON)
    return node


def _add_rule(g: nx.MultiDiGraph, table: NfTable, chain: NfChain, rule: NfRule,
              index: SnapshotIndex, owners: Owners) -> None:
    label = publish_label(rule, index, owners) if rule.action == "dnat" else None
    g.add_node(rule.id, kind=NfNodeKind.RULE, obj=rule, label=label or rule.text)
    g.add_edge(chain.id, rule.id, kind=NfEdgeKind.HAS_RULE, position=rule.position)
    if rule.action in ("jump", "goto") and rule.jump:
        # a jump stays inside its table: the target's id is the chain id in that table
        target = f"chain:{table.id.removeprefix('nftable:')}/{rule.jump}"
        if target in g:
            kind = NfEdgeKind.JUMP if rule.action == "jump" else NfEdgeKind.GOTO
            g.add_edge(chain.id, target, kind=kind, rule=rule.id)
    links = index.links_by_ns.get(rule.netns, [])
    for m in rule.matches:
        if not m.recognised:
            continue
        if m.field in IFACE_FIELDS:
            for value in m.values:
                for link in _iface_targets(value, links):
                    g.add_edge(rule.id, link, kind=NfEdgeKind.NAMES_INTERFACE, field=m.field,
                               negated=m.negated)
        elif m.field in ADDR_FIELDS:
            for value in m.values:
                node = _address_node(g, value, index)
                if node:
                    g.add_edge(rule.id, node, kind=NfEdgeKind.NAMES_ADDRESS, field=m.field,
                               negated=m.negated)
    for netns in dnat_targets(rule, index, owners):
        g.add_edge(rule.id, netns, kind=NfEdgeKind.NAT_TO, to=rule.nat_to)
        for c in index.containers_by_ns.get(netns, []):
            if c.id in g and not c.shares_netns_with:
                g.add_edge(rule.id, c.id, kind=NfEdgeKind.NAT_TO, to=rule.nat_to)


def add_netfilter(graph: nx.MultiDiGraph, snapshot: Snapshot) -> None:
    """Add hooks, chains, rules and their references to a graph built from `snapshot`
    (namespaces, interfaces and containers already in it). See the module docstring."""
    index = SnapshotIndex(snapshot)
    owners = address_owners(snapshot)
    tables = list(snapshot.tables)
    for table in tables:
        for chain in table.chains:
            graph.add_node(chain.id, kind=NfNodeKind.CHAIN, obj=chain,
                           label=chain.name + (f" ({chain.label})" if chain.label else ""),
                           table=table.name, family=table.family, backend=table.backend)
    _add_hooks(graph, tables)
    for table in tables:
        for chain in table.chains:
            for rule in chain.rules:
                _add_rule(graph, table, chain, rule, index, owners)
