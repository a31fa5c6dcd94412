"""Live updates without root: the feed driven by a scripted watcher, the app showing changes;
and the pure parts (snapshot diff, notification parsing, filter)."""

from __future__ import annotations

import queue
import time
from dataclasses import replace

import pytest

from netscope.graph.host import HostGraph
from netscope.host.watch import HostChanges, message_kinds, notification
from netscope.snapshot import load
from netscope.tui.app import NetscopeApp
from netscope.tui.backends import Backends
from netscope.tui.changes import Change, HiddenChanges, diff_snapshots
from netscope.tui.live import LiveFeed
from netscope.tui.view_state import visible_namespaces
from netscope.tui.widgets.event_log import EventLog
from netscope.tui.widgets.ns_tree import NamespaceTree
from tests.tui.conftest import FROZEN, SIZE, snapshot_path, sync


def lab():
    return load(snapshot_path("tui-docker-bridge.json"))


def with_link_down(snapshot, name: str, ns_suffix: str):
    ns = next(n.id for n in snapshot.namespaces if n.name.endswith(ns_suffix))
    links = tuple(replace(x, flags=tuple(f for f in x.flags if f != "UP"), operstate="DOWN")
                  if x.netns == ns and x.name == name else x for x in snapshot.links)
    return replace(snapshot, links=links)


class ScriptedWatcher:
    """Stands in for NetworkWatcher: wait() returns what the test pushes."""

    def __init__(self) -> None:
        self.pushed: queue.Queue[HostChanges] = queue.Queue()
        self.watched: set[int] = set()
        self.syncs = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def close(self) -> None:
        pass

    def sync(self) -> set[int]:
        self.syncs += 1
        return set()

    def wake(self) -> None:
        self.pushed.put(HostChanges())

    def wait(self, timeout):
        try:
            return self.pushed.get(timeout=timeout if timeout is None or timeout > 0 else 0.001)
        except queue.Empty:
            return HostChanges()


def test_notifications_are_classified_by_message_type():
    data = notification(16) + notification(24) + notification(28)
    assert message_kinds(data) == {"link", "route", "neighbour"}
    assert message_kinds(notification(3)) == set()
    # a neighbour message of the bridge family (ndm_family 7) is a forwarding entry
    assert message_kinds(notification(28, bytes([7]) + bytes(11))) == {"fdb"}
    assert message_kinds(notification(29, bytes([2]) + bytes(11))) == {"neighbour"}


def test_neighbour_notifications_of_noarp_entries_are_no_change():
    """NOARP entries (multicast, loopback) are not collected: their notifications are about
    nothing netscope shows. An entry in another state is; a message too short to tell is
    taken as one (read again rather than miss it)."""
    from netscope.host.rtnl_attrs import NDMSG, NUD_NOARP

    noarp = NDMSG.pack(10, 3, NUD_NOARP, 0, 1)
    reachable = NDMSG.pack(2, 3, 0x02, 0, 1)
    assert message_kinds(notification(28, noarp) + notification(29, noarp)) == set()
    assert message_kinds(notification(28, noarp) + notification(28, reachable)) == {"neighbour"}
    assert message_kinds(notification(29)) == {"neighbour"}


def test_diff_names_the_link_that_went_down_and_what_to_highlight():
    before = lab()
    after = with_link_down(before, "veth1", "-host")
    changes = diff_snapshots(before, after)
    assert [c.text for c in changes] == ["nsl-nstui-host:veth1: UP -> DOWN"]
    veth1 = next(x for x in after.links if x.name == "veth1")
    assert veth1.id in changes[0].ids
    assert diff_snapshots(before, before) == []


def test_diff_reports_namespaces_that_come_and_go():
    before = lab()
    gone = next(n for n in before.namespaces if n.name.endswith("-inet"))
    after = replace(before, namespaces=tuple(n for n in before.namespaces if n is not gone),
                    links=tuple(x for x in before.links if x.netns != gone.id))
    assert "nsl-nstui-inet is gone" in [c.text for c in diff_snapshots(before, after)]
    assert "nsl-nstui-inet appeared" in [c.text for c in diff_snapshots(after, before)]


