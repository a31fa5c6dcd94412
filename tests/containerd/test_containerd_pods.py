"""Kubernetes pods on a real containerd and real CNI plugins (kubelet simulated: see
tests/support/containerd_engine.py), named `namespace/pod` from the CRI annotations and
labels containerd keeps on disk, with their CNI network and addresses, in `show`,
`show --netfilter`, `path`, `doctor` and the TUI."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys

from netscope.collect.runner import collect_snapshot
from netscope.tui.app import NetscopeApp
from netscope.tui.backends import Backends
from tests.tui.conftest import SIZE, sync
from tests.tui.test_app import shown, tree_lines


def netscope(*args: str, ok: tuple[int, ...] = (0,)) -> str:
    proc = subprocess.run([sys.executable, "-m", "netscope", *args], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode in ok, proc.stderr
    return proc.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_pods_named_from_cri_annotations_with_their_cni_addresses(containerd):
    port = free_port()
    web = containerd.run_pod("shop", "web-0", ("app", "sidecar"), host_port=port)
    db = containerd.run_pod("shop", "db-0", ("postgres",))
    out = netscope("show")
    assert re.search(
        rf"^shop/web-0  \[pod shop/web-0 \(containerd k8s\.io, uid {web.uid}\); containers "
        rf"app, sidecar; infra POD {web.sandbox_id[:12]}\]  \(ns:\d+\)\n"
        rf"  cni {containerd.network} {re.escape(web.address)} on eth0, allocated to "
        rf"{web.sandbox_id[:12]}\n", out, re.M), out
    assert re.search(rf"^shop/db-0  \[pod shop/db-0 \(containerd k8s\.io, uid {db.uid}\); "
                     rf"containers postgres; infra POD {db.sandbox_id[:12]}\]", out, re.M), out
    # the CNI configuration in use, its plugin chain and its range
    assert re.search(
        rf"^  {containerd.network} \({re.escape(str(containerd.conflist))}, in use\): "
        rf"bridge\[bridge={containerd.bridge} isGateway=true ipMasq=true hairpinMode=true\] "
        rf"-> portmap\[capabilities=\{{\"portMappings\":true\}} snat=true\]; ipam host-local "
        rf"{re.escape(containerd.subnet)}$", out, re.M), out

    snap = collect_snapshot()
    pod = next(p for p in snap.pods if p.pod_id == web.sandbox_id)
    assert (pod.kube_namespace, pod.name, pod.kube_uid) == ("shop", "web-0", web.uid)
    members = {c.kube_name: c for c in snap.containers if c.pod == pod.id}
    assert set(members) == {None, "app", "sidecar"}
    assert members["app"].container_id == web.containers["app"]
    assert members["app"].labels["io.kubernetes.container.name"] == "app"
    assert members["app"].runtime_namespace == "k8s.io"
    assert {c.netns for c in members.values()} == {pod.netns}
    ns = next(n for n in snap.namespaces if n.id == pod.netns)
    assert any(o.path == web.netns for o in ns.origins)
    allocation = next(a for a in snap.cni_allocations if a.container_id == web.sandbox_id)
    assert (allocation.address, allocation.ifname, allocation.netns) == (
        web.address, "eth0", pod.netns)


def test_published_pod_port_labelled_in_the_netfilter_view(containerd):
    port = free_port()
    containerd.run_pod("shop", "web-0", ("app",), host_port=port)
    out = netscope("show", "--netfilter")
    assert "chain CNI-HOSTPORT-DNAT  -- CNI portmap: published host ports" in out
    assert re.search(rf"--dport {port} -j DNAT --to-destination [\d.]+:80  "
                     rf"<publishes tcp/{port} -> shop/web-0:80>", out), out
    assert f"<published port of shop/web-0 (network {containerd.network})>" in out
    # the bridge plugin's masquerade chain, one per sandbox, says whose it is
    assert re.search(rf"-j MASQUERADE  <for shop/web-0 \(network {containerd.network}\)>",
                     out), out


def test_path_between_pods_by_namespace_and_name_agrees_with_a_real_ping(containerd):
    web = containerd.run_pod("shop", "web-0", ("app",))
    db = containerd.run_pod("shop", "db-0", ("postgres",))
    out = netscope("path", "shop/web-0", "shop/db-0", "--proto", "icmp", ok=(0, 1))
    # the source hop is named after the pod; the destination resolved to db-0's address
    assert re.search(rf"^path: icmp [\d.]+ -> {re.escape(db.address)}", out, re.M), out
    assert re.search(r"^  1  shop/web-0  eth0 ", out, re.M), out
    assert containerd.bridge in out  # the pods meet on the CNI bridge
    # and the walk says what the kernel does: where Docker set FORWARD's policy to DROP and
    # br_netfilter is on, bridged pod traffic crosses FORWARD and dies there
    ping = subprocess.run(["ip", "netns", "exec", web.netns.rsplit("/", 1)[1], "/bin/busybox",
                           "ping", "-c", "1", "-W", "2", db.address], capture_output=True)
    dropped = "=> [XX] dropped" in out
    assert dropped == (ping.returncode != 0), out


def test_doctor_finds_a_leaked_address_and_a_pod_outside_its_range(containerd):
    web = containerd.run_pod("shop", "web-0", ("app",))
    leaked, leaked_id = containerd.leak_address()
    findings = json.loads(netscope("doctor", "--json", ok=(0, 1)))
    leaks = [f for f in findings if f["check"] == "cni_leaked_address"]
    assert [f["summary"] for f in leaks] == [
        f"{leaked} of CNI network {containerd.prefix}-leak is allocated to container "
        f"{leaked_id[:12]} (eth0), but no namespace holds it: the allocation outlived its pod"]
    assert not [f for f in findings if f["check"] == "cni_out_of_range"]

    # an administrator moves the network to another range while the pod keeps its address
    moved = containerd.subnet.replace("10.188.", "10.187.")
    containerd.write_conflist(moved)
    findings = json.loads(netscope("doctor", "--json", ok=(0, 1)))
    out_of_range = [f for f in findings if f["check"] == "cni_out_of_range"]
    assert [f["summary"] for f in out_of_range] == [
        f"pod shop/web-0 has {web.address} on eth0, outside the ranges of its CNI network "
        f"{containerd.network} ({moved}; {containerd.conflist})"]
    containerd.write_conflist(containerd.subnet)


@sync
async def test_the_tui_names_the_pod_and_its_cni_address(containerd, tmp_path):
    web = containerd.run_pod("shop", "web-0", ("app",))
    snap = collect_snapshot()
    app = NetscopeApp(snap, read_only="containerd test", backends=Backends.none(),
                      save_dir=str(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert any("shop/web-0" in line and "containerd pod" in line
                   for line in tree_lines(app)), tree_lines(app)
        app.selected = next(p.netns for p in snap.pods if p.name == "web-0")
        await pilot.pause()
        overview = " ".join(shown(app.query_one("#detail-overview")).split())
        assert f"pod shop/web-0 (containerd k8s.io, uid {web.uid}); containers app" in overview
        assert (f"cni {containerd.network} {web.address} on eth0, allocated to "
                f"{web.sandbox_id[:12]}") in overview
