"""kube-proxy's rules as netscope reads and evaluates them, in both of its modes.

The fixtures are real captures (fixtures/kube-proxy/capture.py) of rules written exactly as
kube-proxy writes them: kubernetes/kubernetes' own TestOverallIPTablesRules and
TestOverallNFTablesRules outputs (kube-proxy cannot run here: no API server). Six services:
ns1/svc1 (ClusterIP, one endpoint), ns2/svc2 (LoadBalancer, externalTrafficPolicy Local, no
local endpoint, NodePort 3001), ns3/svc3 (NodePort 3003), ns4/svc4 (two endpoints, external
IP 192.168.99.33), ns5/svc5 (source ranges, session affinity), ns6/svc6 (no endpoints).
The node's own address is 192.168.0.2 and pods live in 10.0.0.0/8, as in those tests.
"""

import json
from pathlib import Path

import pytest

from netscope.analysis.path import netfilter as nf
from netscope.host import iptables, nft

FIXTURES = Path(__file__).parents[2] / "fixtures" / "kube-proxy"
INODE = 4026532001
NS = f"ns:{INODE}"
NODE_IP = "192.168.0.2"
POD = "10.0.0.2"


def _iptables():
    text = (FIXTURES / "iptables-save.txt").read_text()
    return iptables.parse_save(text, INODE, "ip")


def _nft():
    lines = (FIXTURES / "nft-ruleset.json").read_text().splitlines()
    data = json.loads("\n".join(line for line in lines if not line.startswith("#")))
    return nft.parse_ruleset(data, INODE)


@pytest.fixture(scope="module", params=["iptables", "nftables"])
def ruleset(request):
    return request.param, _iptables() if request.param == "iptables" else _nft()


def _chain(tables, table, name):
    return next(c for t in tables if t.name == table for c in t.chains if c.name == name)


def _ctx(src, dst, dport, iif=None, oif=None):
    return nf.PacketContext("inet", src, dst, "tcp", 40000, dport, iif, oif,
                            local_addresses=frozenset({NODE_IP, "127.0.0.1"}))


def test_iptables_marks_and_probabilities_are_structured():
    tables = _iptables()
    mark_masq = _chain(tables, "nat", "KUBE-MARK-MASQ").rules[0]
    # iptables-save prints --or-mark as --set-xmark 0x4000/0x4000, --xor-mark as 0x4000/0x0
    assert (mark_masq.action, mark_masq.set_mark) == ("mark", "0x4000/0x4000")
    post = _chain(tables, "nat", "KUBE-POSTROUTING").rules
    assert [(m.field, m.values, m.negated) for m in post[0].matches] == [
        ("mark", ("0x4000/0x4000",), True)]
    assert post[1].set_mark == "0x4000/0x0"
    assert post[2].action == "masquerade" and post[2].action_args == {"random-fully": ""}
    pick = _chain(tables, "nat", "KUBE-SVC-4SW47YFZTEDKD3PK").rules[1]
    assert [(m.field, m.values) for m in pick.matches] == [("probability", ("0.50000000000",))]
    # nfacct only counts and `recent --set` always matches: neither makes a rule uncertain
    nodeport = _chain(tables, "nat", "KUBE-NODEPORTS").rules[0]
    affinity = _chain(tables, "nat", "KUBE-SEP-I77PXRDZVX7PMWMN").rules[1]
    assert not nodeport.unrecognised and not affinity.unrecognised


def test_nft_sets_maps_and_lookups_are_read():
    table = next(t for t in _nft() if t.name == "kube-proxy")
    sets = {s.name: s for s in table.sets}
    assert sets["cluster-ips"].kind == "set" and len(sets["cluster-ips"].elements) == 6
    services = sets["service-ips"]
    assert services.kind == "vmap"
    assert services.key_type == ("ipv4_addr", "inet_proto", "inet_service")
    by_key = {e.key: e.value for e in services.elements}
    assert by_key[("172.30.0.44", "tcp", "80")] == "goto service-LAUZTJTB-ns4/svc4/tcp/p80"
    no_endpoints = {e.key: e for e in sets["no-endpoint-services"].elements}
    svc6 = no_endpoints[("172.30.0.46", "tcp", "80")]
    assert (svc6.value, svc6.comment) == ("goto reject-chain", "ns6/svc6:p80")
    affinity = sets["affinity-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80"]
    assert "timeout" in affinity.flags and affinity.elements == ()
    services_rule = _chain([table], "kube-proxy", "services").rules[0]
    assert services_rule.action == "vmap"
    assert services_rule.lookup.key == ("daddr", "proto", "dport")
    assert services_rule.lookup.map == "@service-ips"
    pick = _chain([table], "kube-proxy", "service-LAUZTJTB-ns4/svc4/tcp/p80").rules[1]
    assert (pick.lookup.key, pick.lookup.numgen, pick.lookup.modulus) == (
        ("numgen",), "random", 2)
    assert [e.key for e in pick.lookup.elements] == [("0",), ("1",)]
    masq = _chain([table], "kube-proxy", "mark-for-masquerade").rules[0]
    unmark = _chain([table], "kube-proxy", "masquerading").rules[1]
    assert (masq.set_mark, unmark.set_mark) == ("0x4000/0x4000", "0x4000/0x0")


