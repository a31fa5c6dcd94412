"""The doctor checks no lab variant plants, each on a small real topology."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from netscope.analysis.doctor import run_doctor
from netscope.collect.runner import collect_snapshot
from tests.support.netns import ip, sh


def findings_for(check: str, names: list[str]):
    return [f for f in run_doctor(collect_snapshot()) if f.check == check
            and any(n in f"{f.id} {f.summary}" for n in names)]


def pair(a: str, b: str, a_cidr: str, b_cidr: str, a_name="eth0", b_name="eth0") -> None:
    ip("link", "add", a_name, "type", "veth", "peer", "name", b_name, "netns", b, ns=a)
    ip("addr", "add", a_cidr, "dev", a_name, ns=a)
    ip("addr", "add", b_cidr, "dev", b_name, ns=b)
    ip("link", "set", a_name, "up", ns=a)
    ip("link", "set", b_name, "up", ns=b)


def test_veth_mtu_mismatch(namespaces):
    a, b = namespaces.add("a"), namespaces.add("b")
    pair(a, b, "10.241.0.1/24", "10.241.0.2/24")
    ip("link", "set", "eth0", "mtu", "1400", ns=b)
    found = findings_for("veth_mtu_mismatch", [a, b])
    assert len(found) == 1
    assert "MTU 1500" in found[0].summary and "1400" in found[0].summary
    assert found[0].repair[0]["args"] == ["link", "set", "eth0", "mtu", "1400"]


def test_overlapping_subnets(namespaces):
    r, x, y = namespaces.add("r"), namespaces.add("x"), namespaces.add("y")
    pair(r, x, "10.242.0.1/16", "10.242.0.2/16", "ethx")
    pair(r, y, "10.242.1.1/24", "10.242.1.2/24", "ethy")
    found = findings_for("overlapping_subnets", [r])
    assert len(found) == 1 and "10.242.0.0/16" in found[0].summary


def test_stale_namespace_is_info(namespaces):
    empty = namespaces.add("empty")
    found = findings_for("stale_netns", [empty])
    assert [f.severity for f in found] == ["info"]


def test_orphan_veth(namespaces):
    keep = namespaces.add("keep")
    gone = namespaces.add("gone")
    pair(keep, gone, "10.243.0.1/24", "10.243.0.2/24")
    # keep the namespace alive only through an fd of this process, then remove its name:
    # nothing netscope scans (names, /proc/<pid>/ns/net) can reach it any more
    holder = os.open(f"/run/netns/{gone}", os.O_RDONLY)
    try:
        ip("netns", "del", gone)
        found = findings_for("veth_orphan", [keep])
        assert len(found) == 1 and "cannot see" in found[0].summary
    finally:
        os.close(holder)


def test_conntrack_invalid_drops_are_counted(namespaces):
    a, b = namespaces.add("a"), namespaces.add("b")
    pair(a, b, "10.244.0.1/24", "10.244.0.2/24")
    sh("ip", "netns", "exec", b, "iptables", "-A", "INPUT", "-m", "conntrack", "--ctstate",
       "INVALID", "-j", "DROP")
    # SYN+FIN is a flag combination conntrack always calls INVALID
    sh("ip", "netns", "exec", a, sys.executable, "-c",
       "from scapy.all import IP, TCP, send; "
       "send(IP(dst='10.244.0.2')/TCP(dport=80, flags='SF'), count=3, verbose=False)")
    found = findings_for("conntrack_invalid_drops", [b])
    assert len(found) == 1 and "3 packets" in found[0].summary


def test_repair_in_a_namespace_with_no_name(namespaces, tmp_path):
    """A container-like namespace known only through its process (as Docker's are): the
    repair enters it by path (nsenter), and undo restores it."""
    named = namespaces.add("named")
    holder = subprocess.Popen(["unshare", "--net", "sleep", "60"])
    try:
        time.sleep(0.3)
        ip("link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns",
           str(holder.pid), ns=named)
        ip("link", "set", "eth0", "mtu", "1400", ns=named)
        found = findings_for("veth_mtu_mismatch", [named, f"[{holder.pid}]"])
        assert len(found) == 1 and found[0].repair[0]["netns"] == f"/proc/{holder.pid}/ns/net"
        env = {**os.environ, "NETSCOPE_STATE_DIR": str(tmp_path)}

        def mtu() -> str:
            out = sh("nsenter", f"--net=/proc/{holder.pid}/ns/net", "ip", "-o", "link",
                     "show", "eth0").stdout
            return out.split(" mtu ")[1].split()[0]

        done = subprocess.run([sys.executable, "-m", "netscope", "repair", found[0].id,
                               "--yes"], capture_output=True, text=True, env=env, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "nsenter --net=/proc/" in done.stdout and mtu() == "1400"
        undone = subprocess.run([sys.executable, "-m", "netscope", "undo"],
                                capture_output=True, text=True, env=env, timeout=60)
        assert undone.returncode == 0, undone.stderr
        assert mtu() == "1500"
    finally:
        holder.kill()
        holder.wait()
