"""SVG screenshots of the TUI at a fixed size, from recorded snapshots (pytest-textual-snapshot).

Update after an intended change with `pytest tests/tui --snapshot-update`, then look at the
SVGs in tests/tui/__snapshots__ before committing them.
"""

from __future__ import annotations

from netscope.snapshot import load
from netscope.tui.backends import Backends
from tests.tui.conftest import SIZE, journey, offline_app, snapshot_path


def test_first_screen_tree_topology_details(snap_compare):
    assert snap_compare(offline_app("tui-docker-bridge.json"), terminal_size=SIZE)


def test_details_routes_of_a_container(snap_compare):
    app = offline_app("tui-docker-bridge.json")

    async def select(pilot):
        await pilot.press("down", "down", "down", "down", "down")
        await pilot.click("#details Tab#--content-tab-tab-routes")
        await pilot.pause()
    assert snap_compare(app, terminal_size=SIZE, run_before=select)


def test_filter_by_address(snap_compare):
    assert snap_compare(offline_app("tui-docker-bridge.json"), terminal_size=SIZE,
                        press=["slash", *"10.217.0.3"])


def test_help(snap_compare):
    assert snap_compare(offline_app("tui-docker-bridge.json"), terminal_size=SIZE,
                        press=["question_mark"])


def test_doctor_list(snap_compare):
    app = offline_app("tui-forward-drop.json", backends=Backends())

    async def doctor(pilot):
        await pilot.press("d")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
    assert snap_compare(app, terminal_size=SIZE, run_before=doctor)


def test_recorded_trace_stepped_to_the_drop(snap_compare):
    app = offline_app("tui-forward-drop.json")

    async def trace(pilot):
        pilot.app.show_journey(journey("forward-drop"))
        await pilot.press(*["right_square_bracket"] * 6)
        await pilot.pause()
    assert snap_compare(app, terminal_size=SIZE, run_before=trace)


def test_recorded_trace_delivered_at_a_bridge_hop(snap_compare):
    app = offline_app("tui-docker-bridge.json")

    async def trace(pilot):
        pilot.app.show_journey(journey("docker-bridge"))
        await pilot.press(*["right_square_bracket"] * 5)
        await pilot.pause()
    assert snap_compare(app, terminal_size=SIZE, run_before=trace)


def _tab_of(suffix: str, tab: str):
    async def select(pilot):
        app = pilot.app
        await pilot.pause()
        app.selected = next(n.id for n in app.snapshot.namespaces
                                      if n.name.endswith(suffix))
        await pilot.pause()
        await pilot.click(f"#details Tab#--content-tab-tab-{tab}")
        await app.workers.wait_for_complete()
        await pilot.pause()
    return select


def test_flows_of_a_container(snap_compare):
    assert snap_compare(offline_app("flows-dns-lab.json"), terminal_size=SIZE,
                        run_before=_tab_of("-c1", "flows"))


def test_dns_of_a_docker_container(snap_compare):
    assert snap_compare(offline_app("dns-docker.json"), terminal_size=SIZE,
                        run_before=_tab_of("-app", "dns"))


def test_drop_counts_on_the_topology(snap_compare):
    """How counted drops are drawn: the updates the drop feed would deliver, handed to a
    recorded snapshot's app (counting itself needs the live host: tests/tui/test_drops.py)."""
    from netscope.tui.drop_feed import DropSample, DropUpdate

    # nsl-nstui-host of tui-forward-drop.json, by inode as the drop monitor reports it; its
    # veth2 is ifindex 4
    host = next(ns.inode for ns in load(snapshot_path("tui-forward-drop.json")).namespaces
                if ns.name == "nsl-nstui-host")
    update = DropUpdate((DropSample(host, 4, "NETFILTER_DROP", "nf_hook_slow", 7,
                                    "icmp 10.217.0.3 -> 198.18.17.1 echo-request id 7 seq 6"),
                         DropSample(host, 0, "NOT_SPECIFIED", "ip6_mc_input", 2)),
                        attach_s=0.4)

    async def counted(pilot):
        await pilot.pause()
        app = pilot.app
        app._drops_counted(DropUpdate((), attach_s=0.4))
        app._drops_counted(DropUpdate(update.samples, tuple((s, s.count) for s in
                                                             update.samples), 0.4))
        app.selected = f"link:{host}/4"
        await pilot.pause()
        await pilot.click("#details Tab#--content-tab-tab-drops")
        app.clear_notifications()  # toasts time out: not part of the picture
        await pilot.pause()
    assert snap_compare(offline_app("tui-forward-drop.json"), terminal_size=SIZE,
                        run_before=counted)
