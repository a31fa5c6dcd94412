"""The doctor against every lab: healthy ones raise nothing; each broken variant is named by
its planted fault alone, the path walk dies where the fault predicts, `repair` brings the real
traffic back and `undo` brings the fault back."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from netscope.actions import labs
from netscope.actions.lab_plan import ns_name
from netscope.actions.probe import run_checks
from netscope.analysis.doctor import run_doctor
from netscope.analysis.path import path
from netscope.collect.runner import collect_snapshot
from netscope.graph.host import HostGraph
from netscope.labs import catalog
from tests.kernel.test_labs_support import instances_in

HEALTHY = [f.name for f in catalog.load_all()]
BROKEN = [f"{f.name}/{v.key}" for f in catalog.load_all() for v in f.base.variants]
# node whose namespace the walk of a failing flow dies in (None: the walk cannot show it)
DIES_IN = {
    "ip_forward_off": "host", "missing_masquerade": "inet", "forward_policy_drop": "host",
    "host_veth_down": "host", "veth_not_in_bridge": "host", "no_default_route": "c1",
    "wrong_gateway": "host", "rp_filter_asymmetric": "host", "dnat_missing_backend": "host",
    "docker_user_drop": "host", "published_port_no_listener": "c1",
    "published_port_loopback_only": "c1", "reuseport_conflict": "c1",
    "br_netfilter_off": "client",  # the reply arrives untranslated, and the client drops it
    "service_no_endpoints": "node", "policy_drop": "node",
    "duplicate_ip": None,          # the source address itself is ambiguous
    "overlay_mtu_mismatch": "h1",  # walked at the source's full MTU, don't-fragment
}


@pytest.fixture
def instances(tmp_path):
    with instances_in(str(tmp_path / "state")) as made:
        yield made


def lab_findings(instance: str):
    prefix = ns_name(instance, "")
    return [f for f in run_doctor(collect_snapshot())
            if f.severity != "info" and prefix in f"{f.id} {f.summary}"]


def failing(results) -> list[str]:
    return [f"{r.key}: expected {r.expect}, got {r.outcome} ({r.detail})"
            for r in results if not r.passed]


def netscope(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "netscope", *args], capture_output=True,
                          text=True, timeout=120, env=dict(os.environ))


@pytest.mark.parametrize("ref", HEALTHY)
def test_healthy_lab_has_no_findings(instances, ref):
    instance = instances.new()
    labs.up(labs.resolve(ref), instance)
    assert lab_findings(instance) == []


@pytest.mark.parametrize("ref", BROKEN)
def test_broken_variant_is_diagnosed_walked_repaired_and_undone(instances, ref):
    lab = ref.split("/")[0]
    base, broken = labs.resolve(lab), labs.resolve(ref)
    fault = broken.variant.fault  # the variant's key unless it names another
    instance = instances.new()
    labs.up(broken, instance)

    findings = lab_findings(instance)
    assert [f.check for f in findings] == [fault], [f.id for f in findings]
    finding = findings[0]

    symptom = {c.key for c in broken.checks} - {c.key for c in base.checks if any(
        b.key == c.key and b.expect == c.expect for b in broken.checks)}
    flows = [c for c in broken.checks if c.key in symptom and c.proto in ("icmp", "tcp", "udp")
             and c.expect != "ok"]
    if DIES_IN[fault] is not None:
        snapshot = collect_snapshot()
        ends = []
        for c in flows:
            src = ns_name(instance, c.src)
            size = 0
            if c.payload == "mtu":  # as large as the source's MTU allows, don't-fragment
                first = path(snapshot, src, c.dst, c.proto, c.port).hops[0]
                size = HostGraph.of(snapshot).link_named(first.netns, first.device).mtu
            result = path(snapshot, src, c.dst, c.proto, c.port, size=size)
            for _, whole in result.outcomes():  # every endpoint a Service may pick
                dead = whole if whole.verdict != "delivered" else whole.reply
                if dead is not None and dead.verdict not in ("delivered", "left_host"):
                    ends.append(dead.hops[-1].netns_name)
        assert ends, f"no failing flow of {ref} fails in the static walk"
        assert ns_name(instance, DIES_IN[fault]) in ends, ends

    if not finding.repair:
        return  # duplicate_ip, dnat_missing_backend: netscope explains, a person decides
    repaired = netscope("repair", finding.id, "--yes")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert failing(run_checks(base, instance)) == []
    assert lab_findings(instance) == []

    undone = netscope("undo")
    assert undone.returncode == 0, undone.stderr
    assert failing(run_checks(broken, instance)) == []
    assert [f.check for f in lab_findings(instance)] == [fault]
