"""The live TUI's first screen comes from the collectors it needs; the others (netfilter,
conntrack, sockets, DNS ...) are read right after. Meanwhile the status line says so, the
tabs that show them say they are being read, and what must see the whole host (save here;
the walk and the doctor go the same way) waits for it, then runs. Without root: the feed is
driven by a scripted watcher, the two stages are the shipped lab snapshot without and with
its netfilter collector."""

from __future__ import annotations

import json
import threading
from dataclasses import replace

from netscope.tui.app import NetscopeApp
from netscope.tui.backends import Backends
from netscope.tui.live import LiveFeed
from netscope.tui.widgets.detail_panel import DetailPanel
from netscope.tui.widgets.event_log import EventLog
from tests.tui.conftest import FROZEN, SIZE, sync
from tests.tui.test_live import ScriptedWatcher, lab

REST = ("netfilter", "conntrack")


def first_stage(whole):
    """`whole` as the first screen's collectors would have read it."""
    header = replace(whole.header,
                     collectors=tuple(c for c in whole.header.collectors if c not in REST))
    return replace(whole, header=header, tables=(), conntrack=())


@sync
async def test_the_rest_is_read_after_the_first_screen_and_save_waits_for_it(tmp_path):
    whole = lab()
    assert whole.tables, "the lab snapshot has netfilter tables"
    release = threading.Event()
    completed: list = []

    def complete(first):
        release.wait(10)
        completed.append(first)
        return whole

    feed = LiveFeed(lambda: whole, watcher_factory=ScriptedWatcher,
                    first_screen=lambda: first_stage(whole), complete=complete,
                    still_to_read=lambda s: tuple(c for c in REST
                                                  if c not in s.header.collectors))
    app = NetscopeApp(feed=feed, backends=Backends.none(), clock=lambda: FROZEN,
                      save_dir=str(tmp_path))
    try:
        async with app.run_test(size=SIZE) as pilot:
            for _ in range(60):
                await pilot.pause(0.05)
                if app.snapshot is not None:
                    break
            assert app.snapshot.tables == ()
            assert "reading netfilter, conntrack ..." in app.mode
            panel = app.query_one(DetailPanel)
            panel.query_one("TabbedContent").active = "tab-netfilter"
            await pilot.pause(0.1)
            shown = str(panel.query_one("#detail-netfilter").render())
            assert "reading netfilter in every namespace" in shown
            await pilot.press("s")
            await pilot.pause(0.1)
            assert not list(tmp_path.iterdir()), "saved half a host"
            log = [line.text for line in app.query_one(EventLog).lines]
            assert any("saving once netfilter, conntrack are read" in x for x in log)

            release.set()
            for _ in range(60):
                await pilot.pause(0.05)
                if app.snapshot is whole:
                    break
            await pilot.pause(0.1)
            assert completed and completed[0].tables == ()
            assert "reading" not in app.mode
            saved = list(tmp_path.iterdir())
            assert len(saved) == 1, "the save that waited ran once the rest was read"
            assert json.loads(saved[0].read_text())["tables"]
            shown = str(panel.query_one("#detail-netfilter").render())
            assert "reading" not in shown
            log = [line.text for line in app.query_one(EventLog).lines]
            assert any(" read netfilter, conntrack in " in x for x in log), log
            assert not app.changed, "completing is not a change on the host"
    finally:
        release.set()


def test_a_completion_that_fails_is_a_whole_read_and_following_goes_on():
    whole = lab()
    collected = []

    def collect():
        collected.append(1)
        return whole

    def broken(first):
        raise RuntimeError("a bug in a collector's merge")

    feed = LiveFeed(collect, watcher_factory=ScriptedWatcher,
                    first_screen=lambda: first_stage(whole), complete=broken,
                    still_to_read=lambda s: REST)
    taken = []

    def publish(update):
        taken.append(update)
        if len(taken) == 2:
            feed.stop()
    feed.follow(publish)
    assert taken[0].rest == REST and taken[0].snapshot.tables == ()
    assert taken[1].completes and taken[1].snapshot is whole and collected == [1]
