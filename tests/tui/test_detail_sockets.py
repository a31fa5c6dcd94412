"""The Sockets tab: what listens and what is connected in a namespace of a recorded lab (and
what it says when the snapshot cannot answer); then the same in the app."""

from __future__ import annotations

from dataclasses import replace

from netscope.graph.host import HostGraph
from netscope.tui.detail_common import Selection
from netscope.tui.detail_sockets import sockets_tab
from tests.tui.conftest import SIZE, offline_app, sync
from tests.tui.test_app import shown
from tests.tui.test_detail_tabs import lab, ns, text


def test_sockets_of_a_container_with_processes_and_connections():
    _, index = lab("sockets-loopback.json")
    out = text(sockets_tab(index, Selection(ns(index, "-c1"))))
    assert "1 listening or bound, 2 other" in out
    listen = next(line for line in out.splitlines() if "LISTEN" in line)
    assert "127.0.0.1:80" in listen and "python[" in listen
    assert sum("ESTAB" in line for line in out.splitlines()) == 2


def test_sockets_of_an_interface_are_those_it_can_receive():
    _, index = lab("sockets-loopback.json")
    c2 = ns(index, "-c2")
    eth0 = next(lk.id for lk in index.links.values() if lk.netns == c2 and lk.name == "eth0")
    assert "*:80" in text(sockets_tab(index, Selection(c2, eth0)))
    c1 = ns(index, "-c1")
    eth0 = next(lk.id for lk in index.links.values() if lk.netns == c1 and lk.name == "eth0")
    assert "no sockets here" in text(sockets_tab(index, Selection(c1, eth0))), \
        "c1 listens on 127.0.0.1 only: nothing on eth0"


def test_a_snapshot_without_sockets_says_they_are_unknown():
    snap, _ = lab("tui-docker-bridge.json")
    header = replace(snap.header, collectors=tuple(c for c in snap.header.collectors
                                                   if c != "sockets"))
    index = HostGraph.of(replace(snap, header=header))
    out = text(sockets_tab(index, Selection(ns(index, "-c1"))))
    assert "what listens here is unknown" in out


@sync
async def test_the_app_shows_sockets_for_the_selected_namespace():
    app = offline_app("sockets-loopback.json")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.selected = next(n.id for n in app.snapshot.namespaces
                            if n.name.endswith("-inet"))
        await pilot.click("#details Tab#--content-tab-tab-sockets")
        await pilot.pause()
        tab = shown(app.query_one("#detail-sockets"))
        assert "*:53" in tab and "UNCONN" in tab and "python[" in tab
