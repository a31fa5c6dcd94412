"""The journey strip under the topology: what is shown (the expected path of the static walk,
an observed trace over it, or a recording), how it ended, its hops in order and the current
one explained; for an observed trace, how it compares with the walk.

Attributes down: the app binds `graph`, `journey` (a JourneyView; None hides the strip) and
`hop` (the current one). `[` and `]` step hop by hop; the app draws the same journey over the
topology.
"""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from netscope.analysis.hop_explain import explain_hop, hop_title
from netscope.graph.host import HostGraph
from netscope.model.journey import Journey, Verdict
from netscope.tui.journey import EXPECTED, OBSERVED, RECORDED, JourneyView
from netscope.tui.safe_render import safe_renderable

TITLES = {EXPECTED: "expected path (static walk, nothing sent)",
          OBSERVED: "observed (eBPF)", RECORDED: "recorded trace"}


def _end(journey: Journey) -> Text:
    """How it ended: "dropped at hop 7: ...", "delivered: ..."."""
    drop = journey.drop_index
    fine = journey.verdict.fine
    where = f" at hop {drop + 1}" if drop is not None else ""
    text = Text(f"{journey.verdict.words}{where}", style="green" if fine else "bold red")
    if journey.summary:
        text.append(f": {journey.summary}", style="" if fine else "red")
    return text


class TraceBar(Static):
    DEFAULT_CSS = """
    TraceBar { display: none; height: auto; max-height: 16; padding: 0 1;
               border-top: solid $accent; }
    TraceBar.-shown { display: block; }
    """

    graph: reactive[HostGraph | None] = reactive(None, init=False)
    journey: reactive[JourneyView | None] = reactive(None, init=False)
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
        graph, view = self.graph, self.journey
        if view is None or graph is None or not view.journey.hops:
            self.remove_class("-shown")
            return
        self.add_class("-shown")
        journey = view.journey
        current = max(0, min(self.hop, len(journey.hops) - 1))
        head = Text(f"{TITLES.get(view.kind, view.kind)}: {journey.packet} · ", style="bold")
        head.append_text(_end(journey))
        if journey.reply is not None:
            head.append(f" · reply: {journey.reply.verdict.words}",
                        style="green" if journey.reply.verdict == Verdict.DELIVERED else "red")
        head.append("   [ ] step · esc close", style="dim")
        parts = [head]
        if view.comparison is not None:
            parts.append(self._comparison(view))
        parts += [self._path(view, current), self._explained(graph, journey, current)]
        self.update(safe_renderable(Group(*parts)))

    @staticmethod
    def _comparison(view: JourneyView) -> Text:
        c = view.comparison
        line = Text("expected vs observed: ", style="bold")
        if c.agrees:
            return line.append(f"the walk agrees ({' → '.join(c.namespaces)})", style="green")
        line.append(c.difference or "they differ", style="bold magenta")
        if view.parted is not None:
            line.append(f" (hop {view.parted + 1} marked)", style="magenta")
        return line

    @staticmethod
    def _path(view: JourneyView, current: int) -> Text:
        journey = view.journey
        drop = journey.drop_index
        path = Text()
        where = None
        for i, hop in enumerate(journey.hops):
            ns = hop.netns_name
            if ns != where:
                path.append(("\n" if i else "") + f"{ns}: ", style="bold")
                where = ns
            else:
                path.append(" · ", style="dim")
            style = "bold white on red" if i == drop else ""
            if i == view.parted and i != drop:
                style = "bold black on magenta"
            if i == current:
                style = "bold black on cyan" if i != drop else "bold white on red reverse"
            path.append(f"{i + 1} {hop_title(hop).removeprefix(ns + ' ')}", style=style)
        return path

    @staticmethod
    def _explained(graph: HostGraph, journey: Journey, current: int) -> Text:
        text = Text(f"hop {current + 1}/{len(journey.hops)}: ", style="bold")
        return text.append(explain_hop(graph, journey.hops[current]))
