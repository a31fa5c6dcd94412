"""Netfilter in the host graph: what rules name, and the chains, hooks and rules as nodes.

`NetfilterRelations` (mixed into HostGraph) answers the relations consumers ask: which
namespaces a DNAT rule sends connections to (`dnat_targets`), the DNAT rules that send to an
address (`dnat_rules_to`: a container's published ports), "publishes tcp/8080 -> web:80"
(`publish_label`), and every DNAT rule that sends one protocol's connections to one address
and port, with where that address lives (`published_ports`: Docker's, Podman's, kube-proxy's).

`add_netfilter(g, graph)` adds to the typed networkx graph (netscope.graph.typed), for every
namespace with tables:
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
port is labelled "publishes tcp/8080 -> <container>:80". Attributes are scalars (GraphML).
"""

from __future__ import annotations

import ipaddress
import re
from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from netscope.graph.typed import EdgeKind, NodeKind, scalars
from netscope.model.netfilter import HOOKS, NfChain, NfRule, NfTable

if TYPE_CHECKING:
    import networkx as nx

    from netscope.graph.host import HostGraph

IFACE_FIELDS = ("iif", "oif", "physdev_in", "physdev_out")
ADDR_FIELDS = ("saddr", "daddr")
# which packet families cross a table of each family
PACKET_FAMILIES = {"ip": ("ipv4",), "ip6": ("ipv6",), "inet": ("ipv4", "ipv6"),
                   "bridge": ("bridge",), "arp": ("arp",), "netdev": ("netdev",)}
TABLE_ORDER = {"raw": 0, "mangle": 1, "nat": 2, "filter": 3, "security": 4}


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


def match_values(rule: NfRule, field: str) -> tuple[str, ...]:
    """The values a rule's (not negated) match on `field` names, e.g. its "dport"s."""
    return next((m.values for m in rule.matches if m.field == field and not m.negated), ())


@dataclass(frozen=True)
class PublishedPort:
    """One DNAT rule's promise: `proto` connections it matches go to target:target_port.

    `ports` are the destination ports the rule matches as written ("8080", "30000:30100"),
    empty when it matches any (kube-proxy's endpoint chains: the service chain matched).
    `target_port` is None when the rule keeps the port and matches several, or translates to
    a range. `owners` are the namespaces holding `target`, best first (`dnat_targets`)."""

    rule: NfRule
    proto: str
    ports: tuple[str, ...]
    target: str
    target_port: int | None
    owners: tuple[str, ...]

    @property
    def family(self) -> str:
        return "inet6" if ":" in self.target else "inet"

    def words(self) -> str:
        """"tcp/8080 -> 10.217.0.2:80" as a person reads the rule."""
        front = f"{self.proto}/{','.join(self.ports)}" if self.ports else self.proto
        host = f"[{self.target}]" if ":" in self.target else self.target
        return f"{front} -> {host}" + (f":{self.target_port}" if self.target_port else "")


# comments container runtimes put on the rules they write for one container or pod sandbox:
# netavark `dnat name: <net> id: <id>`, CNI portmap `dnat name: "<net>" id: "<id>"`, CNI
# bridge masquerade `name: "<net>" id: "<id>"`
_RUNTIME_COMMENT = re.compile(r'^(dnat )?name: "?([^" ]+)"? id: "?([^" ]+)"?$')


