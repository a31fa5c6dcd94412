"""The journey strip under the topology: the hops in order, the current one explained.

`[` and `]` step hop by hop; the app draws the same journey over the topology.
"""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.widgets import Static

from netscope.model.index import SnapshotIndex
from netscope.tui.journey import Journey, explain_hop, hop_title
from netscope.tui.safe_render import safe_renderable


class TraceBar(Static):
    DEFAULT_CSS = """
    TraceBar { display: none; height: auto; max-height: 14; padding: 0 1;
               border-top: solid $accent; }
    TraceBar.-shown { display: block; }
    """

    def show(self, index: SnapshotIndex, journey: Journey | None, current: int) -> None:
        if journey is None:
            self.remove_class("-shown")
            return
        self.add_class("-shown")
        drop = journey.drop_index
        path = Text()
        where = None
        for i, hop in enumerate(journey.hops):
            ns = index.ns_name(hop.netns)
            if ns != where:
                path.append(("\n" if i else "") + f"{ns}: ", style="bold")
                where = ns
            else:
                path.append(" · ", style="dim")
            style = "bold white on red" if i == drop else ""
            if i == current:
                style = "bold black on cyan" if i != drop else "bold white on red reverse"
            path.append(f"{i + 1} {hop_title(index, hop).removeprefix(ns + ' ')}", style=style)
        end = (Text(f"dropped at hop {drop + 1}", style="bold red") if drop is not None
               else Text("delivered" if journey.hops and journey.hops[-1].hook == "deliver"
                         else "journey as recorded", style="green"))
        head = Text(f"trace: {journey.packet} · ", style="bold").append_text(end)
        head.append("   [ ] step · esc close", style="dim")
        hop = journey.hops[current]
        explain = Text(f"hop {current + 1}/{len(journey.hops)}: ", style="bold")
        explain.append(explain_hop(index, hop))
        self.update(safe_renderable(Group(head, path, explain)))
