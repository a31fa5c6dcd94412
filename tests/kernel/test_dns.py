"""DNS view and nameserver_unreachable on a real docker-bridge lab, checked with real queries.

c1 is given (/etc/netns/<ns>/resolv.conf, as `ip netns exec` mounts it) the lab internet's
address, where the lab's server answers UDP port 53 through MASQUERADE; c2 is given the host
resolver's stub 127.0.0.53 and an address nothing routes to. A real datagram to each
nameserver decides what is reachable; the doctor must agree, naming c2 and not c1.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from netscope.actions import labs
from netscope.actions.lab_plan import ns_name
from netscope.analysis.doctor import run_doctor
from netscope.collect.runner import collect_snapshot
from netscope.netdex.measure import in_ns
from tests.support.netns import require_root

REACHABLE = "198.18.17.1"
UNROUTED = "10.99.99.99"
STUB = "127.0.0.53"

ASK = ("import socket,sys\n"
       "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.settimeout(1)\n"
       "s.sendto(b'query', (sys.argv[1], 53))\n"
       "try:\n print(s.recv(512).decode().strip())\n"
       "except OSError as e:\n print('no answer:', e); sys.exit(1)\n")


@pytest.fixture
def lab():
    reason = require_root()
    if reason:
        pytest.skip(reason)
    instance = f"nsdx{secrets.token_hex(2)}-dns"
    etc = [Path("/etc/netns") / ns_name(instance, n) for n in ("c1", "c2")]
    sleepers: list[subprocess.Popen] = []
    try:
        labs.up(labs.resolve("docker-bridge"), instance)
        for path, servers in zip(etc, ([REACHABLE], [STUB, UNROUTED]), strict=True):
            path.mkdir(parents=True)
            (path / "resolv.conf").write_text(
                "".join(f"nameserver {s}\n" for s in servers)
                + "search svc.lab.example\noptions ndots:5 timeout:1\n")
        for node in ("c1", "c2"):  # processes that resolve with those files
            sleepers.append(subprocess.Popen(in_ns(ns_name(instance, node), ["sleep", "120"])))
        yield instance
    finally:
        for p in sleepers:
            p.kill()
            p.wait()
        labs.down(instance)
        for path in etc:
            shutil.rmtree(path, ignore_errors=True)
        for lock in labs.labs_dir().glob(f"{instance}.json.lock"):
            lock.unlink()


def ask(netns: str, server: str) -> bool:
    out = subprocess.run(in_ns(netns, [sys.executable, "-c", ASK, server]),
                         capture_output=True, text=True, timeout=10)
    return out.returncode == 0


def test_unreachable_nameserver_is_found_as_real_queries_fail(lab):
    c1, c2 = ns_name(lab, "c1"), ns_name(lab, "c2")
    assert ask(c1, REACHABLE)
    assert not ask(c2, STUB) and not ask(c2, UNROUTED)

    snap = collect_snapshot()
    ids = {ns.name: ns.id for ns in snap.namespaces}
    findings = [f for f in run_doctor(snap) if f.subject in (ids[c1], ids[c2])]
    assert [f.check for f in findings] == ["nameserver_unreachable"]
    (finding,) = findings
    assert finding.subject == ids[c2] and finding.severity == "error"
    assert STUB in finding.summary and UNROUTED in finding.summary
    assert "systemd-resolved" in finding.summary and "no route" in finding.summary

    # the resolver as c2's process reads it: through /proc/<pid>/root, /etc/netns mounted
    view = next(d for d in snap.dns if d.netns == ids[c2])
    mine = [r for r in view.resolvers if STUB in r.nameservers]
    assert len(mine) == 1 and mine[0].pids and not mine[0].host_file
    assert mine[0].path.startswith("/proc/") and mine[0].ndots == 5
    assert mine[0].search == ("svc.lab.example",)
    # the lab's own servers inherit the host's file: shown, not judged
    assert any(r.host_file for r in next(d for d in snap.dns if d.netns == ids[c1]).resolvers)


def test_dns_command_shows_where_queries_go(lab):
    c1, c2 = ns_name(lab, "c1"), ns_name(lab, "c2")
    out = subprocess.run([sys.executable, "-m", "netscope", "dns", "--ns", c2, "--json"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    rows = [r for r in json.loads(out.stdout)["namespaces"] if r["judged"]]
    (row,) = rows
    views = {v["nameserver"]: v for v in row["nameservers"]}
    assert views[STUB]["reachable"] is False and views[STUB]["kind"] == "loopback"
    assert views[UNROUTED]["reachable"] is False
    assert views[UNROUTED]["path_end"] == "no_route"

    out = subprocess.run([sys.executable, "-m", "netscope", "dns", "--ns", c1, "--path"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    line = next(ln for ln in out.stdout.splitlines() if f"nameserver {REACHABLE}" in ln)
    assert " ok " in line and ns_name(lab, "inet") in line
    assert "answered by udp 0.0.0.0:53" in out.stdout
    assert "MASQUERADE" in out.stdout  # the walk's hops, printed on request