def test_filter_matches_names_devices_and_addresses():
    index = HostGraph.of(lab())
    assert visible_namespaces(index, "") is None
    assert {index.ns_name(i) for i in visible_namespaces(index, "10.217.0.3")} == {"nsl-nstui-c2"}
    assert {index.ns_name(i) for i in visible_namespaces(index, "INET")} == {"nsl-nstui-inet"}


def test_feed_collects_once_per_burst_and_not_while_quiet():
    snapshots = iter([lab(), with_link_down(lab(), "veth1", "-host")])
    taken, watcher = [], ScriptedWatcher()
    feed = LiveFeed(lambda: next(snapshots), watcher_factory=lambda: watcher)

    def publish(update):
        taken.append(update)
        if len(taken) == 1:
            for _ in range(5):  # a burst of notifications -> one collection
                watcher.pushed.put(HostChanges(namespaces={1}, kinds={"link"}))
        else:
            feed.stop()
    feed.follow(publish)
    assert len(taken) == 2
    assert taken[1].changes.kinds == {"link"}


@sync
async def test_app_shows_a_link_going_down_in_tree_and_log():
    first = lab()
    app, watcher = live_app(first, with_link_down(first, "veth1", "-host"))
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(50):
            await pilot.pause(0.05)
            if app.snapshot is not None:
                break
        assert "LIVE" in app.mode
        watcher.pushed.put(HostChanges(namespaces={1}, kinds={"link"}))
        for _ in range(50):
            await pilot.pause(0.05)
            if app.snapshot is not first:
                break
        await pilot.pause()  # the widgets redraw once the new state is in
        log = "\n".join(line.text for line in app.query_one(EventLog).lines)
        assert "nsl-nstui-host:veth1: UP -> DOWN" in log
        tree = app.query_one(NamespaceTree)
        veth1 = next(x.id for x in app.snapshot.links if x.name == "veth1")
        node = tree._by_id[veth1]
        assert str(node.label).startswith("○ veth1")
        assert veth1 in app.changed  # highlighted until the highlight timer clears it
        # and the topology: a picture of the same size, redrawn without a layout pass
        from tests.tui.test_app import picture

        assert "○ veth1" in picture(app) and "● veth1" not in picture(app)


def live_app(*snapshots) -> tuple[NetscopeApp, ScriptedWatcher]:
    """An app following a feed whose reads return `snapshots` in turn, over a scripted
    watcher (push HostChanges to it for the next read)."""
    reads = iter(snapshots)
    watcher = ScriptedWatcher()
    feed = LiveFeed(lambda: next(reads), watcher_factory=lambda: watcher)
    return NetscopeApp(feed=feed, backends=Backends.none(), clock=lambda: FROZEN), watcher


async def _wait_for_snapshot(app, pilot, not_this) -> None:
    for _ in range(60):
        await pilot.pause(0.05)
        if app.snapshot is not None and app.snapshot is not not_this:
            return
    raise AssertionError("no snapshot arrived")


@pytest.mark.parametrize("say_every", [0.3, 60.0])
@sync
async def test_event_log_follows_the_filter(monkeypatch, say_every):
    """Changes in namespaces the filter hides are counted in one line: on a timer, or at the
    latest right before the next change that is shown."""
    import netscope.tui.app as app_module

    monkeypatch.setattr(app_module, "HIDDEN_SAY_S", say_every)
    first = lab()
    host_down = with_link_down(first, "veth1", "-host")   # filtered out
    both_down = with_link_down(host_down, "eth0", "-c1")  # in the filter
    snapshots = iter([first, host_down, both_down])
    watcher = ScriptedWatcher()
    feed = LiveFeed(lambda: next(snapshots), watcher_factory=lambda: watcher)
    app = NetscopeApp(feed=feed, backends=Backends.none(), clock=lambda: FROZEN,
                      initial_filter="nsl-nstui-c1")
    async with app.run_test(size=SIZE) as pilot:
        await _wait_for_snapshot(app, pilot, None)

        def log() -> list[str]:
            return [line.text for line in app.query_one(EventLog).lines]

        watcher.pushed.put(HostChanges(namespaces={1}, kinds={"link"}))
        await _wait_for_snapshot(app, pilot, first)
        assert not any("veth1" in line for line in log())
        await pilot.pause(0.5)
        said = sum("1 change in filtered-out namespaces" in line for line in log())
        assert said == (1 if say_every < 0.5 else 0)
        watcher.pushed.put(HostChanges(namespaces={1}, kinds={"link"}))
        await _wait_for_snapshot(app, pilot, host_down)
        lines = log()
        shown = next(i for i, line in enumerate(lines) if "nsl-nstui-c1:eth0: UP -> DOWN" in line)
        hidden = [i for i, line in enumerate(lines) if "1 change in filtered-out" in line]
        assert len(hidden) == 1 and hidden[0] < shown
        assert not any("veth1" in line for line in lines)


