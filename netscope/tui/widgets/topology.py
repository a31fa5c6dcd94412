"""The topology view in the centre: the drawing from `topology_layout`, coloured, clickable.

Attributes down: the app binds `graph` (the HostGraph of what is shown) and `marks` (what to
highlight); a change to either redraws once. Clicking a box or a device posts
`TopologyView.Selected`; `e` posts `GroupsToggled` (the app owns whether groups are expanded).
Role colours are component classes, so themes and app.tcss restyle them.

Virtualised (Textual's line API): the drawing is kept as lines of segments and only the
lines on screen are styled and rendered, when they come into view. At 1,000 namespaces the
drawing is thousands of lines; as one Static it was styled whole and laid out again at every
redraw (a port going down, a drop counted).
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from netscope.graph.host import HostGraph
from netscope.model.safe_text import safe
from netscope.tui.topology_layout import Line, Marks, draw_topology

ROLES = ("up", "down", "dim", "title", "changed", "path", "current", "drop", "drops",
         "selected", "lower", "expected", "parted")


class TopologyView(ScrollView, can_focus=True):
    COMPONENT_CLASSES = {f"topology--{role}" for role in ROLES}
    DEFAULT_CSS = """
    TopologyView { width: 1fr; height: 1fr; }
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
        self._lines: list[Line] = []  # the drawing
        self._strips: dict[int, Strip] = {}  # its lines styled, as they came into view
        self._roles: dict[str, Style] | None = None  # the role styles those use

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
        self._lines, self._strips = picture.lines, {}
        width = max((sum(cell_len(safe(seg.text)) for seg in line) for line in self._lines),
                    default=0)
        # a layout pass only when the drawing's size changed (a port up or down, drop
        # counts, highlights cleared: the same size, the commonest redraws)
        self.virtual_size = Size(width, len(self._lines))
        self.refresh()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = y + scroll_y
        width = self.scrollable_content_region.width
        if not 0 <= index < len(self._lines):
            return Strip.blank(width, self.rich_style)
        strip = self._strips.get(index)
        if strip is None:
            strip = self._strips[index] = self._styled(self._lines[index])
        return strip.crop_extend(scroll_x, scroll_x + width, self.rich_style)

    def _styled(self, line: Line) -> Strip:
        if self._roles is None:  # once per style change, not per line shown
            self._roles = {role: self.get_component_rich_style(f"topology--{role}",
                                                               partial=True)
                           for role in ROLES}
        styles = self._roles
        return Strip([Segment(safe(seg.text), styles.get(seg.style, Style()) if seg.style
                              else Style()) for seg in line]).apply_style(self.rich_style)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        # a theme or stylesheet change restyles every line
        self._strips, self._roles = {}, None

    def on_click(self, event: events.Click) -> None:
        """A click on a box or device (a segment with a target) selects it. Found from the
        drawing, not carried by the rendered cells: Textual draws cells that carry a click
        action as links, in its link colours over the roles' own."""
        offset = event.get_content_offset(self)
        if offset is None:
            return
        target = self.target_at(offset.x + self.scroll_offset.x,
                                offset.y + self.scroll_offset.y)
        if target is not None:
            self.post_message(self.Selected(target))

    def target_at(self, x: int, y: int) -> str | None:
        """The object drawn at column x of line y of the drawing, if any."""
        if not 0 <= y < len(self._lines):
            return None
        at = 0
        for seg in self._lines[y]:
            at += cell_len(safe(seg.text))
            if x < at:
                return seg.target
        return None

    def action_toggle_groups(self) -> None:
        self.post_message(self.GroupsToggled(not self.marks.expanded))
