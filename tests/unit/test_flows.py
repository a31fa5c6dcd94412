"""Flows from a captured lab (fixtures/flows-dns-lab.json, see its note): sizes, direction, NAT,
merging of one connection seen in several namespaces, per-container rows, the CLI."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest

from netscope.actions import accounting
from netscope.actions import journal as jr
from netscope.analysis.flows import (
    EAST_WEST,
    NORTH_SOUTH,
    flow_rows,
    flows,
    neighbourhood,
    payload,
    sources,
)
from netscope.model.netfilter import ConntrackEntry, ConntrackTable, CtTuple
from netscope.snapshot import load
from tests.unit.conftest import FIXTURES

FIXTURE = FIXTURES / "flows-dns-lab.json"
SENT, ANSWER = 10_000_000, 1_000_000
BIG = 65536 + len("web 198.18.17.1\n")


@pytest.fixture(scope="module")
def lab():
    return load(str(FIXTURE))


def _ns(snap, node: str) -> str:
    return next(n.id for n in snap.namespaces if n.name == f"nsl-nsdxcap-{node}")


def _near(value, expected) -> bool:
    return value is not None and abs(value - expected) <= 0.05 * expected


def _by(flows_, client: str, server: str):
    return [f for f in flows_ if f.client.name.endswith(client) and f.server.name.endswith(
        server)]


def test_known_traffic_is_counted_and_classified(lab):
    found = flows(lab)
    (east,) = [f for f in _by(found, "-c1", "-c2") if f.server.port == 7001]
    assert east.direction == EAST_WEST and east.nat == ()
    assert _near(east.to_server_payload, SENT) and _near(east.to_client_payload, ANSWER)
    assert east.to_client_bytes > east.to_client_payload  # IP bytes: headers, and the ACKs

    (north,) = [f for f in _by(found, "-c1", "-inet") if f.server.port == 7001]
    assert north.direction == NORTH_SOUTH and north.server.outside
    assert _near(north.to_server_payload, SENT) and _near(north.to_client_payload, ANSWER)
    assert north.nat[0].startswith("SNAT 10.217.0.2:") and "198.18.17.2" in north.nat[0]
    assert "uplink" in north.why

    (pub,) = [f for f in _by(found, "-inet", "-c1") if f.dialled == "198.18.17.2:8080"]
    assert pub.direction == NORTH_SOUTH and "published port 198.18.17.2:8080" in pub.why
    assert pub.nat == ("DNAT 198.18.17.2:8080 -> 10.217.0.2:80",)
    assert pub.server.text() == "10.217.0.2:80" and _near(pub.to_client_payload, BIG)
    # largest first
    assert found.index(east) < found.index(pub) and found.index(north) < found.index(pub)


def test_rows_are_per_namespace_from_its_side(lab):
    c1, c2 = _ns(lab, "c1"), _ns(lab, "c2")
    rows = flow_rows(lab, c1)
    assert rows and {r.netns for r in rows} == {c1}
    out = next(r for r in rows if r.role == "client" and r.peer.netns == c2)
    assert _near(out.sent_payload, SENT) and _near(out.received_payload, ANSWER)
    served = next(r for r in rows if r.role == "server")
    assert served.sent_bytes == served.flow.to_client_bytes
    assert _near(served.sent_payload, BIG)
    # c2 sees the same flow the other way round; the outside end gets no row
    back = next(r for r in flow_rows(lab, c2) if r.peer.netns == c1)
    assert (back.sent_bytes, back.received_bytes) == (out.received_bytes, out.sent_bytes)
    inet = _ns(lab, "inet")
    assert not [r for r in flow_rows(lab) if r.netns == inet], "inet is outside the host"
    assert len({r.flow.id for r in flow_rows(lab, None, top=1)}) == 1


def _with_table(snap, table: ConntrackTable):
    others = tuple(t for t in snap.conntrack if t.netns != table.netns)
    return dataclasses.replace(snap, conntrack=(*others, table))


def test_one_connection_seen_in_several_namespaces_is_one_flow(lab):
    host, c1, inet = _ns(lab, "host"), _ns(lab, "c1"), _ns(lab, "inet")
    tracked = next(t for t in lab.conntrack if t.netns == host)
    (north,) = [f for f in _by(flows(lab), "-c1", "-inet") if f.server.port == 7001]
    entry = next(e for e in tracked.entries if e.id == north.id)
    # conntrack also running in c1 (same tuple) and in inet (the tuple after MASQUERADE)
    in_c1 = dataclasses.replace(entry, id="ct:c1/1", orig_bytes=None, reply_bytes=None)
    after_nat = CtTuple(entry.reply.dst, entry.reply.src, entry.reply.dport, entry.reply.sport)
    in_inet = ConntrackEntry("ct:inet/1", entry.family, entry.proto, after_nat,
                             CtTuple(after_nat.dst, after_nat.src, after_nat.dport,
                                     after_nat.sport))
    snap = _with_table(_with_table(lab, ConntrackTable(f"conntrack:{c1}", c1, True,
                                                       entries=(in_c1,))),
                       ConntrackTable(f"conntrack:{inet}", inet, True, entries=(in_inet,)))
    merged = [f for f in flows(snap) if f.server.port == 7001 and f.client.name.endswith("c1")
              and f.server.name.endswith("inet")]
    assert len(merged) == 1
    (flow,) = merged
    assert flow.id == north.id and flow.tracked_in[0] == host  # the forwarder speaks
    assert set(flow.tracked_in) == {host, c1, inet}
    assert flow.to_server_bytes == north.to_server_bytes


def test_without_an_uplink_everything_here_is_east_west(lab):
    host = _ns(lab, "host")
    routes = tuple(r for r in lab.routes if not (r.netns == host and r.is_default))
    snap = dataclasses.replace(lab, routes=routes)
    (north,) = [f for f in _by(flows(snap), "-c1", "-inet") if f.server.port == 7001]
    assert north.direction == EAST_WEST


def test_sources_and_neighbourhood(lab):
    host, c1 = _ns(lab, "host"), _ns(lab, "c1")
    by_ns = {s.netns: s for s in sources(lab)}
    assert by_ns[host].active and by_ns[host].accounting
    assert not by_ns[c1].active
    assert neighbourhood(lab, c1) == {c1, host}


def netscope(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "netscope", *args], capture_output=True,
                          text=True, timeout=60)


def test_cli_json_text_and_errors():
    out = netscope("flows", "--snapshot", str(FIXTURE), "--ns", "nsl-nsdxcap-c1", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["format"] == "netscope-flows" and doc["accounting_enabled"] == []
    assert {r["name"] for r in doc["rows"]} == {"nsl-nsdxcap-c1"}
    assert all(f["direction"] in (EAST_WEST, NORTH_SOUTH) for f in doc["flows"])

    text = netscope("flows", "--snapshot", str(FIXTURE)).stdout
    assert "accounting on: nsl-nsdxcap-host" in text and "east-west" in text

    bad = netscope("flows", "--snapshot", str(FIXTURE), "--ns", "nope")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    live_only = netscope("flows", "--snapshot", str(FIXTURE), "--enable-accounting")
    assert live_only.returncode == 2 and "--snapshot" in live_only.stderr


def test_accounting_plan_and_orphans(tmp_path, monkeypatch):
    ops = accounting.plan_enable([None, "lab-host", "lab-host"])
    assert [op.shell() for op in ops] == [
        "sysctl -w net.netfilter.nf_conntrack_acct=1",
        "ip netns exec lab-host sysctl -w net.netfilter.nf_conntrack_acct=1"]
    # a journal left by a netscope that died: restored (here: the namespace is gone) and removed
    monkeypatch.setenv(jr.ENV_STATE_DIR, str(tmp_path))
    orphan = jr.Journal(accounting.accounting_dir() / "x.json", kind=accounting.KIND,
                        title="t", plan=list(ops[1:]), meta={"pid": 999999999,
                                                             "start_time": 1})
    orphan.done.append(jr.Done(ops[1], accounting.Sysctl("nsdx-gone", accounting.SYSCTL, "0")))
    orphan.save()
    assert accounting.restore_orphans() == 1
    assert not orphan.path.exists()


@pytest.mark.parametrize("args, expected", [
    ((66028, 9, "ipv4", "tcp"), 65560),      # 65552 sent: the SYN's header is 8 bytes longer
    ((1000, 10, "ipv6", "tcp"), 280),
    ((328, 1, "ipv4", "udp"), 300),
    ((84, 1, "ipv4", "icmp"), None),
    ((None, None, "ipv4", "tcp"), None),
    ((40, 1, "ipv4", "tcp"), 0),
])
def test_payload(args, expected):
    assert payload(*args) == expected
