"""netscope flows on a real docker-bridge lab: known traffic is counted within 5% and classified.

c1 sends 10 MB to c2 and gets 1 MB back (east-west, bridged on the lab's docker0), does the
same with the "internet" namespace (north-south, MASQUERADE), and the internet fetches 64 KiB
from c1's web server through the published port 8080 (north-south, DNAT). Accounting is
turned on by `netscope flows --enable-accounting --ns c1` itself, and must be off again after.
"""

from __future__ import annotations

import json
import os
import secrets
import select
import signal
import subprocess
import sys
import time

import pytest

from netscope.actions import accounting, labs
from netscope.actions.lab_plan import ns_name
from netscope.netdex.measure import ENDPOINT_SCRIPT, Processes, in_ns
from tests.support.netns import require_root

SENT, ANSWER = 10_000_000, 1_000_000
PORT = 7001
ACCT = "/proc/sys/net/netfilter/nf_conntrack_acct"


@pytest.fixture
def lab():
    reason = require_root()
    if reason:
        pytest.skip(reason)
    instance = f"nsdx{secrets.token_hex(2)}-fl"
    try:
        labs.up(labs.resolve("docker-bridge"), instance)
        yield instance
    finally:
        labs.down(instance)
        for lock in labs.labs_dir().glob(f"{instance}.json.lock"):
            lock.unlink()


def _acct(netns: str) -> str:
    return subprocess.run(["ip", "netns", "exec", netns, "cat", ACCT], capture_output=True,
                          text=True, check=True).stdout.strip()


def _send(netns: str, host: str) -> dict:
    out = subprocess.run(in_ns(netns, [sys.executable, ENDPOINT_SCRIPT, "send", "--host", host,
                                       "--port", str(PORT), "--bytes", str(SENT)]),
                         capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout)


def _fetch_published(netns: str, address: str) -> int:
    """`big` through the published port: c1's web server answers a line + 64 KiB."""
    script = ("import socket,sys\n"
              "s=socket.create_connection((sys.argv[1],8080),timeout=5)\n"
              "s.sendall(b'big\\n'); n=0\n"
              "while True:\n c=s.recv(65536)\n if not c: break\n n+=len(c)\n"
              "print(n, s.getsockname()[1])\n")
    out = subprocess.run(in_ns(netns, [sys.executable, "-c", script, address]),
                         capture_output=True, text=True, timeout=30, check=True)
    return int(out.stdout.split()[1])


def _near(value: int | None, expected: int) -> bool:
    return value is not None and abs(value - expected) <= 0.05 * expected


def _answered(sink: subprocess.Popen) -> int:
    """What the sink put on the wire answering its one connection (it says once acked)."""
    seen = b""
    while b"}" not in seen:  # read the pipe itself, as Processes.start did ("ready" ...)
        if not select.select([sink.stdout], [], [], 20)[0]:
            raise AssertionError(f"the sink did not report (it said {seen!r})")
        chunk = os.read(sink.stdout.fileno(), 4096)
        assert chunk, f"the sink ended (it said {seen!r})"
        seen += chunk
    report = seen[seen.index(b"{"):seen.index(b"}") + 1]
    return json.loads(report)["wire_sent"]


def _carried(flow: dict, sent: dict) -> None:
    """The payload estimates are the data each side's TCP sent (tcpi_bytes_sent, what
    conntrack counted), within 5%, and never below the application's bytes."""
    assert sent["wire_sent"] >= SENT and sent["answered"] >= ANSWER, sent
    assert _near(flow["to_server_payload"], sent["wire_sent"]), (flow, sent)
    assert _near(flow["to_client_payload"], sent["answered"]), (flow, sent)
    assert flow["to_server_payload"] >= SENT and flow["to_client_payload"] >= ANSWER