class NetfilterRelations:
    """The netfilter relations of the host graph (mixed into HostGraph)."""

    @cached_property
    def published_ports(self: HostGraph) -> list[PublishedPort]:
        """Every DNAT rule that sends one protocol (tcp, udp) to one address: a published
        port, a kube-proxy endpoint. Rules whose target is no single address (a map) are
        left out rather than guessed."""
        out = []
        for table in self.tables:
            for chain in table.chains:
                for rule in chain.rules:
                    target = nat_address(rule.nat_to) if rule.action == "dnat" else None
                    protos = match_values(rule, "proto")
                    if target is None or len(protos) != 1 or protos[0] not in ("tcp", "udp"):
                        continue
                    ports = match_values(rule, "dport")
                    port = _nat_port(rule.nat_to or "")
                    if port is None and len(ports) == 1:
                        port = ports[0]  # DNAT to an address alone keeps the port
                    out.append(PublishedPort(rule, protos[0], ports, target,
                                             int(port) if port and port.isdigit() else None,
                                             tuple(self.dnat_targets(rule))))
        return out

    @cached_property
    def _dnat_by_address(self: HostGraph) -> dict[str, list[NfRule]]:
        out: dict[str, list[NfRule]] = defaultdict(list)
        for table in self.tables:
            for chain in table.chains:
                for rule in chain.rules:
                    addr = nat_address(rule.nat_to) if rule.action == "dnat" else None
                    if addr is not None:
                        out[addr].append(rule)
        return dict(out)

    @cached_property
    def _holders(self: HostGraph) -> dict[str, list[tuple[str, str]]]:
        out: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for a in self.snapshot.addresses:
            out[a.address].append((a.netns, a.link))
        return dict(out)

    def dnat_rules_to(self: HostGraph, address: str, netns: str | None = None
                      ) -> list[NfRule]:
        """The DNAT rules (of `netns`, or of any namespace) that send connections to
        `address`: a container's published ports, kube-proxy's endpoints."""
        rules = self._dnat_by_address.get(address, [])
        return [r for r in rules if netns is None or r.netns == netns]

    def dnat_targets(self: HostGraph, rule: NfRule) -> list[str]:
        """Namespaces holding the address a DNAT rule translates to, best first: those
        whose interface is a veth peer of an interface in the rule's namespace, else any."""
        addr = nat_address(rule.nat_to) if rule.action == "dnat" else None
        if addr is None:
            return []
        found = self._holders.get(addr, [])
        others = [(ns, link) for ns, link in found if ns != rule.netns] or found
        near = [ns for ns, link in others
                if (peer := self.veth_peer(link)) is not None and peer.netns == rule.netns]
        return list(dict.fromkeys(near or [ns for ns, _ in others]))

    def publish_label(self: HostGraph, rule: NfRule) -> str | None:
        """"publishes tcp/8080 -> web:80" for a DNAT rule whose target is a container or a
        pod ("-> shop/web-0:80")."""
        names = [name for ns in self.dnat_targets(rule) for name in self.workload_names(ns)]
        if not names:
            return None
        proto = next(iter(match_values(rule, "proto")), "any")
        dport = ",".join(match_values(rule, "dport")) or "any"
        port = _nat_port(rule.nat_to or "")
        return f"publishes {proto}/{dport} -> {names[0]}" + (f":{port}" if port else "")

    def runtime_rule_label(self: HostGraph, rule: NfRule) -> str | None:
        """"published port of web (network podman)", "for shop/web-0 (network n)": a rule
        whose comment names the container or pod sandbox a runtime wrote it for."""
        match = _RUNTIME_COMMENT.match(rule.comment or "")
        if match is None:
            return None
        dnat, network, cid = match.groups()
        name = self.workload_named_by_id(cid)
        if name is None:
            return None
        what = "published port of" if dnat else "for"
        return f"{what} {name} (network {network})"


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
        g.add_node(node, kind=NodeKind.HOOK.value, label=f"{fam} {hook.upper()}", netns=netns,
                   family=fam, hook=hook,
                   order=HOOKS.index(hook) if hook in HOOKS else len(HOOKS))
        if netns in g:
            g.add_edge(node, netns, kind=EdgeKind.IN_NAMESPACE.value)
        for order, chain in enumerate(sorted(chains, key=_chain_sort_key)):
            g.add_edge(node, chain.id, **scalars(kind=EdgeKind.HOOK_ENTRY.value, order=order,
                                                 priority=chain.priority))


