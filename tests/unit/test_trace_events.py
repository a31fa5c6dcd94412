"""The Python decoder and the C event structs agree byte for byte, and events round-trip."""

from __future__ import annotations

import ctypes as ct
import re
from pathlib import Path

import pytest

from netscope.trace.events import (
    EVENT_LAYOUT,
    CDropKey,
    CDropVal,
    CEvent,
    CTuple,
    PacketTuple,
    ProbeEvent,
    decode_event,
    encode_event,
)

HEADER = Path(__file__).resolve().parents[2] / "probes" / "netscope_events.h"
C_TYPES = {"__u8": ct.c_uint8, "__u16": ct.c_uint16, "__u32": ct.c_uint32,
           "__u64": ct.c_uint64, "__s32": ct.c_int32}


def c_structs() -> dict[str, type[ct.Structure]]:
    """ctypes structures built from the C header's text alone."""
    text = re.sub(r"/\*.*?\*/", "", HEADER.read_text(), flags=re.S)
    out: dict[str, type[ct.Structure]] = {}
    for name, body in re.findall(r"struct (\w+) \{(.*?)\};", text, flags=re.S):
        fields = []
        for line in body.split(";"):
            parts = line.split()
            if not parts:
                continue
            if parts[0] == "struct":
                fields.append((parts[2], out[parts[1]]))
                continue
            ctype = C_TYPES[parts[0]]
            for decl in " ".join(parts[1:]).split(","):
                decl = decl.strip()
                m = re.match(r"(\w+)\[(\d+)\]", decl)
                fields.append((m.group(1), ctype * int(m.group(2))) if m else (decl, ctype))
        out[name] = type(name, (ct.Structure,), {"_fields_": fields})
    return out


@pytest.mark.parametrize("c_name, mirror", [("ns_tuple", CTuple), ("ns_event", CEvent),
                                             ("ns_drop_key", CDropKey),
                                             ("ns_drop_val", CDropVal)])
def test_python_mirrors_have_the_header_fields_offsets_and_size(c_name, mirror):
    from_header = c_structs()[c_name]
    assert [f[0] for f in from_header._fields_] == [f[0] for f in mirror._fields_]
    for field, _ in mirror._fields_:
        assert getattr(from_header, field).offset == getattr(mirror, field).offset, field
    assert ct.sizeof(from_header) == ct.sizeof(mirror)


def test_the_fast_decoder_layout_is_the_event_struct():
    assert EVENT_LAYOUT.size == ct.sizeof(c_structs()["ns_event"])


@pytest.mark.parametrize("tup", [
    PacketTuple(4, 6, "10.0.0.1", "10.0.0.2", 40000, 80, tcp_flags=0x12, ip_id=7, seq=99),
    PacketTuple(6, 17, "fd00::1", "fd00::2", 5353, 53),
    None,
])
def test_events_round_trip(tup):
    event = ProbeEvent(ts_ns=123, hook="drop", netns=4026531833, ifindex=3, skb=0xFFFF8881,
                       tuple=tup, length=84, reply=True, rewritten=True, reason=77,
                       location=0xFFFFFFFF81000010, result=-11, fib_table=254, fib_oif=2,
                       cpu=1)
    assert decode_event(encode_event(event)) == event


def test_a_short_record_is_refused():
    with pytest.raises(ValueError, match="expected"):
        decode_event(b"\0" * 10)


@pytest.mark.parametrize("tup, text", [
    (PacketTuple(4, 6, "10.0.0.1", "10.0.0.2", 40000, 80, tcp_flags=0x02),
     "tcp 10.0.0.1:40000 -> 10.0.0.2:80 [SYN]"),
    (PacketTuple(4, 1, "10.0.0.1", "10.0.0.2", 7, 7, icmp_type=8, seq=3),
     "icmp 10.0.0.1 -> 10.0.0.2 echo-request id 7 seq 3"),
    (PacketTuple(6, 17, "fd00::1", "fd00::2", 1, 53), "udp [fd00::1]:1 -> [fd00::2]:53"),
])
def test_packets_are_described_as_a_person_reads_them(tup, text):
    assert tup.describe() == text
