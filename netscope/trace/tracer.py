"""The packet-journey tracer's kernel side: load (ahead, if wanted), filter, attach, read
events."""

from __future__ import annotations

import ctypes as ct
import ipaddress
import time
from dataclasses import dataclass

from netscope.trace import ringbuf
from netscope.trace.errors import ProbeError
from netscope.trace.events import COUNTER_SLOTS, PROTO_NUMBERS, ProbeEvent, decode_event_at
from netscope.trace.loader import Program
from netscope.trace.ringbuf import RingReader

JOURNEY_FILES = ["journey_common.bpf.c", "journey_skb.bpf.c", "journey_fib.bpf.c",
                 "journey_sock.bpf.c"]
FOLLOW_MAX = 16384   # skbs followed at once (LRU: the oldest are forgotten)
LEARN_MAX = 4096     # tuples learnt from NAT rewrites
SOCK_MAX = 1024      # local TCP sockets followed
RINGBUF_PAGES = 256  # 1 MiB of events between two reads


@dataclass(frozen=True)
class TraceFilter:
    """Which packets to follow: all given fields must match, in either direction.

    src/dst are IPv4 addresses (names are resolved before this), proto is icmp/tcp/udp,
    port is the destination port of the forward direction.
    """

    src: str | None = None
    dst: str | None = None
    proto: str | None = None
    port: int | None = None

    def describe(self) -> str:
        parts = [f"{k} {v}" for k, v in (("src", self.src), ("dst", self.dst),
                                          ("proto", self.proto), ("port", self.port)) if v]
        return ", ".join(parts) or "every packet"


def _ipv4_as_loaded(text: str) -> int:
    """The u32 a little-endian CPU loads from the 4 network-order bytes of an address."""
    try:
        addr = ipaddress.IPv4Address(text)
    except ValueError:
        raise ProbeError(f"{text!r} is not an IPv4 address: the tracer filters IPv4 "
                         "addresses (IPv6 packets are shown when followed)") from None
    return int.from_bytes(addr.packed, "little")


FLT_SRC4, FLT_DST4, FLT_PROTO, FLT_PORT = 0x1, 0x2, 0x4, 0x8  # probes: NS_FLT_*
# the maps a use of the journey program leaves behind, emptied before the next one
STATE_MAPS = ["followed", "learnt", "socks", "state", "last_rx", "counters"]


def filter_values(flt: TraceFilter) -> dict[str, int]:
    """The probes' filter_cfg fields for `flt` (checked: ProbeError on a bad value)."""
    out = {"src4": 0, "dst4": 0, "port": 0, "proto": 0, "set": 0}
    if flt.src:
        out["src4"] = _ipv4_as_loaded(flt.src)
        out["set"] |= FLT_SRC4
    if flt.dst:
        out["dst4"] = _ipv4_as_loaded(flt.dst)
        out["set"] |= FLT_DST4
    if flt.proto:
        if flt.proto not in PROTO_NUMBERS:
            raise ProbeError(f"unknown protocol {flt.proto!r}: use one of "
                             f"{', '.join(PROTO_NUMBERS)}")
        out["proto"] = PROTO_NUMBERS[flt.proto]
        out["set"] |= FLT_PROTO
    if flt.port is not None:
        if not 0 < flt.port < 65536:
            raise ProbeError(f"port {flt.port} is out of range 1-65535")
        out["port"] = flt.port
        out["set"] |= FLT_PORT
    return out


def trace_settings() -> dict[str, int | str]:
    """The journey program's -D settings (the filter is not one: see filter_values)."""
    return {"FOLLOW_MAX": FOLLOW_MAX, "LEARN_MAX": LEARN_MAX, "SOCK_MAX": SOCK_MAX,
            "RINGBUF_PAGES": RINGBUF_PAGES}


def prepare_journey() -> Program:
    """The journey program compiled and loaded, not attached (Tracer(flt, program) attaches
    it in milliseconds). ProbeError when it cannot be loaded here."""
    program = Program(JOURNEY_FILES, trace_settings(),
                      tail_calls={"skb_workers": "ns_skb_worker"}, attach=False)
    try:
        events = program["events"]
        program.readers.append(RingReader(events.map_fd, events.max_entries)
                               if ringbuf.usable() else _LibbpfRing(program))
    except Exception:
        program.close()
        raise
    return program


class _LibbpfRing:
    """The ring buffer read by bcc (libbpf calls back once per record): RingReader's
    interface, where its plain loads would not be ordered (ringbuf.usable())."""

    def __init__(self, program: Program) -> None:
        self._bpf = program.bpf
        self._records: list[bytes] = []
        program["events"].open_ring_buffer(self._on_record)  # once per program: bcc's limit

    def _on_record(self, _ctx, data, size) -> int:
        self._records.append(ct.string_at(data, size))
        return 0

    def wait(self, timeout_s: float) -> None:
        self._bpf.ring_buffer_poll(int(timeout_s * 1000))

    def read(self, decode):
        self._bpf.ring_buffer_consume()
        records, self._records = self._records, []
        return [decode(raw, 0, len(raw)) for raw in records]

    def skip(self) -> None:
        self.read(lambda *_: None)

    def close(self) -> None:
        self._records = []


class Tracer:
    """Loaded journey probes; `poll()` returns the events that arrived, in arrival order.

    `program`: a prepare_journey() to use (the TUI compiles one ahead): it is reset, given
    the filter and attached, and only detached when this Tracer closes. Without it a program
    is made for this Tracer and closed with it. A context manager: leaving it detaches.
    """

    def __init__(self, flt: TraceFilter, program: Program | None = None) -> None:
        self.filter = flt
        values = filter_values(flt)
        self._owned = program is None
        self.program = program if program is not None else prepare_journey()
        started = time.perf_counter()
        try:
            self.program.detach()
            self._ring = self.program.readers[0]
            self._ring.skip()  # what a previous use left unread
            self.program.clear(STATE_MAPS)
            cfg = self.program["filter_cfg"]
            leaf = cfg.Leaf()
            for name, value in values.items():
                setattr(leaf, name, value)
            cfg[ct.c_int(0)] = leaf
            self.program.attach()
        except Exception:
            self.close()
            raise
        # from asking to live probes: the preparation too when it was made here
        self.attach_seconds = time.perf_counter() - started + (
            self.program.prepare_seconds if self._owned else 0.0)

    def poll(self, timeout_ms: int = 100) -> list[ProbeEvent]:
        """The events that arrived; waits up to `timeout_ms` for some (the probes wake the
        reader once a batch is waiting, not at every event: what came meanwhile is read
        when the wait ends)."""
        self._ring.wait(timeout_ms / 1000)
        return self._ring.read(decode_event_at)

    def drain(self) -> list[ProbeEvent]:
        """Everything already in the ring buffer, without waiting."""
        return self._ring.read(decode_event_at)

    def counters(self) -> dict[str, int]:
        return dict(zip(COUNTER_SLOTS, self.program.counters(), strict=True))

    def close(self) -> None:
        if self.program.bpf is None:
            return
        if self._owned:
            self.program.close()
            return
        self.program.detach()

    def __enter__(self) -> Tracer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
