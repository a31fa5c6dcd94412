"""Probe events as Python values: decoded from the bytes of probes/netscope_events.h.

Pure code (ctypes layouts + frozen dataclasses), so recorded events decode without root or bcc.
The ctypes structures mirror the C structs field for field; test_trace_events checks both.
"""

from __future__ import annotations

import ctypes as ct
import functools
import ipaddress
import struct
from typing import NamedTuple

from netscope.model.journey import PROTOCOLS

HOOKS = {1: "receive", 2: "queue", 3: "xmit", 4: "drop", 5: "consume", 6: "fib",
         7: "connect"}
F_REPLY, F_TUPLE, F_FOLLOWED, F_REWRITTEN, F_TASK_NS, F_IN_RX = 1, 2, 4, 8, 0x10, 0x20
PROTO_NUMBERS = {"icmp": 1, "tcp": 6, "udp": 17}  # what the in-kernel filter takes
TCP_FLAG_NAMES = ((0x02, "SYN"), (0x10, "ACK"), (0x01, "FIN"), (0x04, "RST"), (0x08, "PSH"))
ICMP_TYPES = {0: "echo-reply", 3: "unreachable", 8: "echo-request", 11: "time-exceeded",
              128: "echo-request", 129: "echo-reply"}
COUNTER_SLOTS = ("lost", "emitted", "drops", "drop_keys_full")


class CTuple(ct.Structure):
    _fields_ = [("saddr", ct.c_uint8 * 16), ("daddr", ct.c_uint8 * 16),
                ("sport", ct.c_uint16), ("dport", ct.c_uint16), ("family", ct.c_uint8),
                ("proto", ct.c_uint8), ("icmp_type", ct.c_uint8), ("tcp_flags", ct.c_uint8),
                ("ip_id", ct.c_uint16), ("pad", ct.c_uint16), ("seq", ct.c_uint32)]


class CEvent(ct.Structure):
    _fields_ = [("ts_ns", ct.c_uint64), ("skb", ct.c_uint64), ("location", ct.c_uint64),
                ("netns", ct.c_uint32), ("ifindex", ct.c_uint32), ("reason", ct.c_uint32),
                ("len", ct.c_uint32), ("result", ct.c_int32), ("fib_table", ct.c_uint32),
                ("fib_oif", ct.c_uint32), ("hook", ct.c_uint8), ("flags", ct.c_uint8),
                ("cpu", ct.c_uint16), ("tuple", CTuple)]


class CDropKey(ct.Structure):
    _fields_ = [("netns", ct.c_uint32), ("ifindex", ct.c_uint32), ("reason", ct.c_uint32),
                ("pad", ct.c_uint32), ("location", ct.c_uint64)]


class CDropVal(ct.Structure):
    _fields_ = [("count", ct.c_uint64), ("last_ts_ns", ct.c_uint64), ("last", CTuple)]


class PacketTuple(NamedTuple):
    """Addresses, protocol and ports of one packet (ICMP echo: sport = dport = echo id).

    A NamedTuple rather than a frozen dataclass: one is built per event, on the hot path."""

    family: int
    proto: int
    src: str
    dst: str
    sport: int = 0
    dport: int = 0
    icmp_type: int = 0
    tcp_flags: int = 0
    ip_id: int = 0
    seq: int = 0

    @property
    def proto_name(self) -> str:
        return PROTOCOLS.get(self.proto, str(self.proto))

    def flow(self) -> tuple[str, str, int, int, int]:
        """The part NAT may rewrite: (src, dst, sport, dport, proto)."""
        return (self.src, self.dst, self.sport, self.dport, self.proto)

    def reversed_flow(self) -> tuple[str, str, int, int, int]:
        return (self.dst, self.src, self.dport, self.sport, self.proto)

    def describe(self) -> str:
        """e.g. "tcp 10.0.0.1:40000 -> 10.0.0.2:80 [SYN]", "icmp 10.0.0.1 -> 10.0.0.2 ..."."""
        if not self.family:
            return "non-IP packet"
        name = self.proto_name
        if self.proto in (6, 17):
            text = f"{name} {_hostport(self.src, self.sport)} -> {_hostport(self.dst, self.dport)}"
            if self.proto == 6:
                flags = [n for bit, n in TCP_FLAG_NAMES if self.tcp_flags & bit]
                text += f" [{','.join(flags)}]" if flags else ""
            return text
        text = f"{name} {self.src} -> {self.dst}"
        if self.proto in (1, 58):
            text += " " + ICMP_TYPES.get(self.icmp_type, f"type {self.icmp_type}")
            if self.icmp_type in (0, 8, 128, 129):
                text += f" id {self.sport} seq {self.seq}"
        return text


def _hostport(addr: str, port: int) -> str:
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


