"""The detail tabs: one pure function per concern, from the selection to a Rich table.

Pure (Rich renderables, no Textual). A concern adds one function to DETAIL_TABS (its own
module when it is more than a table: detail_flows, detail_dns). Every tab reads the host
graph; what a snapshot was taken without (its collectors say) is said, never shown as an
empty table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rich.console import Group, RenderableType
from rich.text import Text

from netscope.graph.host import HostGraph
from netscope.graph.workloads import allocation_lines, workload_lines
from netscope.model import Snapshot
from netscope.model.labels import link_line, port_line, route_text
from netscope.tui.detail_common import Selection, make_table, nothing
from netscope.tui.detail_dns import dns_tab, prepare_dns
from netscope.tui.detail_drops import drops_tab
from netscope.tui.detail_flows import flows_tab, prepare_flows
from netscope.tui.detail_sockets import sockets_tab


def overview(graph: HostGraph, sel: Selection) -> RenderableType:
    if sel.netns is None:
        return nothing("select a namespace or an interface on the left")
    ns = graph.namespaces.get(sel.netns)
    if ns is None:
        return nothing(f"{sel.netns} is not in this snapshot")
    parts: list[RenderableType] = [Text(f"{ns.name}  ({ns.id})", style="bold")]
    for line in workload_lines(graph, ns.id) + allocation_lines(graph, ns.id):
        parts.append(Text(line))
    parts.append(Text("found at: " + ", ".join(o.path for o in ns.origins), style="dim"))
    link = graph.links.get(sel.link) if sel.link else None
    if link is not None:
        parts += [Text(""), Text(link_line(link, graph), style="bold")]
        if link.mac:
            parts.append(Text(f"mac {link.mac}  flags {','.join(link.flags)}"))
        if link.bridge_port:
            parts.append(Text(f"bridge port state {link.bridge_port.state}"))
        for port in graph.bridge_ports(link):
            parts.append(Text("  " + port_line(port, graph)))
        settings = {**link.details, **link.sysctls}
    else:
        settings = dict(ns.sysctls)
    if settings:
        table = make_table("setting", "value")
        for key, value in settings.items():
            table.add_row(key, str(value))
        parts += [Text(""), table]
    return Group(*parts)


def addresses(graph: HostGraph, sel: Selection) -> RenderableType:
    table = make_table("device", "address", "scope", "flags")
    shown = graph.addresses_on(sel.link) if sel.link else graph.addresses_in(sel.netns or "")
    for addr in shown:
        dev = graph.links[addr.link].name if addr.link in graph.links else addr.link
        table.add_row(dev, addr.cidr, addr.scope, ",".join(addr.flags))
    return table if table.row_count else nothing("no addresses here")


def routes(graph: HostGraph, sel: Selection) -> RenderableType:
    table = make_table("table", "route")
    names = {254: "main", 255: "local", 253: "default"}
    for r in graph.routes_in(sel.netns or ""):
        if sel.link is None or any(h.link == sel.link for h in r.nexthops):
            table.add_row(names.get(r.table, str(r.table)), route_text(r, graph))
    return table if table.row_count else nothing("no routes here")


def rules(graph: HostGraph, sel: Selection) -> RenderableType:
    table = make_table("prio", "family", "rule")
    for r in graph.rules_in(sel.netns or ""):
        parts = [f"from {r.src}" if r.src else "from all"]
        parts += [f"to {r.dst}"] if r.dst else []
        parts += [f"iif {r.iif}"] if r.iif else []
        parts += [f"fwmark {r.fwmark:#x}"] if r.fwmark else []
        parts += [f"{r.action} {r.table}" if r.table is not None else r.action]
        table.add_row(str(r.priority), r.family, ("not " if r.invert else "") + " ".join(parts))
    return table if table.row_count else nothing("no policy rules here")


def neighbours(graph: HostGraph, sel: Selection) -> RenderableType:
    table = make_table("device", "address", "lladdr", "state")
    for n in graph.neighbours_in(sel.netns or ""):
        if sel.link is None or n.link == sel.link:
            dev = graph.links[n.link].name if n.link in graph.links else n.link
            bad = {"FAILED", "INCOMPLETE"} & set(n.state)
            table.add_row(dev, n.address, n.lladdr or "-",
                          Text(",".join(n.state), style="red" if bad else ""))
    return table if table.row_count else nothing("no neighbour entries here")


def netfilter(graph: HostGraph, sel: Selection) -> RenderableType:
    if not graph.collected("netfilter"):
        return nothing("this snapshot has no netfilter chains (taken without the netfilter "
                       "collector)")
    out = make_table("chain", "rule", "packets", "bytes")
    tables = graph.tables_in(sel.netns or "")
    # base chains first, then the chains they lead to, in table order; at most NF_ROWS rows:
    # a Kubernetes node's 30,000 kube-proxy rules took 24 s to render as one table
    chains = sorted(((t, c) for t in tables for c in t.chains), key=lambda tc: tc[1].hook is None)
    left_rules = left_chains = 0
    for t, chain in chains:
        if out.row_count + 1 + min(len(chain.rules), 1) > NF_ROWS:
            left_chains += 1
            left_rules += len(chain.rules)
            continue
        head = f"{t.family} {t.name} {chain.name}"
        if chain.hook:
            head += f" (hook {chain.hook}, policy {chain.policy or '-'})"
        out.add_row(Text(head, style="bold"), chain.label or "",
                    _count(chain.packets), _count(chain.bytes))
        for i, rule in enumerate(chain.rules):
            if out.row_count >= NF_ROWS:
                left_rules += len(chain.rules) - i
                break
            style = "red" if rule.action in ("drop", "reject") else ""
            out.add_row("", Text(rule.text, style=style), _count(rule.packets),
                        _count(rule.bytes))
    if left_rules or left_chains:
        out.add_row(Text("...", style="dim"), Text(
            f"{left_rules} more rules{f' in {left_chains} more chains' if left_chains else ''}"
            " not listed here: `netscope show --netfilter` prints them all", style="dim"),
            "", "")
    return out if out.row_count else nothing("no netfilter tables in this namespace")


NF_ROWS = 400


def _count(value: int | None) -> str:
    return "-" if value is None else str(value)


def conntrack(graph: HostGraph, sel: Selection) -> RenderableType:
    if not graph.collected("conntrack"):
        return nothing("this snapshot has no conntrack table (taken without the conntrack "
                       "collector)")
    table = graph.conntrack_in(sel.netns or "")
    if table is None or not table.active:
        why = table.reason if table is not None else "not read"
        return nothing(f"conntrack is not active in this namespace: {why}")
    out = make_table("proto", "original", "reply", "state", "status")
    for e in table.entries:
        orig = f"{e.orig.src}:{e.orig.sport or ''} -> {e.orig.dst}:{e.orig.dport or ''}"
        reply = f"{e.reply.src}:{e.reply.sport or ''} -> {e.reply.dst}:{e.reply.dport or ''}"
        out.add_row(e.proto, orig, reply, e.state or "-", ",".join(e.status))
    title = Text(f"{table.count} connections (max {table.max})"
                 + (", list truncated" if table.truncated else ""), style="dim")
    return Group(title, out)


@dataclass(frozen=True)
class DetailTab:
    """A tab: `render(graph, selection)`; with `prepare` (slow work over the whole snapshot,
    done once per snapshot in a worker) `render(graph, selection, prepared or None)`; with
    `extra` (live data the app holds, not in the snapshot: drop counters)
    `render(graph, selection, the app's extras[extra])`. `needs`: the collectors whose
    objects it shows (while the app reads them after the first screen, it says so)."""

    id: str
    title: str
    render: Callable[..., RenderableType]
    prepare: Callable[[Snapshot], object] | None = None
    extra: str | None = None
    needs: tuple[str, ...] = ()


DETAIL_TABS = (
    DetailTab("overview", "Info", overview),
    DetailTab("addresses", "Addr", addresses),
    DetailTab("routes", "Route", routes),
    DetailTab("rules", "Rule", rules),
    DetailTab("neighbours", "Neigh", neighbours),
    DetailTab("netfilter", "NF", netfilter, needs=("netfilter",)),
    DetailTab("conntrack", "CT", conntrack, needs=("conntrack",)),
    DetailTab("sockets", "Sock", sockets_tab, needs=("sockets",)),
    DetailTab("flows", "Flows", flows_tab, prepare_flows, needs=("conntrack",)),
    DetailTab("dns", "DNS", dns_tab, prepare_dns, needs=("dns", "sockets")),
    DetailTab("drops", "Drops", drops_tab, extra="drops"),
)
