"""The netscope TUI: tree | topology | details, event log, keys.

Thin: its state is reactive (the host graph shown, selection, filter, journey and hop,
highlights, marks) and bound down to the widgets, which redraw themselves when what they show
changes; widgets post messages up. Blocking work (collection, netlink, doctor, tracer, labs)
runs in thread workers whose results come back as messages. A feature whose backend cannot
load here answers its key with a one-line notice (see `netscope.tui.backends`).
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable, Iterable

from textual import work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import Footer
from textual.worker import Worker, WorkerState

from netscope.graph.host import HostGraph
from netscope.model import Snapshot
from netscope.model.safe_text import safe
from netscope.tui.app_drops import DropKeys
from netscope.tui.app_host import HostKeys
from netscope.tui.app_lessons import LessonKeys
from netscope.tui.app_trace import TraceKeys
from netscope.tui.backends import Backends
from netscope.tui.changes import Change, HiddenChanges, diff_snapshots
from netscope.tui.detail_common import selection_of
from netscope.tui.heap import HeapKeeper
from netscope.tui.journey import JourneyView
from netscope.tui.lesson_view import LessonView, lesson_ids
from netscope.tui.live import LiveFeed, Update
from netscope.tui.screens.help import HelpScreen
from netscope.tui.topology_layout import Marks
from netscope.tui.view_state import marks_for, visible_namespaces
from netscope.tui.widgets.detail_panel import DetailPanel
from netscope.tui.widgets.event_log import EventLog
from netscope.tui.widgets.filter_bar import FilterBar
from netscope.tui.widgets.lesson_panel import LessonPanel
from netscope.tui.widgets.ns_tree import NamespaceTree
from netscope.tui.widgets.status_bar import StatusBar
from netscope.tui.widgets.topology import TopologyView
from netscope.tui.widgets.trace_bar import TraceBar

HIGHLIGHT_S = 2.0
# changes the filter hides are said in one line at most this often (and before a shown one)
HIDDEN_SAY_S = 10.0


class NetscopeApp(TraceKeys, DropKeys, HostKeys, LessonKeys, App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "netscope"
    BINDINGS = [
        Binding("slash", "filter", "filter"),
        Binding("t", "trace", "path/trace"),
        Binding("left_square_bracket", "step(-1)", "prev hop", show=False),
        Binding("right_square_bracket", "step(1)", "next hop", show=False),
        Binding("d", "doctor", "doctor"),
        Binding("r", "repair", "repair"),
        Binding("u", "undo", "undo"),
        Binding("l", "labs", "labs"),
        Binding("s", "save", "save"),
        Binding("p", "pause", "pause"),
        Binding("D", "count_drops", "count drops"),
        Binding("L", "lessons", "lessons", show=False),  # in ? and the palette
        Binding("x", "lesson_do", "run step", show=False),
        Binding("c", "lesson_check", "check step", show=False),
        Binding("n", "lesson_move(1)", "next step", show=False),
        Binding("b", "lesson_move(-1)", "previous step", show=False),
        Binding("E", "lesson_end", "end lesson", show=False),
        Binding("h", "lesson_hint", "hint", show=False),
        Binding("a", "lesson_answer", "answer", show=False),
        Binding("question_mark", "help", "help"),
        Binding("escape", "close_trace", "close trace", show=False),
        Binding("q", "quit", "quit"),
        Binding("ctrl+c", "quit", "quit", show=False, priority=True),
    ]
    # (action, title, help) for the command palette
    COMMANDS_HELP = (
        ("filter", "Filter", "filter namespaces, containers, devices, addresses (/)"),
        ("trace", "Trace", "the expected path from the selected namespace; live, the real "
                           "packet traced over it (t)"),
        ("doctor", "Doctor", "list findings, explanation and evidence (d)"),
        ("repair", "Repair", "repair the selected finding (r)"),
        ("undo", "Undo", "undo the last repair (u)"),
        ("labs", "Labs", "bring a lab up or tear it down (l)"),
        ("save", "Save snapshot", "write what is on screen to a JSON file (s)"),
        ("pause", "Pause live updates", "pause or resume following the host (p)"),
        ("count_drops", "Count drops", "attach or detach the drop monitor: drops per device "
                                       "on the topology, in the Drops tab and the log (D)"),
        ("lessons", "Lessons", "learn container networking step by step, each step checked "
                               "live and shown on the topology; troubleshooting drills (L)"),
        ("help", "Keys", "every key and what it does (?)"),
    )

    # the state; widgets are bound to it (compose) and redraw when it changes
    graph: var[HostGraph | None] = var(None)
    selected: var[str | None] = var(None)
    filter_text: var[str] = var("")
    shown_namespaces: var[frozenset[str] | None] = var(None)  # the filter's; None: all
    changed: var[frozenset[str]] = var(frozenset())
    expanded: var[bool] = var(False)
    journey: var[JourneyView | None] = var(None)
    hop: var[int] = var(0)
    marks: var[Marks] = var(Marks)
    mode: var[str] = var("")
    extras: var[dict[str, object]] = var(dict, always_update=True)
    lesson_view: var[LessonView | None] = var(None)
    lesson_words: var[tuple[str, tuple[str, ...], str] | None] = var(None)

    class SnapshotArrived(Message):
        def __init__(self, update: Update) -> None:
            super().__init__()
            self.update = update

    def __init__(self, snapshot: Snapshot | None = None, feed: LiveFeed | None = None, *,
                 read_only: str | None = None, backends: Backends | None = None,
                 clock: Callable[[], float] = time.time, save_dir: str = ".",
                 source_note: str = "", initial_filter: str = "",
                 greeting: str = "") -> None:
        super().__init__()
        self._first_snapshot, self._feed = snapshot, feed
        self._read_only = read_only
        self._backends = backends or Backends()
        self._clock, self._save_dir, self._source_note = clock, save_dir, source_note
        self._initial_filter = initial_filter
        self._greeting = greeting
        self._paused = False
        self._hidden = HiddenChanges()
        self._hidden_timer = None
        self._init_drops(live=feed is not None, read_only=read_only)
        self._init_lessons()
        self.first_screen_at: float | None = None
        self._heap = HeapKeeper()
        # the collectors the first screen's snapshot was taken without, being read now, and
        # what waits for them (the walk, the doctor, save: never on half a host)
        self._rest: tuple[str, ...] = ()
        self._after_rest: list[Callable[[], None]] = []

    def compose(self) -> ComposeResult:
        app = NetscopeApp
        yield StatusBar(id="status").data_bind(app.graph, app.mode, app.filter_text)
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield FilterBar(id="filter")
                yield NamespaceTree(id="tree").data_bind(app.graph, app.shown_namespaces,
                                                         app.changed,
                                                         app.selected)
            with Vertical(id="centre"):
                yield TopologyView(id="topology").data_bind(app.graph, app.marks)
                yield TraceBar(id="trace").data_bind(app.graph, app.journey, app.hop)
            yield DetailPanel(id="details").data_bind(app.graph, app.selected, app.extras)
            yield LessonPanel(id="lesson").data_bind(view=app.lesson_view,
                                                     words=app.lesson_words)
        yield EventLog(clock=self._clock, id="log")
        yield Footer()

    def on_mount(self) -> None:
        if not self.is_headless:  # tests keep the runner's own handlers
            self._exit_on_signals()
        log = self.query_one(EventLog)
        self.mode = self._mode()
        self.extras = {"drops": self._drops}
        if self._initial_filter:
            self.query_one(FilterBar).show_text(self._initial_filter)
            self.filter_text = self._initial_filter
        for line in self._greeting.splitlines():
            log.add("notice", line)
        if self._first_snapshot is not None:
            self.graph = HostGraph.of(self._first_snapshot)
            log.add("notice", f"opened {self._source_note or 'snapshot'} captured "
                              f"{self._first_snapshot.header.captured_at}")
        if self._feed is not None:
            log.add("notice", "reading every network namespace ...")
            self.follow_host()
        self.query_one(NamespaceTree).focus()

    def on_unmount(self) -> None:
        self.stop_background()

    def stop_background(self) -> None:
        """Stop following the host and detach the drop monitor (waits for the detach)."""
        if self._feed is not None:
            self._feed.stop()
        self.stop_drops()
        self._backends.close()
        self.end_lessons_on_exit()

    def run(self, *args, **kwargs):
        """As App.run; whatever ends the app (an error too), nothing stays attached."""
        try:
            return super().run(*args, **kwargs)
        finally:
            self.stop_background()
            self._heap.stop()  # before the interpreter ends: see heap.py

    def _exit_on_signals(self) -> None:
        """SIGTERM ends the app as q does (the drop monitor detached, the terminal restored),
        not the process where it stands. SIGHUP (the terminal is gone: nothing can be drawn
        or restored, and Textual's input thread would spin on the dead terminal) detaches,
        then ends the process as SIGHUP would have."""
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self.exit)
        loop.add_signal_handler(signal.SIGHUP, self._hang_up)

    def _hang_up(self) -> None:
        try:
            self.stop_background()
        finally:  # whatever stopping raised, the process ends: nobody can see it any more
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)  # to SIG_DFL
            os.kill(os.getpid(), signal.SIGHUP)

    # --- state -> derived state ---------------------------------------------------------

    @property
    def snapshot(self) -> Snapshot | None:
        """What is shown (None until the first collection is in)."""
        return self.graph.snapshot if self.graph is not None else None

    def _mode(self) -> str:
        if self._feed is None:
            return "OFFLINE snapshot (read-only)"
        mode = "PAUSED" if self._paused else "LIVE"
        mode = f"{mode} (read-only)" if self._read_only else mode
        return f"{mode} · reading {', '.join(self._rest)} ..." if self._rest else mode

    def whole_host(self, then: Callable[[], None], what: str) -> bool:
        """Whether what is shown is the whole host; if not (the first screen came before
        its netfilter, sockets, DNS ... were read: a moment), `then` runs once they are in,
        and a notice says `what` waits."""
        if not self._rest:
            return True
        self._after_rest.append(then)
        self.notice(f"{what} once {', '.join(self._rest)} are read (a moment)")
        return False

    def watch_graph(self, graph: HostGraph | None) -> None:
        self._filter_changed()
        if self.lesson_view is not None:  # what the step is about may exist now
            self.update_marks()
        if self.first_screen_at is None and graph is not None:
            self.call_after_refresh(self._first_screen)

    def watch_filter_text(self) -> None:
        self._filter_changed()

    def _filter_changed(self) -> None:
        graph = self.graph
        self.shown_namespaces = (visible_namespaces(graph, self.filter_text) if graph
                                 else None)
        if graph is None:
            return
        # keep the selection among what is shown, so t and the details follow the filter
        shown = [n for n in graph.ns_order()
                 if self.shown_namespaces is None or n in self.shown_namespaces]
        if shown and selection_of(graph, self.selected).netns not in shown:
            self.selected = shown[0]

    def _first_screen(self) -> None:
        self.first_screen_at = time.monotonic()
        if not self.is_headless:  # tests run many apps in one process: not theirs
            # the cyclic collector's full passes out of the way of updates (heap.py)
            self._heap.start()
            self.set_interval(1.0, self._tick_heap)
            if self._feed is not None:
                self._feed.settle_heap = True  # and once the rest is read: see there
        if self._feed is not None and not self._read_only:
            # D and t attach in milliseconds if their programs are compiled ahead; after
            # the first screen, so that the compile (a core for ~0.5 s) does not delay it
            self._backends.warm()

    def _tick_heap(self) -> None:
        if self._feed is None or self._feed.waiting:  # not while a read holds the GIL too
            self._heap.tick()

    def watch_selected(self) -> None:
        self.update_marks()

    def watch_shown_namespaces(self) -> None:
        self.update_marks()

    def watch_changed(self) -> None:
        self.update_marks()

    def watch_expanded(self) -> None:
        self.update_marks()

    def watch_journey(self) -> None:
        self.update_marks()

    def watch_hop(self) -> None:
        self.update_marks()

    def update_marks(self) -> None:
        """Work the highlights out again (cheap: the widgets bound to them redraw once,
        after this turn's other changes are in)."""
        # what a lesson step is about, unless a journey (its check's walk) is drawn
        lesson = lesson_ids(self.graph, self.lesson_view) if self.journey is None else None
        changed = self.changed | lesson if lesson else self.changed
        self.marks = marks_for(self.journey, self.hop, selected=self.selected,
                               changed=changed, visible=self.shown_namespaces,
                               expanded=self.expanded, drops=self._drops.per_id(),
                               alerts=self._drops.alerts())

    def notice(self, text: str) -> None:
        """A one-line answer to a key: toast and event log."""
        self.notify(safe(text), timeout=4, markup=False)
        self.query_one(EventLog).add("notice", text)

    # --- live updates -----------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="live")
    def follow_host(self) -> None:
        assert self._feed is not None
        self._feed.follow(lambda update: self.post_message(self.SnapshotArrived(update)))

    def on_netscope_app_snapshot_arrived(self, message: SnapshotArrived) -> None:
        self._heap.busy()
        update, before = message.update, self.graph
        log = self.query_one(EventLog)
        # a live re-read keeps the objects it did not read: so does the graph (its indexes)
        graph = HostGraph.of(update.snapshot, like=before)
        if update.completes:
            log.add("notice", f"read {', '.join(self._rest) or 'the rest'} in "
                              f"{update.collect_ms:.0f} ms")
            self._rest_read(graph)
            return
        if before is None:
            log.add("notice", f"read {len(update.snapshot.namespaces)} namespaces in "
                              f"{update.collect_ms:.0f} ms; following netlink notifications")
            changes: list[Change] = []
            self._reading(update.rest)
        else:
            changes = diff_snapshots(before.snapshot, update.snapshot, update.refreshed)
            self._log_changes(changes, before, graph)
        self.graph = graph
        self.changed = frozenset(i for c in changes for i in c.ids)
        if self.changed:
            self.set_timer(HIGHLIGHT_S, self._clear_highlights)

    def _reading(self, rest: tuple[str, ...]) -> None:
        """The collectors being read after the first screen (none: the host is whole), said
        by the status line and the tabs that show them."""
        self._rest = rest
        self.mode = self._mode()
        self.extras = {**self.extras, "reading": rest}

    def _rest_read(self, graph: HostGraph) -> None:
        """The first screen's snapshot completed: shown as it is (nothing changed on the
        host between them), and what waited for it runs."""
        self._reading(())
        self.graph = graph
        waiting, self._after_rest = self._after_rest, []
        for then in waiting:
            then()

    def _log_visible(self, *graphs: HostGraph) -> frozenset[str] | None:
        """Namespaces whose events the log shows: those the filter lets through in any of
        `graphs` (before and after a change, so appeared and gone ones count); None: all."""
        if not self.filter_text:
            return None
        return frozenset().union(*(visible_namespaces(g, self.filter_text) for g in graphs))

    def _log_changes(self, changes: list[Change], before: HostGraph, after: HostGraph) -> None:
        shown = self._hidden.split(changes, self._log_visible(before, after))
        if shown:
            self._say_hidden()
        log = self.query_one(EventLog)
        for change in shown:
            log.add(change.kind, change.text)
        if self._hidden.pending and self._hidden_timer is None:
            self._hidden_timer = self.set_timer(HIDDEN_SAY_S, self._say_hidden)

    def _say_hidden(self) -> None:
        """The one line for the changes the filter hid since the last one."""
        if self._hidden_timer is not None:
            self._hidden_timer.stop()
            self._hidden_timer = None
        line = self._hidden.line()
        if line:
            self.query_one(EventLog).add("filtered", line)

    def _clear_highlights(self) -> None:
        self.changed = frozenset()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.notice(f"{event.worker.name or 'background work'} failed: {event.worker.error}")

    # --- selection, filter (messages up from the widgets) -----------------------------

    def on_namespace_tree_selected(self, message: NamespaceTree.Selected) -> None:
        self.selected = message.object_id

    def on_topology_view_selected(self, message: TopologyView.Selected) -> None:
        self.selected = message.object_id

    def on_topology_view_groups_toggled(self, message: TopologyView.GroupsToggled) -> None:
        self.expanded = message.expanded

    def action_filter(self) -> None:
        self.query_one(FilterBar).open()

    def on_filter_bar_applied(self, message: FilterBar.Applied) -> None:
        if message.text != self.filter_text:
            self._say_hidden()  # what the old filter hid, before it changes
        self.filter_text = message.text

    # --- save, pause, help, palette ---------------------------------------------------

    def action_save(self) -> None:
        snapshot = self.snapshot
        if snapshot is None:
            self.notice("nothing to save yet: the first collection is still running")
            return
        if not self.whole_host(self.action_save, "saving"):
            return
        from netscope.snapshot import save
        from netscope.snapshot.files import file_name_part

        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(self._clock()))
        # the hostname comes from the host or a snapshot: never a path of its own
        host = file_name_part(snapshot.header.hostname)
        path = os.path.join(self._save_dir, f"netscope-{host}-{stamp}.json")
        try:
            save(snapshot, path)
        except OSError as e:
            self.notice(f"cannot write {path}: {e.strerror}")
            return
        self.notice(f"saved {path}")

    def action_pause(self) -> None:
        if self._feed is None:
            self.notice("nothing live to pause: this is a saved snapshot")
            return
        self._paused = not self._paused
        self._feed.set_paused(self._paused)
        self.mode = self._mode()
        self.notice("live updates paused" if self._paused else "live updates resumed")

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self._read_only))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for action, title, help_text in self.COMMANDS_HELP:
            yield SystemCommand(title, help_text, getattr(self, f"action_{action}"))
