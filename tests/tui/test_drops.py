"""The `D` key without root: the drop feed and the app driven with a scripted counter in place
of the eBPF one (tests/kernel/test_tui_tmux.py attaches the real one). What is checked: counts
per device on the topology, the Drops tab, the log (following the filter), the refusals,
and that the counter is closed however counting ends."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from netscope.graph.host import HostGraph
from netscope.tui.app import NetscopeApp
from netscope.tui.backends import Backends
from netscope.tui.drop_feed import DropFeed, DropSample, DropState, DropUpdate, log_lines
from netscope.tui.live import LiveFeed
from netscope.tui.widgets.event_log import EventLog
from tests.tui.conftest import FROZEN, SIZE, sync
from tests.tui.test_app import picture, shown
from tests.tui.test_live import ScriptedWatcher, lab


def _inode(name: str) -> int:
    return next(ns.inode for ns in lab().namespaces if ns.name == name)


# namespaces of tui-docker-bridge.json, by inode as the drop monitor reports them:
HOST_NS = _inode("nsl-nstui-host")  # veth1 is ifindex 3
C2_NS = _inode("nsl-nstui-c2")      # eth0 is ifindex 2


def sample(netns, ifindex, reason, count, fn="nf_hook_slow", last=None) -> DropSample:
    return DropSample(netns, ifindex, reason, fn, count, last)


class ScriptedCounter:
    """Stands in for the eBPF counters: each read() returns the next list of samples."""

    def __init__(self, reads: list[list[DropSample]], fail_open: str | None = None) -> None:
        if fail_open:
            raise RuntimeError(fail_open)
        self.attach_s = 0.25
        self._reads = list(reads)
        self.closed = threading.Event()
        self.read_count = 0

    def read(self) -> tuple[list[DropSample], int]:
        self.read_count += 1
        return (self._reads.pop(0) if len(self._reads) > 1 else self._reads[0]), 0

    def close(self) -> None:
        self.closed.set()


def drops_backend(reads, made: list, why: str | None = None):
    def open_counter():
        counter = ScriptedCounter(reads)
        made.append(counter)
        return counter
    return SimpleNamespace(unavailable=lambda: why, open=open_counter, error=RuntimeError)


def test_feed_publishes_what_grew_and_closes_the_counter_when_stopped():
    first = [sample(HOST_NS, 3, "NETFILTER_DROP", 2)]
    second = [sample(HOST_NS, 3, "NETFILTER_DROP", 5), sample(C2_NS, 2, "NO_SOCKET", 1)]
    counter = ScriptedCounter([first, second, second])
    feed = DropFeed(lambda: counter, poll_s=0.01)
    updates: list[DropUpdate] = []

    def publish(update):
        updates.append(update)
        if len(updates) == 3:
            feed.stop(wait_s=0)
    feed.follow(publish)
    assert counter.closed.is_set() and not feed.running
    assert updates[0].samples == () and updates[0].attach_s == 0.25
    assert [(s.reason, d) for s, d in updates[1].new] == [("NETFILTER_DROP", 2)]
    assert sorted((s.reason, d) for s, d in updates[2].new) == [("NETFILTER_DROP", 3),
                                                                 ("NO_SOCKET", 1)]


def test_feed_closes_the_counter_when_publishing_fails():
    counter = ScriptedCounter([[sample(HOST_NS, 3, "NETFILTER_DROP", 1)]])
    feed = DropFeed(lambda: counter, poll_s=0.01)

    def publish(update):
        if update.samples:
            raise ValueError("the UI is gone")
    with pytest.raises(ValueError):
        feed.follow(publish)
    assert counter.closed.is_set() and not feed.running


def test_state_counts_per_device_and_namespace_and_alerts_only_on_reasons():
    state = DropState(counting=True)
    state.take(DropUpdate((sample(HOST_NS, 3, "NETFILTER_DROP", 4),
                           sample(HOST_NS, 0, "NOT_SPECIFIED", 6),
                           sample(C2_NS, 2, "NOT_SPECIFIED", 1))))
    per_id = state.per_id()
    assert per_id[f"link:{HOST_NS}/3"] == 4 and per_id[f"ns:{HOST_NS}"] == 10
    assert per_id[f"link:{C2_NS}/2"] == 1
    assert state.alerts() == {f"link:{HOST_NS}/3", f"ns:{HOST_NS}"}
    assert DropState().per_id() is None  # not counting: nothing drawn


def test_log_lines_name_the_place_reason_and_last_packet_and_follow_the_filter():
    index = HostGraph.of(lab())
    new = ((sample(HOST_NS, 3, "NETFILTER_DROP", 3, last="icmp 10.217.0.2 -> 10.217.0.3"), 3),
           (sample(C2_NS, 2, "NOT_SPECIFIED", 7), 7))
    lines, unspecified = log_lines(index, new, None)
    assert lines == ["nsl-nstui-host:veth1: 3 dropped, NETFILTER_DROP in nf_hook_slow "
                     "(last: icmp 10.217.0.2 -> 10.217.0.3)"]
    assert unspecified == 7
    lines, unspecified = log_lines(index, new, frozenset({f"ns:{C2_NS}"}))
    assert lines == [] and unspecified == 7


async def _live(pilot, app):
    for _ in range(60):
        await pilot.pause(0.05)
        if app.snapshot is not None:
            return
    raise AssertionError("no first snapshot")


def live_app(backend, **kwargs) -> NetscopeApp:
    snapshots = iter([lab()])
    feed = LiveFeed(lambda: next(snapshots), watcher_factory=ScriptedWatcher)
    return NetscopeApp(feed=feed, backends=Backends({"drops": backend}), clock=lambda: FROZEN,
                       **kwargs)


def log_text(app) -> str:
    return "\n".join(line.text for line in app.query_one(EventLog).lines)


async def _until(pilot, condition, what: str) -> None:
    for _ in range(100):
        await pilot.pause(0.05)
        if condition():
            return
    raise AssertionError(f"never: {what}")


@sync
async def test_d_counts_drops_per_device_shows_them_and_d_again_detaches():
    made: list[ScriptedCounter] = []
    reads = [[sample(HOST_NS, 3, "NETFILTER_DROP", 3, last="icmp 10.217.0.2 -> 198.18.17.1")]]
    app = live_app(drops_backend(reads, made))
    async with app.run_test(size=SIZE) as pilot:
        await _live(pilot, app)
        assert "✗" not in picture(app)
        await pilot.press("D")
        await _until(pilot, lambda: "3 dropped" in log_text(app), "a drop in the log")
        assert "counting drops (probe attached in 0.25 s)" in log_text(app)
        assert "nsl-nstui-host:veth1: 3 dropped, NETFILTER_DROP in nf_hook_slow" in log_text(app)
        # the bridge port, on the topology (redrawn once the new marks are in)
        await _until(pilot, lambda: "● veth1 ✗3" in picture(app), "the drop on the topology")
        drawing = picture(app)
        assert "━━ nsl-nstui-host · 3 drops" in drawing
        app.selected = f"link:{HOST_NS}/3"
        await pilot.pause()
        await pilot.click("#details Tab#--content-tab-tab-drops")
        await pilot.pause()
        tab = shown(app.query_one("#detail-drops"))
        assert "3 drops in nsl-nstui-host:veth1" in tab and "NETFILTER_DROP  on veth1" in tab
        assert "last: icmp 10.217.0.2 -> 198.18.17.1" in tab
        await pilot.press("D")
        await _until(pilot, lambda: made[0].closed.is_set(), "the counter closed")
        await _until(pilot, lambda: "the probe is detached" in log_text(app), "said so")
        await _until(pilot, lambda: "✗" not in picture(app), "the counts gone from the topology")


@sync
async def test_quitting_while_counting_closes_the_counter():
    made: list[ScriptedCounter] = []
    app = live_app(drops_backend([[]], made))
    async with app.run_test(size=SIZE) as pilot:
        await _live(pilot, app)
        await pilot.press("D")
        await _until(pilot, lambda: made and made[0].read_count > 0, "counting")
        await pilot.press("q")
    assert made[0].closed.is_set()


@sync
async def test_an_error_in_the_app_while_counting_closes_the_counter():
    made: list[ScriptedCounter] = []
    app = live_app(drops_backend([[]], made))
    with pytest.raises(ZeroDivisionError):
        async with app.run_test(size=SIZE) as pilot:
            await _live(pilot, app)
            await pilot.press("D")
            await _until(pilot, lambda: made and made[0].read_count > 0, "counting")
            app.call_later(lambda: 1 / 0)
            await pilot.pause(0.2)
    assert made[0].closed.wait(5)


@pytest.mark.parametrize(("kwargs", "said"), [
    ({"read_only": "--read-only"},
     "no drop counting: read-only (--read-only): the drop monitor is not attached"),
    ({}, "cannot count drops: bcc is not installed"),
])
@sync
async def test_d_refused_in_one_line(kwargs, said):
    made: list[ScriptedCounter] = []
    app = live_app(drops_backend([[]], made, why="bcc is not installed"), **kwargs)
    async with app.run_test(size=SIZE) as pilot:
        await _live(pilot, app)
        await pilot.press("D")
        await pilot.pause()
        assert said in log_text(app)
        assert not made


@sync
async def test_offline_snapshot_cannot_count_drops_and_the_tab_says_so():
    from tests.tui.conftest import offline_app

    app = offline_app("tui-docker-bridge.json")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("D")
        await pilot.click("#details Tab#--content-tab-tab-drops")
        await pilot.pause()
        assert "no drop counting: they need the live host" in log_text(app)
        assert "they need the live host" in shown(app.query_one("#detail-drops"))


def test_a_drop_storm_is_one_log_line_per_reason_naming_where_most_died():
    index = HostGraph.of(lab())
    new = tuple((sample(ns, 2, "CPU_BACKLOG", n, fn="enqueue_to_backlog"), n)
                for ns, n in ((C2_NS, 9), (HOST_NS, 4)))
    new += ((sample(HOST_NS, 3, "NETFILTER_DROP", 1), 1),)
    lines, _ = log_lines(index, new, None)
    assert lines == [
        "13 dropped in 2 places, CPU_BACKLOG in enqueue_to_backlog; most at "
        "nsl-nstui-c2:eth0 (9)",
        "nsl-nstui-host:veth1: 1 dropped, NETFILTER_DROP in nf_hook_slow"]


@sync
async def test_count_drops_is_in_the_command_palette_and_the_help():
    from netscope.tui.screens.help import HelpScreen
    from tests.tui.conftest import offline_app

    app = offline_app("tui-docker-bridge.json")
    async with app.run_test(size=SIZE) as pilot:
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Count drops" in titles
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = " ".join(shown(s) for s in app.screen.query("Static"))
        assert "count drops: attach the eBPF drop monitor" in text
