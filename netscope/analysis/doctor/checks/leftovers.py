"""netscope_leftover: something a killed netscope added and never removed."""

from __future__ import annotations

from netscope.analysis.doctor.finding import Check, op, where
from netscope.graph.host import HostGraph


def run(graph: HostGraph):
    for left in getattr(graph.snapshot, "leftovers", ()):
        if left.kind != "nft_table":
            continue
        family, table = left.name.split(" ", 1)
        yield CHECK.finding(
            where(graph, left.netns, table),
            f"table {left.name} in {graph.ns_name(left.netns)} was added by netscope (pid "
            f"{left.owner_pid}), which is gone: it still marks packets for a trace nobody "
            "reads",
            evidence=(left.id,), subject=left.netns,
            repair=[op("nft", graph.ns_ref(left.netns),
                       script=f"delete table {family} {table}\n")])


CHECK = Check(
    id="netscope_leftover", severity="warning",
    title="a killed netscope left a change behind",
    explain="`netscope trace --rules` and `netscope check` add a table inet "
            "netscope_trace_<pid>_<start> (nftrace marks for the traced packets) in each "
            "namespace they trace, and remove it when they end, on Ctrl-C, SIGTERM and "
            "errors. A netscope killed with SIGKILL (or by a crash of the machine's OOM "
            "killer) cannot: its table stays, costing a rule evaluation per packet and "
            "flooding nothing but the trace netlink group. The table's name records the pid "
            "and start time of its owner, which is gone. The next `trace`, `check` or "
            "`drops` removes such tables by itself; the repair removes them now.",
    run=run)
