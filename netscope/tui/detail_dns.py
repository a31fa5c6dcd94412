"""The DNS tab: the selected namespace's resolv.conf as its processes read it (nameservers,
search, ndots, options), where each nameserver's queries really go and whether something
answers there, and its /etc/hosts entries.

Pure (Rich, no Textual). `prepare_dns` (the snapshot's DNS view) runs once per snapshot in a
worker; `dns_tab` asks it for the selection's rows (a path walk per routed nameserver, made
when a namespace is first shown).
Namespaces where no process runs show the file `ip netns exec` would read, marked as such.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from netscope.analysis.dns import DnsRow, dns_rows
from netscope.graph.host import HostGraph
from netscope.model import Snapshot
from netscope.tui.detail_common import Selection, nothing

VERDICT = {True: ("answers", "green"), False: ("UNREACHABLE", "bold red"),
           None: ("cannot say", "yellow")}
PROCESSES_SHOWN = 4


class DnsView:
    """Every namespace's resolvers (those processes use first), by namespace id, each
    namespace's worked out when first asked: a path walk per routed nameserver is ~0.4 ms,
    and the tab shows one namespace at a time (all of 1,000 namespaces: ~400 ms)."""

    def __init__(self, snapshot: Snapshot) -> None:
        self._graph = HostGraph.of(snapshot)
        self._rows: dict[str, list[DnsRow]] = {}

    def get(self, netns: str, default: list[DnsRow] | None = None) -> list[DnsRow] | None:
        rows = self._rows.get(netns)
        if rows is None:
            rows = dns_rows(self._graph, idle=True, netns=netns)
            rows.sort(key=lambda r: not r.resolver.pids)
            self._rows[netns] = rows
        return rows or default


def prepare_dns(snapshot: Snapshot) -> DnsView:
    """The DNS view of `snapshot` (its rows made as namespaces are shown)."""
    return DnsView(snapshot)


def _indented(text: RenderableType) -> Padding:
    """Indented by two, wrapped lines too."""
    return Padding(text, (0, 0, 0, 2))


def _readers(row: DnsRow) -> Text:
    res = row.resolver
    if not res.pids:
        return Text("no process runs here: the file `ip netns exec` would read", style="dim")
    seen = ", ".join(f"{c}[{p}]" for c, p in zip(res.comms[:PROCESSES_SHOWN],
                                                  res.pids[:PROCESSES_SHOWN], strict=False))
    more = f" +{len(res.pids) - PROCESSES_SHOWN}" if len(res.pids) > PROCESSES_SHOWN else ""
    return Text(f"read by {seen}{more}", style="dim")


def _resolver(row: DnsRow) -> list[RenderableType]:
    res = row.resolver
    out: list[RenderableType] = [Text(res.path, style="bold"), _readers(row)]
    if row.inherited:
        out.append(Text("the host's own resolv.conf, inherited (not given to this namespace)",
                        style="yellow"))
    if res.error:
        out.append(Text(f"cannot read: {res.error}", style="red"))
    if not res.nameservers:
        out.append(Text("no nameserver line: the resolver asks 127.0.0.1", style="yellow"))
    for v in row.nameservers:
        verdict, style = VERDICT[v.reachable]
        line = Text("nameserver ")
        line.append(v.nameserver, style="bold")
        line.append(f"  {verdict}", style=style)
        out += [line, _indented(Text(v.explain))]
        out += [_indented(Text(f"DNAT {rule}", style="yellow")) for rule in v.dnat]
        out += [_indented(Text(f"answered by {sock}", style="dim")) for sock in v.listeners]
    settings = [f"search {' '.join(res.search)}" if res.search else "search (none)",
                f"ndots {res.ndots}" if res.ndots is not None else "ndots 1 (default)"]
    if res.options:
        settings.append("options " + " ".join(res.options))
    out.append(Text(" · ".join(settings)))
    if res.hosts:
        hosts = Table(box=None, pad_edge=False, show_header=False)
        hosts.add_column(overflow="fold")
        hosts.add_column(overflow="fold")
        for h in res.hosts:
            hosts.add_row(h.address, " ".join(h.names))
        out += [Text(f"{res.hosts_path or '/etc/hosts'}:", style="bold"), _indented(hosts)]
    elif res.hosts_path:
        out.append(nothing(f"{res.hosts_path}: no entries"))
    return out


def dns_tab(graph: HostGraph, sel: Selection, view: DnsView | None) -> RenderableType:
    if sel.netns is None:
        return nothing("select a namespace or container on the left")
    if not graph.collected("dns"):
        return nothing("this snapshot has no DNS view (taken by a netscope without the dns "
                       "collector)")
    if view is None:
        return nothing("reading resolv.conf and walking to the nameservers ...")
    rows = view.get(sel.netns, [])
    if not rows:
        return nothing(f"no resolver configuration read for {graph.ns_name(sel.netns)}")
    parts: list[RenderableType] = []
    for n, row in enumerate(rows):
        if n:
            parts.append(Text(""))
        parts += _resolver(row)
    return Group(*parts)
