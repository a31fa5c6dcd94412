"""Real Docker: a container on a user-defined network resolves through the embedded DNS.

Its resolv.conf (read through /proc/<pid>/root) says 127.0.0.11; the DNAT rules Docker put in
the container's own nat table send port 53 to dockerd's sockets on 127.0.0.11, and the socket
table of the namespace shows those very ports. A real A query for the container's own name,
sent from inside its namespace, is answered there (dockerd answers container names itself:
nothing leaves the host). A container on the default bridge gets a copy of the host's file.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest

from netscope.analysis.dns import dns_rows
from netscope.analysis.doctor import run_doctor
from netscope.collect.runner import collect_snapshot
from netscope.model.dns import DOCKER_EMBEDDED_DNS

pytestmark = pytest.mark.docker

QUERY = """
import socket, struct, sys
name = sys.argv[1]
q = struct.pack("!HHHHHH", 0x6e73, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\\0"
q += struct.pack("!HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.sendto(q, ("127.0.0.11", 53))
answer = s.recv(512)
flags, qd, an = struct.unpack("!HHH", answer[2:8])
print(flags & 0xF, an, socket.inet_ntoa(answer[-4:]))
"""


@pytest.fixture
def user_network(docker_engine):
    """A user-defined network, removed afterwards: after the containers on it, so request
    it before docker_run (torn down first, its removal failed while a container was still
    attached, unchecked: every run left a network, and dockerd a bridge for it, behind)."""
    name = f"nsdx{secrets.token_hex(3)}"
    docker_engine.cli("network", "create", name)
    try:
        yield name
    finally:
        docker_engine.cli("network", "rm", name)


def _inspect(engine, name: str, fmt: str) -> str:
    return engine.cli("inspect", "-f", fmt, name).stdout.strip()


def test_user_network_container_uses_embedded_dns(docker_engine, user_network, docker_run):
    app = docker_run("nsdx-app", "--network", user_network)
    plain = docker_run("nsdx-plain")
    pid = int(_inspect(docker_engine, app.name, "{{.State.Pid}}"))
    address = _inspect(docker_engine, app.name,
                       "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}")

    # a real query, from inside the container's namespace, answered by the embedded DNS
    out = subprocess.run(["nsenter", "-t", str(pid), "-n", sys.executable, "-c", QUERY,
                          app.name], capture_output=True, text=True, timeout=20)
    assert out.returncode == 0, out.stderr
    rcode, answers, first = out.stdout.split()
    assert (rcode, first) == ("0", address) and int(answers) >= 1

    snap = collect_snapshot()
    netns = next(c.netns for c in snap.containers if c.name == app.name)
    view = next(d for d in snap.dns if d.netns == netns)
    resolver = next(r for r in view.resolvers if pid in r.pids)
    assert resolver.nameservers == (DOCKER_EMBEDDED_DNS,)
    assert resolver.path == f"/proc/{pid}/root/etc/resolv.conf" and not resolver.host_file
    assert any(app.name in h.names or app.container_id[:12] in h.names
               for h in resolver.hosts), resolver.hosts

    embedded = {(s.proto, s.port) for s in view.listeners if s.address == DOCKER_EMBEDDED_DNS}
    assert {p for p, _ in embedded} == {"udp", "tcp"}, view.listeners

    row = next(r for r in dns_rows(snap) if r.resolver.id == resolver.id)
    assert row.containers == (app.name,) and row.judged
    (ns_view,) = row.nameservers
    assert ns_view.kind == "docker-embedded" and ns_view.reachable is True
    assert any("DNAT" in rule and "--dport 53" in rule for rule in ns_view.dnat)
    # the DNAT targets are the ports dockerd's sockets hold: two sources, one answer
    targets = {int(rule.rsplit(":", 1)[1]) for rule in ns_view.dnat}
    assert targets == {port for _, port in embedded}
    assert not [f for f in run_doctor(snap) if f.subject == netns
                and f.check == "nameserver_unreachable"]

    # the default bridge: no embedded DNS, a copy of the host's nameservers
    plain_ns = next(c.netns for c in snap.containers if c.name == plain.name)
    plain_view = next(d for d in snap.dns if d.netns == plain_ns)
    (plain_resolver,) = plain_view.resolvers
    assert DOCKER_EMBEDDED_DNS not in plain_resolver.nameservers
    assert not [s for s in plain_view.listeners if s.address == DOCKER_EMBEDDED_DNS]
    assert os.path.basename(plain_resolver.path) == "resolv.conf"
