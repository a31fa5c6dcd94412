"""netdex on real labs: numbers for every mode, and no lab left behind (also after SIGTERM/SIGINT).

Each test runs `netscope netdex` as a user would, with lab instances named nsdx<random>-<mode>,
and compares the host before and after: the namespace netscope runs in keeps the same links
and addresses, and no namespace or journal of those instances remains.
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

from netscope.actions import labs
from netscope.collect.runner import collect_snapshot
from netscope.model import Snapshot
from netscope.netdex.modes import MODES
from tests.support.netns import require_root


@pytest.fixture
def prefix():
    reason = require_root()
    if reason:
        pytest.skip(reason)
    tag = f"nsdx{secrets.token_hex(2)}"
    try:
        yield tag
    finally:
        for mode in MODES:  # only if a test failed half-way
            labs.down(f"{tag}-{mode.key}")
        for lock in labs.labs_dir().glob(f"{tag}-*.json.lock"):
            lock.unlink()


# every device name a lab could create: one appearing in (or vanishing from) the namespace
# netscope runs in would be netdex's doing; other devices there belong to other sessions
# on this shared machine, which come and go while the test runs
LAB_DEVICES = {link.name for mode in MODES for link in labs.resolve(mode.lab).links}


def _shape(snap: Snapshot, prefix: str) -> dict:
    """ns name -> sorted (link, kind, addresses) of the namespace netscope runs in (lab
    device names only) and of every namespace of this test's lab instances."""
    ours = {ns.id: ns.name for ns in snap.namespaces
            if ns.is_self or ns.name.startswith(f"nsl-{prefix}-")}
    home = {ns.id for ns in snap.namespaces if ns.is_self}
    out: dict[str, list] = {name: [] for name in ours.values()}
    for link in snap.links:
        if link.netns in ours and (link.netns not in home or link.name in LAB_DEVICES):
            addrs = sorted(a.cidr for a in snap.addresses if a.link == link.id)
            out[ours[link.netns]].append((link.name, link.kind, tuple(addrs)))
    return {name: sorted(v) for name, v in out.items()}


def _leftovers(prefix: str) -> list[str]:
    named = os.listdir("/run/netns") if os.path.isdir("/run/netns") else []
    # the journal (a .json.lock beside it is only the lab module's lock file)
    journals = [p.name for p in labs.labs_dir().glob(f"{prefix}-*.json")] \
        if labs.labs_dir().is_dir() else []
    return [n for n in named if n.startswith(f"nsl-{prefix}-")] + journals


def _netdex(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "netscope", "netdex", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def test_every_mode_measured_and_no_lab_left_behind(prefix, tmp_path):
    before = _shape(collect_snapshot(), prefix)
    report = tmp_path / "netdex.md"
    proc = _netdex("--duration", "1", "--json", "--md", str(report), "--prefix", prefix)
    out, err = proc.communicate(timeout=300)
    after = _shape(collect_snapshot(), prefix)

    assert proc.returncode == 0, err
    doc = json.loads(out)
    assert [m["mode"] for m in doc["modes"]] == [m.key for m in MODES]
    for m in doc["modes"]:
        assert m["error"] is None, (m["mode"], m["error"])
        assert m["gbps"] > 0.1, m
        assert 0 < m["rtt_median_us"] <= m["rtt_p99_us"], m
        assert m["round_trips"] > 100, m
        assert m["conn_per_s"] > 50, m
        assert m["cpu_pct_per_gbps"] > 0, m
    host = next(m for m in doc["modes"] if m["mode"] == "host")
    assert host["relative_to_host"] == pytest.approx(1.0)
    # every mode faster than host mode carries the reason
    for m in doc["modes"]:
        if m["relative_to_host"] > 1.0:
            assert m["note"], m
    # progress was shown for every mode, and each lab came down
    for mode in MODES:
        assert f"{mode.key}: lab {prefix}-{mode.key} down" in err
    text = report.read_text()
    assert "| mode |" in text and "TCP throughput" in text and "█" in text

    assert before == after
    assert _leftovers(prefix) == []


def _wait_for(proc: subprocess.Popen, text: str, timeout: float) -> str:
    seen = ""
    deadline = time.monotonic() + timeout
    assert proc.stderr is not None
    while text not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"no {text!r} in netdex progress: {seen}"
        if select.select([proc.stderr], [], [], left)[0]:
            line = proc.stderr.readline()
            assert line, f"netdex exited early: {seen}"
            seen += line
    return seen


def _pids_in(netns: str) -> list[int]:
    out = subprocess.run(["ip", "netns", "pids", netns], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_interrupted_run_takes_the_lab_down(prefix, signum):
    before = _shape(collect_snapshot(), prefix)
    proc = _netdex("--modes", "overlay,pod", "--duration", "8", "--prefix", prefix)
    try:
        _wait_for(proc, "overlay: throughput", 60)
        time.sleep(1.0)  # iperf3 is running now
        client_ns = f"nsl-{prefix}-overlay-c1"
        measuring = _pids_in(client_ns) + _pids_in(f"nsl-{prefix}-overlay-c2")
        assert measuring, "no iperf3 running in the lab"
        started = time.monotonic()
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
        took = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert "taken down" in err
    assert took < 10, "netdex did not stop promptly"
    assert "pod:" not in err, "netdex went on to the next mode after the signal"
    for pid in measuring:
        assert not os.path.exists(f"/proc/{pid}"), f"process {pid} of the lab survived"
    assert _shape(collect_snapshot(), prefix) == before
    assert _leftovers(prefix) == []
