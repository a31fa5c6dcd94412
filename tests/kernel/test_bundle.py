"""Bug-report bundle on a live lab: `netscope snapshot --redact` leaves none of the lab's
addresses, MACs or names; diff names exactly a fault planted between two snapshots; the HTML
export renders in Chromium inside a namespace with no network at all."""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from netscope.analysis.doctor import run_doctor
from netscope.collect.runner import collect_snapshot
from netscope.report.diff import diff_snapshots
from netscope.report.redact import redact
from netscope.snapshot.codec import encode
from tests.support.leaks import holds
from tests.support.netns import require_root, wait_ipv6_settled

NETSCOPE = (sys.executable, "-m", "netscope")


def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    p = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({p.returncode}): {p.stderr[-500:]}")
    return p


@pytest.fixture(scope="module")
def lab():
    """docker-bridge as instance nsr7<hex>: namespaces nsl-nsr7<hex>-{host,c1,c2,inet}."""
    reason = require_root()
    if reason:
        pytest.skip(reason)
    instance = f"nsr7{secrets.token_hex(2)}"
    try:
        run(*NETSCOPE, "lab", "up", "docker-bridge", "--instance", instance, "-q", "--check")
        yield f"nsl-{instance}"
    finally:
        run(*NETSCOPE, "lab", "down", instance, check=False)


def _lab_values(prefix: str) -> tuple[set[str], set[str]]:
    """Addresses and MACs of the lab's interfaces, read with `ip -j` (not by netscope)."""
    ips, macs = set(), set()
    for node in ("host", "c1", "c2", "inet"):
        ns = f"{prefix}-{node}"
        for link in json.loads(run("ip", "-n", ns, "-j", "addr").stdout):
            if link.get("address") and link["ifname"] != "lo":
                macs.add(link["address"])
            ips.update(a["local"] for a in link.get("addr_info", ())
                       if not a["local"].startswith(("127.", "::1")))
    return ips, macs


def test_redacted_live_snapshot_leaves_nothing_of_the_lab(lab, tmp_path):
    out = tmp_path / "host.json"
    run(*NETSCOPE, "snapshot", "--redact", "--redact-names", "-o", str(out))
    text = out.read_text()
    ips, macs = _lab_values(lab)
    assert len(ips) >= 6 and len(macs) >= 6
    for ip in ips:
        assert not holds(text, ip), ip
    for mac in macs:
        assert mac not in text.lower(), mac
    assert lab not in text
    assert '"hostname": "redacted-host"' in text
    shown = run(*NETSCOPE, "show", "--snapshot", str(out)).stdout
    assert shown.startswith("redacted-host")


def test_one_command_bundle_from_the_live_host(lab, tmp_path):
    outs = [tmp_path / f"host.{ext}" for ext in ("json", "html", "md")]
    run(*NETSCOPE, "export", "--live", "--redact", "--redact-names",
        *(x for o in outs for x in ("-o", str(o))))
    ips, macs = _lab_values(lab)
    for out in outs:
        text = out.read_text()
        assert lab not in text, out.name
        for ip in ips:
            assert not holds(text, ip), ip
        for mac in macs:
            assert mac not in text.lower(), mac
    shown = run(*NETSCOPE, "show", "--snapshot", str(outs[0])).stdout
    assert shown.startswith("redacted-host")
    assert shown.count("netns-") >= 4  # the lab's namespaces, renamed


def test_live_redaction_keeps_doctor_findings(lab):
    snap = collect_snapshot()
    red = redact(snap, names=True)
    before = sorted(red.rewrite(json.dumps(encode(f), sort_keys=True)) for f in run_doctor(snap))
    after = sorted(json.dumps(encode(f), sort_keys=True) for f in run_doctor(red.snapshot))
    assert after == before


def test_diff_names_exactly_the_planted_fault(lab, tmp_path):
    wait_ipv6_settled([f"{lab}-{node}" for node in ("host", "c1", "c2", "inet")])
    before = collect_snapshot()
    run("ip", "-n", f"{lab}-c1", "link", "set", "eth0", "mtu", "1400")
    run("ip", "-n", f"{lab}-c2", "route", "del", "default")
    try:
        after = collect_snapshot()
    finally:
        run("ip", "-n", f"{lab}-c1", "link", "set", "eth0", "mtu", "1500", check=False)
        run("ip", "-n", f"{lab}-c2", "route", "add", "default", "via", "10.217.0.1",
            check=False)
    mine = [c for c in diff_snapshots(before, after).changes if c.netns.startswith(lab)]
    assert [(c.change, c.what, c.netns, c.subject) for c in mine] == [
        ("changed", "link", f"{lab}-c1", "eth0"),
        ("removed", "route", f"{lab}-c2", "default via 10.217.0.1 dev eth0"),
    ]
    assert mine[0].detail == "mtu 1500 -> 1400"


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_html_renders_in_a_namespace_without_network(lab, tmp_path):
    """Chromium runs inside a fresh namespace (only lo, down): the page needs nothing."""
    snap_file, page = tmp_path / "host.json", tmp_path / "host.html"
    run(*NETSCOPE, "snapshot", "-o", str(snap_file))
    run(*NETSCOPE, "export", str(snap_file), "-o", str(page))
    offline = f"{lab}-offline"
    run("ip", "netns", "add", offline)
    profile = tempfile.mkdtemp(prefix="netscope-chromium-")
    try:
        dom = run("ip", "netns", "exec", offline, "chromium", "--headless", "--no-sandbox",
                  "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run",
                  f"--user-data-dir={profile}", "--dump-dom", page.as_uri()).stdout
    finally:
        run("ip", "netns", "del", offline, check=False)
        shutil.rmtree(profile, ignore_errors=True)
    assert "<svg" in dom
    for node in ("host", "c1", "c2", "inet"):
        assert f'class="nsname">{lab}-{node}<' in dom
    assert Path(page).stat().st_size > 10_000
