"""The static path walk and the doctor agree with real packets on a NAT'ed bridge network."""

from __future__ import annotations

import subprocess

import pytest

from netscope.analysis.doctor import run_doctor
from netscope.analysis.path import path
from netscope.collect.runner import collect_snapshot
from tests.support.netns import add_bridge, attach_container, ip, pings, sh


def nsexec(ns: str, *argv: str, check: bool = True):
    return sh("ip", "netns", "exec", ns, *argv, check=check)


@pytest.fixture
def natted(namespaces):
    """host: br0 10.232.0.1/24 + uplink 198.51.100.2 (MASQUERADE, DNAT 8080->a:80);
    a 10.232.0.2 (TCP server on 80), b 10.232.0.3, inet 198.51.100.1."""
    host, a, b, inet = (namespaces.add(n) for n in ("host", "a", "b", "inet"))
    add_bridge(host, "br0", "10.232.0.1/24")
    for n, (ns, addr) in enumerate(((a, "10.232.0.2"), (b, "10.232.0.3"))):
        attach_container(host, "br0", f"veth{n}", ns, f"{addr}/24", "10.232.0.1")
    ip("link", "add", "uplink", "type", "veth", "peer", "name", "eth0", "netns", inet, ns=host)
    ip("addr", "add", "198.51.100.2/24", "dev", "uplink", ns=host)
    ip("link", "set", "uplink", "up", ns=host)
    ip("addr", "add", "198.51.100.1/24", "dev", "eth0", ns=inet)
    ip("link", "set", "eth0", "up", ns=inet)
    ip("route", "add", "default", "via", "198.51.100.1", ns=host)
    nsexec(host, "sysctl", "-qw", "net.ipv4.ip_forward=1")
    nsexec(host, "iptables", "-t", "nat", "-A", "POSTROUTING", "-s", "10.232.0.0/24", "!",
           "-o", "br0", "-j", "MASQUERADE")
    nsexec(host, "iptables", "-t", "nat", "-A", "PREROUTING", "-p", "tcp", "--dport", "8080",
           "-j", "DNAT", "--to-destination", "10.232.0.2:80")
    server = subprocess.Popen(
        ["ip", "netns", "exec", a, "python3", "-c",
         "import socket\ns=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR,"
         " 1); s.bind(('0.0.0.0', 80)); s.listen(); print('ready', flush=True)\n"
         "while True: s.accept()[0].close()"], stdout=subprocess.PIPE, text=True)
    # listening before any snapshot: the doctor names a published port nobody takes (a
    # fixed sleep lost that race under load)
    assert server.stdout.readline().strip() == "ready"
    try:
        yield {"host": host, "a": a, "b": b, "inet": inet}
    finally:
        server.kill()
        server.wait()


def connects(ns: str, dst: str, port: int) -> bool:
    code = (f"import socket; s=socket.socket(); s.settimeout(1); "
            f"s.connect(({dst!r}, {port})); print('ok')")
    return nsexec(ns, "python3", "-c", code, check=False).returncode == 0


def only(findings, netns_names):
    return [f for f in findings if any(n in f.id for n in netns_names)]


def test_masquerade_and_reply_translation_match_real_ping(natted):
    assert pings(natted["a"], "198.51.100.1")
    snap = collect_snapshot()
    result = path(snap, natted["a"], "198.51.100.1")
    assert result.verdict == "delivered", result.summary
    nat = [h for h in result.hops if h.step == "nat"]
    assert nat and "MASQUERADE" in nat[0].decision and "198.51.100.2" in nat[0].packet
    assert result.reply.verdict == "delivered", result.reply.summary
    assert result.reply.hops[-1].netns_name == natted["a"]
    assert any("conntrack reverses" in h.decision for h in result.reply.hops)
    assert not only(run_doctor(snap), natted.values())


def test_published_port_dnat_reaches_the_backend(natted):
    assert connects(natted["inet"], "198.51.100.2", 8080)
    result = path(collect_snapshot(), natted["inet"], "198.51.100.2", "tcp", 8080)
    assert result.verdict == "delivered", result.summary
    assert result.hops[-1].netns_name == natted["a"]
    assert any(h.step == "nat" and "DNAT" in h.decision for h in result.hops)


