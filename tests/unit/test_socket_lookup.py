"""The kernel's socket lookup as netscope models it: which socket takes a packet, and why the
others on the same port do not. Request -> result tables, no kernel (the kernel tests check
the same verdicts against real connections)."""

from __future__ import annotations

import pytest

from netscope.graph.sockets import socket_lookup
from netscope.model.sockets import Socket


def sock(proto: str, local: str, port: int, state: str = "LISTEN", **kw) -> Socket:
    family = "inet6" if ":" in local else "inet"
    return Socket(id=f"sock:1/{proto}/{local}/{port}/{kw.get('link')}/{kw.get('remote')}",
                  netns="ns:1", proto=proto, family=family, state=state, local=local,
                  local_port=port, **kw)


ANY4 = sock("tcp", "0.0.0.0", 80)
LOOP4 = sock("tcp", "127.0.0.1", 5432)
ADDR4 = sock("tcp", "10.0.0.2", 80)
DUAL6 = sock("tcp", "::", 8080, v6only=False)
ONLY6 = sock("tcp", "::", 8081, v6only=True)
MAPPED = sock("tcp", "::ffff:10.0.0.2", 9000, v6only=False)
ON_ETH1 = sock("tcp", "0.0.0.0", 7000, link="link:1/3")
UDP53 = sock("udp", "0.0.0.0", 53, state="UNCONN")
UDP_PEER = sock("udp", "0.0.0.0", 53, state="ESTAB", remote="10.0.0.9", remote_port=4000)
ESTAB = sock("tcp", "10.0.0.2", 80, state="ESTAB", remote="10.0.0.9", remote_port=4000)
ALL = [ANY4, LOOP4, DUAL6, ONLY6, MAPPED, ON_ETH1, UDP53, UDP_PEER, ESTAB]


@pytest.mark.parametrize("sockets, family, proto, dst, port, src, sport, iif, taken, missed", [
    # a wildcard listener takes any local address; an established socket is not a listener
    (ALL, "inet", "tcp", "10.0.0.2", 80, "10.0.0.9", 5000, None, [ANY4], []),
    # an exact-address listener beats a wildcard one, whatever else scores
    ([ANY4, ADDR4], "inet", "tcp", "10.0.0.2", 80, "", None, None, [ADDR4], []),
    ([ANY4, ADDR4], "inet", "tcp", "10.0.0.3", 80, "", None, None, [ANY4],
     [(ADDR4, "it is bound to 10.0.0.2 only")]),
    # loopback only: traffic to the container's address is refused
    (ALL, "inet", "tcp", "10.0.0.2", 5432, "", None, None, [],
     [(LOOP4, "it is bound to 127.0.0.1 only")]),
    (ALL, "inet", "tcp", "127.0.0.1", 5432, "", None, None, [LOOP4], []),
    # IPv6 wildcard takes IPv4 unless IPV6_V6ONLY; a v4-mapped bind takes its IPv4 address
    (ALL, "inet", "tcp", "10.0.0.2", 8080, "", None, None, [DUAL6], []),
    (ALL, "inet", "tcp", "10.0.0.2", 8081, "", None, None, [],
     [(ONLY6, "it is IPv6 only (IPV6_V6ONLY)")]),
    (ALL, "inet6", "tcp", "fd00::2", 8081, "", None, None, [ONLY6], []),
    (ALL, "inet", "tcp", "10.0.0.2", 9000, "", None, None, [MAPPED], []),
    (ALL, "inet", "tcp", "10.0.0.3", 9000, "", None, None, [],
     [(MAPPED, "it is bound to 10.0.0.2 only")]),
    # IPv4 sockets never see IPv6 packets
    (ALL, "inet6", "tcp", "fd00::2", 80, "", None, None, [],
     [(ANY4, "it is an IPv4 socket")]),
    # SO_BINDTODEVICE: only packets arriving on that interface
    (ALL, "inet", "tcp", "10.0.0.2", 7000, "", None, "link:1/3", [ON_ETH1], []),
    (ALL, "inet", "tcp", "10.0.0.2", 7000, "", None, "link:1/2", [],
     [(ON_ETH1, "it is bound to another interface (SO_BINDTODEVICE)")]),
    # UDP: a socket connected to the sender beats the bound one; others get the bound one
    (ALL, "inet", "udp", "10.0.0.2", 53, "10.0.0.9", 4000, None, [UDP_PEER], []),
    (ALL, "inet", "udp", "10.0.0.2", 53, "10.0.0.8", 4000, None, [UDP53], []),
    (ALL, "inet", "udp", "10.0.0.2", 54, "", None, None, [], []),
])
def test_socket_lookup(sockets, family, proto, dst, port, src, sport, iif, taken, missed):
    match = socket_lookup(sockets, family, proto, dst, port, src, sport, iif)
    assert list(match.sockets) == taken
    assert list(match.missed) == missed


def test_reuseport_group_and_other_ports():
    one, two = sock("tcp", "0.0.0.0", 80), sock("tcp", "0.0.0.0", 80, inode=2)
    match = socket_lookup([one, two, LOOP4], "inet", "tcp", "10.0.0.2", 80)
    assert match.sockets == (one, two), "an SO_REUSEPORT group: the kernel picks one by hash"
    nothing = socket_lookup([one, LOOP4, UDP53], "inet", "tcp", "10.0.0.2", 81)
    assert nothing.sockets == () and nothing.other_ports == (80, 5432)
