"""Which socket of a namespace takes a packet: the kernel's socket lookup, from a snapshot.

The kernel looks for a TCP listener (or a UDP socket) first bound to the packet's exact
destination address, then to the wildcard address; among those, one bound to the arriving
interface (SO_BINDTODEVICE) and an IPv4 socket beat an IPv6 dual-stack one, and a connected
UDP socket whose peer is the sender beats a bound one. Sockets that score the same form an
SO_REUSEPORT group: the kernel picks one per connection by hash. An IPv6 socket bound to `::`
takes IPv4 too unless it is IPV6_V6ONLY; one bound to `::ffff:a.b.c.d` takes IPv4 to a.b.c.d.
IPv6 packets only reach IPv6 sockets.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from netscope.model.sockets import Socket

LOOPBACK_V4 = ipaddress.ip_network("127.0.0.0/8")


@dataclass(frozen=True)
class SocketMatch:
    """What a namespace's sockets do with one packet.

    `sockets`: the socket that takes it, or every member of the SO_REUSEPORT group that could
    (empty: none does, and the kernel refuses: TCP RST, UDP ICMP port unreachable).
    `missed`: receiving sockets on the same protocol and port that do not take it, each with
    the reason (bound to another address, IPv6 only, bound to another interface).
    `other_ports`: the ports of the protocol something does receive on, when none matched.
    """

    sockets: tuple[Socket, ...] = ()
    missed: tuple[tuple[Socket, str], ...] = ()
    other_ports: tuple[int, ...] = ()


def _v4_view(sock: Socket) -> str | None:
    """The IPv4 address an IPv6 socket takes IPv4 packets for ("0.0.0.0" for a dual-stack
    wildcard), or None when it takes none."""
    if sock.local == "::":
        # unknown (read from /proc) counts as dual-stack: net.ipv6.bindv6only is 0 by default
        return None if sock.v6only else "0.0.0.0"
    mapped = ipaddress.ip_address(sock.local)
    if isinstance(mapped, ipaddress.IPv6Address) and mapped.ipv4_mapped:
        return str(mapped.ipv4_mapped)
    return None


def _why_not(sock: Socket, family: str, dst: str, iif: str | None) -> str | None:
    """None when `sock` could take a packet to `dst` of `family` arriving on link `iif`, else
    the reason it cannot, in words."""
    if family == "inet" and sock.family == "inet6":
        bound = _v4_view(sock)
        if bound is None:
            return ("it is IPv6 only (IPV6_V6ONLY)" if sock.local == "::"
                    else f"it is bound to the IPv6 address {sock.local}")
    else:
        if sock.family != family:
            return "it is an IPv4 socket" if sock.family == "inet" else "it is an IPv6 socket"
        bound = sock.local
    if bound not in ("0.0.0.0", "::") and bound != dst:
        return f"it is bound to {bound} only"
    if sock.link is not None and iif is not None and sock.link != iif:
        return "it is bound to another interface (SO_BINDTODEVICE)"
    return None


def _score(sock: Socket, family: str, src: str, sport: int | None) -> int | None:
    """The kernel's preference (higher wins) among sockets that can take the packet; None
    for a connected UDP socket whose peer is not the sender."""
    score = 1
    if sock.family == "inet":  # an IPv4 socket beats an IPv6 dual-stack one
        score += 1
    if sock.link is not None:
        score += 4
    if sock.remote is not None:
        remote = sock.remote
        mapped = ipaddress.ip_address(remote)
        if isinstance(mapped, ipaddress.IPv6Address) and mapped.ipv4_mapped:
            remote = str(mapped.ipv4_mapped)
        if remote != src or sock.remote_port != sport:
            return None
        score += 8
    return score


def socket_lookup(sockets: list[Socket] | tuple[Socket, ...], family: str, proto: str,
                  dst: str, dport: int, src: str = "", sport: int | None = None,
                  iif: str | None = None) -> SocketMatch:
    """Which of a namespace's `sockets` takes a `proto` packet to dst:dport (from src:sport,
    arriving on link id `iif`), as the kernel would pick it."""
    same_port = [s for s in sockets if s.proto == proto and s.local_port == dport
                 and (s.receiving or (proto == "udp" and s.state == "ESTAB"))]
    candidates: list[tuple[int, bool, Socket]] = []
    missed: list[tuple[Socket, str]] = []
    for sock in same_port:
        why = _why_not(sock, family, dst, iif)
        score = _score(sock, family, src, sport) if why is None else None
        if score is None:
            if why is not None and sock.receiving:
                missed.append((sock, why))
            continue
        exact = (_v4_view(sock) if family == "inet" and sock.family == "inet6"
                 else sock.local) not in ("0.0.0.0", "::")
        candidates.append((score, exact, sock))
    if not candidates:
        ports = sorted({s.local_port for s in sockets if s.proto == proto and s.receiving})
        return SocketMatch((), tuple(missed), tuple(ports))
    # an exact-address match is looked up first: it wins over any wildcard socket
    if any(exact for _, exact, _ in candidates):
        candidates = [c for c in candidates if c[1]]
    best = max(score for score, _, _ in candidates)
    return SocketMatch(tuple(s for score, _, s in candidates if score == best), tuple(missed))


def is_loopback(address: str) -> bool:
    """127.0.0.0/8, ::1, or a v4-mapped loopback address."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_loopback
