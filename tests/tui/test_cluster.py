"""The TUI on a cluster document (fixtures/cluster-flannel.json, two simulated flannel
nodes captured by netscope): nodes are the top level of the tree and of the topology, and the
tunnel and the network between the nodes are drawn, as the exports draw them."""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import pytest

from netscope.graph.host import HostGraph
from netscope.graph.topology import TUNNEL, UNDERLAY
from netscope.report.export_graph import to_dot, to_mermaid
from netscope.snapshot import load
from netscope.tui.topology_layout import Marks, draw_topology
from netscope.tui.widgets.ns_tree import NamespaceTree
from tests.support.tmux import Tmux
from tests.tui.conftest import offline_app, snapshot_path, sync

FIXTURE = "cluster-flannel.json"
REPO = Path(__file__).resolve().parents[2]


def _cluster():
    return HostGraph.of(load(snapshot_path(FIXTURE)))


def test_topology_is_drawn_node_by_node_with_what_joins_them():
    graph = _cluster()
    picture = draw_topology(graph, Marks(), 120)
    text = "\n".join("".join(s.text for s in line) for line in picture.lines)
    a, b = text.index("══ node node-a"), text.index("══ node node-b")
    between = text.index("━━ between nodes")
    assert a < b < between
    assert "node-a:host:flannel.1  vxlan 1 ⇄" in text and "node-b:host:flannel.1" in text
    assert "node-a:host:eth0  ─── network between nodes" in text
    # the TUI draws the edges between nodes that every export draws
    crossing = set(graph.topology.between_nodes())
    assert {e.kind for e in crossing} == {TUNNEL, UNDERLAY}
    assert crossing <= picture.edges


def test_exports_draw_the_tunnel_and_the_underlay():
    snap = load(snapshot_path(FIXTURE))
    graph = HostGraph.of(snap)
    tunnel = next(e for e in graph.topology.edges if e.kind == TUNNEL)
    dot = to_dot(snap)
    assert 'label="vxlan"' in dot and tunnel.a in dot and tunnel.b in dot
    assert " === " in to_mermaid(snap)


@sync
async def test_tree_has_the_nodes_on_top():
    app = offline_app(FIXTURE)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        tree = app.query_one(NamespaceTree)
        top = [str(n.label) for n in tree.root.children]
        assert [t.split("  ")[0] for t in top] == ["◼ node node-a", "◼ node node-b"]
        for item in tree.root.children:
            names = [str(c.label) for c in item.children]
            node = str(item.label).split()[2]
            assert names and all(f"{node}:" in n for n in names)
        # the cursor starts on a namespace, not on a node's title
        assert tree.cursor_node is not None and tree.cursor_node.data.startswith("ns:node-a@")


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_t_walks_across_nodes_offline(tmp_path):
    """In a real terminal, on the cluster document: `t` from a pod of node-a to a pod of
    node-b shows the expected path through both nodes (encapsulation, the network between
    them, decapsulation), and `]` steps it."""
    tmux = Tmux(f"nstuicl{time.monotonic_ns() % 100000}")
    status = tmp_path / "status"
    try:
        tmux.start(f"cd {REPO} && env -u COLUMNS -u LINES {sys.executable} -m netscope "
                   f"--snapshot {snapshot_path(FIXTURE)}; echo $? > {status}")
        tmux.wait_for("OFFLINE snapshot")
        tmux.wait_for("node-a:host  (ns:")
        tmux.keys("t")
        tmux.wait_for("trace from node-a:host to:")
        tmux.type("10.244.1.10")
        tmux.keys("Enter")
        screen = tmux.wait_for("expected path (static walk, nothing sent)")
        flat = " ".join(screen.replace("│", " ").split())
        assert "delivered to 10.244.1.10 in node-b:" in flat
        for hop in ("flannel.1 encap", "eth0 underlay", "flannel.1 decap", "cni0 bridge"):
            assert hop in flat, flat
        tmux.keys("]")
        tmux.wait_for("hop 2/")
        tmux.keys("Escape")
        time.sleep(0.5)
        tmux.keys("q")
        deadline = time.monotonic() + 10
        while not status.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert status.read_text().strip() == "0", tmux.screen()
    finally:
        tmux.kill()
