"""Sockets: the sock_diag parser on captured bytes (against `ss` of the same namespace), the
`netscope sockets` command, redaction, and the path walk ending at the socket, on snapshots
captured from real labs (fixtures/sockets-*.json, see their header notes)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from netscope.analysis.path import Verdict as End
from netscope.analysis.path import path
from netscope.host.sockdiag import parse_inet_diag
from netscope.report.redact import redact
from netscope.snapshot import load
from tests.unit.conftest import FIXTURES

DUMP = FIXTURES / "sockets" / "sockdiag-dump.txt"
KEY = b"netscope-test-key".ljust(32, b".")


def _dump() -> tuple[list[dict], list[list[str]]]:
    records, ss = [], []
    proto = None
    for line in DUMP.read_text().splitlines():
        if line.startswith("dump "):
            proto = line.split()[1]
        elif line.startswith("msg "):
            records.append(parse_inet_diag(bytes.fromhex(line[4:]), proto))
        elif line.startswith("ss "):
            ss.append(line[3:].split())
    return records, ss


def _ss_endpoint(text: str) -> tuple[str, str, str | None]:
    """ss's "addr%dev:port" -> (address, port, device)."""
    host, _, port = text.rpartition(":")
    host, _, dev = host.partition("%")
    host = host.strip("[]")
    return {"*": "::"}.get(host, host), port, dev or None


def test_parser_agrees_with_ss_on_every_socket():
    records, ss = _dump()
    assert len(records) == len(ss) == 12
    by_inode = {r["inode"]: r for r in records}
    for words in ss:
        proto, state, recv_q, send_q, local, peer = words[:6]
        extra = dict(w.split(":", 1) for w in words[6:] if ":" in w)
        r = by_inode[int(extra["ino"])]
        address, port, dev = _ss_endpoint(local)
        assert (r["proto"], r["state"]) == (proto, state)
        assert (r["recv_q"], r["send_q"]) == (int(recv_q), int(send_q))
        assert (r["local"], r["local_port"]) == (address, int(port))
        assert r["cookie"] == int(extra["sk"], 16)
        assert bool(r["ifindex"]) == (dev is not None)
        if "v6only" in extra:
            assert r["v6only"] is (extra["v6only"] == "1")
        if state == "ESTAB":
            remote, rport, _ = _ss_endpoint(peer)
            assert (r["remote"], r["remote_port"]) == (remote, int(rport))
        else:
            assert r["remote"] is None and r["remote_port"] is None


def netscope(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "netscope", *args], capture_output=True,
                          text=True, timeout=60)


def test_sockets_command_lists_listeners_connections_and_processes():
    snap = FIXTURES / "sockets-loopback.json"
    out = netscope("sockets", "--snapshot", str(snap), "--ns", "nsl-sockfix-c1")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("nsl-sockfix-c1 (ns:")
    listen = next(line for line in lines if "LISTEN" in line)
    assert "127.0.0.1:80" in listen and "python[" in listen
    assert sum("ESTAB" in line for line in lines) == 2, "both ends of the held connection"
    only = netscope("sockets", "--snapshot", str(snap), "--ns", "nsl-sockfix-c1",
                    "--listening")
    assert "ESTAB" not in only.stdout and "127.0.0.1:80" in only.stdout
    doc = json.loads(netscope("sockets", "--snapshot", str(snap), "--json").stdout)
    assert doc["format"] == "netscope-sockets" and doc["version"] == 1
    c1 = next(n for n in doc["namespaces"] if n["name"] == "nsl-sockfix-c1")
    assert c1["connections"] is True
    web = next(s for s in c1["sockets"] if s["state"] == "LISTEN")
    assert (web["local"], web["local_port"], web["processes"][0]["comm"]) == (
        "127.0.0.1", 80, "python")


def test_sockets_command_errors_are_one_line():
    bad = netscope("sockets", "--snapshot", str(FIXTURES / "sockets-loopback.json"),
                   "--ns", "nope")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    old = netscope("sockets", "--snapshot", str(FIXTURES / "docker-like-lab.json"))
    assert old.returncode == 0 and "they are unknown" in old.stdout


