"""Under policy routing the TUI's hop explanations name the route the kernel uses.

fixtures/lab-policy-routing.json is a real capture (tests/tui/capture_labs.py): the router's
main table sends everything to isp1 (default via 10.32.0.2 dev up0), but rule 1000 sends the
client subnet 10.31.0.0/24 to table 100 (default via 10.33.0.2 dev up1). The TUI used to look
routes up in the main table only (its own lookup in tui/journey.py), and explained the
client's packets as leaving by up0."""

from __future__ import annotations

from netscope.analysis.hop_explain import explain_hop
from netscope.graph.host import HostGraph
from netscope.graph.routing import MAIN, table_lookup
from netscope.model.journey import Hop, Journey, Verdict
from netscope.snapshot import load
from tests.tui.conftest import SIZE, offline_app, snapshot_path, sync
from tests.tui.test_app import shown


def graph() -> HostGraph:
    return HostGraph.of(load(snapshot_path("lab-policy-routing.json")))


def router(g: HostGraph) -> str:
    return next(n for n in g.namespaces if g.ns_name(n).endswith("-router"))


def route_hop(g: HostGraph, src: str) -> Hop:
    """A route step in the router as the tracer reports one (no table named)."""
    return Hop(netns=router(g), netns_name=g.ns_name(router(g)), device=None, step="route",
               src=src, dst="10.99.0.1")


def test_the_main_table_alone_names_a_route_the_kernel_does_not_use():
    g = graph()
    main_only = table_lookup(g.routes_in(router(g)), MAIN, "10.99.0.1")
    assert main_only is not None and main_only.nexthops[0].gateway == "10.32.0.2"
    lk = g.route_lookup(router(g), "inet", "10.31.0.2", "10.99.0.1", iif="eth0")
    assert lk.table == 100 and lk.rule.priority == 1000
    assert lk.route.nexthops[0].gateway == "10.33.0.2"


def test_a_route_hop_is_explained_with_the_policy_rule_and_table_100():
    g = graph()
    text = explain_hop(g, route_hop(g, "10.31.0.2"))
    assert "'default via 10.33.0.2 dev up1 table 100' (policy rule 1000 -> table 100)" in text
    assert "up0" not in text
    # the router's own packets (another source) do use the main table
    own = explain_hop(g, route_hop(g, "10.32.0.1"))
    assert "'default via 10.32.0.2 dev up0'" in own and "policy rule" not in own


@sync
async def test_the_trace_strip_says_so():
    app = offline_app("lab-policy-routing.json")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        g = app.graph
        app.show_journey(Journey("icmp 10.31.0.2 -> 10.99.0.1", (route_hop(g, "10.31.0.2"),),
                                 Verdict.UNKNOWN, "recorded route step"))
        await pilot.pause()
        text = shown(app.query_one("#trace")).replace("\n", " ")
        assert "dev up1 table 100" in text and "dev up0" not in text


@sync
async def test_t_offline_walks_the_client_through_table_100():
    app = offline_app("lab-policy-routing.json")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.selected = next(n for n in app.graph.namespaces
                            if app.graph.ns_name(n).endswith("-client"))
        await pilot.pause()
        await pilot.press("t")
        await pilot.pause()
        await pilot.press(*"10.99.0.1", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        text = shown(app.query_one("#trace")).replace("\n", " ")
        assert "expected path (static walk, nothing sent): icmp 10.31.0.2 -> 10.99.0.1" in text
        assert "delivered: delivered to 10.99.0.1 in nsl-nscap-isp2" in text
        assert "nsl-nscap-router: 3 eth0 veth · 4 eth0 receive · 5 up1 forward" in text
