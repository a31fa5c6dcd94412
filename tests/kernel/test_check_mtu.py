"""`netscope check --mtu` on the overlay lab's MTU variant: real don't-fragment probes find
the size limit and the hop that drops the next size, and they match both the doctor's
overlay_mtu_mismatch finding and the static walk's path MTU. On the healthy overlay the
containers' own MTU gets through."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from netscope.actions import labs
from netscope.actions.lab_plan import ns_name
from netscope.analysis.doctor import run_doctor
from netscope.collect.runner import collect_snapshot
from netscope.graph.host import HostGraph
from tests.kernel.test_labs_support import instances_in
from tests.kernel.test_trace_journey import require_ebpf_here


@pytest.fixture
def instances(tmp_path):
    require_ebpf_here()
    with instances_in(str(tmp_path / "state")) as made:
        yield made


def check_mtu(src: str, dst: str) -> tuple[int, dict]:
    done = subprocess.run([sys.executable, "-m", "netscope", "check", src, dst, "--mtu",
                           "--json"], capture_output=True, text=True, timeout=180,
                          env=dict(os.environ))
    assert done.returncode in (0, 1), done.stdout + done.stderr
    return done.returncode, json.loads(done.stdout)


def test_overlay_mtu_black_hole_is_found_where_the_doctor_says(instances):
    instance = instances.new()
    labs.up(labs.resolve("overlay-vxlan/overlay_mtu_mismatch"), instance)
    h1 = ns_name(instance, "h1")

    status, found = check_mtu(ns_name(instance, "c1"), "10.220.0.3")
    assert status == 1, "only smaller packets get through"
    assert (found["route_mtu"], found["largest"], found["first_lost"]) == (1500, 1450, 1451)
    assert found["drop"] is not None, found["traced"]
    assert found["drop"]["netns_name"] == h1 and found["drop"]["device"] in ("vxlan0", "br0")
    assert found["frag_needed"] is None, "a bridge drops silently: no ICMP tells the sender"
    expected = found["expected"]
    assert expected["mtu"] == 1450 and expected["agrees"], expected
    assert (expected["limit"]["netns_name"], expected["limit"]["device"]) == (h1, "vxlan0")

    snapshot = collect_snapshot()
    finding = next(f for f in run_doctor(snapshot)
                   if f.check == "overlay_mtu_mismatch" and instance in f.summary)
    limit = int(re.search(r"carries at most (\d+)-byte packets", finding.summary)[1])
    assert limit == found["largest"]
    graph = HostGraph.of(snapshot)
    vxlan0 = graph.link_named(found["drop"]["netns"], "vxlan0")
    assert vxlan0 is not None and vxlan0.id in finding.evidence, finding


def test_healthy_overlay_passes_its_full_mtu(instances):
    instance = instances.new()
    labs.up(labs.resolve("overlay-vxlan"), instance)
    status, found = check_mtu(ns_name(instance, "c1"), "10.220.0.3")
    assert status == 0, found
    assert found["largest"] == found["route_mtu"] == 1450 and found["first_lost"] is None
    assert found["expected"]["mtu"] == 1450 and found["expected"]["agrees"]
