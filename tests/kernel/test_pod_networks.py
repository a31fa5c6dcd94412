"""Calico-style routed pods, for real: each pod's eth0 holds a /32 and routes everything via
169.254.1.1, an address nobody holds; the node's host-side veth (cali*) answers ARP for it
by proxy ARP, and the node routes each pod's /32 to its veth. Calico (felix) cannot run
here: the node is built as felix builds it, and its policy chains are written in felix's
iptables format (the cali-to-wl-dispatch -> cali-tw-<iface> layout of a Calico node's
iptables-save), for one pod whose only policy allows nothing.

    <tag>-p1: eth0 10.X.Y.2/32 == cali<tag>1 ┐
                                             ├ <tag>-node (ip_forward, /32 routes, eth0 to ext)
    <tag>-p2: eth0 10.X.Y.3/32 == cali<tag>2 ┘
"""

from __future__ import annotations

import random
import shlex

import pytest

from netscope.analysis.path import path
from netscope.cli.tree import render_tree
from netscope.collect.runner import collect_snapshot
from tests.support.netns import Namespaces, ip, pings, require_root, sh

GATEWAY = "169.254.1.1"


@pytest.fixture
def calico():
    reason = require_root()
    if reason:
        pytest.skip(reason)
    spaces = Namespaces("nscal")
    try:
        node, ext = spaces.add("node"), spaces.add("ext")
        net = f"10.{random.randint(160, 250)}.{random.randint(0, 255)}"
        ip("link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", ext, ns=node)
        ip("addr", "add", "192.168.77.1/24", "dev", "eth0", ns=node)
        ip("addr", "add", "192.168.77.2/24", "dev", "eth0", ns=ext)
        for ns in (node, ext):
            ip("link", "set", "eth0", "up", ns=ns)
        ip("route", "add", "default", "via", "192.168.77.2", ns=node)
        sh("ip", "netns", "exec", node, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        pods = {}
        for n in (1, 2):
            pod, cali, address = spaces.add(f"p{n}"), f"cali{spaces.tag}{n}"[:15], f"{net}.{n + 1}"
            ip("link", "add", cali, "type", "veth", "peer", "name", "eth0", "netns", pod,
               ns=node)
            ip("addr", "add", f"{address}/32", "dev", "eth0", ns=pod)
            ip("link", "set", "eth0", "up", ns=pod)
            ip("route", "add", GATEWAY, "dev", "eth0", "scope", "link", ns=pod)
            ip("route", "add", "default", "via", GATEWAY, "dev", "eth0", ns=pod)
            ip("link", "set", cali, "up", ns=node)
            # as felix sets them: proxy ARP on, and answered at once (proxy_delay 0, not
            # the default up to 0.8 s)
            sh("ip", "netns", "exec", node, "sysctl", "-qw",
               f"net.ipv4.conf.{cali}.proxy_arp=1", f"net.ipv4.neigh.{cali}.proxy_delay=0")
            ip("route", "add", f"{address}/32", "dev", cali, "scope", "link", ns=node)
            pods[n] = (pod, cali, address)
        yield node, pods
    finally:
        spaces.cleanup()


def felix_deny_to(node: str, cali: str) -> None:
    """felix's chains for one workload whose only ingress policy allows nothing."""
    pi = "cali-pi-_tTE-E7yY40ogArNVgKt"  # felix names it by a hash of the policy
    rules = [
        ("FORWARD", '-m comment --comment "cali:wUHhoiAYhphO9Mso" -j cali-FORWARD'),
        ("cali-FORWARD", '-m comment --comment "cali:X3vB2lGcBrfkYquC" -j '
                         "cali-to-wl-dispatch"),
        ("cali-to-wl-dispatch", f'-o {cali} -m comment --comment "cali:v3sEoNToLYUOg7M6" '
                                f"-g cali-tw-{cali}"),
        (f"cali-tw-{cali}", '-m comment --comment "cali:eCrqwxNk3cKw9Eq6" -m conntrack '
                            "--ctstate RELATED,ESTABLISHED -j ACCEPT"),
        (f"cali-tw-{cali}", '-m comment --comment "cali:_krp5nzavhAu5avJ" -m conntrack '
                            "--ctstate INVALID -j DROP"),
        (f"cali-tw-{cali}", '-m comment --comment "cali:Cu-tVtfKKu413YTT" -j MARK '
                            "--set-xmark 0x0/0x10000"),
        (f"cali-tw-{cali}", '-m comment --comment "cali:leBL64hpAXM9y4nk" -m comment '
                            '--comment "Start of policies" -j MARK --set-xmark 0x0/0x20000'),
        (f"cali-tw-{cali}", '-m comment --comment "cali:pm-LK-c1ra31tRwz" -m mark --mark '
                            f"0x0/0x20000 -j {pi}"),
        (f"cali-tw-{cali}", '-m comment --comment "cali:q_zG8dAujKUIBe0Q" -m comment '
                            '--comment "Return if policy accepted" -m mark --mark '
                            "0x10000/0x10000 -j RETURN"),
        (f"cali-tw-{cali}", '-m comment --comment "cali:FUDVBYh1Yr6tVRgq" -m comment '
                            '--comment "Drop if no policies passed packet" -m mark --mark '
                            "0x0/0x20000 -j DROP"),
    ]
    for chain in ("cali-FORWARD", "cali-to-wl-dispatch", f"cali-tw-{cali}", pi):
        sh("ip", "netns", "exec", node, "iptables", "-N", chain)
    for chain, rule in rules:
        sh("ip", "netns", "exec", node, "iptables", "-A", chain, *shlex.split(rule))


def test_routed_pods_reach_each_other_through_proxy_arp(calico):
    node, pods = calico
    (p1, cali1, _), (_, _, a2) = pods[1], pods[2]
    assert pings(p1, a2), "real traffic: the pods reach each other through the node"
    snap = collect_snapshot()
    result = path(snap, p1, a2)
    assert result.verdict == "delivered", result.summary
    proxied = [h for h in result.hops if h.decision.startswith("proxy ARP")]
    assert proxied and proxied[0].netns_name == node and proxied[0].device == cali1
    assert GATEWAY in proxied[0].decision
    assert result.reply.verdict == "delivered"
    tree = "\n".join(render_tree(snap))
    assert f"{cali1}  veth" in tree and "[Calico workload interface: proxy ARP, routed /32]" \
        in tree


def test_a_calico_policy_chain_that_drops_is_named_with_its_pod(calico):
    node, pods = calico
    (p1, _, _), (p2, cali2, a2) = pods[1], pods[2]
    felix_deny_to(node, cali2)
    assert not pings(p1, a2), "real traffic: the policy drops it"
    result = path(collect_snapshot(), p1, a2)
    assert result.verdict == "dropped" and result.hops[-1].netns_name == node
    assert result.summary.endswith(f"(dropped by policy chain cali-tw-{cali2} of {p2})"), \
        result.summary
