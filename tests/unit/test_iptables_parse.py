"""iptables-save -c parsing, from real captures (fixtures/netfilter/capture.sh)."""

from pathlib import Path

import pytest

from netscope.host import iptables
from netscope.model.netfilter import NfMatch, conntrack_users

FIXTURES = Path(__file__).parents[2] / "fixtures" / "netfilter"
INODE = 4026532000


def _tables(name: str, family: str = "ip", backend: str = "iptables-nft"):
    text = (FIXTURES / name).read_text()
    return {t.name: t for t in iptables.parse_save(text, INODE, family, backend)}


def _chain(table, name):
    return next(c for c in table.chains if c.name == name)


@pytest.fixture(scope="module")
def v4():
    return _tables("iptables-save.txt")


def test_tables_chains_and_policies(v4):
    assert set(v4) == {"mangle", "raw", "filter", "nat"}
    filt = v4["filter"]
    assert [c.name for c in filt.chains] == ["INPUT", "FORWARD", "OUTPUT", "LOGDROP", "WEB"]
    forward = _chain(filt, "FORWARD")
    assert (forward.hook, forward.priority, forward.policy, forward.type) == \
        ("forward", 0, "DROP", "filter")
    web = _chain(filt, "WEB")
    assert not web.is_base and web.policy is None and web.packets is None
    assert _chain(v4["nat"], "PREROUTING").priority == -100
    assert _chain(v4["nat"], "POSTROUTING").priority == 100
    assert _chain(v4["raw"], "PREROUTING").priority == -300
    assert _chain(v4["mangle"], "OUTPUT").type == "route"
    assert filt.backend == "iptables-nft" and filt.family == "ip"
    assert filt.id == f"nftable:{INODE}/ip/filter"
    assert web.id == f"chain:{INODE}/ip/filter/WEB"


def test_counters_from_real_packets(v4):
    # the capture pinged the namespace 3 times: the first echo request was NEW, then
    # ESTABLISHED; mangle marked all three
    inp = _chain(v4["filter"], "INPUT")
    assert inp.rules[1].packets >= 2 and inp.rules[1].bytes > 0
    assert inp.rules[4].packets == 1
    assert _chain(v4["mangle"], "PREROUTING").rules[0].packets == 3


def test_rule_structure(v4):
    inp = _chain(v4["filter"], "INPUT")
    assert [r.position for r in inp.rules] == list(range(1, 8))
    assert inp.rules[0].matches == (NfMatch("iif", ("lo",), False, True, "-i lo"),)
    assert inp.rules[1].matches[0].field == "ct_state"
    assert inp.rules[1].matches[0].values == ("related", "established")
    jump = inp.rules[2]
    assert (jump.action, jump.jump) == ("jump", "WEB")
    assert [(m.field, m.values) for m in jump.matches] == [("proto", ("tcp",)),
                                                          ("dport", ("80", "443"))]
    dns = inp.rules[3]
    assert dns.comment == 'dns "from" lan'
    assert [(m.field, m.values, m.negated) for m in dns.matches] == [
        ("saddr", ("10.0.0.0/8",), False), ("iif", ("eth0",), True),
        ("proto", ("udp",), False), ("dport", ("53",), False)]
    goto = inp.rules[5]
    assert (goto.action, goto.jump, goto.terminal) == ("goto", "LOGDROP", True)
    assert ("saddr", ("10.2.0.2-10.2.0.9",)) in [(m.field, m.values) for m in goto.matches]
    assert ("tcp_flags", ("SYN,RST", "SYN")) in [(m.field, m.values) for m in goto.matches]
    assert inp.rules[0].text == "-A INPUT -i lo -j ACCEPT"


def test_nat_targets(v4):
    nat = v4["nat"]
    dnat = _chain(nat, "PREROUTING").rules[1]
    assert (dnat.action, dnat.nat_to) == ("dnat", "10.1.1.2:80")
    assert dnat.action_args == {"to-destination": "10.1.1.2:80"}
    masq, snat = _chain(nat, "POSTROUTING").rules
    assert (masq.action, masq.nat_to) == ("masquerade", None)
    assert (snat.action, snat.nat_to) == ("snat", "192.0.2.1")
    redirect = _chain(nat, "OUTPUT").rules[0]
    assert (redirect.action, redirect.nat_to) == ("redirect", "3129")
    docker = _chain(nat, "DOCKER")
    assert docker.label and docker.label.startswith("Docker")
    assert docker.rules[0].nat_to == "10.1.1.3:81"


