"""The Flows tab: the selected namespace's flows from conntrack, bytes each way, east-west or
north-south, NAT, and a line saying where the numbers come from.

Pure (Rich, no Textual). `prepare_flows` is the slow part (flows() merges every conntrack
table of the host: ~0.25 s at 9k connections), run once per snapshot in a worker;
`flows_tab` only picks the selected namespace's rows out of it. The TUI never turns conntrack
accounting on: without it there are no byte counts, and the tab says how to get them.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from netscope.analysis import flows as fl
from netscope.analysis.flows import EAST_WEST, Flow, FlowEnd, FlowRow, FlowSource
from netscope.graph.host import HostGraph
from netscope.model import Snapshot
from netscope.model.labels import human_bytes
from netscope.tui.detail_common import Selection, nothing

# rows drawn per namespace; the rest are counted (`netscope flows --ns NAME` lists them all)
SHOWN = 40
ENABLE_HINT = "netscope flows --enable-accounting"


@dataclass(frozen=True)
class FlowsView:
    """Every namespace's flow rows and conntrack sources of one snapshot."""

    rows: tuple[FlowRow, ...]
    sources: tuple[FlowSource, ...]


def prepare_flows(snapshot: Snapshot) -> FlowsView:
    return FlowsView(tuple(fl.flow_rows(snapshot)), tuple(fl.sources(snapshot)))


def _near(graph: HostGraph, netns: str) -> set[str]:
    """`netns` and the namespaces joined to it by a veth or a lower device: the conntrack
    tables that can see its flows (its container host)."""
    return {netns} | graph.adjacent_namespaces(netns)


def source_lines(graph: HostGraph, netns: str, srcs: tuple[FlowSource, ...]) -> list[Text]:
    """Which conntrack tables count this namespace's flows, and whether they count bytes."""
    near = _near(graph, netns)
    mine = [s for s in srcs if s.netns in near]
    counting = [s.name for s in mine if s.active and s.accounting]
    blind = [s.name for s in mine if s.active and not s.accounting]
    if not counting and not blind:
        return [Text("source: conntrack is not running here or in the namespaces joined to "
                     "it (no rule there uses it): no flows to see", style="dim")]
    out = [Text("source: conntrack in " + ", ".join(counting + blind)
                + " (bytes are IP bytes, headers included)", style="dim")]
    if counting:
        out.append(Text(f"accounting on in {', '.join(counting)}", style="green"))
    if blind:
        line = Text(f"accounting off in {', '.join(blind)}: no byte counts. ", style="yellow")
        line.append(f"`{ENABLE_HINT}` counts new connections (netscope turns it back off; "
                    "the TUI never turns it on)")
        out.append(line)
    return out


def _count(nbytes: int | None, packets: int | None) -> str:
    if nbytes is None:
        return "?"
    return f"{human_bytes(nbytes)} ({packets or 0} pkts)"


def _flow_text(row: FlowRow) -> Text:
    """One flow: the peer and class, the counts each way, NAT, why it is classed so."""
    f = row.flow
    text = Text(_end(row.peer), style="bold")
    text.append(f"  {f.proto}  ")
    text.append(f.direction, style="cyan" if f.direction == EAST_WEST else "magenta")
    if f.state:
        text.append(f"  {f.state}", style="dim")
    text.append(f"\nsent {_count(row.sent_bytes, row.sent_packets)} · received "
                f"{_count(row.received_bytes, row.received_packets)}")
    detail = [*f.nat]
    if row.role == "server" and f.dialled != f.server.text():
        detail.append(f"dialled {f.dialled}")
    for d in detail:
        text.append(f"\n{d}", style="yellow")
    text.append(f"\n{f.why}", style="dim")
    return text


def _end(end: FlowEnd) -> str:
    named = end.netns is not None and end.name != end.address
    return f"{end.text()} ({end.name})" if named else end.text()


def _grid() -> Table:
    """Two columns (a mark, the text), so wrapped lines keep their indent."""
    grid = Table.grid(padding=(0, 1), expand=True)
    grid.add_column(no_wrap=True)
    grid.add_column(ratio=1, overflow="fold")
    return grid


def _forwarded(view: FlowsView, netns: str) -> list[Flow]:
    """Flows this namespace forwards between two other ends (a container host)."""
    seen: dict[str, Flow] = {}
    for r in view.rows:
        f = r.flow
        if f.tracked_in and f.tracked_in[0] == netns and netns not in (
                f.client.netns, f.server.netns):
            seen.setdefault(f.id, f)
    return sorted(seen.values(), key=lambda f: (-f.total_bytes, f.id))


def flows_tab(graph: HostGraph, sel: Selection, view: FlowsView | None
              ) -> RenderableType:
    if sel.netns is None:
        return nothing("select a namespace or container on the left")
    if not graph.collected("conntrack"):
        return nothing("this snapshot has no conntrack data (taken without the conntrack "
                       "collector): flows need it")
    if view is None:
        return nothing("reading flows from conntrack ...")
    parts: list[RenderableType] = [*source_lines(graph, sel.netns, view.sources), Text("")]
    rows = [r for r in view.rows if r.netns == sel.netns]
    name = graph.ns_name(sel.netns)
    if rows:
        parts.append(Text(f"{len(rows)} flows of {name}  (→ it opened, ← opened to it)",
                          style="bold"))
        grid = _grid()
        for r in rows[:SHOWN]:
            grid.add_row(Text("→" if r.role == "client" else "←", style="bold"), _flow_text(r))
        parts.append(grid)
        if len(rows) > SHOWN:
            parts.append(nothing(f"+{len(rows) - SHOWN} more: netscope flows --ns {name}"))
    forwarded = _forwarded(view, sel.netns)
    if forwarded:
        parts.append(Text(f"{len(forwarded)} flows {name} forwards between other ends "
                          "(select an end to see its side)", style="bold"))
        grid = _grid()
        for f in forwarded[:SHOWN]:
            grid.add_row("⇄", Text(f"{_end(f.client)} → {_end(f.server)}  {f.proto} "
                                   f"{f.direction}\n"
                                   f"{_count(f.to_server_bytes, f.to_server_packets)} / "
                                   f"{_count(f.to_client_bytes, f.to_client_packets)} back"))
        parts.append(grid)
    if not rows and not forwarded:
        parts.append(nothing(f"no flows of {name} in conntrack"))
    return Group(*parts)