def test_hidden_changes_are_counted_once():
    a, b = Change("link", "a", (), "ns:1"), Change("link", "b", (), "ns:2")
    hidden = HiddenChanges()
    assert hidden.split([a, b], None) == [a, b] and hidden.line() is None
    assert hidden.split([a, b], frozenset({"ns:1"})) == [a]
    assert hidden.split([b, b], frozenset({"ns:1"})) == []
    assert hidden.line() == "3 changes in filtered-out namespaces"
    assert hidden.line() is None


def test_neighbour_flips_cost_a_partial_read_and_no_settling_one(monkeypatch):
    import threading

    import netscope.tui.live as live

    monkeypatch.setattr(live, "QUIET_S", 0.2)
    monkeypatch.setattr(live, "MIN_INTERVAL_S", 0.01)
    full, partial, taken = [], [], []
    watcher = ScriptedWatcher()

    def collect():
        full.append(1)
        return lab()

    def refresh(previous, inodes):
        partial.append(set(inodes))
        return previous

    feed = LiveFeed(collect, watcher_factory=lambda: watcher, refresh=refresh)

    def publish(update):
        taken.append(update)
        if len(taken) == 1:
            watcher.pushed.put(HostChanges(namespaces={7}, kinds={"neighbour"}))
        elif len(taken) == 2:
            # well after the quiet time, a link change: its partial read is settled by one
            # read of that namespace, whole (after the neighbour flip there was none)
            threading.Timer(0.6, watcher.pushed.put,
                            [HostChanges(namespaces={7}, kinds={"link"})]).start()
        elif len(taken) == 4:
            feed.stop()

    threading.Timer(3.0, feed.stop).start()  # a bound on the test, whatever happens
    feed.follow(publish)
    assert partial == [{7}, {7}, {7}]
    kinds = [u.changes.kinds if u.changes else None for u in taken]
    # first read, neighbour (partial, nothing settles it), link (partial), the settling read
    # of that namespace: never the whole host again
    assert kinds == [None, {"neighbour"}, {"link"}, {"settle"}]
    assert taken[3].changes.namespaces == {7} and taken[3].refreshed == frozenset({"ns:7"})
    assert len(full) == 1


def test_neighbour_churn_does_not_put_off_the_settling_read(monkeypatch):
    """On a host of 1,000 namespaces some neighbour table changes every few seconds: the
    settling read of a namespace a link change was read in comes QUIET_S after that change,
    not once the churn pauses (it came 15-20 s late there, in the middle of idle time)."""
    import threading

    import netscope.tui.live as live

    monkeypatch.setattr(live, "QUIET_S", 0.3)
    monkeypatch.setattr(live, "MIN_INTERVAL_S", 0.01)
    taken, at = [], []
    watcher = ScriptedWatcher()
    feed = LiveFeed(lab, watcher_factory=lambda: watcher, refresh=lambda p, i: p,
                    refresh_neighbours=lambda p, i: p, refresh_kinds=lambda p, i, k: p)
    churning = threading.Event()

    def churn():  # a neighbour notification every 0.1 s, a third of the quiet time
        while not churning.wait(0.1):
            watcher.pushed.put(HostChanges(namespaces={8}, kinds={"neighbour"}))

    def publish(update):
        taken.append(update)
        at.append(time.monotonic())
        if len(taken) == 1:
            watcher.pushed.put(HostChanges(namespaces={7}, kinds={"link"}))
            threading.Thread(target=churn, daemon=True).start()
        elif update.changes is not None and update.changes.kinds == {"settle"}:
            feed.stop()

    stopper = threading.Timer(3.0, feed.stop)  # a bound on the test, whatever happens
    stopper.start()
    try:
        feed.follow(publish)
    finally:
        churning.set()
        stopper.cancel()
    kinds = [u.changes.kinds if u.changes else None for u in taken]
    assert kinds[-1] == {"settle"}, kinds
    assert taken[-1].changes.namespaces == {7}
    link = next(i for i, k in enumerate(kinds) if k == {"link"})
    # QUIET_S after the link change (less a moment: its deadline is set before it is
    # published), and well before the churn ends the test (the old feed: never)
    assert 0.25 <= at[-1] - at[link] < 2.5, at[-1] - at[link]