def test_missing_masquerade_is_found_where_real_replies_are_lost(natted):
    nsexec(natted["host"], "iptables", "-t", "nat", "-F", "POSTROUTING")
    assert not pings(natted["a"], "198.51.100.1")
    snap = collect_snapshot()
    result = path(snap, natted["a"], "198.51.100.1")
    assert result.verdict == "delivered" and result.reply.verdict == "no_route"
    findings = only(run_doctor(snap), [natted["host"]])
    assert [f.check for f in findings] == ["missing_masquerade"]
    assert findings[0].repair[0]["args"][-1] == "MASQUERADE"


def test_forward_policy_drop_is_found_at_the_hop_real_packets_die(natted):
    nsexec(natted["host"], "iptables", "-P", "FORWARD", "DROP")
    assert not pings(natted["a"], "198.51.100.1")
    snap = collect_snapshot()
    result = path(snap, natted["a"], "198.51.100.1")
    assert result.verdict == "dropped"
    assert result.hops[-1].netns_name == natted["host"]
    assert "FORWARD" in result.summary and "policy DROP" in result.summary
    checks = {f.check for f in only(run_doctor(snap), [natted["host"]])}
    assert "forward_policy_drop" in checks


def test_ip_forward_off_is_found(natted):
    nsexec(natted["host"], "sysctl", "-qw", "net.ipv4.ip_forward=0")
    assert not pings(natted["a"], "198.51.100.1")
    assert pings(natted["a"], "10.232.0.1"), "the gateway itself still answers"
    snap = collect_snapshot()
    result = path(snap, natted["a"], "198.51.100.1")
    assert result.verdict == "dropped" and "forwarding is off" in result.summary
    findings = only(run_doctor(snap), [natted["host"]])
    assert [f.check for f in findings] == ["ip_forward_off"]


def test_host_veth_down_is_found(natted):
    ip("link", "set", "veth1", "down", ns=natted["host"])
    assert not pings(natted["a"], "10.232.0.3")
    snap = collect_snapshot()
    assert path(snap, natted["a"], natted["b"]).verdict == "dropped"
    assert "host_veth_down" in {f.check for f in only(run_doctor(snap), [natted["host"]])}


def netscope(*args: str, state_dir, check: bool = False) -> subprocess.CompletedProcess:
    import os
    import sys

    env = {**os.environ, "NETSCOPE_STATE_DIR": str(state_dir)}
    return subprocess.run([sys.executable, "-m", "netscope", *args], capture_output=True,
                          text=True, env=env, check=check, timeout=120)


@pytest.mark.parametrize(("fault", "check"), [
    ("ip_forward", "ip_forward_off"),
    ("masquerade", "missing_masquerade"),
    ("forward_drop", "forward_policy_drop"),
])
def test_repair_restores_real_traffic_and_undo_brings_the_fault_back(natted, tmp_path, fault,
                                                                     check):
    host, a = natted["host"], natted["a"]
    plant = {"ip_forward": ("sysctl", "-qw", "net.ipv4.ip_forward=0"),
             "masquerade": ("iptables", "-t", "nat", "-F", "POSTROUTING"),
             "forward_drop": ("iptables", "-P", "FORWARD", "DROP")}[fault]
    nsexec(host, *plant)
    assert not pings(a, "198.51.100.1")
    finding = f"{check}@{host}"
    dry = netscope("repair", finding, "--dry-run", state_dir=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert "repair, as shell commands:" in dry.stdout and host in dry.stdout
    assert not pings(a, "198.51.100.1"), "--dry-run must change nothing"

    done = netscope("repair", finding, "--yes", state_dir=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"re-check: {finding}" in done.stdout and "is gone" in done.stdout
    assert pings(a, "198.51.100.1")

    undone = netscope("undo", state_dir=tmp_path)
    assert undone.returncode == 0, undone.stderr
    assert not pings(a, "198.51.100.1")
    assert netscope("undo", state_dir=tmp_path).returncode == 2  # nothing left to undo


def test_repair_of_an_unknown_finding_is_one_line(natted, tmp_path):
    p = netscope("repair", "no_such_thing@x", "--yes", state_dir=tmp_path)
    assert p.returncode == 2
    assert len(p.stderr.strip().splitlines()) == 1 and "netscope doctor" in p.stderr
