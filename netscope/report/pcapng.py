"""Traced journeys as a pcapng file that tshark and Wireshark read.

Every hop of every journey is one packet, on an interface named "<namespace>:<device>",
with the hop's metadata as its packet comment (journey, hook, namespace, device, verdict,
drop reason, kernel location, netfilter rule, NAT). The tracer reads headers, not payloads:
each packet is rebuilt from the traced header fields (addresses, ports, TCP flags, ICMP echo
direction, NAT rewrites applied from the NAT hop on) with no payload; the comments say so.

Pure: journeys in, bytes out. Link type RAW (101): IPv4 and IPv6 told apart by version.
"""

from __future__ import annotations

import ipaddress
import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass

LINKTYPE_RAW = 101
_NAT = re.compile(r"^(src|dst) (\S+) -> (\S+)$")


def _option(code: int, value: bytes) -> bytes:
    pad = (-len(value)) % 4
    return struct.pack("<HH", code, len(value)) + value + b"\0" * pad


def _block(kind: int, body: bytes) -> bytes:
    length = 12 + len(body)
    return struct.pack("<II", kind, length) + body + struct.pack("<I", length)


def _section_header(application: str) -> bytes:
    options = _option(4, application.encode()) + _option(0, b"")  # shb_userappl, end
    return _block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) + options)


def _interface(name: str, description: str) -> bytes:
    options = (_option(2, name.encode()) + _option(3, description.encode())
               + _option(9, bytes([9])) + _option(0, b""))  # if_name, descr, tsresol ns
    return _block(1, struct.pack("<HHI", LINKTYPE_RAW, 0, 65535) + options)


def _packet(interface: int, ts_ns: int, data: bytes, comment: str) -> bytes:
    pad = (-len(data)) % 4
    body = struct.pack("<IIIII", interface, ts_ns >> 32, ts_ns & 0xFFFFFFFF, len(data),
                       len(data)) + data + b"\0" * pad
    return _block(6, body + _option(1, comment.encode()) + _option(0, b""))


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


@dataclass(frozen=True)
class Headers:
    """What the tracer knows of a packet: enough to rebuild its IP and L4 headers."""

    src: str
    dst: str
    proto: int
    sport: int = 0
    dport: int = 0
    tcp_flags: int = 0
    reply: bool = False

    def with_nat(self, nat: str | None) -> Headers:
        """The headers after a NAT hop's "dst A:P -> B:Q" / "src A:P -> B:Q" rewrite."""
        m = _NAT.match(nat or "")
        if not m:
            return self
        side, _old, new = m.groups()
        host, _sep, port = new.rpartition(":") if new.count(":") == 1 or new.startswith("[") \
            else (new, "", "")
        host = host.strip("[]") or new
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return self
        number = int(port) if port.isdigit() else None
        if side == "dst":
            return Headers(self.src, host, self.proto, self.sport,
                           number if number is not None else self.dport, self.tcp_flags,
                           self.reply)
        return Headers(host, self.dst, self.proto,
                       number if number is not None else self.sport, self.dport,
                       self.tcp_flags, self.reply)

    def bytes(self) -> bytes:
        src, dst = ipaddress.ip_address(self.src), ipaddress.ip_address(self.dst)
        v6 = src.version == 6
        l4 = self._l4(src.packed, dst.packed, v6)
        if v6:
            return struct.pack("!IHBB", 6 << 28, len(l4), self.proto, 64) + src.packed + \
                dst.packed + l4
        header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 0, 0x4000, 64,
                             self.proto, 0, src.packed, dst.packed)
        return header[:10] + struct.pack("!H", _checksum(header)) + header[12:] + l4

    def _l4(self, src: bytes, dst: bytes, v6: bool) -> bytes:
        if self.proto == 6:
            seg = struct.pack("!HHIIBBHHH", self.sport, self.dport, 0, 0, 5 << 4,
                              self.tcp_flags & 0xFF, 65535, 0, 0)
        elif self.proto == 17:
            seg = struct.pack("!HHHH", self.sport, self.dport, 8, 0)
        elif self.proto in (1, 58):
            echo = (129 if self.reply else 128) if self.proto == 58 else (0 if self.reply else 8)
            seg = struct.pack("!BBHHH", echo, 0, 0, 0, 0)
        else:
            return b""
        if self.proto == 1:
            pseudo = b""
        elif v6:
            pseudo = src + dst + struct.pack("!IxxxB", len(seg), self.proto)
        else:
            pseudo = src + dst + struct.pack("!xBH", self.proto, len(seg))
        offset = {6: 16, 17: 6, 1: 2, 58: 2}[self.proto]
        total = _checksum(pseudo + seg)
        if self.proto == 17 and total == 0:
            total = 0xFFFF
        return seg[:offset] + struct.pack("!H", total) + seg[offset + 2:]


def hop_comment(journey, index: int) -> str:
    """The comment of hop `index`: where, what happened there, and the journey it is part of."""
    hop = journey.hops[index]
    parts = [f"netscope journey {journey.id} hop {index + 1}/{len(journey.hops)}: "
             f"{hop.step} in {hop.netns_name} on {hop.device}"]
    if hop.decision:
        parts.append(hop.decision)
    for label, value in (("verdict", hop.verdict), ("drop reason", hop.drop_reason),
                         ("at", hop.location), ("rule", hop.rule), ("nat", hop.nat)):
        if value and value != hop.decision:
            parts.append(f"{label} {value}")
    if hop.inferred:
        parts.append("inferred from bridge ports")
    if index == 0:
        head = f"{journey.packet}: {journey.verdict.words.upper()}: {journey.summary}"
        if journey.reply_to:
            head += f" (reply to journey {journey.reply_to})"
        parts.append(head + "; headers rebuilt from the trace, payload not captured")
    return "; ".join(parts)


def journeys_pcapng(journeys: Iterable, epoch_offset_ns: int = 0) -> bytes:
    """A pcapng of every hop of every journey that has addresses. Journey times are the
    kernel's monotonic clock; `epoch_offset_ns` turns them into wall-clock time."""
    out = [_section_header("netscope trace")]
    interfaces: dict[str, int] = {}
    for j in journeys:
        f = j.flow
        if f is None or not f.src or not f.dst:
            continue
        headers = Headers(f.src, f.dst, f.proto_number, f.sport or 0, f.dport or 0,
                          f.tcp_flags, j.is_reply)
        for i, hop in enumerate(j.hops):
            headers = headers.with_nat(hop.nat)
            name = f"{hop.netns_name}:{hop.device}"
            if name not in interfaces:
                interfaces[name] = len(interfaces)
                out.append(_interface(name, f"device {hop.device} in namespace "
                                            f"{hop.netns_name} (netns inode {hop.inode})"))
            ts = epoch_offset_ns + j.start_ns + round((hop.ts_us or 0) * 1000)
            out.append(_packet(interfaces[name], ts, headers.bytes(), hop_comment(j, i)))
    return b"".join(out)


def recording_journeys(recording) -> list:
    """The journeys of a trace recording (netscope.trace.recording.Recording), rebuilt the
    way `netscope trace` builds them live."""
    from netscope.trace.hops import HopNamer, journey_of
    from netscope.trace.journey import JourneyBuilder
    from netscope.trace.places import Places

    builder = JourneyBuilder()
    builder.add(list(recording.events))
    namer = HopNamer(Places(recording.snapshot), recording.drop_reasons, recording.symbols)
    return [journey_of(g, namer, list(recording.verdicts)) for g in builder.finish()]

