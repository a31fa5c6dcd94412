"""eBPF datapaths: real BPF programs attached to a lab device (a direct-action tc filter, an
XDP program in generic mode) are found as bpftool finds them, named by the kernel, and the
static walk stops there ("decided by eBPF program NAME (id N) on DEV: netfilter does not
apply here") instead of guessing; the eBPF tracer still follows real packets through.

Lab (prefix nsbpf, removed even on failure; the programs go with its devices):
    <tag>-a: eth0 10.X.Y.1  ==veth==  eth0 10.X.Y.2 :<tag>-b
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import pytest

from netscope.analysis.path import path
from netscope.collect.runner import collect_snapshot
from netscope.host import bpf_syscall
from netscope.trace.tracer import TraceFilter
from tests.kernel.test_trace_journey import describe, require_ebpf_here, trace_while
from tests.support.netns import Namespaces, ip, pings, sh

PASS_TC, PASS_XDP = "ns_kube_tc", "ns_kube_xdp"


@pytest.fixture
def pair():
    require_ebpf_here()
    spaces = Namespaces("nsbpf")
    try:
        a, b = spaces.add("a"), spaces.add("b")
        net = f"10.{random.randint(160, 250)}.{random.randint(0, 255)}"
        ip("link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", b, ns=a)
        for ns, host in ((a, 1), (b, 2)):
            ip("addr", "add", f"{net}.{host}/24", "dev", "eth0", ns=ns)
            ip("link", "set", "eth0", "up", ns=ns)
        yield a, b, net
    finally:
        spaces.cleanup()


def attach(ns: str, dev: str, hook: str) -> None:
    sh("ip", "netns", "exec", ns, sys.executable, "-m", "tests.support.bpf_attach", dev, hook,
       timeout=60)


def bpftool_net(ns: str) -> dict:
    return json.loads(sh("ip", "netns", "exec", ns, "bpftool", "-j", "net", "show").stdout)[0]


def test_a_tc_program_is_found_named_and_decides_the_walk_and_trace_follows(pair):
    a, b, net = pair
    attach(b, "eth0", "tc-ingress")
    tool = bpftool_net(b)["tc"]
    assert [(t["devname"], t["kind"], t["name"]) for t in tool] == [
        ("eth0", "clsact/ingress", PASS_TC)], tool
    assert pings(a, f"{net}.2"), "the program passes every packet"

    snap = collect_snapshot()
    b_ns = next(ns.id for ns in snap.namespaces if ns.name == b)
    found = [p for p in snap.bpf_programs if p.netns == b_ns]
    assert len(found) == 1, found
    prog = found[0]
    assert (prog.hook, prog.name, prog.prog_type, prog.direct_action) == (
        "tc-ingress", PASS_TC, "sched_cls", True)
    assert prog.prog_id == tool[0]["id"], "the id bpftool shows"
    assert snap.links[[lk.id for lk in snap.links].index(prog.link)].name == "eth0"

    result = path(snap, a, f"{net}.2", "icmp")
    assert result.verdict == "uncertain", result.summary
    assert result.summary == (f"decided by eBPF program {PASS_TC} (id {prog.prog_id}) on eth0 "
                              "(tc-ingress): netfilter does not apply here")
    assert result.hops[-1].netns_name == b and prog.id in result.hops[-1].evidence

    flt = TraceFilter(src=f"{net}.1", dst=f"{net}.2", proto="icmp")
    traced = trace_while(flt, lambda: pings(a, f"{net}.2"))
    text = describe(traced)
    request = next(j for j in traced.journeys if not j.is_reply)
    assert request.verdict == "delivered", text
    assert any(h.netns_name == b and h.step == "receive" for h in request.hops), text
    assert any(j.is_reply for j in traced.journeys), text


def test_an_xdp_program_is_found_with_its_mode_and_stops_the_walk(pair):
    a, b, net = pair
    attach(b, "eth0", "xdp")
    tool = bpftool_net(b)["xdp"]
    assert [(x["devname"], x["mode"]) for x in tool] == [("eth0", "generic")], tool
    shown = json.loads(sh("bpftool", "-j", "prog", "show", "id", str(tool[0]["id"])).stdout)
    assert shown["name"] == PASS_XDP
    assert pings(a, f"{net}.2")

    snap = collect_snapshot()
    b_ns = next(ns.id for ns in snap.namespaces if ns.name == b)
    prog = next(p for p in snap.bpf_programs if p.netns == b_ns)
    assert (prog.hook, prog.mode, prog.name, prog.prog_type, prog.prog_id) == (
        "xdp", "skb", PASS_XDP, "xdp", tool[0]["id"])
    result = path(snap, a, f"{net}.2", "icmp")
    assert result.verdict == "uncertain"
    assert f"eBPF program {PASS_XDP} (id {prog.prog_id}) on eth0 (xdp)" in result.summary
    # the other way the program is not on the path: the walk is not stopped by it
    back = path(snap, b, f"{net}.1", "icmp")
    assert back.verdict == "delivered" and back.reply.verdict == "uncertain"


def test_run_statistics_are_the_ones_bpftool_shows(pair):
    """bench/bench_tracer.py reads the probes' run counts and times with prog_info, not with
    `bpftool prog list` (which opens every map by id: see tests/support/bpf_ids.py)."""
    a, b, net = pair
    attach(b, "eth0", "xdp")
    prog_id = bpftool_net(b)["xdp"][0]["id"]
    stats = Path("/proc/sys/kernel/bpf_stats_enabled")
    was = stats.read_text().strip()
    stats.write_text("1")
    try:
        assert pings(a, f"{net}.2")
        first = bpf_syscall.prog_info(prog_id)
        shown = json.loads(sh("bpftool", "-j", "prog", "show", "id", str(prog_id)).stdout)
        last = bpf_syscall.prog_info(prog_id)
    finally:
        stats.write_text(was)
    assert first.run_cnt >= 1, "the pings ran the program"
    assert first.run_cnt <= shown["run_cnt"] <= last.run_cnt
    assert first.run_time_ns <= shown["run_time_ns"] <= last.run_time_ns
