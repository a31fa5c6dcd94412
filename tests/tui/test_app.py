"""The app driven by Pilot from recorded snapshots: what a user sees and what each key does."""

from __future__ import annotations

from textual.geometry import Region

from netscope.analysis.doctor import run_doctor
from netscope.snapshot import load
from netscope.tui.backends import Backends
from netscope.tui.screens.doctor import DoctorScreen
from netscope.tui.screens.help import HelpScreen
from netscope.tui.screens.trace_target import TraceTargetScreen
from netscope.tui.widgets.event_log import EventLog
from netscope.tui.widgets.ns_tree import NamespaceTree
from netscope.tui.widgets.topology import TopologyView
from tests.tui.conftest import SIZE, journey, offline_app, snapshot_path, sync


def tree_lines(app) -> list[str]:
    tree = app.query_one(NamespaceTree)
    out = []

    def walk(node, depth):
        for child in node.children:
            out.append("  " * depth + str(child.label))
            walk(child, depth + 1)
    walk(tree.root, 0)
    return out


def log_text(app) -> str:
    return "\n".join(line.text for line in app.query_one(EventLog).lines)


def shown(widget) -> str:
    """The widget's text as drawn on screen (its whole virtual size)."""
    size = widget.virtual_size if widget.virtual_size.area else widget.size
    return "\n".join(s.text for s in widget.render_lines(Region(0, 0, size.width, size.height)))


def picture(app) -> str:
    return shown(app.query_one(TopologyView))


@sync
async def test_tree_names_containers_interfaces_and_bridge_ports():
    snap = load(snapshot_path("docker-engine.json"))
    app = offline_app("docker-engine.json")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        lines = tree_lines(app)
        for c in snap.containers:
            assert any(c.name in line and "container" in line for line in lines)
        bridge = next(i for i, line in enumerate(lines) if "docker0 bridge" in line)
        ports = [x for x in snap.links if x.master and x.master.endswith(
            "/" + str(next(b.ifindex for b in snap.links if b.name == "docker0" and b.netns
                           == x.netns)))]
        assert len(ports) == 2
        for port in ports:
            # each port is a child of the bridge node, one level deeper
            row = next(line for line in lines[bridge + 1:] if port.name in line)
            assert row.startswith("    ")


def ns_named(app, suffix: str) -> str:
    return next(ns.id for ns in app.snapshot.namespaces if ns.name.endswith(suffix))


@sync
async def test_topology_draws_bridge_hub_container_boxes_and_veth_pairs():
    app = offline_app("tui-docker-bridge.json")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        text = picture(app)
        assert "◆ ● docker0  bridge  10.217.0.1/16  2 ports" in text
        assert "┌─ nsl-nstui-c1" in text and "┌─ nsl-nstui-c2" in text
        assert "│● eth0 10.217.0.2/16" in text
        # host <-> internet is a veth pair outside the bridge: two boxes joined
        assert "│● eth0 198.18.17.2/24     │══════│● eth0 198.18.17.1/24" in text


@sync
async def test_selecting_a_namespace_fills_the_detail_tabs():
    app = offline_app("tui-docker-bridge.json")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.selected = ns_named(app, "-c1")
        await pilot.pause()
        await pilot.click("#details Tab#--content-tab-tab-routes")
        await pilot.pause()
        assert "default via 10.217.0.1 dev eth0" in shown(app.query_one("#detail-routes"))
        app.selected = ns_named(app, "-host")
        await pilot.pause()
        await pilot.click("#details Tab#--content-tab-tab-netfilter")
        await pilot.pause()
        rules = shown(app.query_one("#detail-netfilter"))
        assert "MASQUERADE" in rules and "DNAT" in rules


@sync
async def test_filter_keeps_matching_namespaces_only():
    app = offline_app("tui-docker-bridge.json")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *"10.217.0.3")
        await pilot.pause()
        names = [line for line in tree_lines(app) if not line.startswith(" ")]
        assert len(names) == 1 and "nsl-nstui-c2" in names[0]
        assert "nsl-nstui-c1" not in picture(app)
        await pilot.press("escape")
        await pilot.pause()
        assert len([x for x in tree_lines(app) if not x.startswith(" ")]) == 4


@sync
async def test_help_lists_every_key_and_says_what_read_only_disables():
    app = offline_app("docker-like-lab.json")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = " ".join(shown(s) for s in app.screen.query("Static"))
        assert "the expected path from the selected namespace" in text
        assert "read-only (offline snapshot docker-like-lab.json)" in text
        assert "undo the last repair  (disabled: read-only)" in text


@sync
async def test_features_without_backend_answer_with_one_line_notice():
    app = offline_app("docker-like-lab.json", backends=Backends.none())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("d")
        await pilot.pause()
        assert ("the doctor is not available here (not loaded in this session): run "
                "`./setup.sh test` or reinstall netscope") in log_text(app)
        await pilot.press("r", "l", "p", "s")
        await pilot.pause()
        log = log_text(app)
        assert "read-only (offline snapshot docker-like-lab.json): repair is disabled" in log
        assert "labs is disabled" in log
        assert "nothing live to pause" in log
        # offline, t still answers: the expected path (the target is asked first)
        await pilot.press("t")
        await pilot.pause()
        assert isinstance(app.screen, TraceTargetScreen)


@sync
async def test_doctor_lists_findings_of_the_broken_lab_with_explanation():
    app = offline_app("tui-forward-drop.json", backends=Backends())
    # the real doctor checks, on the snapshot of the lab with FORWARD policy DROP
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("d")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, DoctorScreen)
        expected = run_doctor(load(snapshot_path("tui-forward-drop.json")))
        assert any(f.check == "forward_policy_drop" for f in expected)
        finding = shown(app.screen.query_one("#finding"))
        assert expected[0].title in finding and "evidence:" in finding


@sync
async def test_recorded_trace_steps_hop_by_hop_to_the_drop():
    app = offline_app("tui-forward-drop.json")
    recorded = journey("forward-drop")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.show_journey(recorded)
        await pilot.pause()
        bar = app.query_one("#trace")
        assert "hop 1/7" in shown(bar)
        await pilot.press(*["right_square_bracket"] * 10)
        await pilot.pause()
        text = shown(bar)
        assert "hop 7/7" in text and "dropped at hop 7" in text
        assert "Dropped at veth2 in nsl-nstui-host: NETFILTER_DROP" in text
        await pilot.press("left_square_bracket")
        await pilot.pause()
        assert "hop 6/7: Bridge docker0" in shown(bar)
        assert "veth2 drop NETFILTER_DROP" in log_text(app)


@sync
async def test_a_click_on_a_box_in_the_topology_selects_what_it_draws():
    """The topology draws only the lines on screen (line API); a click is looked up in the
    drawing (the cells carry no click action: Textual drew those as links, in its link
    colour over the roles' own, which hid the path's colour on the boxes)."""
    app = offline_app("docker-engine.json")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        view = app.query_one(TopologyView)
        # the first segment with a target on the screen, and the column it starts at
        y, x, target = next((y, sum(len(s.text) for s in line[:i]), seg.target)
                            for y, line in enumerate(view._lines[:view.size.height - 2])
                            for i, seg in enumerate(line)
                            if seg.target and seg.target != app.selected)
        assert view.target_at(x, y) == target
        await pilot.click(TopologyView, offset=(x + view.gutter.left, y + view.gutter.top))
        await pilot.pause()
        assert app.selected == target
        # nothing is selected by a click where nothing is drawn
        assert view.target_at(10_000, y) is None and view.target_at(0, 10_000) is None