def test_a_link_change_re_reads_only_what_links_can_change(monkeypatch):
    import netscope.tui.live as live

    monkeypatch.setattr(live, "MIN_INTERVAL_S", 0.01)
    asked, taken = [], []
    watcher = ScriptedWatcher()

    def refresh_kinds(previous, inodes, kinds):
        asked.append((set(inodes), set(kinds)))
        return previous

    feed = LiveFeed(lab, watcher_factory=lambda: watcher, refresh=lambda p, i: None,
                    refresh_kinds=refresh_kinds)

    def publish(update):
        taken.append(update)
        if len(taken) == 1:
            watcher.pushed.put(HostChanges(namespaces={3}, kinds={"link", "route"}))
        else:
            feed.stop()
    feed.follow(publish)
    assert asked == [({3}, {"link", "route"})]
    assert taken[1].refreshed == frozenset({"ns:3"})


class ChurnFeed:
    """A feed over a scripted watcher that records what it reads: whole host (`full`),
    neighbour tables (`tables`), kinds in namespaces (`kinds_asked`); `many`: 3 * PARTIAL_MAX
    namespaces, more than are re-read on their own."""

    def __init__(self, monkeypatch, kinds: bool = False) -> None:
        import netscope.tui.live as live

        monkeypatch.setattr(live, "MIN_INTERVAL_S", 0.01)
        self.full, self.tables, self.kinds_asked, self.taken = [], [], [], []
        self.watcher = ScriptedWatcher()
        self.many = set(range(100, 100 + 3 * live.PARTIAL_MAX))
        self.feed = LiveFeed(self._collect, watcher_factory=lambda: self.watcher,
                             refresh=lambda previous, inodes: None,
                             refresh_neighbours=self._neighbours,
                             refresh_kinds=self._kinds if kinds else None)

    def _collect(self):
        self.full.append(1)
        return lab()

    def _neighbours(self, previous, inodes):
        self.tables.append(set(inodes))
        return previous

    def _kinds(self, previous, inodes, kinds):
        self.kinds_asked.append((set(inodes), set(kinds)))
        return previous

    def follow(self, then: list[list[HostChanges]]) -> None:
        """Publish; after update n, push then[n-1] (the changes of one take), stop after."""
        def publish(update):
            self.taken.append(update)
            if len(self.taken) <= len(then):
                for changes in then[len(self.taken) - 1]:
                    self.watcher.pushed.put(changes)
            else:
                self.feed.stop()
        self.feed.follow(publish)


def test_neighbour_changes_in_many_namespaces_re_read_only_neighbour_tables(monkeypatch):
    churn = ChurnFeed(monkeypatch)
    many = churn.many
    churn.follow([
        [HostChanges(namespaces=set(many), kinds={"neighbour"})],
        # a link change among them: whole namespaces (here: the whole host) again
        [HostChanges(namespaces=set(many), kinds={"neighbour", "link"})],
    ])
    assert churn.tables == [many]
    assert len(churn.full) == 2  # the first read and the one for the link change


