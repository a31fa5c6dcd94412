"""The detail tabs on the right, one per concern (see `netscope.tui.detail_tabs`).

Attributes down: the app binds `graph`, `selected` (an id: namespace, link or container) and
`extras` (live data some tabs show: drop counters; "reading": the collectors being read
after the first screen). Only the active tab is rendered, once per
change. A tab with a `prepare` step (flows, DNS: work over the whole snapshot) gets it done in
a thread worker once per snapshot; until then it shows the last result (or says it is
reading), so a live update never blocks the screen.
"""

from __future__ import annotations

from rich.text import Text
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Static, TabbedContent, TabPane

from netscope.graph.host import HostGraph
from netscope.model import Snapshot
from netscope.tui.detail_common import selection_of
from netscope.tui.detail_tabs import DETAIL_TABS, DetailTab
from netscope.tui.safe_render import safe_renderable


class DetailPanel(Vertical):
    DEFAULT_CSS = """
    DetailPanel { width: 2fr; height: 1fr; border-left: solid $primary-darken-2; }
    DetailPanel TabbedContent { height: 1fr; }
    DetailPanel Tab { padding: 0 0 0 1; }
    DetailPanel Tab:first-of-type { padding: 0; }
    DetailPanel VerticalScroll { height: 1fr; }
    """

    class Prepared(Message):
        """A tab's prepare step finished for `snapshot` (`failed` holds the error text)."""

        def __init__(self, tab_id: str, snapshot: Snapshot, result: object,
                     failed: str | None) -> None:
            super().__init__()
            self.tab_id, self.snapshot, self.result, self.failed = (tab_id, snapshot, result,
                                                                    failed)

    graph: reactive[HostGraph | None] = reactive(None, init=False)
    selected: reactive[str | None] = reactive(None, init=False)
    # live data the app holds (DetailTab.extra names it); set again whenever it changed
    extras: reactive[dict[str, object]] = reactive(dict, init=False, always_update=True)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._pending = False
        # tab id -> (the snapshot it was prepared from, the result)
        self._prepared: dict[str, tuple[Snapshot, object]] = {}
        self._preparing: dict[str, Snapshot] = {}
        # tab id -> the lines last drawn there (see _lines)
        self._shown: dict[str, list | None] = {}

    def compose(self):
        with TabbedContent():
            for tab in DETAIL_TABS:
                with TabPane(tab.title, id=f"tab-{tab.id}"), VerticalScroll():
                    yield Static(id=f"detail-{tab.id}")

    def on_mount(self) -> None:
        self._stale()

    def watch_graph(self) -> None:
        self._stale()

    def watch_selected(self) -> None:
        self._stale()

    def watch_extras(self) -> None:
        self._stale()

    def _stale(self) -> None:
        """Render once, after whatever else changes in the same turn."""
        if not self._pending and self.is_mounted:
            self._pending = True
            self.call_next(self._render_active)

    def _render_active(self) -> None:
        self._pending = False
        if self.graph is None:
            return
        active = (self.query_one(TabbedContent).active or "tab-overview").removeprefix("tab-")
        for tab in DETAIL_TABS:
            if tab.id == active:
                static = self.query_one(f"#detail-{tab.id}", Static)
                content = safe_renderable(self._content(tab))
                lines = self._lines(content, static.size.width)
                if lines is not None and self._shown.get(tab.id) == lines:
                    continue  # as drawn already: an update would lay the screen out again
                self._shown[tab.id] = lines
                static.update(content)

    def _lines(self, content, width: int) -> list | None:
        """What `content` draws at `width`, as segments (None before the tab has a size):
        a live update that changes nothing this tab shows (a neighbour re-read elsewhere,
        the commonest) is told apart from one that does by the picture itself."""
        if width <= 0:
            return None
        console = self.app.console
        return console.render_lines(content, console.options.update_width(width), pad=False)

    def _content(self, tab: DetailTab):
        graph = self.graph
        selection = selection_of(graph, self.selected)
        reading = [n for n in tab.needs if n in self.extras.get("reading", ())]
        if reading:
            return Text(f"reading {', '.join(reading)} in every namespace (the first screen "
                        "came before it) ...", style="dim")
        if tab.extra is not None:
            return tab.render(graph, selection, self.extras.get(tab.extra))
        if tab.prepare is None:
            return tab.render(graph, selection)
        done = self._prepared.get(tab.id)
        if done is None or done[0] is not graph.snapshot:
            self._prepare(tab, graph.snapshot)
        if isinstance(done and done[1], _Failed):
            return Text(f"{tab.title} could not be worked out: {done[1].text}", style="red")
        return tab.render(graph, selection, done[1] if done else None)

    def _prepare(self, tab: DetailTab, snapshot: Snapshot) -> None:
        if self._preparing.get(tab.id) is snapshot:
            return
        self._preparing[tab.id] = snapshot

        def work() -> None:
            try:
                result, failed = tab.prepare(snapshot), None
            except Exception as e:  # an analysis bug costs this tab, not the app
                result, failed = None, f"{type(e).__name__}: {e}"
            self.post_message(self.Prepared(tab.id, snapshot, result, failed))

        self.run_worker(work, thread=True, group=f"detail-{tab.id}", exit_on_error=False,
                        name=f"{tab.title} tab")

    def on_detail_panel_prepared(self, message: Prepared) -> None:
        message.stop()
        if self._preparing.get(message.tab_id) is message.snapshot:
            del self._preparing[message.tab_id]
        current = self.graph.snapshot if self.graph else None
        if message.snapshot is not current and message.tab_id in self._prepared:
            return  # a newer snapshot's result is on its way
        result = _Failed(message.failed) if message.failed else message.result
        self._prepared[message.tab_id] = (message.snapshot, result)
        self._render_active()

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self._render_active()


class _Failed:
    def __init__(self, text: str) -> None:
        self.text = text
