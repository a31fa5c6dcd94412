"""The journey strip under the topology: the hops in order, the current one explained.

Attributes down: the app binds `graph`, `journey` (None hides the strip) and `hop` (the
current one). `[` and `]` step hop by hop; the app draws the same journey over the topology.
"""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from netscope.graph.host import HostGraph
from netscope.tui.journey import Journey, explain_hop, hop_title
from netscope.tui.safe_render import safe_renderable


class TraceBar(Static):
    DEFAULT_CSS = """
    TraceBar { display: none; height: auto; max-height: 14; padding: 0 1;
               border-top: solid $accent; }
    TraceBar.-shown { display: block; }
    """

    graph: reactive[HostGraph | None] = reactive(None, init=False)
    journey: reactive[Journey | None] = reactive(None, init=False)
    hop: reactive[int] = reactive(0, init=False)

    def on_mount(self) -> None:
        self._show()

    def watch_graph(self) -> None:
        self._show()

    def watch_journey(self) -> None:
        self._show()

    def watch_hop(self) -> None:
        self._show()

    def _show(self) -> None:
        graph, journey, current = self.graph, self.journey, self.hop
        if journey is None or graph is None:
            self.remove_class("-shown")
            return
        current = max(0, min(current, len(journey.hops) - 1))
        self.add_class("-shown")
        drop = journey.drop_index
        path = Text()
        where = None
        for i, hop in enumerate(journey.hops):
            ns = graph.ns_name(hop.netns)
            if ns != where:
                path.append(("\n" if i else "") + f"{ns}: ", style="bold")
                where = ns
            else:
                path.append(" · ", style="dim")
            style = "bold white on red" if i == drop else ""
            if i == current:
                style = "bold black on cyan" if i != drop else "bold white on red reverse"
            path.append(f"{i + 1} {hop_title(graph, hop).removeprefix(ns + ' ')}", style=style)
        end = (Text(f"dropped at hop {drop + 1}", style="bold red") if drop is not None
               else Text("delivered" if journey.hops and journey.hops[-1].hook == "deliver"
                         else "journey as recorded", style="green"))
        head = Text(f"trace: {journey.packet} · ", style="bold").append_text(end)
        head.append("   [ ] step · esc close", style="dim")
        hop = journey.hops[current]
        explain = Text(f"hop {current + 1}/{len(journey.hops)}: ", style="bold")
        explain.append(explain_hop(graph, hop))
        self.update(safe_renderable(Group(head, path, explain)))
