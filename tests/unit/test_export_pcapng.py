"""Trace recordings as pcapng: tshark reads every hop, its comment and valid checksums."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from netscope.cli.main import main
from netscope.model.journey import Hop, Journey, Packet, Verdict
from netscope.report.pcapng import Headers, journeys_pcapng, recording_journeys
from netscope.trace.recording import load_recording

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
RECORDINGS = sorted(p.stem for p in (FIXTURES / "trace").glob("*.json")
                    if '"format": "netscope-trace-recording"' in p.read_text()[:200])
FIELDS = ("frame.interface_name", "ip.src", "ip.dst", "ip.checksum.status", "tcp.srcport",
          "tcp.dstport", "tcp.checksum.status", "udp.checksum.status", "icmp.type",
          "frame.comment")

pytestmark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")


def tshark_rows(path: Path) -> list[dict[str, str]]:
    argv = ["tshark", "-r", str(path), "-o", "ip.check_checksum:TRUE",
            "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE", "-T", "fields",
            "-E", "separator=\t", *(x for f in FIELDS for x in ("-e", f))]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "appears to be damaged" not in p.stderr and "isn't a capture file" not in p.stderr
    return [dict(zip(FIELDS, line.split("\t"), strict=True)) for line in p.stdout.splitlines()]


@pytest.mark.parametrize("name", RECORDINGS)
def test_tshark_reads_every_hop_with_its_comment(name, tmp_path):
    journeys = [j for j in recording_journeys(load_recording(str(FIXTURES / "trace" /
                                                                   f"{name}.json")))
                if j.flow is not None]
    assert journeys
    path = tmp_path / f"{name}.pcapng"
    path.write_bytes(journeys_pcapng(journeys))
    rows = tshark_rows(path)
    hops = [(j, i) for j in journeys for i in range(len(j.hops))]
    assert len(rows) == len(hops)
    for row, (j, i) in zip(rows, hops, strict=True):
        hop = j.hops[i]
        assert row["frame.interface_name"] == f"{hop.netns_name}:{hop.device}"
        assert row["frame.comment"].startswith(f"netscope journey {j.id} hop {i + 1}/")
        assert f"{hop.step} in {hop.netns_name} on {hop.device}" in row["frame.comment"]
        if hop.drop_reason:
            assert f"drop reason {hop.drop_reason}" in row["frame.comment"]
        if ":" not in j.flow.src:
            assert row["ip.checksum.status"] == "1"  # good
        for field in ("tcp.checksum.status", "udp.checksum.status"):
            assert row[field] in ("", "1")
        if i == 0:
            assert (row["ip.src"], row["ip.dst"]) == (j.flow.src, j.flow.dst)
            assert j.summary in row["frame.comment"]


def test_nat_rewrite_shows_from_the_nat_hop_on(tmp_path):
    journeys = recording_journeys(load_recording(str(FIXTURES / "trace" / "dnat-tcp.json")))
    syn = journeys[0]
    nat_at = next(i for i, h in enumerate(syn.hops) if h.nat)
    path = tmp_path / "dnat.pcapng"
    path.write_bytes(journeys_pcapng([syn]))
    rows = tshark_rows(path)
    assert (rows[nat_at - 1]["ip.dst"], rows[nat_at - 1]["tcp.dstport"]) == (
        syn.flow.dst, str(syn.flow.dport))
    assert (rows[nat_at]["ip.dst"], rows[nat_at]["tcp.dstport"]) == ("10.231.0.2", "80")


def test_ipv6_and_udp_headers(tmp_path):
    """Headers the fixtures do not hold: IPv6 ICMPv6 echo and UDP, checksums valid."""
    hop = Hop("ns:1", "a", "eth0", "xmit", ts_us=0.0, verdict="ok", link="link:1/2")
    journeys = [Journey("icmp6", (hop,), Verdict.DELIVERED, "s", observed=True, id=1,
                        flow=Packet("inet6", "fd00::1", "fd00::2", "icmpv6", 0, 0)),
                Journey("udp", (hop,), Verdict.DELIVERED, "s", observed=True, id=2,
                        flow=Packet("inet", "10.0.0.1", "10.0.0.2", "udp", 5353, 53))]
    path = tmp_path / "v6.pcapng"
    path.write_bytes(journeys_pcapng(journeys))
    p = subprocess.run(["tshark", "-r", str(path), "-o", "udp.check_checksum:TRUE", "-T",
                        "fields", "-e", "ipv6.dst", "-e", "icmpv6.type",
                        "-e", "icmpv6.checksum.status", "-e", "udp.dstport",
                        "-e", "udp.checksum.status"], capture_output=True, text=True)
    assert p.stdout.splitlines() == ["fd00::2\t128\t1\t\t", "\t\t\t53\t1"]
    assert Headers("10.0.0.1", "10.0.0.2", 6).with_nat("src 10.0.0.1:1 -> 192.0.2.1:9") == \
        Headers("192.0.2.1", "10.0.0.2", 6, 9)


def test_cli_exports_a_recording(tmp_path, capsys):
    out = tmp_path / "trace.pcapng"
    assert main(["export", str(FIXTURES / "trace" / "forward-drop.json"), "-o", str(out)]) == 0
    rows = tshark_rows(out)
    assert "NETFILTER_DROP" in rows[-1]["frame.comment"]
    capsys.readouterr()
    assert main(["export", str(FIXTURES / "bundle-after.json"), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "is not a trace recording" in err and err.count("\n") == 1
