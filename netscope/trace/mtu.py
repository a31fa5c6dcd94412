"""Find the largest packet that really gets from a namespace to an address and back.

Don't-fragment ICMP echoes of chosen sizes are sent from inside the source namespace (raw
sockets, as `check` sends its test packet), and each size counts as arriving when its echo
reply comes back. The search starts at the source's own route MTU (the largest it can send)
and halves the gap between the largest size that came back and the smallest that did not.
A router that cannot forward a size answers "fragmentation needed" with its MTU: that is kept
(and the kernel caches it, as for any ping -M do). Silent losses are what this finds that
ICMP never reports: a bridge port or a veth peer with a smaller MTU (an MTU black hole).
"""

from __future__ import annotations

import errno
import random
import select
import socket
import struct
import time
from dataclasses import dataclass, field

from netscope.trace.probe_packet import IP_HDRINCL, TestPacket, _in_namespace, craft

IP_MTU = 14             # getsockopt: the MTU of a connected socket's route
MIN_SIZE = 68
PROBE_WAIT_S = 0.5
ICMP_ECHO_REPLY, ICMP_UNREACHABLE, FRAG_NEEDED = 0, 3, 4


@dataclass
class MtuProbe:
    """What the probes found. `largest`: the largest size whose echo came back (None: not
    even MIN_SIZE); `first_lost`: the smallest size that did not (None: the route's MTU came
    back); `probes`: (size, outcome) in the order sent, outcome "ok", "lost", "too big
    here" (the source refused to send it) or "frag needed <mtu> from <router>"."""

    route_mtu: int
    largest: int | None = None
    first_lost: int | None = None
    probes: list[tuple[int, str]] = field(default_factory=list)
    frag_needed: tuple[str, int] | None = None


def route_mtu(ns_path: str, dst: str) -> int:
    """The MTU of the source namespace's route to dst (what it can send unfragmented)."""
    def ask() -> int:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect((dst, 9))
            return s.getsockopt(socket.IPPROTO_IP, IP_MTU)

    return _in_namespace(ns_path, ask)


class _Prober:
    """Raw sockets in the source namespace: one sends crafted echoes, one reads ICMP."""

    def __init__(self, ns_path: str, src: str, dst: str) -> None:
        self.src, self.dst = src, dst
        self.ident = random.randint(40000, 60999)

        def open_sockets():
            out = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
            out.setsockopt(socket.IPPROTO_IP, IP_HDRINCL, 1)
            return out, socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)

        self.out, self.icmp = _in_namespace(ns_path, open_sockets)

    def close(self) -> None:
        self.out.close()
        self.icmp.close()

    def probe(self, size: int, wait: float) -> str:
        seq = size & 0xFFFF
        data = craft(TestPacket("icmp", self.src, self.dst, self.ident, self.ident, seq, size))
        try:
            self.out.sendto(data, (self.dst, 0))
        except OSError as e:
            if e.errno == errno.EMSGSIZE:
                return "too big here"
            raise
        deadline = time.monotonic() + wait
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([self.icmp], [], [], left)
            if not ready:
                break
            answer = self._read(seq)
            if answer is not None:
                return answer
        return "lost"

    def _read(self, seq: int) -> str | None:
        packet, (sender, _) = self.icmp.recvfrom(65535)
        ihl = (packet[0] & 0x0F) * 4
        if len(packet) < ihl + 8:
            return None
        kind, code = packet[ihl], packet[ihl + 1]
        if kind == ICMP_ECHO_REPLY:
            ident, got = struct.unpack_from("!HH", packet, ihl + 4)
            return "ok" if (ident, got) == (self.ident, seq) else None
        if kind == ICMP_UNREACHABLE and code == FRAG_NEEDED and len(packet) >= ihl + 36:
            mtu = struct.unpack_from("!H", packet, ihl + 6)[0]
            inner = ihl + 8
            inner_ihl = (packet[inner] & 0x0F) * 4
            if len(packet) >= inner + inner_ihl + 8:
                ident, got = struct.unpack_from("!HH", packet, inner + inner_ihl + 4)
                if (ident, got) == (self.ident, seq):
                    return f"frag needed {mtu} from {sender}"
        return None


def probe_path_mtu(ns_path: str, src: str, dst: str, wait: float = PROBE_WAIT_S) -> MtuProbe:
    """Send don't-fragment echoes from the namespace at ns_path and find the largest size
    that comes back (see the module docstring). Raises OSError when sockets cannot open."""
    found = MtuProbe(route_mtu(ns_path, dst))
    prober = _Prober(ns_path, src, dst)
    try:
        def arrives(size: int) -> bool:
            outcome = prober.probe(size, wait)
            found.probes.append((size, outcome))
            if outcome.startswith("frag needed"):
                words = outcome.split()
                found.frag_needed = (words[-1], int(words[2]))
            return outcome == "ok"

        top = found.route_mtu
        if arrives(top):
            found.largest = top
            return found
        if not arrives(MIN_SIZE):
            return found
        good, bad = MIN_SIZE, top
        while bad - good > 1:
            mid = (good + bad) // 2
            if arrives(mid):
                good = mid
            else:
                bad = mid
        found.largest, found.first_lost = good, bad
        return found
    finally:
        prober.close()
