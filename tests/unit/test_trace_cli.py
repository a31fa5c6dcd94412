"""The eBPF commands behave for users: no heavy imports until needed, one-line errors when
bcc, BTF or privileges are missing, and the --ebpf view of the program without loading it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from netscope.cli.drops_cmd import render_drops
from netscope.trace import preflight
from netscope.trace.drops import DropReport, NamedDrop
from netscope.trace.errors import ProbeError
from netscope.trace.kernel_names import KernelSymbols, parse_kfree_skb_format, reason_name

REPO = Path(__file__).resolve().parents[2]


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=60)


def test_building_the_cli_imports_no_bcc_scapy_or_textual():
    done = run_python("import sys; from netscope.cli.main import build_parser; build_parser();"
                      "print(sorted({m.split('.')[0] for m in sys.modules} & "
                      "{'bcc', 'scapy', 'textual'}))")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("command", [["drops", "--duration", "1"], ["trace", "--dst", "10.0.0.1"],
                                     ["check", "a", "b"]])
def test_without_bcc_each_ebpf_command_says_so_in_one_line(command):
    # a host without bcc: not importable, and no Debian bcc to load either
    done = run_python("import sys, pathlib; sys.modules['bcc'] = None\n"
                      "from netscope.trace import bcc_module\n"
                      "bcc_module.DEBIAN_DIST_PACKAGES = pathlib.Path('/nonexistent')\n"
                      "from netscope.cli.main import main\n"
                      f"sys.exit(main({command!r}))")
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "python3-bpfcc" in lines[0], done.stderr


def test_missing_btf_is_named(monkeypatch, tmp_path):
    monkeypatch.setattr(preflight, "bcc_importable", lambda: True)
    monkeypatch.setattr(preflight, "has_bpf_privileges", lambda: True)
    monkeypatch.setattr(preflight, "VMLINUX_BTF", tmp_path / "vmlinux")
    with pytest.raises(ProbeError, match="CONFIG_DEBUG_INFO_BTF"):
        preflight.require_ebpf()


@pytest.mark.skipif(not os.access("/sys/kernel/btf/vmlinux", os.R_OK), reason="no BTF")
def test_ebpf_view_shows_the_filter_and_btf_offsets_as_flags_without_loading():
    done = subprocess.run([sys.executable, "-m", "netscope.cli.main", "trace", "--ebpf",
                           "--src", "10.1.2.3", "--proto", "tcp", "--port", "443"],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    first, flags = done.stdout.splitlines()[:2]
    # the filter is written into the filter_cfg map (one compiled program serves every
    # filter); 10.1.2.3 as a little-endian CPU loads its network-order bytes
    assert "filter_cfg" in first and "'src4': 50462986" in first and "'proto': 6" in first
    assert "'port': 443" in first and "'set': 13" in first
    assert "-DOFF_SKB_DEV=" in flags and "FILTER" not in flags
    assert "NS_RAW_TP(kfree_skb)" in done.stdout


def test_kfree_skb_format_gives_reason_names():
    fmt = ('print fmt: "skbaddr=%p reason: %s", REC->skbaddr, __print_symbolic(REC->reason, '
           '{ 2, "NOT_SPECIFIED" }, { 3, "NO_SOCKET" }, { 77, "NETFILTER_DROP" })')
    names = parse_kfree_skb_format(fmt)
    assert names == {2: "NOT_SPECIFIED", 3: "NO_SOCKET", 77: "NETFILTER_DROP"}
    assert reason_name(names, 3) == "NO_SOCKET"
    assert reason_name(names, (3 << 16) | 5) == "subsys3:5"
    assert reason_name(names, 999) == "reason 999"


def test_kernel_symbols_name_addresses_inside_functions():
    syms = KernelSymbols(["ffffffff81000000 T _text", "ffffffff81000100 t ip_rcv",
                          "ffffffff81000200 D some_data", "ffffffff81000300 T ip_forward"])
    assert syms.name(0xFFFFFFFF81000123) == "ip_rcv+0x23"
    assert syms.name(0xFFFFFFFF81000300) == "ip_forward"
    assert syms.function(0xFFFFFFFF81000250) == "ip_rcv"  # data symbols are not functions
    assert not KernelSymbols(["0000000000000000 T hidden"]).usable


def test_drop_table_lists_most_drops_first_and_says_what_was_not_counted():
    drops = (NamedDrop("web", "eth0", "NO_SOCKET", "__udp4_lib_rcv+0x4bc", 5,
                       "udp 10.0.0.1:5 -> 10.0.0.2:9", 1, 2),)
    lines = render_drops(DropReport(2.0, 0.3, drops, total=5, not_counted=3))
    assert lines[0].split() == ["COUNT", "NAMESPACE", "DEVICE", "REASON", "LOCATION", "LAST",
                                "PACKET"]
    assert lines[1].split()[:4] == ["5", "web", "eth0", "NO_SOCKET"]
    assert "3 drops not counted" in lines[-1]