class ProbeEvent(NamedTuple):
    """One packet seen at one hook, in one namespace, on one device (immutable)."""

    ts_ns: int
    hook: str
    netns: int
    ifindex: int
    skb: int
    tuple: PacketTuple | None
    length: int = 0
    reply: bool = False
    followed: bool = False
    rewritten: bool = False
    netns_from_task: bool = False
    in_rx: bool = False
    reason: int = 0
    location: int = 0
    result: int = 0
    fib_table: int = 0
    fib_oif: int = 0
    cpu: int = 0


@functools.lru_cache(maxsize=4096)
def _address(family: int, raw: bytes) -> str:
    if family == 4:
        return str(ipaddress.IPv4Address(raw[:4]))
    return str(ipaddress.IPv6Address(raw))


def decode_tuple(c: CTuple) -> PacketTuple | None:
    if c.family not in (4, 6):
        return None
    return PacketTuple(c.family, c.proto, _address(c.family, bytes(c.saddr)),
                       _address(c.family, bytes(c.daddr)), c.sport, c.dport, c.icmp_type,
                       c.tcp_flags, c.ip_id, c.seq)


# struct ns_event as one struct.Struct: decoding is on the hot path (one call per event)
EVENT_LAYOUT = struct.Struct("<QQQIIIIiIIBBH16s16sHHBBBBHHI")
_unpack_event, _EVENT_SIZE = EVENT_LAYOUT.unpack_from, EVENT_LAYOUT.size
# the named tuples built from a plain tuple: their own __new__ (keywords, defaults) cost
# as much again as the rest of a decode
_new = tuple.__new__


@functools.lru_cache(maxsize=4096)
def _addresses(family: int, saddr: bytes, daddr: bytes) -> tuple[str, str]:
    """A flow's two addresses as text (one cache lookup an event instead of two)."""
    return _address(family, saddr), _address(family, daddr)


def decode_event(data: bytes) -> ProbeEvent:
    """Decode one ring-buffer record (bytes of a struct ns_event)."""
    return decode_event_at(data, 0, len(data))


def decode_event_at(buf, offset: int, size: int) -> ProbeEvent:
    """Decode the record of `size` bytes at `offset` of `buf` (bytes, or the ring buffer's
    own mapping: netscope/trace/ringbuf.py). ~0.8 us here: the tracer's reader does this
    ~200,000 times a second on a busy flow, so it is written for speed."""
    if size < _EVENT_SIZE:
        raise ValueError(f"event record is {size} bytes, expected {_EVENT_SIZE}")
    (ts, skb, location, netns, ifindex, reason, length, result, table, oif, hook, flags, cpu,
     saddr, daddr, sport, dport, family, proto, icmp_type, tcp_flags, ip_id, _pad,
     seq) = _unpack_event(buf, offset)
    tup = None
    if family == 4 or family == 6:
        src, dst = _addresses(family, saddr, daddr)
        tup = _new(PacketTuple, (family, proto, src, dst, sport, dport, icmp_type, tcp_flags,
                                 ip_id, seq))
    return _new(ProbeEvent, (
        ts, HOOKS.get(hook) or f"hook{hook}", netns, ifindex, skb, tup, length,
        (flags & F_REPLY) != 0, (flags & F_FOLLOWED) != 0, (flags & F_REWRITTEN) != 0,
        (flags & F_TASK_NS) != 0, (flags & F_IN_RX) != 0, reason, location, result, table,
        oif, cpu))


def encode_tuple(t: PacketTuple) -> CTuple:
    """The C form of a tuple (used to build test records and recorded fixtures)."""
    c = CTuple()
    size = 4 if t.family == 4 else 16
    cls = ipaddress.IPv4Address if t.family == 4 else ipaddress.IPv6Address
    c.saddr[:size] = list(cls(t.src).packed)
    c.daddr[:size] = list(cls(t.dst).packed)
    c.sport, c.dport, c.family, c.proto = t.sport, t.dport, t.family, t.proto
    c.icmp_type, c.tcp_flags, c.ip_id, c.seq = t.icmp_type, t.tcp_flags, t.ip_id, t.seq
    return c


def encode_event(e: ProbeEvent) -> bytes:
    """The bytes the kernel would have written for `e` (inverse of decode_event)."""
    hook = {v: k for k, v in HOOKS.items()}[e.hook]
    flags = (F_REPLY * e.reply | F_FOLLOWED * e.followed | F_REWRITTEN * e.rewritten
             | F_TASK_NS * e.netns_from_task | F_IN_RX * e.in_rx | (F_TUPLE if e.tuple else 0))
    c = CEvent(ts_ns=e.ts_ns, skb=e.skb, location=e.location, netns=e.netns,
               ifindex=e.ifindex, reason=e.reason, len=e.length, result=e.result,
               fib_table=e.fib_table, fib_oif=e.fib_oif, hook=hook, flags=flags, cpu=e.cpu)
    if e.tuple:
        c.tuple = encode_tuple(e.tuple)
    return bytes(c)
