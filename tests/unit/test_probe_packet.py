"""The test packet `netscope check` sends, as bytes: what scapy builds must be a packet the
kernel accepts (checksums right, our id and ports where the tracer looks for them)."""

from __future__ import annotations

import struct

import pytest

from netscope.trace import probe_packet
from netscope.trace.probe_packet import craft, scapy_missing


def ones_complement_sum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def pseudo_header(ip: bytes, proto: int, length: int) -> bytes:
    return ip[12:20] + struct.pack("!BBH", 0, proto, length)


@pytest.mark.parametrize("proto,number", [("icmp", 1), ("tcp", 6), ("udp", 17)])
def test_crafted_packets_are_valid_ipv4_with_our_marks(proto, number):
    dport = 41234 if proto == "icmp" else 80
    p = probe_packet.TestPacket(proto, "10.217.0.2", "10.217.0.3", 41234, dport, seq=1)
    data = craft(p)
    ihl = (data[0] & 0x0F) * 4
    ip, l4 = data[:ihl], data[ihl:]
    assert data[0] >> 4 == 4 and ip[9] == number and ip[8] == 64
    assert struct.unpack("!H", ip[2:4])[0] == len(data)
    assert ones_complement_sum(ip) == 0xFFFF  # header checksum
    assert ip[12:16] == bytes([10, 217, 0, 2]) and ip[16:20] == bytes([10, 217, 0, 3])
    if proto == "icmp":
        assert l4[0] == 8 and struct.unpack("!HH", l4[4:8]) == (41234, 1)
        assert ones_complement_sum(l4) == 0xFFFF
    else:
        assert struct.unpack("!HH", l4[:4]) == (41234, 80)
        assert ones_complement_sum(pseudo_header(ip, number, len(l4)) + l4) == 0xFFFF
    if proto == "tcp":
        assert l4[13] == 0x02  # SYN only


def test_without_scapy_check_says_how_to_get_it(monkeypatch):
    import importlib.util

    assert scapy_missing() is None  # the test environment has the extra
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "scapy" else real(name, *a))
    assert "pip install 'netscope[check]'" in scapy_missing()
