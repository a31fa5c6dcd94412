"""Several nodes, one cluster document: snapshots taken on each node as netscope's node pod
would take them, merged, and paths walked across nodes, checked against real traffic.

The nodes are simulated here (tests/support/cluster_nodes.py: namespaces for each node's own
network, its pods and the underlay between nodes; flannel's VXLAN or host-gw state written as
flanneld writes it); no kubelet, flanneld or API server runs. The traffic between the pods
is real, and netscope runs once per node, confined to that node's view."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from netscope.analysis.doctor import run_doctor
from netscope.snapshot import load
from tests.support.cluster_nodes import build_nodes, forget_fdb, snapshot_as_node
from tests.support.netns import ip, pings

CLUSTER_CHECKS = {"overlay_fdb_missing", "overlay_fdb_stale", "overlay_neigh_missing",
                  "overlay_neigh_stale", "pod_cidr_route_missing", "cluster_route_asymmetric",
                  "pod_cidr_overlap", "service_endpoint_unreachable"}


def _netscope(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "netscope", *args], capture_output=True,
                          text=True, timeout=120)


def _merge(nodes, tmp_path: Path) -> Path:
    parts = []
    for node in nodes:
        out = tmp_path / f"{node.name}.json"
        p = snapshot_as_node(node, out)
        assert p.returncode == 0, p.stderr
        parts.append(f"{node.name}={out}")
    cluster = tmp_path / "cluster.json"
    p = _netscope("merge", *parts, "-o", str(cluster))
    assert p.returncode == 0, p.stderr
    return cluster


def _path(cluster: Path, src: str, dst: str) -> subprocess.CompletedProcess:
    return _netscope("path", "--snapshot", str(cluster), src, dst, "--json")


def test_each_node_sees_only_itself(namespaces, tmp_path):
    nodes = build_nodes(namespaces, 2)
    for node in nodes:
        out = tmp_path / f"{node.name}.json"
        assert snapshot_as_node(node, out).returncode == 0
        snap = load(str(out))
        assert snap.header.hostname == node.name
        assert sorted(ns.name for ns in snap.namespaces if not ns.is_self) == sorted(node.pods)


@pytest.mark.parametrize("mode", ["vxlan", "host-gw"])
def test_path_across_nodes_is_delivered_like_real_traffic(namespaces, tmp_path, mode):
    nodes = build_nodes(namespaces, 3 if mode == "host-gw" else 2, mode)
    a, b = nodes[0], nodes[-1]
    assert pings(a.pods[0], b.pod_ip(1), wait_s=2)
    cluster = _merge(nodes, tmp_path)
    p = _path(cluster, f"{a.name}:{a.pods[0]}", b.pod_ip(1))
    result = json.loads(p.stdout)
    assert p.returncode == 0, p.stdout + p.stderr
    assert result["end"] == "delivered"
    where = [h["netns_name"] for h in result["hops"]]
    assert any(w.startswith(f"{a.name}:") for w in where)
    assert any(w.startswith(f"{b.name}:") for w in where)
    assert where[-1] == f"{b.name}:{b.pods[1]}"
    steps = [h["step"] for h in result["hops"]]
    if mode == "vxlan":
        assert "encap" in steps and "decap" in steps
    assert result["reply"]["end"] == "delivered"
    # a healthy cluster: the doctor finds nothing between its nodes
    found = {f.id for f in run_doctor(load(str(cluster))) if f.check in CLUSTER_CHECKS}
    assert found == set()


def test_missing_pod_route_is_named_by_the_walk_and_the_doctor(namespaces, tmp_path):
    a, b, c = build_nodes(namespaces, 3, "host-gw")
    ip("route", "del", c.pod_cidr, ns=a.netns)
    assert not pings(a.pods[0], c.pod_ip(0), wait_s=1)
    assert pings(a.pods[0], b.pod_ip(0), wait_s=2)
    cluster = _merge([a, b, c], tmp_path)
    result = json.loads(_path(cluster, f"{a.name}:{a.pods[0]}", c.pod_ip(0)).stdout)
    assert result["end"] != "delivered"
    assert any(h["netns_name"] == f"{a.name}:host" for h in result["hops"])
    found = [f for f in run_doctor(load(str(cluster))) if f.check in CLUSTER_CHECKS]
    assert [f.id for f in found] == [f"pod_cidr_route_missing@{a.name}/{c.pod_cidr}"]


def test_missing_fdb_entry_stops_the_walk_and_is_a_finding(namespaces, tmp_path):
    a, b = build_nodes(namespaces, 2)
    forget_fdb(a, b)
    assert not pings(a.pods[0], b.pod_ip(0), wait_s=1)
    cluster = _merge([a, b], tmp_path)
    p = _path(cluster, f"{a.name}:{a.pods[0]}", b.pod_ip(0))
    result = json.loads(p.stdout)
    assert result["end"] != "delivered"
    last = result["hops"][-1]
    assert last["netns_name"] == f"{a.name}:host" and last["device"] == "flannel.1"
    assert b.flannel_mac in last["decision"] + last["explain"]
    findings = run_doctor(load(str(cluster)))
    missing = [f for f in findings if f.check == "overlay_fdb_missing"]
    assert len(missing) == 1 and a.name in missing[0].summary and b.name in missing[0].summary
