"""The packet-journey tracer's kernel side: filter -> -D flags, load, read events."""

from __future__ import annotations

import ctypes as ct
import ipaddress
from dataclasses import dataclass

from netscope.trace.errors import ProbeError
from netscope.trace.events import COUNTER_SLOTS, PROTO_NUMBERS, ProbeEvent, decode_event
from netscope.trace.loader import Program

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


def filter_settings(flt: TraceFilter) -> dict[str, int | str]:
    out: dict[str, int | str] = {}
    if flt.src:
        out["FILTER_SRC4"] = f"{_ipv4_as_loaded(flt.src)}U"
    if flt.dst:
        out["FILTER_DST4"] = f"{_ipv4_as_loaded(flt.dst)}U"
    if flt.proto:
        if flt.proto not in PROTO_NUMBERS:
            raise ProbeError(f"unknown protocol {flt.proto!r}: use one of "
                             f"{', '.join(PROTO_NUMBERS)}")
        out["FILTER_PROTO"] = PROTO_NUMBERS[flt.proto]
    if flt.port is not None:
        if not 0 < flt.port < 65536:
            raise ProbeError(f"port {flt.port} is out of range 1-65535")
        out["FILTER_PORT"] = flt.port
    return out


def trace_settings(flt: TraceFilter) -> dict[str, int | str]:
    return {"FOLLOW_MAX": FOLLOW_MAX, "LEARN_MAX": LEARN_MAX, "SOCK_MAX": SOCK_MAX,
            "RINGBUF_PAGES": RINGBUF_PAGES,
            **filter_settings(flt)}


class Tracer:
    """Loaded journey probes; `poll()` returns the events that arrived, in arrival order.

    A context manager: leaving it detaches every probe.
    """

    def __init__(self, flt: TraceFilter) -> None:
        self.filter = flt
        self._pending: list[ProbeEvent] = []
        self.program = Program(JOURNEY_FILES, trace_settings(flt),
                               tail_calls={"skb_workers": "ns_skb_worker"})
        try:
            self.program["events"].open_ring_buffer(self._on_record)
        except Exception:
            self.program.close()
            raise

    @property
    def attach_seconds(self) -> float:
        return self.program.attach_seconds

    def _on_record(self, _ctx, data, size) -> int:
        self._pending.append(decode_event(ct.string_at(data, size)))
        return 0

    def poll(self, timeout_ms: int = 100) -> list[ProbeEvent]:
        self.program.bpf.ring_buffer_poll(timeout_ms)
        out, self._pending = self._pending, []
        return out

    def drain(self) -> list[ProbeEvent]:
        """Everything already in the ring buffer, without waiting."""
        self.program.bpf.ring_buffer_consume()
        out, self._pending = self._pending, []
        return out

    def counters(self) -> dict[str, int]:
        return dict(zip(COUNTER_SLOTS, self.program.counters(), strict=True))

    def close(self) -> None:
        self.program.close()

    def __enter__(self) -> Tracer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