def test_a_link_change_amid_neighbour_churn_re_reads_neighbour_tables_and_that_namespace(
        monkeypatch):
    """On a busy host dozens of namespaces age neighbour entries at any moment: a link going
    down among them (told apart by the watcher, namespace by namespace, and kept apart when
    notifications are merged) re-reads their neighbour tables and the one namespace, not
    the whole host (at 1,000 namespaces: 570 ms instead of 90)."""
    churn = ChurnFeed(monkeypatch, kinds=True)
    many = churn.many
    # two waits' worth, merged by the feed: the link's namespace had a neighbour
    # notification too, in the second
    churn.follow([[
        HostChanges(namespaces=set(many), kinds={"neighbour"},
                    kinds_by_ns={i: {"neighbour"} for i in many}),
        HostChanges(namespaces={7, 100}, kinds={"link", "neighbour"},
                    kinds_by_ns={7: {"link"}, 100: {"neighbour"}}),
    ]])
    assert len(churn.full) == 1, "no whole-host read"
    assert churn.tables == [many]
    assert churn.kinds_asked == [({7}, {"link"})]
    assert churn.taken[1].refreshed == frozenset(f"ns:{i}" for i in many | {7})


def test_a_namespace_whose_notifications_were_lost_is_read_again_not_the_whole_host(
        monkeypatch):
    """One socket's queue overflowing (ENOBUFS: a bridge namespace of 1,000 ports ageing its
    neighbours at once did, on a quiet 1,000-namespace lab) loses that namespace's
    notifications only: everything they could have said is read there again, with the
    neighbour churn elsewhere, and no whole-host read (that one cost 0.7 s of CPU)."""
    from netscope.host.watch import ALL_KINDS

    churn = ChurnFeed(monkeypatch, kinds=True)
    many = churn.many
    churn.follow([[
        HostChanges(namespaces=set(many), kinds={"neighbour"},
                    kinds_by_ns={i: {"neighbour"} for i in many}),
        # a link notification named interface 3 there before the queue overflowed
        HostChanges(namespaces={7}, kinds=set(ALL_KINDS), kinds_by_ns={7: set(ALL_KINDS)},
                    lost={7}),
        HostChanges(namespaces={7}, kinds={"link"}, kinds_by_ns={7: {"link"}},
                    links_by_ns={7: {3}}),
    ]])
    assert len(churn.full) == 1, "no whole-host read"
    assert churn.tables == [many]
    # every kind, and all its links (the notifications naming the others were lost)
    assert churn.kinds_asked == [({7}, set(ALL_KINDS))]
    assert churn.taken[1].refreshed == frozenset(f"ns:{i}" for i in many | {7})


@sync
async def test_a_live_update_relabels_the_tree_in_place_and_rebuilds_it_when_namespaces_change():
    first = lab()
    host_down = with_link_down(first, "veth1", "-host")
    inet = next(n.id for n in first.namespaces if n.name.endswith("-inet"))
    without_inet = replace(first, namespaces=tuple(n for n in first.namespaces if n.id != inet),
                           links=tuple(x for x in first.links if x.netns != inet))
    app, watcher = live_app(first, host_down, without_inet)
    async with app.run_test(size=SIZE) as pilot:
        await _wait_for_snapshot(app, pilot, None)
        await pilot.pause()
        tree = app.query_one(NamespaceTree)
        host = next(n.id for n in first.namespaces if n.name.endswith("-host"))
        veth1 = next(x.id for x in first.links if x.name == "veth1")
        nodes = dict(tree._by_id)
        watcher.pushed.put(HostChanges(namespaces={1}, kinds={"link"}))
        await _wait_for_snapshot(app, pilot, first)
        await pilot.pause()
        # the same nodes, the two that changed relabelled
        assert all(tree._by_id[i] is node for i, node in nodes.items())
        assert str(tree._by_id[veth1].label).startswith("○ veth1")
        assert "1 down" in str(tree._by_id[host].label)
        watcher.pushed.put(HostChanges(namespaces={1}, namespaces_changed=True))
        await _wait_for_snapshot(app, pilot, host_down)
        await pilot.pause()
        # a namespace gone: the tree is built again, without it
        assert inet not in tree._by_id and tree._by_id[host] is not nodes[host]
        assert [str(n.label).split("  ")[0] for n in tree.root.children] == [
            "□ nsl-nstui-c1", "□ nsl-nstui-c2", "□ nsl-nstui-host"]


