"""The topology view in the centre: the drawing from `topology_layout`, coloured, clickable.

Attributes down: the app binds `graph` (the HostGraph of what is shown) and `marks` (what to
highlight); a change to either redraws once. Clicking a box or a device posts
`TopologyView.Selected`; `e` posts `GroupsToggled` (the app owns whether groups are expanded).
Role colours are component classes, so themes and app.tcss restyle them.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.containers import ScrollableContainer
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Static

from netscope.graph.host import HostGraph
from netscope.model.safe_text import safe
from netscope.tui.topology_layout import Line, Marks, draw_topology

ROLES = ("up", "down", "dim", "title", "changed", "path", "current", "drop", "drops",
         "selected", "lower", "expected", "parted")


class TopologyPicture(Static):
    """The drawing (TopologyView's only child); a click on a segment with a target selects
    it."""

    def action_select(self, object_id: str) -> None:
        self.post_message(TopologyView.Selected(object_id))


class TopologyView(ScrollableContainer, can_focus=True):
    COMPONENT_CLASSES = {f"topology--{role}" for role in ROLES}
    DEFAULT_CSS = """
    TopologyView { width: 1fr; height: 1fr; }
    TopologyView > TopologyPicture { width: auto; }
    TopologyView > .topology--up { color: $success; }
    TopologyView > .topology--down { color: $error; text-style: bold; }
    TopologyView > .topology--dim { text-style: dim; }
    TopologyView > .topology--title { text-style: bold; }
    TopologyView > .topology--changed { color: $background; background: $warning;
                                        text-style: bold; }
    TopologyView > .topology--path { color: $accent; text-style: bold; }
    TopologyView > .topology--current { color: $background; background: $accent;
                                        text-style: bold; }
    TopologyView > .topology--drop { color: $text; background: $error; text-style: bold; }
    TopologyView > .topology--drops { color: $warning; }
    TopologyView > .topology--selected { text-style: reverse; }
    TopologyView > .topology--lower { color: $text-secondary; }
    TopologyView > .topology--expected { color: $accent-darken-1; text-style: italic; }
    TopologyView > .topology--parted { color: $background; background: $secondary;
                                       text-style: bold; }
    """
    BINDINGS = [Binding("e", "toggle_groups", "expand groups")]

    graph: reactive[HostGraph | None] = reactive(None, init=False)
    marks: reactive[Marks] = reactive(Marks, init=False)

    class Selected(Message):
        """A box or device was clicked."""

        def __init__(self, object_id: str) -> None:
            super().__init__()
            self.object_id = object_id

    class GroupsToggled(Message):
        """`e`: show every namespace of the groups (or fold them again)."""

        def __init__(self, expanded: bool) -> None:
            super().__init__()
            self.expanded = expanded

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._width = 0
        self._pending = False
        self._drawn: tuple | None = None  # (topology, marks, width) last drawn
        self._picture_size: tuple[int, int] | None = None  # (lines, cells) last drawn

    def compose(self):
        yield TopologyPicture(id="picture")

    def on_mount(self) -> None:
        self._stale()

    def watch_graph(self) -> None:
        self._stale()

    def watch_marks(self) -> None:
        self._stale()

    def on_resize(self) -> None:
        if self.graph is not None and self.size.width != self._width:
            self._stale()

    def _stale(self) -> None:
        """Redraw once, after whatever else changes in the same turn."""
        if not self._pending and self.is_mounted:
            self._pending = True
            self.call_next(self._redraw)

    def _redraw(self) -> None:
        self._pending = False
        if self.graph is None:
            return
        self._width = self.size.width or 100
        # the picture depends on the graph's topology (kept by a graph whose drawn fields
        # did not change: HostGraph.TOPOLOGY_FIELDS), the marks and the width alone
        drawn = (self.graph.topology, self.marks, self._width)
        if self._drawn is not None and self._drawn[0] is drawn[0] and \
                self._drawn[1:] == drawn[1:]:
            return
        self._drawn = drawn
        picture = draw_topology(self.graph, self.marks, max(40, self._width - 2))
        text = self._render_lines(picture.lines)
        # a picture of the same size (a port down, drop counts: the commonest redraws) needs
        # no layout: Static.update lays the whole screen out again by default (at 1,000
        # namespaces ~30 ms, and the compositor's full refresh after it ~25 ms)
        size = (len(picture.lines), max((cell_len(x) for x in text.plain.split("\n")),
                                        default=0))
        same_size, self._picture_size = size == self._picture_size, size
        self.query_one(TopologyPicture).update(text, layout=not same_size)

    def _render_lines(self, lines: list[Line]) -> Text:
        styles = {role: self.get_component_rich_style(f"topology--{role}", partial=True)
                  for role in ROLES}
        text = Text(no_wrap=True, overflow="crop")
        for n, line in enumerate(lines):
            if n:
                text.append("\n")
            for seg in line:
                style = styles.get(seg.style, Style()) if seg.style else Style()
                if seg.target:
                    style += Style(meta={"@click": f"select({seg.target!r})"})
                text.append(safe(seg.text), style)
        return text

    def action_toggle_groups(self) -> None:
        self.post_message(self.GroupsToggled(not self.marks.expanded))
