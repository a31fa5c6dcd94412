"""The detail tabs on the right, one per concern (see `netscope.tui.detail_tabs`)."""

from __future__ import annotations

from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static, TabbedContent, TabPane

from netscope.model.index import SnapshotIndex
from netscope.tui.detail_tabs import DETAIL_TABS, Selection


class DetailPanel(Vertical):
    DEFAULT_CSS = """
    DetailPanel { width: 2fr; height: 1fr; border-left: solid $primary-darken-2; }
    DetailPanel TabbedContent { height: 1fr; }
    DetailPanel VerticalScroll { height: 1fr; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._index: SnapshotIndex | None = None
        self._selection = Selection(None)

    def compose(self):
        with TabbedContent():
            for tab in DETAIL_TABS:
                with TabPane(tab.title, id=f"tab-{tab.id}"), VerticalScroll():
                    yield Static(id=f"detail-{tab.id}")

    def show(self, index: SnapshotIndex, selection: Selection) -> None:
        self._index, self._selection = index, selection
        self._render_active()

    def _render_active(self) -> None:
        if self._index is None:
            return
        active = (self.query_one(TabbedContent).active or "tab-overview").removeprefix("tab-")
        for tab in DETAIL_TABS:
            if tab.id == active:
                self.query_one(f"#detail-{tab.id}", Static).update(
                    tab.render(self._index, self._selection))

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self._render_active()
