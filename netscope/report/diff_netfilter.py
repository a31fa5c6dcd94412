"""Netfilter part of a snapshot diff: tables, chains, policies, rules and counter deltas."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from netscope.model import Snapshot
from netscope.model.netfilter import NfChain, NfRule


@dataclass(frozen=True)
class Counted:
    """A rule (or a base chain's policy) whose counters moved between the two snapshots.

    `subject` is "<family> <table> <chain>: <rule text>" or "... policy DROP"; the deltas are
    after minus before (a counter reset shows as a negative delta)."""

    netns: str
    subject: str
    packets: int
    bytes: int


def _chains(snapshot: Snapshot, ns_name: Callable[[str], str]) -> dict[tuple, NfChain]:
    out = {}
    for table in snapshot.tables:
        for chain in table.chains:
            out[(ns_name(table.netns), table.family, table.name, table.backend, chain.name)] = chain
    return out


def _where(key: tuple) -> str:
    _ns, family, table, backend, chain = key
    legacy = " (legacy)" if backend == "iptables-legacy" else ""
    return f"{family} {table}{legacy} {chain}"


def _rules_by_text(chain: NfChain) -> dict[str, list[NfRule]]:
    out: dict[str, list[NfRule]] = {}
    for rule in chain.rules:
        out.setdefault(rule.text, []).append(rule)
    return out


def _counter_delta(old: NfRule | NfChain, new: NfRule | NfChain) -> tuple[int, int] | None:
    if old.packets is None or new.packets is None:
        return None
    packets = new.packets - old.packets
    nbytes = (new.bytes or 0) - (old.bytes or 0)
    return (packets, nbytes) if packets or nbytes else None


def _chain_rule_changes(key: tuple, old: NfChain, new: NfChain,
                        changes: list[tuple], counted: list[Counted]) -> None:
    ns, where = key[0], _where(key)
    if (old.policy, old.hook) != (new.policy, new.hook):
        changes.append(("changed", "chain", ns, where,
                        f"policy {old.policy or '-'} -> {new.policy or '-'}"
                        + (f", hook {old.hook} -> {new.hook}" if old.hook != new.hook else "")))
    if old.is_base and new.is_base and new.policy:
        delta = _counter_delta(old, new)
        if delta:
            counted.append(Counted(ns, f"{where} policy {new.policy}", *delta))
    before, after = _rules_by_text(old), _rules_by_text(new)
    missing = Counter({t: len(r) for t, r in before.items()}) - \
        Counter({t: len(r) for t, r in after.items()})
    extra = Counter({t: len(r) for t, r in after.items()}) - \
        Counter({t: len(r) for t, r in before.items()})
    for text in missing.elements():
        rule = before[text][-1]
        counts = f", had counted {rule.packets} packets" if rule.packets else ""
        changes.append(("removed", "nfrule", ns, f"{where}: {text}",
                        f"was rule {rule.position}{counts}"))
    for text in extra.elements():
        changes.append(("added", "nfrule", ns, f"{where}: {text}",
                        f"now rule {after[text][-1].position}"))
    for text in before.keys() & after.keys():
        for old_rule, new_rule in zip(before[text], after[text], strict=False):
            delta = _counter_delta(old_rule, new_rule)
            if delta:
                counted.append(Counted(ns, f"{where}: {text}", *delta))


def netfilter_changes(before: Snapshot, after: Snapshot, ns_before: Callable[[str], str],
                      ns_after: Callable[[str], str]) -> tuple[list[tuple], list[Counted]]:
    """(changes as (change, what, netns, subject, detail) tuples, counters that moved)."""
    changes: list[tuple] = []
    counted: list[Counted] = []
    tables_a = {(ns_before(t.netns), t.family, t.name, t.backend) for t in before.tables}
    tables_b = {(ns_after(t.netns), t.family, t.name, t.backend) for t in after.tables}
    for key in sorted(tables_a - tables_b):
        changes.append(("removed", "table", key[0], f"{key[1]} {key[2]}", f"read by {key[3]}"))
    for key in sorted(tables_b - tables_a):
        changes.append(("added", "table", key[0], f"{key[1]} {key[2]}", f"read by {key[3]}"))
    chains_a, chains_b = _chains(before, ns_before), _chains(after, ns_after)
    common_tables = tables_a & tables_b
    for key in sorted(chains_a.keys() - chains_b.keys()):
        if key[:4] in common_tables:
            changes.append(("removed", "chain", key[0], _where(key),
                            f"{len(chains_a[key].rules)} rules"))
    for key in sorted(chains_b.keys() - chains_a.keys()):
        if key[:4] in common_tables:
            changes.append(("added", "chain", key[0], _where(key),
                            f"{len(chains_b[key].rules)} rules"))
    for key in sorted(chains_a.keys() & chains_b.keys()):
        _chain_rule_changes(key, chains_a[key], chains_b[key], changes, counted)
    counted.sort(key=lambda c: (-c.packets, c.netns, c.subject))
    return changes, counted
