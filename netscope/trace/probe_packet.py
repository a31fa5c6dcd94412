"""One test packet, crafted with scapy and sent from inside a namespace.

The packet is built by scapy (ICMP echo, TCP SYN or UDP datagram, with an id or port that
marks it as ours) and sent through a raw IP socket opened inside the source namespace, so
the kernel of that namespace routes it, filters it and picks its way out, as it would for
an application there. The source address is the one the kernel itself picks for the
destination (a UDP socket connected there, no packet sent).
"""

from __future__ import annotations

import importlib.util
import os
import random
import socket
from dataclasses import dataclass

from netscope.host.netns import entered

IP_HDRINCL = 3


@dataclass(frozen=True)
class TestPacket:
    proto: str     # icmp, tcp, udp
    src: str
    dst: str
    sport: int     # icmp: echo id
    dport: int     # icmp: echo id
    seq: int = 0
    size: int = 0  # the IP packet's length, sent don't-fragment (0: small, may fragment)

    def describe(self) -> str:
        if self.proto == "icmp":
            sized = f", {self.size} bytes, don't fragment" if self.size else ""
            return f"icmp echo {self.src} -> {self.dst} id {self.sport}{sized}"
        what = "SYN" if self.proto == "tcp" else "datagram"
        return f"{self.proto} {what} {self.src}:{self.sport} -> {self.dst}:{self.dport}"


class NoRoute(Exception):
    """The source namespace has no route to the destination: no packet can leave."""


def _in_namespace(ns_path: str, make):
    """Call `make()` with this thread inside the namespace at ns_path (sockets stay there)."""
    home = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    fd = os.open(ns_path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        with entered(fd, home):
            return make()
    finally:
        os.close(fd)
        os.close(home)


def source_address(ns_path: str, dst: str) -> str:
    """The address the kernel in that namespace would send from to reach dst."""
    def ask() -> str:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.connect((dst, 9))
            except OSError as e:
                raise NoRoute(f"{e.strerror or e}") from None
            return s.getsockname()[0]

    return _in_namespace(ns_path, ask)


def plan_packet(proto: str, src: str, dst: str, port: int | None, size: int = 0
                ) -> TestPacket:
    """The test packet (`size`: an ICMP echo of that many bytes, don't-fragment)."""
    ours = random.randint(40000, 60999)
    if proto == "icmp":
        return TestPacket("icmp", src, dst, ours, ours, seq=1, size=size)
    return TestPacket(proto, src, dst, ours, port or 0)


def scapy_missing() -> str | None:
    """One line saying how to get scapy when it is not installed, else None."""
    if importlib.util.find_spec("scapy") is not None:
        return None
    return ("netscope check crafts its test packet with scapy, an optional extra (scapy is "
            "GPL-2.0-only): pip install 'netscope[check]', or with pipx: pipx inject netscope "
            "scapy")


def craft(p: TestPacket) -> bytes:
    """The packet's bytes, built with scapy (imported here: only `check` needs it)."""
    from scapy.layers.inet import ICMP, IP, TCP, UDP

    ip = IP(src=p.src, dst=p.dst, ttl=64, flags="DF" if p.size else 0)
    if p.proto == "icmp":
        payload = b"netscope check" + bytes(18)
        if p.size:  # IP header 20 + ICMP header 8 + payload = size
            payload = (payload + bytes(max(0, p.size - 28)))[:max(0, p.size - 28)]
        pkt = ip / ICMP(type=8, id=p.sport, seq=p.seq) / payload
    elif p.proto == "tcp":
        pkt = ip / TCP(sport=p.sport, dport=p.dport, flags="S", seq=random.getrandbits(32),
                       window=64240)
    else:
        pkt = ip / UDP(sport=p.sport, dport=p.dport) / b"netscope check"
    return bytes(pkt)


class Sender:
    """Raw sockets inside the source namespace: one to send the crafted packet, and for ICMP
    one that receives the echo reply (so the kernel delivers it instead of dropping it)."""

    def __init__(self, ns_path: str, packet: TestPacket) -> None:
        self.packet = packet
        self.data = craft(packet)

        def open_sockets():
            out = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
            out.setsockopt(socket.IPPROTO_IP, IP_HDRINCL, 1)
            listen = None
            if packet.proto == "icmp":
                listen = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
                listen.settimeout(0.2)
            return out, listen

        self._out, self._listen = _in_namespace(ns_path, open_sockets)

    def send(self) -> None:
        self._out.sendto(self.data, (self.packet.dst, 0))

    def read_replies(self, most: int = 10) -> None:
        """Read ICMP replies from the listening socket, so the kernel delivers them to a
        socket (a deliver hop) instead of dropping them for want of one."""
        if self._listen is None:
            return
        for _ in range(most):
            try:
                self._listen.recv(2048)
            except OSError:  # the 0.2 s timeout, or the socket closed under us
                break

    def close(self) -> None:
        self._out.close()
        if self._listen:
            self._listen.close()

    def __enter__(self) -> Sender:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
