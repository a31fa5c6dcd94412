"""The published-port checks read kube-proxy's endpoint DNATs too (both modes). The rules are
kube-proxy's own (fixtures/kube-proxy, real captures of kubernetes' TestOverall*Rules
outputs: kube-proxy cannot run here); the node and its pods around them are made up here:
a pod at 10.180.0.3 listening on 127.0.0.1:80 only, one at 10.180.0.2 listening on 8080."""

from __future__ import annotations

import pytest

from netscope.analysis.doctor import run_doctor
from netscope.graph.host import HostGraph
from netscope.model import Address, Header, Link, Namespace, Snapshot
from netscope.model.sockets import Socket, SocketProcess, SocketTable
from tests.unit.test_kube_proxy_rules import INODE, _iptables, _nft

PODS = {"10.180.0.3": (4026532101, "127.0.0.1", 80), "10.180.0.2": (4026532102, "0.0.0.0", 8080)}


def _snapshot(tables) -> Snapshot:
    namespaces = [Namespace(id=f"ns:{INODE}", inode=INODE, name="node", is_self=True)]
    links, addresses, sockets = [], [], []
    for ip, (inode, bound, port) in PODS.items():
        ns = f"ns:{inode}"
        namespaces.append(Namespace(id=ns, inode=inode, name=f"pod-{ip.rsplit('.', 1)[1]}"))
        link = f"link:{inode}/2"
        links.append(Link(id=link, netns=ns, ifindex=2, name="eth0", kind="veth", mtu=1500,
                          flags=("UP",), operstate="UP"))
        addresses.append(Address(id=f"addr:{inode}/2/{ip}/24", netns=ns, link=link,
                                 family="inet", address=ip, prefixlen=24, scope="global"))
        sock = Socket(id=f"sock:{inode}/1", netns=ns, proto="tcp", family="inet",
                      state="LISTEN", local=bound, local_port=port, inode=7,
                      processes=(SocketProcess(100 + port, "app", 3, 1),))
        sockets.append(SocketTable(id=f"sockets:{inode}", netns=ns, sockets=(sock,), count=1))
    header = Header(netscope_version="test", kernel="test", hostname="node",
                    captured_at="2026-12-03T00:00:00+00:00", duration_ms=0.0,
                    collectors=("links", "addresses", "netfilter", "sockets"))
    return Snapshot(header=header, namespaces=tuple(namespaces), links=tuple(links),
                    addresses=tuple(addresses), tables=tuple(tables), sockets=tuple(sockets))


@pytest.mark.parametrize("mode", ["iptables", "nftables"])
def test_kube_proxy_endpoints_nothing_takes_are_found(mode):
    snapshot = _snapshot(_iptables() if mode == "iptables" else _nft())
    published = {(p.target, p.target_port) for p in HostGraph.of(snapshot).published_ports}
    assert {("10.180.0.3", 80), ("10.180.0.2", 80)} <= published
    found = {f.check: f for f in run_doctor(snapshot)
             if f.check.startswith("published_port_")}
    loopback = found["published_port_loopback_only"]
    assert loopback.id == "published_port_loopback_only@pod-3/tcp/80"
    assert "listens on 127.0.0.1:80 only" in loopback.summary
    assert "Make it listen on 0.0.0.0:80" in loopback.summary
    missing = found["published_port_no_listener"]
    assert missing.id == "published_port_no_listener@pod-2/tcp/80"
    assert "nothing there listens on tcp/80; it listens on tcp/8080" in missing.summary
