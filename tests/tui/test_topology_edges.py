"""The TUI draws the one topology projection the exports draw: every veth pair, bridge port
and lower-device link of the projection is in the picture (one by one or inside a group),
including the macvlan and VXLAN parent links of the labs captured by netscope itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from netscope.graph.host import HostGraph
from netscope.graph.topology import LOWER
from netscope.report.export import export
from netscope.snapshot import load
from netscope.tui.topology_layout import Marks, draw_topology
from tests.tui.conftest import FIXTURES, SIZE, offline_app, sync
from tests.tui.test_app import picture
from tests.tui.test_layout import scale_host

SNAPSHOTS = sorted(p.name for p in Path(FIXTURES).glob("*.json")
                   if not p.name.endswith(".journey.json"))


@pytest.mark.parametrize("name", SNAPSHOTS)
@pytest.mark.parametrize("expanded", [False, True])
def test_the_tui_draws_every_edge_the_exports_draw(name, expanded):
    graph = HostGraph.of(load(str(FIXTURES / name)))
    drawn = draw_topology(graph, Marks(expanded=expanded), 158)
    assert drawn.edges == set(graph.topology.edges)
    mermaid = export(graph.snapshot, "mermaid")  # the export counts the same edges
    arrows = (" --- ", " -.- ", " -.-> ", " === ")
    assert sum(any(a in x for a in arrows) for x in mermaid.splitlines()) \
        == len(graph.topology.edges)


def test_the_labs_have_parent_links_to_draw():
    for name, parents in (("lab-macvlan.json", 1), ("lab-overlay-vxlan.json", 2)):
        topo = HostGraph.of(load(str(FIXTURES / name))).topology
        assert len(topo.parents()) == parents
        assert sum(e.kind == LOWER for e in topo.edges) == 2


@sync
async def test_macvlan_children_hang_from_their_parent():
    app = offline_app("lab-macvlan.json")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        text = picture(app)
        assert "━━ devices on a parent (macvlan, ipvlan, vlan, VXLAN)" in text
        assert "┆ ● eth0 10.219.0.2/24 in nsl-nscap-host  parent of 2 macvlan" in text
        lines = text.splitlines()
        row = next(i for i, x in enumerate(lines) if "parent of 2 macvlan" in x)
        assert lines[row + 2].count("┆ macvlan on the parent") == 2
        assert "┌─ nsl-nscap-c1" in lines[row + 3] and "┌─ nsl-nscap-c2" in lines[row + 3]
        assert "│● eth0 10.219.0.11/24" in lines[row + 4]


@sync
async def test_vxlan_ports_and_their_underlay_parent():
    app = offline_app("lab-overlay-vxlan.json")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        text = picture(app)
        # each host's bridge has the container's veth and the VXLAN port, with its VNI and
        # the remote end; and the VXLAN device hangs from the underlay eth0 it is built on
        assert text.count("│ vxlan 42 → 192.168.220.") == 2
        for host, underlay in (("h1", "192.168.220.1/24"), ("h2", "192.168.220.2/24")):
            assert f"┆ ● eth0 {underlay} in nsl-nscap-{host}  parent of 1 vxlan" in text
        assert text.count("│● vxlan0") == 2


def _macvlan_host(count: int) -> HostGraph:
    """scale_host's namespaces with macvlan children of the host's eth0 instead of veths."""
    from dataclasses import replace

    from netscope.model import link_id

    snap = scale_host(count)
    host = snap.namespaces[0]
    parent = replace(snap.links[0], id=link_id(host.inode, 3), ifindex=3, name="eth0",
                     kind="veth")
    links = [parent] + [replace(x, kind="macvlan", peer=None, parent=parent.id)
                        for x in snap.links if x.name == "eth0" and x.netns != host.id]
    return HostGraph.of(replace(snap, links=tuple(links)))


def test_two_hundred_macvlan_children_collapse_into_a_group():
    graph = _macvlan_host(200)
    drawn = draw_topology(graph, Marks(), 120)
    text = "\n".join("".join(s.text for s in line) for line in drawn.lines)
    assert "parent of 200 macvlan" in text
    assert "┌─ c-* · 200 namespaces" in text and "all 200 devices UP" in text
    assert len(text.splitlines()) < 20
    assert drawn.edges == set(graph.topology.edges)


def test_the_overlay_lab(snap_compare):
    assert snap_compare(offline_app("lab-overlay-vxlan.json"), terminal_size=SIZE)


def test_the_macvlan_lab(snap_compare):
    assert snap_compare(offline_app("lab-macvlan.json"), terminal_size=SIZE)
