"""Conformance of every doctor check, checks as pure functions of captured snapshots, and
every repair plan a check writes parses into operations (netscope.actions.ops)."""

import dataclasses
import inspect
import re

import pytest

from netscope.actions.ops import op_from_dict
from netscope.actions.repair import plan_of
from netscope.analysis.doctor import CHECKS, run_doctor
from netscope.analysis.doctor.finding import SEVERITIES
from netscope.labs import catalog
from netscope.model.leftover import Leftover
from netscope.snapshot import dumps, load
from tests.unit.conftest import FIXTURES

# captured snapshots on which the doctor finds something (a purity test on a snapshot without
# findings would pass whatever the checks did)
WITH_FINDINGS = ["bundle-after.json", "flows-dns-lab.json", "tui-forward-drop.json"]
LAB = "tui-docker-bridge.json"  # the docker-bridge lab, healthy: faults are planted in it


def test_checks_are_registered_once_with_complete_metadata():
    ids = [c.id for c in CHECKS]
    assert len(ids) == len(set(ids))
    for c in CHECKS:
        assert re.fullmatch(r"[a-z0-9_]+", c.id)
        assert c.severity in SEVERITIES
        assert c.title and len(c.explain) > 80, f"{c.id} must explain the mechanism"
        assert callable(c.run)


@pytest.mark.parametrize("name", WITH_FINDINGS)
def test_findings_are_pure_and_stable(name):
    snapshot = load(str(FIXTURES / name))
    text = dumps(snapshot)
    first = run_doctor(snapshot)
    assert first, f"{name} must have findings for this test to mean anything"
    assert dumps(snapshot) == text, "a check changed the snapshot"
    assert run_doctor(load(str(FIXTURES / name))) == first, "another copy, other findings"
    assert run_doctor(snapshot, tuple(reversed(CHECKS))) == first, "checks share state"
    assert all(f.id.startswith(f.check + "@") for f in first)
    assert not [f for f in first if f.check == "doctor_error"]


def _lab():
    snap = load(str(FIXTURES / LAB))
    ns = {n.name.rsplit("-", 1)[-1]: n.id for n in snap.namespaces if n.name != "host"}
    return snap, ns


def _links(snap, netns, name, **changes):
    return tuple(dataclasses.replace(lk, **changes) if (lk.netns, lk.name) == (netns, name)
                 else lk for lk in snap.links)


def _planted():
    """(fault, snapshot) pairs: one fault planted in the healthy lab capture each."""
    snap, ns = _lab()
    host = ns["host"]
    off = tuple(dataclasses.replace(n, sysctls={**n.sysctls, "net.ipv4.ip_forward": "0"})
                if n.id == host else n for n in snap.namespaces)
    c1_routes = [r for r in snap.routes if r.netns == ns["c1"]]
    default = next(r for r in c1_routes if r.is_default)
    wrong = dataclasses.replace(default, nexthops=(dataclasses.replace(
        default.nexthops[0], gateway="10.217.0.99"),))
    veth1 = next(lk for lk in snap.links if (lk.netns, lk.name) == (host, "veth1"))
    down = tuple(f for f in veth1.flags if f != "UP")
    return [
        ("ip_forward_off", dataclasses.replace(snap, namespaces=off)),
        ("host_veth_down", dataclasses.replace(snap, links=_links(snap, host, "veth1",
                                                                  flags=down))),
        ("veth_not_in_bridge", dataclasses.replace(
            snap, links=_links(snap, host, "veth1", master=None, bridge_port=None))),
        ("no_default_route", dataclasses.replace(
            snap, routes=tuple(r for r in snap.routes if r is not default))),
        ("wrong_gateway", dataclasses.replace(
            snap, routes=tuple(wrong if r is default else r for r in snap.routes))),
        ("veth_mtu_mismatch", dataclasses.replace(snap, links=_links(snap, host, "veth2",
                                                                     mtu=9000))),
        ("conntrack_near_full", dataclasses.replace(snap, conntrack=tuple(
            dataclasses.replace(t, count=t.max - 10) if t.netns == host else t
            for t in snap.conntrack))),
        ("netscope_leftover", dataclasses.replace(snap, leftovers=(Leftover(
            id=f"leftover:{host[3:]}/inet/netscope_trace_42_7", netns=host, kind="nft_table",
            name="inet netscope_trace_42_7", owner_pid=42),))),
    ]


def _repair_checks() -> set[str]:
    """Checks whose code writes a repair plan (calls op(...))."""
    return {c.id for c in CHECKS if "op(" in inspect.getsource(c.run)}


def test_every_repair_plan_parses_into_operations():
    findings = [f for name in WITH_FINDINGS for f in run_doctor(load(str(FIXTURES / name)))]
    for fault, snapshot in _planted():
        found = [f for f in run_doctor(snapshot) if f.check == fault]
        assert found, f"planting {fault} in {LAB} was not diagnosed"
        findings += found
    planned = set()
    for f in findings:
        if not f.repair:
            continue
        ops = plan_of(f)
        assert len(ops) == len(f.repair)
        for op, step in zip(ops, f.repair, strict=True):
            assert op_from_dict(op.to_dict()) == op, f"{f.id}: {step} does not round-trip"
            assert op.shell() and op.argv()[0] in ("ip", "sysctl", "iptables", "nsenter")
            assert step["netns"] is None or step["netns"] in op.shell()
        planned.add(f.check)
    # the rest are planted by lab variants, whose repairs test_doctor_labs applies for real
    variants = {v.key for lab in catalog.load_all() for v in lab.base.variants}
    assert _repair_checks() - variants <= planned, _repair_checks() - variants - planned
