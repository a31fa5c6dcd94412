"""The drop monitor counts real drops in the kernel, per namespace, device, reason and place."""

from __future__ import annotations

import time

import pytest

from netscope.collect.runner import collect_snapshot
from netscope.trace.drops import monitor_drops
from netscope.trace.places import Places
from tests.kernel.test_trace_journey import build_bridge_lab, require_ebpf_here
from tests.support.netns import Namespaces, sh


@pytest.fixture
def lab():
    require_ebpf_here()
    spaces = Namespaces("nstr")
    try:
        yield build_bridge_lab(spaces)
    finally:
        spaces.cleanup()


def send_udp(lab, ns: str, dst: str, port: int, count: int) -> None:
    code = ("import socket,sys\n"
            "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            "for _ in range(int(sys.argv[3])): s.sendto(b'x', (sys.argv[1], int(sys.argv[2])))")
    sh("ip", "netns", "exec", ns, "python3", "-c", code, dst, str(port), str(count))


def test_udp_to_a_closed_port_is_counted_as_no_socket_in_the_receiving_namespace(lab):
    places = Places(collect_snapshot())

    def traffic(_duration):
        send_udp(lab, lab.a, lab.addr(2), 9, 5)
        time.sleep(0.3)

    report = monitor_drops(1.0, places, wait=traffic)
    # new namespaces also drop their own IPv6 multicast (MLD) packets: look at UDP only
    mine = [d for d in report.drops if d.namespace == lab.b and "udp" in (d.last_packet or "")]
    summary = [(d.namespace, d.device, d.reason, d.location, d.count) for d in report.drops]
    assert len(mine) == 1, summary
    drop = mine[0]
    assert (drop.device, drop.reason, drop.count) == ("eth0", "NO_SOCKET", 5), summary
    assert drop.location.startswith("__udp4_lib_rcv"), summary
    assert drop.last_packet.endswith(f"-> {lab.addr(2)}:9"), drop.last_packet
    assert report.not_counted == 0


def test_forward_drop_is_counted_at_the_bridge_namespace(lab):
    sh("ip", "netns", "exec", lab.br, "iptables", "-A", "FORWARD", "-p", "udp", "--dport",
       "7", "-j", "DROP")
    places = Places(collect_snapshot())
    report = monitor_drops(1.0, places, wait=lambda _d: (send_udp(lab, lab.a, lab.addr(2), 7, 3),
                                                          time.sleep(0.3)))
    mine = [(d.device, d.reason, d.count) for d in report.drops if d.namespace == lab.br]
    assert ("vb", "NETFILTER_DROP", 3) in mine, mine