def _iface_targets(pattern: str, links) -> list[str]:
    if pattern.endswith("+"):
        return [link.id for link in links if link.name.startswith(pattern[:-1])]
    return [link.id for link in links if link.name == pattern]


def _address_node(g: nx.MultiDiGraph, value: str, graph: HostGraph) -> str | None:
    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None  # a range or a named set: nothing to point at
    node = f"ip:{net}"
    if node in g:
        return node
    g.add_node(node, kind=NodeKind.ADDRESS.value, label=str(net))
    if net.prefixlen == 0:
        return node
    for a in graph.snapshot.addresses:
        if a.link not in g:
            continue
        held = ipaddress.ip_network(a.cidr, strict=False)
        if held == net or (net.num_addresses == 1 and
                           ipaddress.ip_address(a.address) == net.network_address):
            g.add_edge(node, a.link, kind=EdgeKind.ADDRESS_ON.value)
    return node


def _add_rule(g: nx.MultiDiGraph, table: NfTable, chain: NfChain, rule: NfRule,
              graph: HostGraph) -> None:
    label = graph.publish_label(rule) if rule.action == "dnat" else None
    g.add_node(rule.id, **scalars(kind=NodeKind.RULE.value, label=label or rule.text,
                                  netns=rule.netns, table=table.name, family=table.family,
                                  chain=chain.name, position=rule.position,
                                  action=rule.action, text=rule.text, nat_to=rule.nat_to,
                                  packets=rule.packets, bytes=rule.bytes))
    g.add_edge(chain.id, rule.id, kind=EdgeKind.HAS_RULE.value, position=rule.position)
    if rule.action in ("jump", "goto") and rule.jump:
        # a jump stays inside its table: the target's id is the chain id in that table
        target = f"chain:{table.id.removeprefix('nftable:')}/{rule.jump}"
        if target in g:
            kind = EdgeKind.JUMP if rule.action == "jump" else EdgeKind.GOTO
            g.add_edge(chain.id, target, kind=kind.value, rule=rule.id)
    links = graph.links_in(rule.netns)
    for m in rule.matches:
        if not m.recognised:
            continue
        if m.field in IFACE_FIELDS:
            for value in m.values:
                for link in _iface_targets(value, links):
                    g.add_edge(rule.id, link, kind=EdgeKind.NAMES_INTERFACE.value,
                               field=m.field, negated=m.negated)
        elif m.field in ADDR_FIELDS:
            for value in m.values:
                node = _address_node(g, value, graph)
                if node:
                    g.add_edge(rule.id, node, kind=EdgeKind.NAMES_ADDRESS.value,
                               field=m.field, negated=m.negated)
    for netns in graph.dnat_targets(rule):
        g.add_edge(rule.id, netns, **scalars(kind=EdgeKind.NAT_TO.value, to=rule.nat_to))
        for c in graph.containers_in(netns):
            if c.id in g and not c.shares_netns_with:
                g.add_edge(rule.id, c.id, **scalars(kind=EdgeKind.NAT_TO.value,
                                                    to=rule.nat_to))


def add_netfilter(g: nx.MultiDiGraph, graph: HostGraph) -> None:
    """Add hooks, chains, rules and their references to `g`, the typed graph of `graph`
    (namespaces, interfaces and containers already in it). See the module docstring."""
    tables = list(graph.tables)
    for table in tables:
        for chain in table.chains:
            g.add_node(chain.id, **scalars(
                kind=NodeKind.CHAIN.value, netns=table.netns,
                label=chain.name + (f" ({chain.label})" if chain.label else ""),
                name=chain.name, table=table.name, family=table.family,
                backend=table.backend, hook=chain.hook, policy=chain.policy,
                priority=chain.priority))
    _add_hooks(g, tables)
    for table in tables:
        for chain in table.chains:
            for rule in chain.rules:
                _add_rule(g, table, chain, rule, graph)
