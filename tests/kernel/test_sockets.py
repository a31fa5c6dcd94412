"""Sockets on real namespaces: what the collector reads is what `ss` sees, and the path walk's
verdict for each port is what a real connection attempt gets.

A client namespace and a server namespace joined by a veth; in the server one process holds
a TCP listener on 0.0.0.0:80, one on 127.0.0.1:81 (loopback only), one on port 8000 (the
"wrong port" for 82), nothing on 83, a listener on 84 behind an INPUT DROP rule, and a UDP
socket bound on 0.0.0.0:53 (nothing on 54). Each case: the static walk's verdict
(delivered / refused / dropped) must be the real attempt's (connected / RST / timeout).
"""

from __future__ import annotations

import errno
import os
import socket
import subprocess
import sys
import time

import pytest

from netscope.analysis.doctor import run_doctor
from netscope.analysis.path import path
from netscope.collect.runner import collect_snapshot
from netscope.host import netns as host_netns
from tests.support.netns import ip, sh

SERVER = r"""
import socket, sys, time
made = []
for host, port in (("0.0.0.0", 80), ("127.0.0.1", 81), ("0.0.0.0", 8000), ("0.0.0.0", 84)):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port)); s.listen(16); made.append(s)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", 53)); made.append(u)
print("ready", flush=True)
while True:
    data, peer = u.recvfrom(100)
    u.sendto(b"answer", peer)
"""
REUSE = r"""
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind(("0.0.0.0", 90)); s.listen(64)
print("ready", flush=True)
while True:
    c, _ = s.accept(); c.sendall(sys.argv[1].encode()); c.close()
"""
# walk verdict -> what a real attempt gets
REAL = {"delivered": "connected", "refused": "refused", "dropped": "timeout"}


@pytest.fixture
def pair(namespaces):
    client, server = namespaces.add("cli"), namespaces.add("srv")
    ip("link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", server,
       ns=client)
    for ns, addr in ((client, "10.79.0.1/24"), (server, "10.79.0.2/24")):
        ip("addr", "add", addr, "dev", "eth0", ns=ns)
        ip("link", "set", "eth0", "up", ns=ns)
    sh("ip", "netns", "exec", server, "iptables", "-A", "INPUT", "-p", "tcp", "--dport", "84",
       "-j", "DROP")
    procs: list[subprocess.Popen] = []

    def start(code: str, *args: str) -> subprocess.Popen:
        p = subprocess.Popen(["ip", "netns", "exec", server, sys.executable, "-c", code,
                              *args], stdout=subprocess.PIPE, text=True)
        procs.append(p)
        assert p.stdout.readline().strip() == "ready"
        return p

    try:
        yield client, server, start
    finally:
        for p in procs:
            p.kill()
            p.wait()


def attempt(client: str, proto: str, port: int) -> str:
    """A real TCP connect or UDP query from the client namespace: connected, refused or
    timeout (from a worker thread: setns moves only that thread)."""
    import concurrent.futures

    found = next(f for f in host_netns.discover().values() if client in f.named)

    def go() -> str:
        fd = host_netns.open_ns(found)
        home = os.open("/proc/self/ns/net", os.O_RDONLY)
        try:
            with host_netns.entered(fd, home):
                kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
                with socket.socket(socket.AF_INET, kind) as s:
                    s.settimeout(1.5)
                    try:
                        s.connect(("10.79.0.2", port))
                        if proto == "udp":
                            s.send(b"query")
                            s.recv(100)
                        return "connected"
                    except TimeoutError:
                        return "timeout"
                    except OSError as e:
                        return "refused" if e.errno == errno.ECONNREFUSED else str(e)
        finally:
            os.close(home)
            os.close(fd)

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(go).result()


@pytest.mark.parametrize("proto, port, walk, why", [
    ("tcp", 80, "delivered", "listening on 0.0.0.0:80"),
    ("tcp", 81, "refused", "listens on 127.0.0.1:81 only"),
    ("tcp", 82, "refused", "nothing listens on tcp/82"),
    ("tcp", 83, "refused", "nothing listens on tcp/83"),
    ("tcp", 84, "dropped", "drop in filter INPUT"),
    ("udp", 53, "delivered", "bound on 0.0.0.0:53"),
    ("udp", 54, "refused", "ICMP port unreachable"),
])
def test_walk_verdict_is_what_a_real_connection_gets(pair, proto, port, walk, why):
    client, _server, start = pair
    start(SERVER)
    snapshot = collect_snapshot()
    result = path(snapshot, client, "10.79.0.2", proto, port)
    assert (str(result.verdict), why in result.summary) == (walk, True), result.summary
    if port == 82:
        assert "it listens on tcp/80, 81, 84, 8000" in result.summary
    if walk == "delivered":
        assert "python" in result.summary  # the process, by its name
    assert attempt(client, proto, port) == REAL[walk]


def test_collector_sees_what_ss_sees(pair):
    _client, server, start = pair
    holder = start(SERVER)
    snapshot = collect_snapshot()
    table = next(t for t in snapshot.sockets if t.netns == next(
        ns.id for ns in snapshot.namespaces if ns.name == server))
    mine = {(s.proto, s.state, s.local, s.local_port) for s in table.sockets}
    listed = sh("ss", "-N", server, "-tulnH").stdout.splitlines()
    theirs = set()
    for line in listed:
        proto, state, _rq, _sq, local = line.split()[:5]
        host, _, port = local.rpartition(":")
        theirs.add((proto, state, host, int(port)))
    assert mine == theirs
    assert all(p.pid == holder.pid for s in table.sockets for p in s.processes), \
        "ip netns exec execs the interpreter: the holder is the process we started"
    assert all(s.processes for s in table.sockets)


def test_reuseport_between_two_programs_is_found_and_splits_connections(pair):
    client, server, start = pair
    start(REUSE, "one")
    start(REUSE, "two")
    findings = [f for f in run_doctor(collect_snapshot())
                if f.check == "reuseport_conflict" and server in f.id]
    assert len(findings) == 1, findings
    assert "0.0.0.0:90" in findings[0].summary
    answers = set()
    for _ in range(40):  # a hash of the client port decides: both answer within 40 tries
        answers.add(_fetch(client, 90))
        if answers == {"one", "two"}:
            break
    assert answers == {"one", "two"}


def _fetch(client: str, port: int) -> str:
    done = sh("ip", "netns", "exec", client, sys.executable, "-c",
              f"import socket; s = socket.create_connection(('10.79.0.2', {port}), "
              "timeout=2); print(s.recv(10).decode())")
    time.sleep(0.01)
    return done.stdout.strip()
