"""conntrack_near_full and conntrack_invalid_drops."""

from __future__ import annotations

from netscope.analysis.doctor.finding import Check, op, where
from netscope.graph.host import HostGraph

NEAR_FULL = 0.9


def run_full(graph: HostGraph):
    for table in getattr(graph.snapshot, "conntrack", ()):
        if not table.active or not table.count or not table.max:
            continue
        if table.count / table.max < NEAR_FULL:
            continue
        yield NEAR_FULL_CHECK.finding(
            where(graph, table.netns),
            f"{graph.ns_name(table.netns)}: {table.count} of {table.max} conntrack entries "
            f"used ({table.count / table.max:.0%})",
            evidence=(table.id,), subject=table.netns,
            repair=[op("sysctl", graph.ns_ref(table.netns), key="net.netfilter.nf_conntrack_max",
                       value=str(table.max * 2))])


def run_invalid(graph: HostGraph):
    for t in graph.tables:
        for c in t.chains:
            for rule in c.rules:
                if rule.action not in ("drop", "reject") or not rule.packets:
                    continue
                if not any(m.field == "ct_state" and "invalid" in m.values and not m.negated
                           for m in rule.matches):
                    continue
                yield INVALID_CHECK.finding(
                    where(graph, rule.netns, f"{rule.chain}/{rule.position}"),
                    f"'{rule.text}' has dropped {rule.packets} packets conntrack calls INVALID",
                    evidence=(rule.id,), subject=rule.id)


NEAR_FULL_CHECK = Check(
    id="conntrack_near_full", severity="warning", title="the conntrack table is nearly full",
    explain="Every connection through NAT or a stateful rule takes a conntrack entry. When the "
            "table is full the kernel drops new connections ('nf_conntrack: table full, "
            "dropping packet'): existing ones work, new ones time out at random.",
    run=run_full)

INVALID_CHECK = Check(
    id="conntrack_invalid_drops", severity="info", title="packets dropped as conntrack INVALID",
    explain="conntrack marks a packet INVALID when it fits no known connection: a reply that "
            "took another path (asymmetric routing), an out-of-window TCP segment, a flow whose "
            "entry expired. A rule dropping INVALID packets that counts hits is a sign of one.",
    run=run_invalid)
