"""The top line: host, kernel, counts, and the mode (live, paused, read-only, offline).

Attributes down: the app binds `graph` (what is shown), `mode` and `filter_text`."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from netscope.graph.host import HostGraph
from netscope.tui.safe_render import safe_text


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    graph: reactive[HostGraph | None] = reactive(None, init=False)
    mode: reactive[str] = reactive("", init=False)
    filter_text: reactive[str] = reactive("", init=False)

    _shown: Text | None = None

    def on_mount(self) -> None:
        self._show()

    def watch_graph(self) -> None:
        self._show()

    def watch_mode(self) -> None:
        self._show()

    def watch_filter_text(self) -> None:
        self._show()

    def _show(self) -> None:
        if self.graph is None:
            return
        snapshot = self.graph.snapshot
        h = snapshot.header
        text = Text("netscope ", style="bold")
        text.append(f"{h.hostname} · kernel {h.kernel} · {len(snapshot.namespaces)} namespaces"
                    f" · {len(snapshot.containers)} containers · {len(snapshot.links)} links · ")
        style = {"LIVE": "bold green", "PAUSED": "bold yellow"}.get(self.mode.split(" ")[0],
                                                                   "bold cyan")
        text.append(self.mode, style=style)
        text.append(f" · filter: {self.filter_text}" if self.filter_text else "", style="dim")
        text = safe_text(text)
        # the same line again (a neighbour re-read changes no count): no update, which would
        # lay the whole screen out again
        if text != self._shown:
            self._shown = text
            self.update(text)
