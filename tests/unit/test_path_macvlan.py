"""The walk across macvlan devices, on the macvlan lab as netscope captured it: the LAN
reaches a child through its parent, siblings talk through the parent (bridge mode), a child
leaves by its parent, and the parent itself cannot reach its children (the lab's own checks
send these packets for real and see the same: tests/kernel/test_labs.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from netscope.analysis.path import path
from netscope.snapshot import load

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "lab-macvlan.json"


@pytest.fixture(scope="module")
def snapshot():
    return load(str(FIXTURE))


def test_the_lan_reaches_a_child_handed_up_by_the_parent(snapshot):
    j = path(snapshot, "10.219.0.1", "10.219.0.11")
    assert j.verdict == "delivered" and j.reply.verdict == "delivered"
    handed = [h for h in j.hops if h.step == "macvlan"]
    assert [(h.netns_name, h.device) for h in handed] == [("nsl-nscap-c1", "eth0")]
    assert "macvlan children" in handed[0].explain


def test_siblings_are_switched_by_the_parent_in_bridge_mode(snapshot):
    j = path(snapshot, "nsl-nscap-c2", "10.219.0.11")
    assert j.verdict == "delivered"
    assert [h.netns_name for h in j.hops if h.step in ("veth", "bridge")] == [], \
        "no veth or bridge on the way: the parent switches it"
    assert j.reply.verdict == "delivered"


def test_a_child_leaves_by_its_parent(snapshot):
    j = path(snapshot, "nsl-nscap-c1", "10.219.0.1")
    assert j.verdict == "delivered"
    assert ("nsl-nscap-lan", "eth0") in [(h.netns_name, h.device) for h in j.hops]


def test_the_parent_cannot_reach_its_children(snapshot):
    j = path(snapshot, "nsl-nscap-host", "10.219.0.11")
    assert j.verdict == "dropped"
    assert j.hops[-1].device == "eth0" and "cannot reach its macvlan" in j.hops[-1].decision
    assert "give the host a macvlan of its own" in j.hops[-1].explain
