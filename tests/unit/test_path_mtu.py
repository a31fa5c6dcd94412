"""The walk carries a packet's size: on the overlay lab's MTU variant (fixtures/mtu-overlay.json,
captured from the lab) a full-size packet dies silently at h1's bridge port vxlan0, and the
walk's path MTU is the overlay's 1450; a sender's own MTU and a router's are told apart."""

from __future__ import annotations

import pytest

from netscope.analysis.path import Verdict, path
from netscope.analysis.path.mtu import path_mtu
from netscope.snapshot import load
from tests.unit.conftest import FIXTURES


@pytest.fixture(scope="module")
def overlay():
    return load(str(FIXTURES / "mtu-overlay.json"))


def test_full_size_dies_silently_at_the_bridge_port_into_the_overlay(overlay):
    walked = path(overlay, "nsl-sockfix-c1", "10.220.0.3", size=1500)
    assert walked.verdict == Verdict.DROPPED
    last = walked.hops[-1]
    assert (last.netns_name, last.device) == ("nsl-sockfix-h1", "vxlan0")
    assert last.decision == "1500-byte packet too big for vxlan0 (MTU 1450)"
    assert "drops the frame silently" in last.explain
    fits = path(overlay, "nsl-sockfix-c1", "10.220.0.3", size=1450)
    assert fits.verdict == Verdict.DELIVERED and fits.reply.verdict == Verdict.DELIVERED
    assert path(overlay, "nsl-sockfix-c1", "10.220.0.3").verdict == Verdict.DELIVERED, \
        "without a size nothing is judged by MTU"


def test_path_mtu_is_the_overlays_and_names_the_limiting_hop(overlay):
    found = path_mtu(overlay, "nsl-sockfix-c1", "10.220.0.3")
    assert found.mtu == 1450
    assert (found.limit.netns_name, found.limit.device) == ("nsl-sockfix-h1", "vxlan0")


def test_the_senders_own_mtu_is_a_local_refusal(overlay):
    walked = path(overlay, "nsl-sockfix-c1", "10.220.0.3", size=1501)
    last = walked.hops[-1]
    assert (last.netns_name, last.device) == ("nsl-sockfix-c1", "eth0")
    assert "message too long" in last.explain
    underlay = path_mtu(overlay, "nsl-sockfix-h1", "192.168.220.2")
    assert underlay.mtu == 1500 and underlay.limit.netns_name == "nsl-sockfix-h1"