def test_known_traffic_counted_and_classified(lab):
    c1, c2, inet, host = (ns_name(lab, n) for n in ("c1", "c2", "inet", "host"))
    acct_before = _acct(host)
    assert acct_before == "0", "the lab's host namespace starts with accounting off"
    with Processes() as procs:
        sinks = {server: procs.start(in_ns(server, [sys.executable, ENDPOINT_SCRIPT, "sink",
                                                    "--port", str(PORT), "--reply",
                                                    str(ANSWER)]), "ready", "sink")
                 for server in (c2, inet)}
        flows = subprocess.Popen(
            [sys.executable, "-m", "netscope", "flows", "--ns", c1, "--enable-accounting",
             "--wait", "6", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            said = ""
            deadline = time.monotonic() + 30
            while "turned on" not in said:
                assert time.monotonic() < deadline, said
                if select.select([flows.stderr], [], [], 1)[0]:
                    line = flows.stderr.readline()
                    assert line, said
                    said += line
            assert host in said and _acct(host) == "1"
            east = _send(c1, "10.217.0.3")
            east["answered"] = _answered(sinks[c2])
            north = _send(c1, "198.18.17.1")
            north["answered"] = _answered(sinks[inet])
            published_port = _fetch_published(inet, "198.18.17.2")
            out, err = flows.communicate(timeout=60)
        finally:
            if flows.poll() is None:
                flows.kill()
                flows.communicate()
    assert flows.returncode == 0, err
    assert "turned back off" in err
    assert _acct(host) == acct_before

    doc = json.loads(out)
    assert host in doc["accounting_enabled"]
    by_port = {}
    for f in doc["flows"]:
        by_port[f["client"]["port"]] = f

    ew = by_port[east["sport"]]
    assert ew["direction"] == "east-west", ew
    assert (ew["client"]["name"], ew["server"]["name"]) == (c1, c2)
    # the data TCP carried within 5%: what each end put on the wire, retransmissions
    # included (a 64 KiB burst sent again is 6.5% of the 1 MB answer, and conntrack counts
    # it: the application's bytes are a lower bound, not what conntrack can measure)
    _carried(ew, east)
    assert _near(ew["to_server_bytes"], east["wire_sent"]), ew
    assert ew["to_client_bytes"] >= ew["to_client_payload"] >= ANSWER * 0.95
    assert ew["nat"] == []

    ns = by_port[north["sport"]]
    assert ns["direction"] == "north-south", ns
    assert ns["server"]["outside"] and ns["client"]["name"] == c1
    _carried(ns, north)
    assert any(n.startswith("SNAT 10.217.0.2:") and "198.18.17.2" in n for n in ns["nat"]), ns

    pub = by_port[published_port]
    assert pub["direction"] == "north-south" and "published port" in pub["why"], pub
    assert pub["client"]["outside"] and pub["server"]["name"] == c1
    assert pub["nat"] == ["DNAT 198.18.17.2:8080 -> 10.217.0.2:80"]
    assert _near(pub["to_client_payload"], 64 * 1024 + len("web 198.18.17.1\n")), pub

    # per container: c1's rows say what c1 sent and received in each flow
    rows = {(r["flow"], r["role"]): r for r in doc["rows"]}
    mine = rows[(ew["id"], "client")]
    assert mine["name"] == c1 and _near(mine["sent_payload"], SENT)
    assert _near(mine["received_payload"], ANSWER)
    assert rows[(pub["id"], "server")]["sent_bytes"] == pub["to_client_bytes"]
    assert all(r["netns"] == doc["rows"][0]["netns"] for r in doc["rows"]), "--ns c1 only"


def _start_counting(c1: str, wait: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "netscope", "flows", "--ns", c1, "--enable-accounting",
         "--wait", wait], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    said = ""
    deadline = time.monotonic() + 30
    while "turned on" not in said:
        assert time.monotonic() < deadline and proc.poll() is None, said
        if select.select([proc.stderr], [], [], 1)[0]:
            said += proc.stderr.readline()
    return proc, said


def test_sigterm_while_counting_turns_accounting_back_off(lab):
    c1, host = ns_name(lab, "c1"), ns_name(lab, "host")
    proc, _ = _start_counting(c1, "120")
    try:
        assert _acct(host) == "1"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0 and "turned back off" in err, err
    assert _acct(host) == "0"
    assert "source: conntrack" in out


def test_accounting_left_on_by_a_killed_netscope_is_restored_next_time(lab):
    c1, host = ns_name(lab, "c1"), ns_name(lab, "host")
    proc, _ = _start_counting(c1, "120")
    proc.kill()  # SIGKILL: no chance to restore
    proc.communicate()
    assert _acct(host) == "1"
    orphans = list(accounting.accounting_dir().glob("*.json"))
    assert orphans
    again, _ = _start_counting(c1, "0.5")
    _, err = again.communicate(timeout=60)
    assert again.returncode == 0, err
    assert _acct(host) == "0"
    assert not [p for p in orphans if p.exists()]
