"""The Drops tab: packets the kernel dropped in the selected namespace (or on the selected
device) since the user started counting (`D`), by device, reason and kernel function, with
the last packet dropped there.

Pure (Rich, no Textual). Its data is the app's DropState, not the snapshot: counting needs
the live host, root and bcc, and starts only when asked.
"""

from __future__ import annotations

import time

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from netscope.graph.host import HostGraph
from netscope.model import ns_id
from netscope.tui.detail_common import Selection, nothing
from netscope.tui.drop_feed import UNSPECIFIED, DropState, place

START_HINT = ("press D to count drops: netscope attaches its drop monitor (eBPF on "
              "skb:kfree_skb, counted in the kernel) until you press D again or quit")


def drops_tab(graph: HostGraph, sel: Selection, state: DropState | None) -> RenderableType:
    if sel.netns is None:
        return nothing("select a namespace or an interface on the left")
    if state is None or not state.counting:
        if state is not None and state.refused:
            return nothing(f"no drop counts: {state.refused}")
        return nothing(START_HINT)
    since = time.strftime("%H:%M:%S", time.localtime(state.started_at or 0))
    head = Text(f"counting since {since} (probe attached in {state.attach_s:.2f} s)",
                style="dim")
    link = graph.links.get(sel.link) if sel.link else None
    mine = [s for s in state.samples if ns_id(s.netns) == sel.netns
            and (link is None or s.ifindex == link.ifindex)]
    where = f"{graph.ns_name(sel.netns)}" + (f":{link.name}" if link else "")
    if not mine:
        return Group(head, Text(""), nothing(f"nothing dropped in {where} so far"))
    out = Table.grid(padding=(0, 1), expand=True)
    out.add_column(justify="right", no_wrap=True)
    out.add_column(ratio=1, overflow="fold")
    for s in sorted(mine, key=lambda x: (-x.count, x.reason)):
        dev = place(graph, s)[1]
        text = Text(s.reason, style="dim" if s.reason == UNSPECIFIED else "bold red")
        text.append(f"  on {dev}" if dev != "-" else "  (no device)")
        text.append(f"\nin {s.function}", style="dim")
        if s.last_packet:
            text.append(f"\nlast: {s.last_packet}", style="dim")
        out.add_row(str(s.count), text)
    parts: list[RenderableType] = [head, Text(f"{sum(s.count for s in mine)} drops in {where}",
                                              style="bold"), out]
    if any(s.reason == UNSPECIFIED for s in mine):
        parts.append(nothing(f"{UNSPECIFIED}: the kernel gave no reason (often multicast "
                             "nobody here joined, or a free that is not a failure)"))
    if state.not_counted:
        parts.append(Text(f"{state.not_counted} drops not counted: the kernel's aggregation "
                          "map is full", style="yellow"))
    return Group(*parts)