def test_link_notifications_name_their_interfaces_and_merging_keeps_what_is_known():
    from netscope.host.rtnl_attrs import IFINFOMSG
    from netscope.host.watch import read_notifications
    from netscope.tui.live import _merge, _told_links

    data = (notification(16, IFINFOMSG.pack(0, 1, 42, 0, 0)) + notification(24, b"\0" * 12)
            + notification(17, IFINFOMSG.pack(0, 1, 7, 0, 0)))
    assert read_notifications(data) == ({"link", "route"}, {42, 7})

    pending = HostChanges()
    _merge(pending, HostChanges(namespaces={1, 2}, kinds={"link", "neighbour"},
                                kinds_by_ns={1: {"link"}, 2: {"neighbour"}},
                                links_by_ns={1: {3}}))
    _merge(pending, HostChanges(namespaces={1}, kinds={"link"}, kinds_by_ns={1: {"link"}},
                                links_by_ns={1: {5}}))
    assert pending.links_by_ns == {1: {3, 5}}
    assert pending.kinds_in(2) == {"neighbour"}
    assert _told_links(pending, {1, 2}) == {"links": {1: {3, 5}}}
    # a link notification in a namespace without its interfaces said: that namespace whole
    _merge(pending, HostChanges(namespaces={1}, kinds={"link"}))
    assert pending.links_by_ns == {}
    assert _told_links(pending, {1, 2}) == {}


def test_a_feed_whose_first_read_failed_can_still_be_stopped():
    """The TUI stops its feed when the terminal hangs up; after a failed first read the
    feed had closed its watcher but kept it, and stop() woke it through a closed descriptor
    (EBADF): the hang-up handler raised, the process stayed, its input thread spinning on
    the dead terminal. A real NetworkWatcher here (its wake pipe is what failed)."""
    from netscope.host.watch import NetworkWatcher

    def first_screen():
        raise RuntimeError("the first read failed")

    feed = LiveFeed(lab, watcher_factory=lambda: NetworkWatcher(dirs=()),
                    first_screen=first_screen, complete=lambda s: s,
                    still_to_read=lambda s: ())
    with pytest.raises(RuntimeError, match="first read failed"):
        feed.follow(lambda update: None)
    feed.stop()  # no OSError
    watcher = NetworkWatcher(dirs=())
    watcher.close()
    watcher.wake()  # a no-op once closed
    watcher.close()


@sync
async def test_an_update_that_changes_nothing_shown_lays_nothing_out_again(monkeypatch):
    """A neighbour re-read (every few seconds on a busy host) changes no count in the status
    line and nothing in the selected namespace's details: neither is updated, since an
    update lays the whole screen out again (~30 ms of an idle TUI's work per update at 1,000
    namespaces); a change they show still is."""
    from textual.widgets import Static

    from netscope.tui.widgets.status_bar import StatusBar

    first = lab()
    quiet = replace(first, neighbours=first.neighbours[1:])  # the churn, no count changed
    inet = next(n.id for n in first.namespaces if n.name.endswith("-inet"))
    fewer = replace(quiet, namespaces=tuple(n for n in first.namespaces if n.id != inet),
                    links=tuple(x for x in first.links if x.netns != inet))
    app, watcher = live_app(first, quiet, fewer)
    updated: list[str] = []
    real = Static.update

    def update(self, *args, **kwargs):
        updated.append(type(self).__name__ if isinstance(self, StatusBar) else self.id)
        return real(self, *args, **kwargs)
    monkeypatch.setattr(Static, "update", update)
    async with app.run_test(size=SIZE) as pilot:
        await _wait_for_snapshot(app, pilot, None)
        await pilot.pause()
        host = next(n.id for n in first.namespaces if n.name.endswith("-host"))
        app.selected = host
        await pilot.pause()
        updated.clear()
        watcher.pushed.put(HostChanges(namespaces={1}, kinds={"neighbour"}))
        await _wait_for_snapshot(app, pilot, first)
        await pilot.pause()
        assert "StatusBar" not in updated and "detail-overview" not in updated, updated
        watcher.pushed.put(HostChanges(namespaces={1}, namespaces_changed=True))
        await _wait_for_snapshot(app, pilot, quiet)
        await pilot.pause()
        assert "StatusBar" in updated, "a namespace fewer: the status line's count changes"
        updated.clear()
        app.selected = next(n.id for n in fewer.namespaces if n.id != host)
        await pilot.pause()
        await pilot.pause()
        assert "detail-overview" in updated, "another namespace selected: its details"
