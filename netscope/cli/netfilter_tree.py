"""The text `netscope show --netfilter` prints: per namespace, tables -> named sets and maps ->
base chains -> rules, with each jump followed into its target chain (indented), counters,
and the chains and published ports of Docker, Podman (netavark) and CNI plugins, and
kube-proxy's and NetworkPolicy implementations' chains (with their service or pod),
labelled."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from netscope.graph.host import HostGraph
from netscope.graph.netfilter import TABLE_ORDER
from netscope.model import Snapshot
from netscope.model.labels import human_bytes
from netscope.model.netfilter import HOOKS, NfChain, NfRule, NfSet, NfTable

INDENT = "  "
SET_ELEMENTS_SHOWN = 20
FAMILY_ORDER = {"ip": 0, "ip6": 1, "inet": 2, "arp": 3, "bridge": 4, "netdev": 5}


def counters(packets: int | None, nbytes: int | None) -> str:
    if packets is None:
        return "[-]"
    return f"[{packets} pkts, {human_bytes(nbytes or 0)}]"


def _table_key(t: NfTable) -> tuple:
    return (FAMILY_ORDER.get(t.family, 9), TABLE_ORDER.get(t.name, 9), t.name, t.backend)


def _chain_head(chain: NfChain) -> str:
    parts = [f"chain {chain.name}"]
    if chain.hook:
        parts.append(f"hook {chain.hook} priority {chain.priority} policy {chain.policy}")
        if chain.packets is not None:
            parts.append(f"policy {counters(chain.packets, chain.bytes)}")
    if chain.label:
        parts.append(f"-- {chain.label}")
    return "  ".join(parts)


def _rule_line(rule: NfRule, note: str | None) -> str:
    line = f"{rule.position:<3} {counters(rule.packets, rule.bytes):<24} {rule.text}"
    flags = []
    if rule.unrecognised:
        flags.append("not evaluated: " + ", ".join(m.text for m in rule.unrecognised))
    if note:
        flags.append(note)
    return line + "".join(f"  <{f}>" for f in flags)


class _TableView:
    """Prints one table, following jumps; a chain shown once is referred to afterwards."""

    def __init__(self, table: NfTable, notes: dict[str, str]) -> None:
        self.chains = {c.name: c for c in table.chains}
        self.sets = table.sets
        self.notes = notes
        self.shown: set[str] = set()

    def chain(self, chain: NfChain, depth: int, stack: tuple[str, ...]) -> Iterator[str]:
        pad = INDENT * depth
        if chain.name in self.shown and chain.hook is None:
            yield f"{pad}{INDENT}(chain {chain.name}: shown above)"
            return
        self.shown.add(chain.name)
        yield pad + _chain_head(chain)
        if not chain.rules:
            yield f"{pad}{INDENT}(no rules)"
        for rule in chain.rules:
            yield pad + INDENT + _rule_line(rule, self.notes.get(rule.id))
            target = self.chains.get(rule.jump or "")
            if target is not None and rule.action in ("jump", "goto"):
                if target.name in stack:
                    yield f"{pad}{INDENT * 2}(loop back to {target.name})"
                else:
                    yield from self.chain(target, depth + 2, (*stack, target.name))

    def lines(self) -> Iterator[str]:
        yield from _set_lines(self.sets)
        base = sorted((c for c in self.chains.values() if c.hook),
                      key=lambda c: (HOOKS.index(c.hook) if c.hook in HOOKS else 9,
                                     c.priority or 0, c.name))
        for chain in base:
            yield from self.chain(chain, 0, (chain.name,))
        unreached = [c for c in self.chains.values() if c.name not in self.shown]
        for chain in unreached:
            yield f"(not reached from a base chain) {chain.name}"
            yield from self.chain(chain, 1, (chain.name,))


def _set_lines(sets: tuple[NfSet, ...]) -> Iterator[str]:
    """Named sets and maps: type, size and comment, then their first elements (kube-proxy's
    maps hold one element per service port: thousands on a big node)."""
    for nft_set in sets:
        data = f" : {nft_set.data_type}" if nft_set.data_type else ""
        flags = f"  flags {','.join(nft_set.flags)}" if nft_set.flags else ""
        comment = f"  -- {nft_set.comment}" if nft_set.comment else ""
        count = len(nft_set.elements)
        yield (f"{nft_set.kind} {nft_set.name}  {' . '.join(nft_set.key_type)}{data}{flags}  "
               f"({count} element{'s' if count != 1 else ''}){comment}")
        for element in nft_set.elements[:SET_ELEMENTS_SHOWN]:
            value = f" : {element.value}" if element.value else ""
            note = f'  "{element.comment}"' if element.comment else ""
            yield f"{INDENT}{' . '.join(element.key)}{value}{note}"
        if count > SET_ELEMENTS_SHOWN:
            yield f"{INDENT}... and {count - SET_ELEMENTS_SHOWN} more"


def _dnat_note(rule: NfRule, graph: HostGraph) -> str | None:
    label = graph.publish_label(rule)
    if label:
        return label
    targets = graph.dnat_targets(rule)
    return f"to namespace {', '.join(map(graph.ns_name, targets))}" if targets else None


def render_netfilter(snapshot: Snapshot) -> Iterator[str]:
    """Lines of the netfilter tree of every namespace that has tables."""
    graph = HostGraph.of(snapshot)
    by_ns: dict[str, list[NfTable]] = defaultdict(list)
    for table in snapshot.tables:
        by_ns[table.netns].append(table)
    notes = {rule.id: label for t in snapshot.tables for c in t.chains for rule in c.rules
             if (label := (_dnat_note(rule, graph) if rule.action == "dnat"
                           else graph.runtime_rule_label(rule)))}
    errors = [e for e in snapshot.errors if e.collector == "netfilter"]
    order = sorted(by_ns, key=lambda ns: (not graph.namespaces.get(ns) or
                                          not graph.namespaces[ns].is_self, graph.ns_name(ns)))
    for netns in order:
        yield f"{graph.ns_name(netns)} ({netns})"
        for table in sorted(by_ns[netns], key=_table_key):
            yield f"{INDENT}table {table.family} {table.name}  [{table.backend}]"
            for line in _TableView(table, notes).lines():
                yield INDENT * 2 + line
    for e in errors:
        yield f"{graph.ns_name(e.netns) if e.netns else 'host'}: netfilter not read: {e.message}"
    without = len(snapshot.namespaces) - len(by_ns)
    if without:
        yield f"({without} namespace{'s' if without != 1 else ''} without netfilter tables)"
