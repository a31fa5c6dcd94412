"""`t` in the TUI: the expected path from the snapshot alone (offline, read-only, no eBPF),
and on a live host the observed journey drawn over it, the first hop where they part marked."""

from __future__ import annotations

import re
from dataclasses import replace
from types import SimpleNamespace

import pytest

from netscope.analysis.path import path
from netscope.graph.host import HostGraph
from netscope.model.journey import Hop, Journey, Verdict
from netscope.snapshot import load
from netscope.tui.app import NetscopeApp
from netscope.tui.backends import Backends
from netscope.tui.journey import observed_view, parse_target
from netscope.tui.live import LiveFeed
from netscope.tui.view_state import marks_for
from tests.tui.conftest import FROZEN, SIZE, journey, offline_app, snapshot_path, sync
from tests.tui.test_app import log_text, picture, shown
from tests.tui.test_live import ScriptedWatcher


def strip(app) -> str:
    """The trace strip's text, lines joined (as wrapped on screen, spaces collapsed)."""
    return " ".join(shown(app.query_one("#trace")).split())


@pytest.mark.parametrize(("text", "parsed"), [
    ("10.0.0.3", ("10.0.0.3", "icmp", None)),
    ("web tcp 80", ("web", "tcp", 80)),
    ("db UDP 53", ("db", "udp", 53)),
])
def test_target_lines(text, parsed):
    assert parse_target(text) == parsed


@pytest.mark.parametrize(("text", "says"), [
    ("", "give a target"), ("web tcp", "needs a destination port"),
    ("web tcp 0", "from 1 to 65535"), ("web sctp 9", "DST tcp PORT"),
    ("web icmp 3", "DST tcp PORT"),
])
def test_bad_target_lines_say_what_to_write(text, says):
    with pytest.raises(ValueError, match=says):
        parse_target(text)


# --- the policy-routing lab: the walk goes through table 100 to isp2; a packet that went
#     by the main table to isp1 (the rule gone on the live host) parts from it at the router

def _policy():
    graph = HostGraph.of(load(snapshot_path("lab-policy-routing.json")))
    return graph, path(graph, "nsl-nscap-client", "10.99.0.1")


def _by_main_table(graph: HostGraph) -> Journey:
    """The journey the kernel would have observed without rule 1000: out by up0 to isp1,
    which has no route to 10.99.0.1 and drops it."""
    def at(ns: str, dev: str, step: str, **kw) -> Hop:
        netns = next(n for n in graph.namespaces if graph.ns_name(n) == f"nsl-nscap-{ns}")
        link = graph.link_named(netns, dev)
        return Hop(netns, graph.ns_name(netns), dev, step, link=link.id, **kw)
    hops = (at("client", "eth0", "route", decision="table main: out via eth0"),
            at("client", "eth0", "xmit"), at("router", "eth0", "receive"),
            at("router", "up0", "route", decision="table main: out via up0"),
            at("router", "up0", "xmit"), at("isp1", "eth0", "receive"),
            at("isp1", "eth0", "drop", drop_reason="IP_INNOROUTES"))
    return Journey("icmp 10.31.0.2 -> 10.99.0.1", hops, Verdict.DROPPED,
                   "dropped in nsl-nscap-isp1 at eth0: IP_INNOROUTES", observed=True)


def test_the_first_hop_off_the_walk_is_marked():
    graph, walk = _policy()
    view = observed_view(_by_main_table(graph), walk, graph)
    assert not view.comparison.agrees and view.comparison.parts_at == 2
    assert view.parted == 5  # isp1's eth0 receive: the first hop in the wrong namespace
    marks = marks_for(view, 0, selected=None, changed=frozenset(), visible=None,
                      expanded=False, drops=None)
    isp1 = view.journey.hops[5].link
    assert marks.parted == {isp1} and marks.role(isp1) == "drop"  # it also died there
    isp2 = next(h.link for h in walk.hops if h.netns_name.endswith("isp2"))
    assert marks.role(isp2) == "expected"  # where the walk said it would go


def test_an_observed_journey_that_agrees_marks_nothing():
    graph, walk = _policy()
    agreeing = replace(walk, observed=True, reply=None)
    view = observed_view(agreeing, walk, graph)
    assert view.comparison.agrees and view.parted is None


def live_app(snapshot, trace_once, **kwargs) -> NetscopeApp:
    snapshots = iter([snapshot])
    feed = LiveFeed(lambda: next(snapshots), watcher_factory=ScriptedWatcher)
    tracer = SimpleNamespace(unavailable=lambda: None, trace_once=trace_once, error=OSError)
    return NetscopeApp(feed=feed, backends=Backends({"trace": tracer}), clock=lambda: FROZEN,
                       **kwargs)


