"""The netscope TUI: tree | topology | details, event log, keys.

Thin: it keeps the state (snapshot, selection, filter, journey, highlights), sets attributes
on its widgets, and runs blocking work (collection, netlink, doctor, tracer, labs) in thread
workers whose results come back as messages. Features whose backend is not installed yet
answer their key with a one-line notice (see `netscope.tui.backends`).
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
from textual.screen import Screen
from textual.widgets import Footer
from textual.worker import Worker, WorkerState

from netscope.model import Snapshot
from netscope.model.index import SnapshotIndex
from netscope.model.labels import ns_order
from netscope.model.safe_text import safe
from netscope.tui.app_drops import DropKeys
from netscope.tui.app_trace import TraceKeys
from netscope.tui.backends import NOT_YET, Backends
from netscope.tui.changes import Change, HiddenChanges, diff_snapshots
from netscope.tui.detail_common import selection_of
from netscope.tui.journey import Journey
from netscope.tui.live import LiveFeed, Update
from netscope.tui.screens.doctor import DoctorScreen
from netscope.tui.screens.help import HelpScreen
from netscope.tui.screens.labs import LabsScreen
from netscope.tui.screens.message import ConfirmScreen
from netscope.tui.view_state import marks_for, visible_namespaces
from netscope.tui.widgets.detail_panel import DetailPanel
from netscope.tui.widgets.event_log import EventLog
from netscope.tui.widgets.filter_bar import FilterBar
from netscope.tui.widgets.ns_tree import NamespaceTree
from netscope.tui.widgets.status_bar import StatusBar
from netscope.tui.widgets.topology import TopologyView
from netscope.tui.widgets.trace_bar import TraceBar

HIGHLIGHT_S = 2.0
# changes the filter hides are said in one line at most this often (and before a shown one)
HIDDEN_SAY_S = 10.0


class NetscopeApp(TraceKeys, DropKeys, App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "netscope"
    BINDINGS = [
        Binding("slash", "filter", "filter"),
        Binding("t", "trace", "trace"),
        Binding("left_square_bracket", "step(-1)", "prev hop", show=False),
        Binding("right_square_bracket", "step(1)", "next hop", show=False),
        Binding("d", "doctor", "doctor"),
        Binding("r", "repair", "repair"),
        Binding("u", "undo", "undo"),
        Binding("l", "labs", "labs"),
        Binding("s", "save", "save"),
        Binding("p", "pause", "pause"),
        Binding("D", "count_drops", "count drops"),
        Binding("question_mark", "help", "help"),
        Binding("escape", "close_trace", "close trace", show=False),
        Binding("q", "quit", "quit"),
        Binding("ctrl+c", "quit", "quit", show=False, priority=True),
    ]
    # (action, title, help) for the command palette
    COMMANDS_HELP = (
        ("filter", "Filter", "filter namespaces, containers, devices, addresses (/)"),
        ("trace", "Trace", "trace a packet from the selected namespace (t)"),
        ("doctor", "Doctor", "list findings, explanation and evidence (d)"),
        ("repair", "Repair", "repair the selected finding (r)"),
        ("undo", "Undo", "undo the last repair (u)"),
        ("labs", "Labs", "bring a lab up or tear it down (l)"),
        ("save", "Save snapshot", "write what is on screen to a JSON file (s)"),
        ("pause", "Pause live updates", "pause or resume following the host (p)"),
        ("count_drops", "Count drops", "attach or detach the drop monitor: drops per device "
                                       "on the topology, in the Drops tab and the log (D)"),
        ("help", "Keys", "every key and what it does (?)"),
    )

    class SnapshotArrived(Message):
        def __init__(self, update: Update) -> None:
            super().__init__()
            self.update = update

    class FindingsReady(Message):
        def __init__(self, findings: list) -> None:
            super().__init__()
            self.findings = findings

    def __init__(self, snapshot: Snapshot | None = None, feed: LiveFeed | None = None, *,
                 read_only: str | None = None, backends: Backends | None = None,
                 clock: Callable[[], float] = time.time, save_dir: str = ".",
                 source_note: str = "", initial_filter: str = "",
                 greeting: str = "") -> None:
        super().__init__()
        self._snapshot, self._feed = snapshot, feed
        self._read_only = read_only
        self._backends = backends or Backends()
        self._clock, self._save_dir, self._source_note = clock, save_dir, source_note
        self._index = SnapshotIndex(snapshot) if snapshot else None
        self._selected: str | None = None
        self._filter = initial_filter
        self._greeting = greeting
        self._journey: Journey | None = None
        self._hop = 0
        self._changed: frozenset[str] = frozenset()
        self._expanded = False
        self._paused = False
        self._hidden = HiddenChanges()
        self._hidden_timer = None
        self._init_drops(live=feed is not None, read_only=read_only)
        self.first_screen_at: float | None = None

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield FilterBar(id="filter")
                yield NamespaceTree(id="tree")
            with Vertical(id="centre"):
                yield TopologyView(id="topology")
                yield TraceBar(id="trace")
            yield DetailPanel(id="details")
        yield EventLog(clock=self._clock, id="log")
        yield Footer()

    def on_mount(self) -> None:
        if not self.is_headless:  # tests keep the runner's own handlers
            self._exit_on_signals()
        log = self.query_one(EventLog)
        if self._filter:
            self.query_one(FilterBar).show_text(self._filter)
        for line in self._greeting.splitlines():
            log.add("notice", line)
        if self._snapshot is not None:
            self._show()
            log.add("notice", f"opened {self._source_note or 'snapshot'} captured "
                              f"{self._snapshot.header.captured_at}")
        if self._feed is not None:
            log.add("notice", "reading every network namespace ...")
            self.follow_host()
        tree = self.query_one(NamespaceTree)
        tree.focus()
        if self._snapshot is not None:
            tree.move_cursor_to_first()

    def on_unmount(self) -> None:
        self.stop_background()

    def stop_background(self) -> None:
        """Stop following the host and detach the drop monitor (waits for the detach)."""
        if self._feed is not None:
            self._feed.stop()
        self.stop_drops()

    def run(self, *args, **kwargs):
        """As App.run; whatever ends the app (an error too), nothing stays attached."""
        try:
            return super().run(*args, **kwargs)
        finally:
            self.stop_background()

    def _exit_on_signals(self) -> None:
        """SIGTERM ends the app as q does (the drop monitor detached, the terminal restored),
        not the process where it stands. SIGHUP (the terminal is gone: nothing can be drawn
        or restored, and Textual's input thread would spin on the dead terminal) detaches,
        then ends the process as SIGHUP would have."""
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self.exit)
        loop.add_signal_handler(signal.SIGHUP, self._hang_up)

    def _hang_up(self) -> None:
        self.stop_background()
        asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)  # back to SIG_DFL
        os.kill(os.getpid(), signal.SIGHUP)

    # --- state -> widgets -------------------------------------------------------------

    @property
    def mode(self) -> str:
        if self._feed is None:
            return "OFFLINE snapshot (read-only)"
        mode = "PAUSED" if self._paused else "LIVE"
        return f"{mode} (read-only)" if self._read_only else mode

    def _show(self) -> None:
        index = self._index
        if index is None:
            return
        visible = visible_namespaces(index, self._filter)
        self.query_one(StatusBar).show(index.snapshot, self.mode,
                                       f"filter: {self._filter}" if self._filter else "")
        self.query_one(NamespaceTree).show(index, visible, self._changed)
        self._refresh_marks()
        if self.first_screen_at is None:
            self.call_after_refresh(self._first_screen)

    def _first_screen(self) -> None:
        self.first_screen_at = time.monotonic()

    def _refresh_marks(self) -> None:
        """Topology, trace strip and details."""
        index = self._index
        if index is None:
            return
        visible = visible_namespaces(index, self._filter)
        marks = marks_for(self._journey, self._hop, selected=self._selected,
                          changed=self._changed, visible=visible, expanded=self._expanded,
                          drops=self._drops.per_id(), alerts=self._drops.alerts())
        self.query_one(TopologyView).show(index, marks)
        self.query_one(TraceBar).show(index, self._journey, self._hop)
        self.query_one(DetailPanel).show(index, selection_of(index, self._selected),
                                         {"drops": self._drops})

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
        update, before = message.update, self._snapshot
        self._snapshot, self._index = update.snapshot, SnapshotIndex(update.snapshot)
        log = self.query_one(EventLog)
        if before is None:
            log.add("notice", f"read {len(update.snapshot.namespaces)} namespaces in "
                              f"{update.collect_ms:.0f} ms; following netlink notifications")
            changes: list[Change] = []
        else:
            changes = diff_snapshots(before, update.snapshot)
            self._log_changes(changes, SnapshotIndex(before))
        self._changed = frozenset(i for c in changes for i in c.ids)
        self._show()
        if before is None:
            self.query_one(NamespaceTree).move_cursor_to_first()
        if self._changed:
            self.set_timer(HIGHLIGHT_S, self._clear_highlights)

    def _log_visible(self, *indexes: SnapshotIndex) -> frozenset[str] | None:
        """Namespaces whose events the log shows: those the filter lets through in any of
        `indexes` (before and after a change, so appeared and gone ones count); None: all."""
        if not self._filter:
            return None
        return frozenset().union(*(visible_namespaces(ix, self._filter) for ix in indexes))

    def _log_changes(self, changes: list[Change], before: SnapshotIndex) -> None:
        shown = self._hidden.split(changes, self._log_visible(before, self._index))
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
        self._changed = frozenset()
        self._show()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.notice(f"{event.worker.name or 'background work'} failed: {event.worker.error}")

    # --- selection, filter ------------------------------------------------------------

    def on_namespace_tree_selected(self, message: NamespaceTree.Selected) -> None:
        if message.object_id != self._selected:
            self._selected = message.object_id
            self._refresh_marks()

    def action_select_object(self, object_id: str) -> None:
        """A click on the topology."""
        self._selected = object_id
        self.query_one(NamespaceTree).select_id(object_id)
        self._refresh_marks()

    def on_topology_view_groups_toggled(self, message: TopologyView.GroupsToggled) -> None:
        self._expanded = message.expanded

    def action_filter(self) -> None:
        self.query_one(FilterBar).open()

    def on_filter_bar_applied(self, message: FilterBar.Applied) -> None:
        if message.text != self._filter:
            self._say_hidden()  # what the old filter hid, before it changes
        self._filter = message.text
        visible = visible_namespaces(self._index, self._filter) if self._index else None
        if visible:
            # keep the selection among what is shown, so t and the details follow the filter
            where = selection_of(self._index, self._selected).netns
            if where not in visible:
                self._selected = next(n for n in ns_order(self._index) if n in visible)
        self._show()

    # --- doctor, repair, undo, labs ---------------------------------------------------

    def _mutation_refused(self, what: str) -> bool:
        if self._read_only:
            self.notice(f"read-only ({self._read_only}): {what} is disabled")
            return True
        if self._backends.get(what) is None:
            self.notice(NOT_YET[what])
            return True
        return False

    def action_doctor(self) -> None:
        doctor = self._backends.get("doctor")
        if doctor is None:
            self.notice(NOT_YET["doctor"])
            return
        self.run_doctor(doctor)

    @work(thread=True, exclusive=True, exit_on_error=False, group="doctor")
    def run_doctor(self, doctor) -> None:
        self.post_message(self.FindingsReady(list(doctor.run_checks(self._snapshot))))

    def on_netscope_app_findings_ready(self, message: FindingsReady) -> None:
        self.push_screen(DoctorScreen(message.findings))

    def action_repair(self) -> None:
        if not self._mutation_refused("repair"):
            self.notice("open the doctor (d), highlight a finding, then press r")

    def on_doctor_screen_repair_requested(self, message: DoctorScreen.RepairRequested) -> None:
        if self._mutation_refused("repair"):
            return
        repair = self._backends.get("repair")
        try:
            commands, apply = repair.plan(message.finding)
        except repair.error as e:
            self.notice(str(e))
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.run_host_change(apply, f"repaired {message.finding.id}")
        self.push_screen(ConfirmScreen(f"repair {message.finding.title}", "\n".join(commands)),
                         confirmed)

    def action_undo(self) -> None:
        if not self._mutation_refused("undo"):
            self.run_host_change(self._backends.get("undo").undo_last, "undid the last repair")

    def action_labs(self) -> None:
        if self._mutation_refused("labs"):
            return
        labs = self._backends.get("labs")

        def chosen(choice: tuple[str, str] | None) -> None:
            if choice:
                verb, name = choice
                change = labs.lab_up if verb == "up" else labs.lab_down
                self.run_host_change(lambda: change(name), f"lab {name} {verb}")
        self.push_screen(LabsScreen(list(labs.list_labs()), set(labs.lab_status())), chosen)

    @work(thread=True, exclusive=True, exit_on_error=False, group="host-change")
    def run_host_change(self, change: Callable[[], object], done: str) -> None:
        change()
        self.call_from_thread(self.notice, done)
        if self._feed is not None:  # iptables and sysctl changes send no netlink notice
            self._feed.refresh_now()

    # --- save, pause, help, palette ---------------------------------------------------

    def action_save(self) -> None:
        if self._snapshot is None:
            self.notice("nothing to save yet: the first collection is still running")
            return
        from netscope.snapshot import save
        from netscope.snapshot.files import file_name_part

        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(self._clock()))
        # the hostname comes from the host or a snapshot: never a path of its own
        host = file_name_part(self._snapshot.header.hostname)
        path = os.path.join(self._save_dir, f"netscope-{host}-{stamp}.json")
        try:
            save(self._snapshot, path)
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
        self.notice("live updates paused" if self._paused else "live updates resumed")
        if self._snapshot is not None:
            self.query_one(StatusBar).show(self._snapshot, self.mode)

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self._read_only))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for action, title, help_text in self.COMMANDS_HELP:
            yield SystemCommand(title, help_text, getattr(self, f"action_{action}"))
