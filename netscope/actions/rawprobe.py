"""ICMP echo and ARP who-has from raw sockets in the calling thread's namespace (root only).

No `ping` or `arping` binary needed, and the answer is classified exactly: an echo reply, an
ICMP error, a local "network unreachable", or silence; for ARP, how many distinct MACs answer.
"""

from __future__ import annotations

import errno
import fcntl
import random
import socket
import struct
import time

ETH_P_ARP = 0x0806
SIOCGIFADDR = 0x8915
IP_MTU = 14
IP_MTU_DISCOVER = 10
IP_PMTUDISC_DO = 2
UNREACHABLE = (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN)


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def route_mtu(dst: str) -> int:
    """The MTU the kernel would use towards `dst` (route, device, learned path MTU)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect((dst, 9))
        return s.getsockopt(socket.IPPROTO_IP, IP_MTU)
    finally:
        s.close()


def ping(dst: str, timeout: float, full_size: bool = False) -> tuple[str, str]:
    """One ICMP echo request to `dst`: ("ok" | "unreachable" | "timeout", detail).

    `full_size` sends the largest packet the route allows, with DF set, so that a smaller
    MTU further along shows up as loss instead of being hidden by fragmentation.
    """
    ident, seq = random.getrandbits(16), 1
    size = 56
    if full_size:
        try:
            size = route_mtu(dst) - 28
        except OSError as e:
            return ("unreachable" if e.errno in UNREACHABLE else "error"), e.strerror or ""
    payload = b"netscope-lab-probe".ljust(size, b".")
    header = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    packet = struct.pack("!BBHHH", 8, 0, _checksum(header + payload), ident, seq) + payload
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    if full_size:
        s.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)
    started = time.monotonic()
    try:
        try:
            s.sendto(packet, (dst, 0))
        except OSError as e:
            if e.errno in UNREACHABLE:
                return "unreachable", e.strerror or str(e)
            raise
        deadline = started + timeout
        while (left := deadline - time.monotonic()) > 0:
            s.settimeout(left)
            try:
                data, addr = s.recvfrom(4096)
            except TimeoutError:
                break
            verdict = _echo_verdict(data, addr[0], dst, ident, seq)
            if verdict:
                ms = (time.monotonic() - started) * 1000
                return verdict[0], f"{verdict[1]} after {ms:.1f} ms ({size + 28} bytes)"
        return "timeout", f"no echo reply within {timeout:g} s ({size + 28} bytes)"
    finally:
        s.close()


def _echo_verdict(data: bytes, src: str, dst: str, ident: int,
                  seq: int) -> tuple[str, str] | None:
    ihl = (data[0] & 0x0F) * 4
    icmp = data[ihl:]
    if len(icmp) < 8:
        return None
    kind, code = icmp[0], icmp[1]
    if kind == 0 and src == dst and struct.unpack("!HH", icmp[4:8]) == (ident, seq):
        return "ok", f"echo reply from {src}"
    if kind == 3 and len(icmp) >= 28 + 8:
        inner = icmp[8:]
        inner_icmp = inner[(inner[0] & 0x0F) * 4:]
        if len(inner_icmp) >= 8 and struct.unpack("!HH", inner_icmp[4:8]) == (ident, seq):
            return "unreachable", f"ICMP destination unreachable (code {code}) from {src}"
    return None


def _ipv4_of(sock: socket.socket, ifname: str) -> bytes:
    request = struct.pack("256s", ifname.encode()[:15])
    try:
        answer = fcntl.ioctl(sock.fileno(), SIOCGIFADDR, request)
    except OSError:
        return b"\0\0\0\0"
    return answer[20:24]


def arp_who_has(ifname: str, target: str, timeout: float) -> tuple[str, str]:
    """Ask on `ifname` who has `target`: ok (one MAC), duplicate (several) or timeout."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP))
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        try:
            s.bind((ifname, ETH_P_ARP))
        except OSError as e:
            return "error", f"{ifname}: {e.strerror}"
        mac = s.getsockname()[4]
        want = socket.inet_aton(target)
        arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, mac, _ipv4_of(udp, ifname),
                          b"\0" * 6, want)
        frame = b"\xff" * 6 + mac + struct.pack("!H", ETH_P_ARP) + arp
        macs: list[str] = []
        deadline = time.monotonic() + timeout / 2
        try:
            s.send(frame)
        except OSError as e:
            return ("unreachable" if e.errno in UNREACHABLE else "error"), e.strerror or ""
        while (left := deadline - time.monotonic()) > 0:
            s.settimeout(left)
            try:
                data = s.recv(2048)
            except TimeoutError:
                break
            if len(data) < 42 or data[12:14] != b"\x08\x06":
                continue
            op, sender_mac, sender_ip = struct.unpack("!6xH6s4s", data[14:32])
            if op == 2 and sender_ip == want:
                text = sender_mac.hex(":")
                if text not in macs:
                    macs.append(text)
        if not macs:
            return "timeout", f"nobody answered ARP for {target} on {ifname}"
        if len(macs) > 1:
            return "duplicate", f"{len(macs)} MACs answer for {target}: {', '.join(macs)}"
        return "ok", f"{target} is at {macs[0]}"
    finally:
        s.close()
        udp.close()