async def _walk_to(app, pilot, source_suffix: str, target: str) -> None:
    for _ in range(60):
        await pilot.pause(0.05)
        if app.graph is not None:
            break
    app.selected = next(n for n in app.graph.namespaces
                        if app.graph.ns_name(n).endswith(source_suffix))
    await pilot.pause()
    await pilot.press("t")
    await pilot.pause()
    await pilot.press(*target, "enter")
    await pilot.pause()
    # the walk and the trace (not the live feed, which runs until the app ends; an empty
    # list would mean every worker)
    tracing = [w for w in app.workers if w.group == "trace"]
    if tracing:
        await app.workers.wait_for_complete(tracing)
    await pilot.pause()


@sync
async def test_live_the_observed_trace_is_drawn_over_the_walk_and_the_parting_marked():
    graph, _ = _policy()
    asked = []

    def trace_once(snapshot, flow):
        asked.append(flow)
        return _by_main_table(HostGraph.of(snapshot))
    app = live_app(graph.snapshot, trace_once)
    async with app.run_test(size=SIZE) as pilot:
        await _walk_to(app, pilot, "-client", "10.99.0.1")
        # the tracer was asked for the walk's own packet, so the two compare
        assert [(f.src, f.dst, f.proto) for f in asked] == [("10.31.0.2", "10.99.0.1", "icmp")]
        text = strip(app)
        assert "observed (eBPF): icmp 10.31.0.2 -> 10.99.0.1 · dropped at hop 7" in text
        assert ("expected vs observed: at step 3 the walk expected nsl-nscap-isp2, the packet "
                "went to nsl-nscap-isp1 (hop 6 marked)") in text
        assert "tracing nsl-nscap-client -> 10.99.0.1: send a packet now" in log_text(app)
        drawing = picture(app)
        assert "┌─ nsl-nscap-isp1" in drawing and "┌─ nsl-nscap-isp2" in drawing


@sync
async def test_read_only_live_shows_the_expected_path_only():
    graph, _ = _policy()

    def trace_once(snapshot, flow):
        raise AssertionError("read-only must not attach probes")
    app = live_app(graph.snapshot, trace_once, read_only="--read-only")
    async with app.run_test(size=SIZE) as pilot:
        await _walk_to(app, pilot, "-client", "10.99.0.1")
        assert "expected path (static walk, nothing sent)" in strip(app)
        assert ("expected path only: read-only (--read-only): no probe is attached"
                in log_text(app))


@sync
async def test_without_ebpf_the_expected_path_and_the_reason():
    graph, _ = _policy()
    app = live_app(graph.snapshot, None)
    app._backends = Backends({"trace": SimpleNamespace(
        unavailable=lambda: "bcc is not installed; see `netscope probes`")})
    async with app.run_test(size=SIZE) as pilot:
        await _walk_to(app, pilot, "-client", "10.99.0.1 tcp 80")
        assert "expected path (static walk, nothing sent): tcp 10.31.0.2 -> 10.99.0.1" \
            in strip(app)
        assert "expected path only: bcc is not installed" in log_text(app)


@sync
async def test_a_target_that_names_nothing_is_one_line():
    app = offline_app("lab-policy-routing.json")
    async with app.run_test(size=SIZE) as pilot:
        await _walk_to(app, pilot, "-client", "nowhere")
        assert re.search(r"walk nsl-nscap-client -> nowhere: no address, container or "
                         r"namespace called 'nowhere'", log_text(app))
        assert app.journey is None


def test_recorded_fixture_journeys_load_as_the_model():
    for name in ("docker-bridge", "forward-drop"):
        j = journey(name)
        assert j.observed and j.hops and isinstance(j.verdict, Verdict)


def test_screen_expected_path_offline(snap_compare):
    async def walk(pilot):
        await _walk_to(pilot.app, pilot, "-client", "10.99.0.1")
        await pilot.press(*["right_square_bracket"] * 4)
        pilot.app.clear_notifications()  # toasts time out: not part of the picture
        await pilot.pause()
    assert snap_compare(offline_app("lab-policy-routing.json"), terminal_size=SIZE,
                        run_before=walk)


def test_screen_observed_over_expected(snap_compare):
    graph, _ = _policy()
    app = live_app(graph.snapshot, lambda snapshot, flow: _by_main_table(
        HostGraph.of(snapshot)))

    async def walk(pilot):
        await _walk_to(pilot.app, pilot, "-client", "10.99.0.1")
        await pilot.press(*["right_square_bracket"] * 4)  # hop 5; hop 6, where they part
        pilot.app.clear_notifications()
        await pilot.pause()
    assert snap_compare(app, terminal_size=SIZE, run_before=walk)
