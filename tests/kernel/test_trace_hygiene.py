"""Nothing netscope attaches outlives it: normal exit, Ctrl-C, SIGTERM and errors all leave no
BPF program or map behind (checked by id). Missing privileges give one line and exit 2."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from netscope.trace.places import Places
from netscope.trace.session import run_trace
from netscope.trace.tracer import TraceFilter, Tracer
from tests.kernel.test_trace_journey import require_ebpf_here
from tests.support.bpf_ids import map_ids, prog_ids

REPO = Path(__file__).resolve().parents[2]
# an address no lab uses: the probes stay attached but see nothing
QUIET_DST = "10.254.254.254"


def bpf_prog_ids() -> set[int]:
    """Loaded programs, by id, opening none of them: bpftool opens each by id, and doing so
    while a tracer's tail-call map is being released makes this kernel leak the map (see
    tests/support/bpf_ids.py)."""
    return prog_ids()


def still_loaded(ids: set[int], wait_s: float = 3.0) -> set[int]:
    """Which of `ids` are still loaded after up to wait_s: the kernel frees a program whose
    last reference was a prog-array slot a little later (deferred map release, RCU)."""
    deadline = time.monotonic() + wait_s
    while (left := ids & bpf_prog_ids()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def still_mapped(ids: set[int], wait_s: float = 3.0) -> set[int]:
    """Which of the map ids `ids` still exist after up to wait_s (released like programs)."""
    deadline = time.monotonic() + wait_s
    while (left := ids & map_ids()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


@pytest.fixture
def ebpf():
    require_ebpf_here()


def start_netscope(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "netscope.cli.main", *args], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_attached(proc: subprocess.Popen, timeout: float = 30) -> str:
    """Read stderr until the tracer says it is attached."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if "attached" in line:
            return line
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError(f"netscope never attached: {proc.stderr.read()}")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_detaches_every_probe(ebpf, sig):
    before, maps_before = bpf_prog_ids(), map_ids()
    proc = start_netscope("trace", "--dst", QUIET_DST, "--timeout", "60")
    try:
        wait_attached(proc)
        attached = bpf_prog_ids() - before
        maps = map_ids() - maps_before
        assert len(attached) >= 6, f"expected the journey probes loaded, saw {attached}"
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "Traceback" not in err, err
    assert proc.returncode == 0, err
    assert "no events lost" in out
    assert not still_loaded(attached), "probes left attached after the signal"
    assert len(maps) >= 5 and not still_mapped(maps), "maps (skb_workers ...) left behind"


def test_error_inside_the_trace_loop_detaches(ebpf, monkeypatch):
    before = bpf_prog_ids()
    seen: list[set[int]] = []

    def failing_poll(self, timeout_ms=100):
        seen.append(bpf_prog_ids() - before)
        raise RuntimeError("decoder blew up")

    monkeypatch.setattr(Tracer, "poll", failing_poll)
    from netscope.collect.runner import collect_snapshot

    with pytest.raises(RuntimeError, match="decoder blew up"):
        run_trace(TraceFilter(dst=QUIET_DST), Places(collect_snapshot()), timeout=5)
    assert seen and len(seen[0]) >= 6
    assert not still_loaded(seen[0]), "probes left attached after an error"


def test_drops_with_duration_exits_clean(ebpf):
    before = bpf_prog_ids()
    proc = subprocess.run([sys.executable, "-m", "netscope.cli.main", "drops", "--duration",
                           "0.5", "--json"], cwd=REPO, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["attach_s"] < 5 and report["duration_s"] >= 0.5
    assert not still_loaded(bpf_prog_ids() - before)


def test_without_privileges_drops_and_trace_say_so_in_one_line(ebpf):
    for args in (["drops", "--duration", "1"], ["trace", "--dst", QUIET_DST]):
        proc = subprocess.run(
            ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
             "--inh-caps=-all", sys.executable, "-m", "netscope.cli.main", *args],
            cwd=REPO, capture_output=True, text=True, timeout=60,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "root" in lines[0], proc.stderr


def test_sigterm_removes_the_nftrace_table_too(ebpf):
    from tests.kernel.test_trace_journey import build_bridge_lab, nft_tables
    from tests.support.netns import Namespaces, sh

    spaces = Namespaces("nstr")
    try:
        lab = build_bridge_lab(spaces)
        sh("ip", "netns", "exec", lab.br, "iptables", "-A", "FORWARD", "-p", "udp", "-j",
           "ACCEPT")
        before = bpf_prog_ids()
        proc = start_netscope("trace", "--src", lab.addr(1), "--dst", lab.addr(2), "--rules",
                              "--timeout", "60")
        try:
            wait_attached(proc)
            assert "netscope_trace_" in nft_tables(lab.br), "the trace table was not added"
            assert "netscope_trace_" not in nft_tables(lab.a), "added where no rules are"
            proc.send_signal(signal.SIGTERM)
            _out, err = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 0 and "Traceback" not in err, err
        assert "netscope_trace_" not in nft_tables(lab.br), "trace table left after SIGTERM"
        assert not still_loaded(bpf_prog_ids() - before)
    finally:
        spaces.cleanup()
