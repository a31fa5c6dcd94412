"""The topology drawing at scale: 200 containers on one bridge collapse into a group box,
and the one whose veth is down stays in view, drawn on its own."""

from __future__ import annotations

import re

from netscope.graph.host import HostGraph
from netscope.model import Header, Link, Namespace, Snapshot, VethPeer, link_id, ns_id
from netscope.tui.topology_layout import MAX_BOXES, Marks, draw_topology

HOST = 1000


def _link(inode, ifindex, name, kind="veth", up=True, master=None, peer=None):
    return Link(id=link_id(inode, ifindex), netns=ns_id(inode), ifindex=ifindex, name=name,
                kind=kind, operstate="UP" if up else "DOWN", flags=("UP",) if up else (),
                mtu=1500, master=master, peer=VethPeer(0, 0, peer) if peer else None)


def scale_host(count: int, down: int | None = None) -> Snapshot:
    namespaces = [Namespace(ns_id(HOST), HOST, "host", is_self=True)]
    bridge = _link(HOST, 2, "br0", kind="bridge")
    links = [bridge]
    for i in range(count):
        inode = 2000 + i
        namespaces.append(Namespace(ns_id(inode), inode, f"c-{i:03d}"))
        host_end = _link(HOST, 10 + i, f"v{i}", master=bridge.id, peer=link_id(inode, 2))
        links += [host_end, _link(inode, 2, "eth0", up=i != down, peer=host_end.id)]
    header = Header("0", "6.18", "test", "now", 0.0)
    return Snapshot(header, tuple(namespaces), links=tuple(links))


def text(snapshot: Snapshot, marks: Marks | None = None) -> str:
    picture = draw_topology(HostGraph.of(snapshot), marks or Marks(), 120)
    return "\n".join("".join(s.text for s in line) for line in picture.lines)


def test_a_small_bridge_draws_every_namespace_as_a_box():
    out = text(scale_host(MAX_BOXES))
    assert out.count("┌─ c-") == MAX_BOXES


def test_two_hundred_namespaces_collapse_but_the_broken_one_stays_visible():
    out = text(scale_host(200, down=42))
    assert "┌─ c-* · 199 namespaces" in out
    assert "┌─ c-042" in out and out.count("┌─ c-") == 2
    assert len(out.splitlines()) < 30


def test_expanding_groups_draws_them_all():
    out = text(scale_host(200, down=42), Marks(expanded=True))
    assert out.count("┌─ c-") == 200


def test_a_selected_namespace_leaves_its_group():
    marks = Marks(selected=ns_id(2007))
    out = text(scale_host(200), marks)
    assert "┌─ c-007" in out and "199 namespaces" in out


def test_a_drop_storm_over_every_namespace_stays_a_few_boxes_the_worst_drawn():
    snap = scale_host(200, down=42)
    drops = {link_id(2000 + i, 2): 1 + i for i in range(200)}  # c-199 drops the most
    alerts = frozenset(drops)
    out = text(snap, Marks(drops=drops, alerts=alerts))
    boxes = re.findall(r"┌─ c-\d{3} ", out)
    assert len(boxes) == MAX_BOXES  # c-042 (down) and the 15 worst droppers
    assert "┌─ c-042" in out and "┌─ c-199" in out and "┌─ c-185" in out
    assert "┌─ c-184" not in out
    assert "┌─ c-* · 184 namespaces" in out
    assert f"· {sum(range(1, 186)) - 43} drops" in out  # c-000..c-184 without c-042


def test_drops_without_a_reason_do_not_pull_a_namespace_out_of_its_group():
    drops = {link_id(2007, 2): 30}
    out = text(scale_host(200), Marks(drops=drops, alerts=frozenset()))
    assert "┌─ c-007" not in out and "· 30 drops" in out
    out = text(scale_host(200), Marks(drops=drops, alerts=frozenset(drops)))
    assert "┌─ c-007" in out and "30 drops" in out
