"""nftrace: the trace table netscope adds, and decoding of real NFTRACE netlink messages
(fixtures/trace/nftrace-forward-drop.json, see its note)."""

from __future__ import annotations

import json
from pathlib import Path

from netscope.trace.nftrace import _split, decode_trace, trace_table
from netscope.trace.tracer import TraceFilter

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "trace" / \
    "nftrace-forward-drop.json"


def verdicts():
    doc = json.loads(FIXTURE.read_text())
    out = []
    for hexed in doc["messages"]:
        out += _split(7, bytes.fromhex(hexed))
    return out


def test_the_forward_rule_that_dropped_the_ping_is_decoded():
    drops = [v for v in verdicts() if v.verdict == "drop"]
    assert len(drops) == 1
    v = drops[0]
    assert (v.family, v.table, v.chain, v.kind) == ("ip", "filter", "FORWARD", "rule")
    assert (v.src, v.dst, v.proto) == ("10.231.0.1", "10.231.0.2", 1)
    assert v.handle is not None and v.netns == 7 and v.decisive


def test_policy_verdicts_and_the_trace_tables_own_rule_are_recognised():
    found = verdicts()
    own = [v for v in found if v.table == "netscope_trace_1"]
    assert own and all(v.verdict in ("continue", "accept") for v in own)
    assert any(v.kind == "policy" and v.verdict == "accept" for v in own)
    # every message of one packet in one namespace carries the same trace id
    assert len({v.trace_id for v in found}) == 1


def test_other_netlink_messages_are_ignored():
    assert decode_trace(1, b"\x14\x00\x00\x00\x03\x00" + b"\x00" * 14) is None


def test_the_trace_table_marks_both_directions_at_prerouting_and_output():
    script = trace_table("netscope_trace_9",
                         TraceFilter(src="10.0.0.1", dst="10.0.0.2", proto="tcp", port=80))
    assert script.startswith("table inet netscope_trace_9 {")
    assert script.count("meta nftrace set 1") == 4
    assert "ip saddr 10.0.0.1 ip daddr 10.0.0.2 meta l4proto tcp th dport 80" in script
    assert "ip saddr 10.0.0.2 ip daddr 10.0.0.1 meta l4proto tcp th sport 80" in script
    assert "hook prerouting priority -500" in script and "hook output priority -500" in script