def test_unrecognised_matches_are_kept_and_flagged(v4):
    web = _chain(v4["filter"], "WEB")
    limit = web.rules[1].unrecognised
    assert [(m.field, m.text) for m in limit] == [("limit", "-m limit --limit 5/sec")]
    assert web.rules[1].action == "log" and web.rules[1].action_args == {"log-prefix": "web: "}
    socket_match = web.rules[2].unrecognised
    assert [m.text for m in socket_match] == ["-m socket"]
    forward = _chain(v4["filter"], "FORWARD")
    assert [m.text for m in forward.rules[1].unrecognised] == \
        ["-m conntrack --ctorigdstport 8080"]
    # --limit-iface-in changes what addrtype means: flagged, beside the recognised dst-type
    addrtype = _chain(v4["filter"], "INPUT").rules[6]
    assert [m.recognised for m in addrtype.matches] == [True, False]


def test_other_targets(v4):
    logdrop = _chain(v4["filter"], "LOGDROP")
    queue, reject = logdrop.rules
    assert queue.action == "queue" and queue.action_args == {"queue-num": "3"}
    assert [(m.field, m.values, m.negated) for m in queue.matches] == [
        ("ct_state", ("new",), True), ("ct_direction", ("original",), False)]
    assert reject.action == "reject"
    assert _chain(v4["raw"], "PREROUTING").rules[0].action == "notrack"
    assert _chain(v4["mangle"], "PREROUTING").rules[0].action == "mark"


def test_ip6_and_legacy_backends():
    v6 = _tables("ip6tables-save.txt", "ip6")
    rules = _chain(v6["filter"], "INPUT").rules
    assert rules[0].packets >= 2
    assert rules[1].matches[0].values == ("fd00::/64",)
    assert rules[2].matches[-1] .field == "icmp_type"
    legacy = _tables("iptables-legacy-save.txt", "ip", "iptables-legacy")["filter"]
    assert legacy.backend == "iptables-legacy"
    assert legacy.id == f"nftable:{INODE}/ip-legacy/filter"
    # the capture sent one datagram into the legacy DROP rule, and legacy counts policies
    drop = _chain(legacy, "OUTPUT").rules[0]
    assert drop.packets == 1 and drop.action == "drop"
    assert _chain(legacy, "OUTPUT").packets > 0


@pytest.mark.parametrize(("args", "expected"), [
    ("-p tcp -m tcp ! --dport 22", [("proto", ("tcp",), False), ("dport", ("22",), True)]),
    ("-m set --match-set kube-svc dst,dst", [("ipset", ("kube-svc", "dst,dst"), False)]),
    ("-m physdev --physdev-out veth1 --physdev-is-bridged",
     [("physdev_out", ("veth1",), False), ("physdev_is_bridged", (), False)]),
    ("-m mark ! --mark 0x4000/0x4000", [("mark", ("0x4000/0x4000",), True)]),
    ("-p tcp -m tcp --syn", [("proto", ("tcp",), False),
                             ("tcp_flags", ("FIN,SYN,RST,ACK", "SYN"), False)]),
    ("-m multiport --ports 1000:2000,3000", [("port", ("1000:2000", "3000"), False)]),
    ("-o docker0+", [("oif", ("docker0+",), False)]),
])
def test_match_table(args, expected):
    parsed = iptables.parse_rule_args(args + " -j ACCEPT", set())
    assert [(m.field, m.values, m.negated) for m in parsed["matches"]] == expected
    assert all(m.recognised for m in parsed["matches"])


def test_unknown_module_and_target_are_never_dropped():
    parsed = iptables.parse_rule_args(
        '-m owner --uid-owner 1000 -m string --algo bm --string "GET /" '
        "-j TPROXY --on-port 3129 --tproxy-mark 0x1/0x1", set())
    assert [(m.field, m.recognised) for m in parsed["matches"]] == [
        ("owner", False), ("string", False), ("string", False)]
    assert parsed["matches"][2].text == '-m string --string "GET /"'
    assert parsed["action"] == "tproxy"
    assert parsed["action_args"] == {"on-port": "3129", "tproxy-mark": "0x1/0x1"}


def test_tokenizer_keeps_quoted_words():
    assert iptables.tokenize(r'-m comment --comment "a \"b\" c" -j X') == [
        ("-m", False), ("comment", False), ("--comment", False), ('a "b" c', True),
        ("-j", False), ("X", False)]


def test_incompatible_tables_are_reported():
    text = "# Table `filter' is incompatible, use 'nft' tool.\n"
    assert iptables.incompatible_tables(text) == {"filter"}


def test_what_uses_conntrack(v4):
    users = conntrack_users(list(v4.values()))
    assert "nat chain ip nat/POSTROUTING" in users
    assert "a conntrack match in ip filter/INPUT" in users
    assert "a dnat rule in ip nat/DOCKER" in users
    assert conntrack_users([v4["mangle"], v4["raw"]]) == []
    legacy = _tables("iptables-legacy-save.txt", "ip", "iptables-legacy")
    assert conntrack_users(list(legacy.values())) == []
