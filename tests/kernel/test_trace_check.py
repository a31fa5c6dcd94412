"""`netscope check` answers "why can't A reach B?" from a real test packet and its reply."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.kernel.test_trace_journey import build_bridge_lab, nft_tables, require_ebpf_here
from tests.support.netns import Namespaces, sh

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def lab():
    require_ebpf_here()
    spaces = Namespaces("nstr")
    try:
        yield build_bridge_lab(spaces)
    finally:
        spaces.cleanup()


def check(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "netscope.cli.main", "check", *args],
                          cwd=REPO, capture_output=True, text=True, timeout=90)


def test_reachable_peer_is_delivered_and_the_reply_comes_back(lab):
    done = check(lab.a, lab.b)
    assert done.returncode == 0, done.stdout + done.stderr
    first = done.stdout.splitlines()[0]
    assert first.startswith("DELIVERED:") and f"delivered in {lab.b}" in first, first
    assert f"reply came back to {lab.a}" in first


def test_planted_forward_drop_is_named_at_the_bridge_hop_with_its_rule(lab):
    sh("ip", "netns", "exec", lab.br, "iptables", "-A", "FORWARD", "-d", lab.addr(2),
       "-p", "icmp", "-j", "DROP")
    done = check(lab.a, lab.addr(2), "--json")
    assert done.returncode == 1, done.stderr
    result = json.loads(done.stdout)
    assert result["verdict"] == "dropped", result["answer"]
    assert f"dropped in {lab.br} at bridge br0" in result["answer"]
    assert "NETFILTER_DROP" in result["answer"]
    assert f"ip daddr {lab.addr(2)}" in result["answer"] and "drop" in result["answer"]
    assert result["expected"]["agrees"], result["expected"]
    assert "netscope_trace" not in nft_tables(lab.br)


def test_closed_tcp_port_says_where_the_rst_came_from(lab):
    done = check(lab.a, lab.b, "--proto", "tcp", "--port", "81", "--json")
    assert done.returncode == 1, done.stderr
    result = json.loads(done.stdout)
    assert result["verdict"] == "refused", result["answer"]
    assert f"the RST came from {lab.b} (eth0)" in result["answer"]
    assert f"nothing listens on tcp/81 in {lab.b}" in result["answer"], \
        "the origin's sockets say why"
    reply = result["reply"]
    assert reply["hops"][0]["namespace"] == lab.b
    assert result["expected"]["agrees"], result["expected"]  # the walk says refused too


def test_rst_from_a_loopback_only_listener_says_so(lab):
    server = subprocess.Popen(
        ["ip", "netns", "exec", lab.b, "python3", "-c",
         "import socket,time; s=socket.socket(); s.bind(('127.0.0.1', 8081)); s.listen();"
         "print('up', flush=True); time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout.readline().strip() == "up"
        done = check(lab.a, lab.b, "--proto", "tcp", "--port", "8081")
        assert done.returncode == 1, done.stdout + done.stderr
        first = done.stdout.splitlines()[0]
        assert first.startswith("REFUSED:") and "listens on 127.0.0.1:8081 only" in first, \
            first
        assert "static path walk agrees" in done.stdout
    finally:
        server.kill()
        server.wait()


def test_open_tcp_port_is_delivered(lab):
    server = subprocess.Popen(
        ["ip", "netns", "exec", lab.b, "python3", "-c",
         "import socket,time; s=socket.socket(); s.bind(('0.0.0.0', 8080)); s.listen();"
         "print('up', flush=True); time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout.readline().strip() == "up"
        done = check(lab.a, lab.b, "--proto", "tcp", "--port", "8080")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "tcp port 8080 is open" in done.stdout.splitlines()[0]
    finally:
        server.kill()
        server.wait()


@pytest.mark.parametrize("to", ["own", "127.0.0.1"])
def test_a_check_to_a_local_address_sees_the_kernel_answer(lab, to):
    """The packet and its answer have the same addresses (src == dst): the probes tell them
    apart by what they are (an echo reply answers), not by their ends."""
    dst = lab.addr(1) if to == "own" else "127.0.0.1"
    done = check(lab.a, dst, "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["verdict"] == "delivered", result["answer"]
    assert f"reply came back to {lab.a}" in result["answer"], result["answer"]
