"""The topology view in the centre: the drawing from `topology_layout`, coloured, clickable.

Attributes down: the app calls `show(index, marks)`; clicking a box or a device posts
`TopologyView.Selected`. `e` expands or collapses the groups of quiet namespaces.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.containers import ScrollableContainer
from textual.message import Message
from textual.widgets import Static

from netscope.model.index import SnapshotIndex
from netscope.model.safe_text import safe
from netscope.tui.topology_layout import Line, Marks, draw_topology

ROLE_STYLES = {
    "up": "green", "down": "bold red", "dim": "dim", "title": "bold",
    "changed": "bold black on yellow", "path": "bold cyan", "current": "bold black on cyan",
    "drop": "bold white on red", "drops": "yellow", "selected": "reverse",
}


class TopologyView(ScrollableContainer, can_focus=True):
    DEFAULT_CSS = """
    TopologyView { width: 3fr; height: 1fr; }
    TopologyView > Static { width: auto; }
    """
    BINDINGS = [Binding("e", "toggle_groups", "expand groups")]

    class Selected(Message):
        """A box or device was clicked."""

        def __init__(self, object_id: str) -> None:
            super().__init__()
            self.object_id = object_id

    class GroupsToggled(Message):
        def __init__(self, expanded: bool) -> None:
            super().__init__()
            self.expanded = expanded

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._index: SnapshotIndex | None = None
        self._marks = Marks()
        self._width = 0

    def compose(self):
        yield Static(id="picture")

    def show(self, index: SnapshotIndex, marks: Marks) -> None:
        self._index, self._marks = index, marks
        self._redraw()

    def on_resize(self) -> None:
        if self._index is not None and self.size.width != self._width:
            self._redraw()

    def _redraw(self) -> None:
        if self._index is None:
            return
        self._width = self.size.width or 100
        lines = draw_topology(self._index, self._marks, max(40, self._width - 2))
        self.query_one("#picture", Static).update(self._render_lines(lines))

    @staticmethod
    def _render_lines(lines: list[Line]) -> Text:
        text = Text(no_wrap=True, overflow="crop")
        for n, line in enumerate(lines):
            if n:
                text.append("\n")
            for seg in line:
                style = Style.parse(ROLE_STYLES.get(seg.style, "")) if seg.style else Style()
                if seg.target:
                    style += Style(meta={"@click": f"app.select_object({seg.target!r})"})
                text.append(safe(seg.text), style)
        return text

    def action_toggle_groups(self) -> None:
        self._marks.expanded = not self._marks.expanded
        self.post_message(self.GroupsToggled(self._marks.expanded))
        self._redraw()