def test_redaction_replaces_socket_addresses_and_process_names():
    original = load(str(FIXTURES / "sockets-loopback.json"))
    redacted = redact(original, names=True, key=KEY)
    text = redacted.text
    for table in original.sockets:
        for s in table.sockets:
            for p in s.processes:
                assert f'"comm": "{p.comm}"' not in text
    assert "10.217.0.2" not in text
    table = {t.netns: t for t in redacted.snapshot.sockets}
    comms = {p.comm for t in table.values() for s in t.sockets for p in s.processes}
    assert comms and all(c.startswith("process-") for c in comms)
    # the redacted snapshot still walks to the same verdict
    inet = next(ns.id for ns in original.namespaces if ns.name == "nsl-sockfix-inet")
    result = path(redacted.snapshot, inet, redacted.rewrite("198.18.17.2"), "tcp", 8080)
    assert result.verdict == End.REFUSED
    assert result.summary.startswith("listens on 127.0.0.1:80 only")


@pytest.fixture(scope="module")
def loopback():
    return load(str(FIXTURES / "sockets-loopback.json"))


def test_walk_ends_at_the_listening_process(loopback):
    result = path(loopback, "nsl-sockfix-c1", "nsl-sockfix-c2", "tcp", 80)
    assert result.verdict == End.DELIVERED
    assert result.summary.startswith("delivered to python (pid ")
    assert result.summary.endswith("listening on 0.0.0.0:80 in nsl-sockfix-c2")
    assert result.reply is not None and result.reply.verdict == End.DELIVERED


def test_walk_says_loopback_only_and_walks_the_rst_back(loopback):
    result = path(loopback, "nsl-sockfix-inet", "198.18.17.2", "tcp", 8080)
    assert result.verdict == End.REFUSED
    assert result.summary.startswith("listens on 127.0.0.1:80 only: traffic to 10.217.0.2 "
                                    "is refused")
    assert result.end_netns and result.hops[-1].netns_name == "nsl-sockfix-c1"
    rst = result.reply
    assert rst is not None and rst.flow.proto == "tcp"
    assert rst.verdict == End.DELIVERED and rst.hops[-1].netns_name == "nsl-sockfix-inet"
    assert any(h.step == "nat" and "reverses DNAT" in h.decision for h in rst.hops)
    inside = path(loopback, "nsl-sockfix-c1", "127.0.0.1", "tcp", 80)
    assert inside.verdict == End.DELIVERED and "127.0.0.1:80" in inside.summary


def test_walk_udp_with_no_socket_gets_port_unreachable(loopback):
    result = path(loopback, "nsl-sockfix-c1", "nsl-sockfix-inet", "udp", 54)
    assert result.verdict == End.REFUSED
    assert result.summary == ("nothing listens on udp/54 in nsl-sockfix-inet (it receives on "
                             "udp/53): the kernel answers with ICMP port unreachable")
    assert result.reply.flow.proto == "icmp" and result.reply.verdict == End.DELIVERED
    assert path(loopback, "nsl-sockfix-c1", "nsl-sockfix-inet", "udp", 53).verdict == \
        End.DELIVERED


def test_walk_names_the_reuseport_group():
    snap = load(str(FIXTURES / "sockets-reuseport.json"))
    result = path(snap, "nsl-sockfix-host", "nsl-sockfix-c1", "tcp", 80)
    assert result.verdict == End.DELIVERED
    assert "one of 2 sockets sharing tcp/80 in nsl-sockfix-c1 (SO_REUSEPORT)" in result.summary


def test_walk_without_socket_data_says_unknown(docker_like_lab):
    n = {ns.name.rsplit("-", 1)[-1]: ns.name for ns in docker_like_lab.namespaces}
    result = path(docker_like_lab, n["web"], n["db"], "tcp", 5432)
    assert result.verdict == End.DELIVERED
    assert "not known: this snapshot has no sockets" in result.hops[-1].explain
