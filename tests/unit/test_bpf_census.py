"""The eBPF datapath collector asks interfaces for tc and tcx programs only when the host has
a program those hooks take (sched_cls, sched_act) loaded: at 1,000 namespaces the per-interface
questions cost ~48 ms of a snapshot on a host that has none.

bpf(2) is replaced here by a census of what is loaded; the collector's real reads of real
programs (a tc filter, an XDP program) are tests/kernel/test_bpf_datapath.py.
"""

from __future__ import annotations

import errno

import pytest

from netscope.collect import bpf_datapath
from netscope.collect.base import NsContext
from netscope.host import bpf_syscall
from netscope.host.bpf_syscall import BpfUnavailable, ProgInfo
from netscope.model.l2 import Link


def census(monkeypatch, types: dict[int, str] | Exception) -> list[str]:
    """Make the host's loaded programs `types` (id -> type) and record what is asked."""
    asked: list[str] = []

    def next_ids(cmd):
        if isinstance(types, Exception):
            raise types
        return sorted(types)

    def prog_info(prog_id):
        if isinstance(types, Exception):
            raise types
        if prog_id not in types:
            raise BpfUnavailable(errno.ENOENT, "gone")
        return ProgInfo(prog_id, f"p{prog_id}", types[prog_id], "00")

    def hook_points(sock):
        asked.append("tc")
        return []

    def attached(ifindex, kind):
        asked.append(f"tcx {ifindex}")
        return []

    monkeypatch.setattr(bpf_syscall, "next_ids", next_ids)
    monkeypatch.setattr(bpf_syscall, "prog_info", prog_info)
    monkeypatch.setattr(bpf_syscall, "attached", attached)
    monkeypatch.setattr(bpf_datapath.tc, "hook_points", hook_points)
    return asked


def read(collector) -> list:
    ctx = NsContext(4026531840, -1, None)
    eth0 = Link(id="link:4026531840/2", netns="netns:4026531840", ifindex=2, name="eth0",
                kind="veth", operstate="UP", flags=[], mtu=1500,
                details={"xdp_prog_id": 7, "xdp": "generic"})
    ctx.results["links"] = [eth0]
    collector.begin()
    return collector.collect(ctx)


@pytest.mark.parametrize("types,asks", [
    ({7: "xdp", 9: "cgroup_skb"}, False),  # nothing tc or tcx could hold
    ({}, False),
    ({7: "xdp", 12: "sched_cls"}, True),
    ({7: "xdp", 12: "sched_act"}, True),
    (BpfUnavailable(errno.EPERM, "not permitted"), True),  # not told: ask every interface
])
def test_interfaces_are_asked_only_when_a_classifier_is_loaded(monkeypatch, types, asks):
    asked = census(monkeypatch, types)
    found = read(bpf_datapath.BpfDatapathCollector())
    assert asked == (["tc", "tcx 2", "tcx 2"] if asks else [])
    # XDP comes with the link and is reported either way
    assert [(b.hook, b.prog_id) for b in found] == [("xdp", 7)]