def test_chains_are_labelled_with_their_service(ruleset):
    mode, tables = ruleset
    labels = {c.name: c.label for t in tables for c in t.chains}
    if mode == "iptables":
        assert labels["KUBE-SVC-4SW47YFZTEDKD3PK"] == \
            "kube-proxy: service ns4/svc4:p80: picks one of its endpoints"
        assert labels["KUBE-SEP-UKSFD7AGPMPPLUHC"] == \
            "kube-proxy: endpoint 10.180.0.4:80 of service ns4/svc4:p80"
        assert "ns5/svc5:p80" in labels["KUBE-FW-NUKIZ6OKUXPJNT4C"]
        assert "0x4000" in labels["KUBE-POSTROUTING"]
    else:
        assert labels["endpoint-UNZV3OEC-ns4/svc4/tcp/p80__10.180.0.4/80"] == \
            "kube-proxy: endpoint 10.180.0.4:80 of service ns4/svc4:p80"
        assert "ns2/svc2:p80" in labels["external-42NFTM6N-ns2/svc2/tcp/p80"]


def test_a_cluster_ip_with_two_endpoints_is_a_choice_of_both(ruleset):
    _, tables = ruleset
    outcomes = nf.evaluate_all(tables, NS, "prerouting", _ctx(POD, "172.30.0.44", 80, "eth0"))
    got = sorted((round(o.probability, 6), o.verdict.nat[1].nat_to) for o in outcomes)
    assert got == [(0.5, "10.180.0.4:80"), (0.5, "10.180.0.5:80")]
    assert all(o.verdict.mark == 0 for o in outcomes), "pod traffic is not masqueraded"
    # without a decision, evaluation stops at the choice instead of guessing
    first = nf.evaluate_hook(tables, NS, "prerouting", _ctx(POD, "172.30.0.44", 80, "eth0"))
    assert first.verdict == "choice" and first.choice is not None


def test_a_service_without_endpoints_is_rejected_and_named(ruleset):
    mode, tables = ruleset
    ctx = _ctx(POD, "172.30.0.46", 80, "cni0", "cni0")
    assert nf.evaluate_hook(tables, NS, "prerouting", ctx).nat is None
    v = nf.evaluate_hook(tables, NS, "forward", ctx)
    assert v.verdict == "reject"
    if mode == "iptables":
        assert v.rule.comment == "ns6/svc6:p80 has no endpoints"
    else:
        assert v.chain.name == "reject-chain"
        assert [e.comment for _, e in v.elements] == ["ns6/svc6:p80"]


def test_the_node_masquerades_its_own_connection_because_of_the_mark(ruleset):
    _, tables = ruleset
    out = nf.evaluate_all(tables, NS, "output", _ctx(NODE_IP, "192.168.99.33", 80, None, "eth0"))
    assert sorted(o.verdict.nat[1].nat_to for o in out) == ["10.180.0.4:80", "10.180.0.5:80"]
    for o in out:
        assert o.verdict.mark == 0x4000, "KUBE-EXT marks external traffic for masquerade"
        after = nf.PacketContext("inet", NODE_IP, o.verdict.nat[1].nat_to.split(":")[0], "tcp",
                                 40000, 80, None, "eth0", mark=o.verdict.mark)
        post = nf.evaluate_hook(tables, NS, "postrouting", after)
        assert post.nat[0] == "masquerade" and post.mark == 0, "the mark is cleared"
    unmarked = nf.PacketContext("inet", POD, "10.180.0.4", "tcp", 40000, 80, "cni0", "cni0")
    assert nf.evaluate_hook(tables, NS, "postrouting", unmarked).nat is None


def test_a_nodeport_without_local_endpoints_drops_external_clients(ruleset):
    mode, tables = ruleset
    ctx = _ctx("203.0.113.2", NODE_IP, 3001, "eth0")
    v = nf.evaluate_hook(tables, NS, "input", ctx)
    assert v.verdict == "drop"
    if mode == "iptables":
        assert v.rule.comment == "ns2/svc2:p80 has no local endpoints"
    else:  # @nodeport-ips held the node's address, then @no-endpoint-nodeports the port
        assert [e.comment for _, e in v.elements] == [None, "ns2/svc2:p80"]
    # the NodePort of a service with endpoints goes to them, masqueraded
    routed = nf.evaluate_all(tables, NS, "prerouting", _ctx("203.0.113.2", NODE_IP, 3003,
                                                            "eth0"))
    assert [(o.verdict.nat[1].nat_to, o.verdict.mark) for o in routed] == [
        ("10.180.0.3:80", 0x4000)]
