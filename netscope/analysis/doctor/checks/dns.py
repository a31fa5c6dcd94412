"""nameserver_unreachable: processes in a namespace resolve names through a nameserver their
queries cannot reach, or where nothing answers."""

from __future__ import annotations

from netscope.analysis.dns import DnsRow, dns_rows
from netscope.analysis.doctor.finding import Check, where
from netscope.graph.host import HostGraph


def _evidence(row: DnsRow, bad) -> list[str]:
    out = [row.netns, row.resolver.id, row.resolver.path]
    for ns_view in bad:
        out += list(ns_view.dnat)
        if ns_view.path is not None:
            last = ns_view.path.hops[-1] if ns_view.path.hops else None
            if last is not None:
                out += list(last.evidence)
    return list(dict.fromkeys(out))


def run(graph: HostGraph):
    if not graph.collected("dns"):
        return
    # nothing resolves where no process runs; a file inherited from the host is the host's
    for row in dns_rows(graph, idle=False, inherited=False):
        if not row.judged:
            continue
        bad = [v for v in row.nameservers if v.reachable is False]
        if not bad:
            continue
        every = len(bad) == len(row.nameservers)
        who = ", ".join(row.containers) or row.name
        lead = (f"{who} cannot resolve names: " if every else
                f"{who} has an unreachable nameserver (lookups wait for its timeout "
                "before trying the next): ")
        yield CHECK.finding(
            f"{where(graph, row.netns)}/{bad[0].nameserver}",
            lead + "; ".join(f"{v.nameserver}: {v.explain}" for v in bad)
            + f" (from {row.resolver.path})",
            evidence=_evidence(row, bad), subject=row.netns,
            severity="error" if every else "warning")


CHECK = Check(
    id="nameserver_unreachable", severity="error",
    title="A nameserver in resolv.conf cannot be reached",
    explain="The resolver sends each query to the nameservers of /etc/resolv.conf in turn, "
            "waiting for a timeout (5 s by default) on each that does not answer. A "
            "loopback nameserver is only answered inside the namespace itself: 127.0.0.53 "
            "(systemd-resolved) exists in the host's namespace only, and Docker's 127.0.0.11 "
            "works only through the DNAT rules Docker puts in the container's own nat table. "
            "Any other nameserver must be routable from the namespace, and something must "
            "listen on port 53 where the queries arrive. Fix the container's resolv.conf "
            "(docker run --dns, /etc/netns/NAME/resolv.conf) or the path to the server.",
    run=run)
