"""What the Markdown and HTML reports say, as plain tables: summary, doctor findings and,
per namespace, interfaces, routes, policy rules, netfilter rules and conntrack.

Pure: `build_report(snapshot)` runs the doctor and returns data; the writers only format it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from netscope.analysis.doctor import Finding, run_doctor
from netscope.graph.host import HostGraph
from netscope.model import Snapshot
from netscope.model.labels import global_addresses, link_state, peer_text, route_text, shown_routes


@dataclass(frozen=True)
class Table:
    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class NamespaceSection:
    id: str
    name: str
    containers: tuple[str, ...]
    tables: tuple[Table, ...]


@dataclass(frozen=True)
class Report:
    title: str
    facts: tuple[tuple[str, str], ...]
    counts: tuple[tuple[str, int], ...]
    findings: tuple[Finding, ...]
    namespaces: tuple[NamespaceSection, ...]
    errors: tuple[str, ...] = field(default=())


def _interfaces(ix: HostGraph, ns_id: str) -> Table:
    rows = []
    for link in sorted(ix.links_in(ns_id), key=lambda x: x.ifindex):
        master = ix.link_label(link.master).split(":", 1)[-1] if link.master else ""
        rows.append((link.name, link.kind, link_state(link), str(link.mtu), link.mac or "",
                     master, " ".join(global_addresses(link, ix)),
                     (peer_text(link, ix) or "").removeprefix("<-> ")))
    return Table("Interfaces", ("device", "kind", "state", "mtu", "mac", "master", "addresses",
                                "peer"), tuple(rows))


def _routes(ix: HostGraph, ns_id: str) -> Table:
    return Table("Routes", ("route",), tuple((route_text(r, ix),)
                                              for r in shown_routes(ix, ns_id)))


DEFAULT_RULES = {(0, 255), (32766, 254), (32767, 253)}


def _default_rule(r) -> bool:
    """One of the three rules every namespace starts with (local, main, default)."""
    return ((r.priority, r.table) in DEFAULT_RULES and r.action == "lookup" and not r.src
            and not r.dst and not r.iif and not r.oif and not r.fwmark and not r.invert)


def _policy_rules(ix: HostGraph, ns_id: str) -> Table:
    rows = []
    for r in ix.rules_in(ns_id):
        if _default_rule(r):
            continue
        sel = " ".join(p for p in (f"from {r.src or 'all'}", f"to {r.dst}" if r.dst else "",
                                   f"iif {r.iif}" if r.iif else "",
                                   f"fwmark {r.fwmark:#x}" if r.fwmark else "") if p)
        rows.append((r.family, str(r.priority), sel,
                     f"lookup {r.table}" if r.action == "lookup" else r.action))
    return Table("Policy rules (beyond the three defaults)",
                 ("family", "priority", "selector", "action"), tuple(rows))


def _netfilter(tables: list) -> Table:
    rows = []
    for table in tables:
        for chain in table.chains:
            where = f"{table.family} {table.name} {chain.name}"
            if chain.policy:
                rows.append((where, "policy", chain.policy,
                             "" if chain.packets is None else str(chain.packets)))
            for rule in chain.rules:
                rows.append((where, str(rule.position), rule.text,
                             "" if rule.packets is None else str(rule.packets)))
    return Table("Netfilter rules", ("chain", "#", "rule", "packets"), tuple(rows))


def _conntrack(conntrack: list) -> Table:
    rows = []
    for t in conntrack:
        if not t.active:
            rows.append(("inactive", t.reason or "", ""))
            continue
        rows.append(("active", f"{t.count} of max {t.max}",
                     "truncated" if t.truncated else ""))
        for e in t.entries[:50]:
            ports = (f" {e.orig.sport}->{e.orig.dport}" if e.orig.dport is not None else "")
            nat = " (NAT to " + f"{e.reply.src})" if e.dnat else ""
            rows.append((e.proto, f"{e.orig.src} -> {e.orig.dst}{ports}{nat}",
                         " ".join(x for x in (e.state or "", *e.status) if x)))
    return Table("Conntrack", ("", "connection", "state"), tuple(rows))


def build_report(snapshot: Snapshot) -> Report:
    """Everything the Markdown and HTML exports show, in reading order."""
    ix = HostGraph.of(snapshot)
    h = snapshot.header
    facts = (("host", h.hostname), ("captured", h.captured_at), ("kernel", h.kernel),
             ("netscope", h.netscope_version), ("redacted", "yes" if h.redacted else "no"),
             ("collectors", ", ".join(h.collectors) or "-"), ("note", h.note or "-"))
    nf_rules = sum(len(c.rules) for t in snapshot.tables for c in t.chains)
    counts = (("namespaces", len(snapshot.namespaces)), ("containers", len(snapshot.containers)),
              ("interfaces", len(snapshot.links)), ("addresses", len(snapshot.addresses)),
              ("routes", len(snapshot.routes)), ("netfilter rules", nf_rules),
              ("conntrack entries", sum(len(t.entries) for t in snapshot.conntrack)),
              ("collector errors", len(snapshot.errors)))
    sections = []
    for ns_id in ix.ns_order():
        conntrack = ix.conntrack_in(ns_id)
        tables = [_interfaces(ix, ns_id), _routes(ix, ns_id), _policy_rules(ix, ns_id),
                  _netfilter(ix.tables_in(ns_id)), _conntrack([conntrack] if conntrack else [])]
        sections.append(NamespaceSection(
            ns_id, ix.ns_name(ns_id), tuple(c.name for c in ix.containers_in(ns_id)),
            tuple(t for t in tables if t.rows)))
    errors = tuple(f"{e.collector}" + (f" in {ix.ns_name(e.netns)}" if e.netns else "")
                   + f": {e.message}" for e in snapshot.errors)
    return Report(f"netscope report: {h.hostname}", facts, counts, tuple(run_doctor(snapshot)),
                  tuple(sections), errors)
