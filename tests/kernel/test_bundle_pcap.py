"""Live trace to pcapng: a real ping traced with eBPF across a bridge namespace is written as
pcapng; tshark reads one packet per hop, on interfaces named <namespace>:<device>, with the
hook and verdict in each comment and the request/reply as real ICMP echo headers."""

from __future__ import annotations

import shutil
import subprocess
import threading

import pytest

from netscope.collect.runner import collect_snapshot
from netscope.report.pcapng import journeys_pcapng
from netscope.trace.places import Places
from netscope.trace.preflight import bcc_importable
from netscope.trace.session import run_trace
from netscope.trace.tracer import TraceFilter
from tests.kernel.test_trace_journey import build_bridge_lab
from tests.support.netns import Namespaces, require_root, sh


@pytest.fixture
def bridge_lab():
    """<tag>-a eth0 .1 == va -[br0 in <tag>-br]- vb == eth0 .2 <tag>-b, a random 10.x/24."""
    reason = require_root() or (None if bcc_importable() else "bcc is not installed")
    if reason:
        pytest.skip(reason)
    if shutil.which("tshark") is None:
        pytest.skip("tshark is not installed")
    spaces = Namespaces("nsr7")
    try:
        built = build_bridge_lab(spaces)
        a, b, br, net = built.a, built.b, built.br, built.net
        sh("ip", "netns", "exec", a, "busybox", "ping", "-c1", "-W2", f"{net}.2")
        yield a, b, br, net
    finally:
        spaces.cleanup()


def test_traced_ping_as_pcapng(bridge_lab, tmp_path):
    a, b, br, net = bridge_lab
    places = Places(collect_snapshot())
    threads = []

    def attached(_seconds: float) -> None:
        t = threading.Thread(target=sh, args=("ip", "netns", "exec", a, "busybox", "ping",
                                              "-c1", "-W2", f"{net}.2"), daemon=True)
        t.start()
        threads.append(t)

    result = run_trace(TraceFilter(src=f"{net}.1", dst=f"{net}.2", proto="icmp"), places,
                       count=1, timeout=8, on_attached=attached)
    for t in threads:
        t.join(timeout=5)
    journeys = [j for j in result.journeys if j.flow is not None]
    assert journeys, "the tracer saw no journey"
    path = tmp_path / "ping.pcapng"
    path.write_bytes(journeys_pcapng(journeys))
    p = subprocess.run(["tshark", "-r", str(path), "-T", "fields", "-e", "frame.interface_name",
                        "-e", "ip.src", "-e", "ip.dst", "-e", "icmp.type", "-e", "frame.comment"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    rows = [line.split("\t") for line in p.stdout.splitlines()]
    assert len(rows) == sum(len(j.hops) for j in journeys)
    request = next(j for j in journeys if not j.is_reply)
    first = rows[0]
    assert (first[1], first[2], first[3]) == (f"{net}.1", f"{net}.2", "8")
    names = {r[0] for r in rows}
    assert f"{a}:eth0" in names and f"{br}:va" in names, names
    assert any(f"in {b} on eth0" in r[4] for r in rows), "no hop in the destination namespace"
    assert request.summary in first[4]
    replies = [r for r in rows if r[3] == "0"]
    if any(j.is_reply for j in journeys):
        assert replies and replies[0][1:3] == [f"{net}.2", f"{net}.1"]


def test_trace_pcap_option_writes_what_tshark_reads(bridge_lab, tmp_path):
    import sys
    import time

    a, _b, _br, net = bridge_lab
    out = tmp_path / "cli.pcapng"
    trace = subprocess.Popen([sys.executable, "-m", "netscope", "trace", "--src", f"{net}.1",
                              "--dst", f"{net}.2", "--proto", "icmp", "--count", "1",
                              "--timeout", "15", "--pcap", str(out)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        while not out.exists() and trace.poll() is None and time.monotonic() < deadline:
            sh("ip", "netns", "exec", a, "busybox", "ping", "-c1", "-W1", f"{net}.2")
        _, err = trace.communicate(timeout=30)
    finally:
        if trace.poll() is None:
            trace.kill()
    assert trace.returncode == 0, err
    assert "pcapng" in err
    p = subprocess.run(["tshark", "-r", str(out), "-T", "fields", "-e", "frame.comment"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert len(p.stdout.splitlines()) >= 4 and a in p.stdout
