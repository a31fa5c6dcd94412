"""`nft -j list ruleset` parsing, from a real capture (fixtures/netfilter/capture.sh)."""

import json
from pathlib import Path

import pytest

from netscope.host import nft
from netscope.model.netfilter import conntrack_users

FIXTURES = Path(__file__).parents[2] / "fixtures" / "netfilter"
INODE = 4026532001
# the tables iptables-nft manages in the capture (iptables-save reads them)
XT_MANAGED = {("ip", "filter"), ("ip", "nat"), ("ip", "mangle"), ("ip", "raw"),
              ("ip6", "filter")}


def _load() -> dict:
    lines = (FIXTURES / "nft-ruleset.json").read_text().splitlines()
    return json.loads("\n".join(line for line in lines if not line.startswith("#")))


@pytest.fixture(scope="module")
def tables():
    return {(t.family, t.name): t for t in nft.parse_ruleset(_load(), INODE, XT_MANAGED)}


def _chain(table, name):
    return next(c for c in table.chains if c.name == name)


def test_native_tables_only(tables):
    assert set(tables) == {("inet", "nsnf_native"), ("ip", "nsnf_nat"),
                           ("bridge", "nsnf_br"), ("netdev", "nsnf_nd")}
    assert all(t.backend == "nft" for t in tables.values())
    native = tables[("inet", "nsnf_native")]
    assert native.id == f"nftable:{INODE}/inet/nsnf_native"
    assert [c.name for c in native.chains] == ["input", "helper", "helper2", "fwd_c"]


def test_base_chains(tables):
    native = tables[("inet", "nsnf_native")]
    inp = _chain(native, "input")
    assert (inp.hook, inp.type, inp.priority, inp.policy) == ("input", "filter", 10, "ACCEPT")
    assert _chain(native, "fwd_c").policy == "DROP"
    assert not _chain(native, "helper").is_base
    nat = tables[("ip", "nsnf_nat")]
    assert (_chain(nat, "pre").hook, _chain(nat, "pre").priority) == ("prerouting", -100)
    assert _chain(nat, "post").priority == 100
    assert _chain(tables[("netdev", "nsnf_nd")], "ing").hook == "ingress"


def test_rules_matches_and_jumps(tables):
    inp = _chain(tables[("inet", "nsnf_native")], "input")
    first = inp.rules[0]
    assert (first.action, first.jump, first.position) == ("jump", "helper", 1)
    assert first.handle is not None
    assert [(m.field, m.values) for m in first.matches] == [
        ("iif", ("veth0",)), ("saddr", ("10.2.0.0/16",)), ("proto", ("tcp",)),
        ("dport", ("22", "2222"))]
    assert first.text == ('iifname "veth0" ip saddr 10.2.0.0/16 tcp dport { 22, 2222 } '
                          "counter packets 0 bytes 0 jump helper")
    invalid = inp.rules[1]
    assert invalid.comment == "bad state" and invalid.action == "drop"
    assert invalid.matches[0].values == ("invalid",)
    assert inp.rules[2].matches[0].values == ("established", "related")
    assert inp.rules[3].matches[0].values == ("@blocked",)
    helper = _chain(tables[("inet", "nsnf_native")], "helper")
    assert helper.rules[1].matches[0].values == ("0x100/0xff00",)
    assert (helper.rules[1].action, helper.rules[1].jump) == ("goto", "helper2")
    assert helper.rules[2].matches[-1].values == ("1000:2000",)
    assert helper.rules[3].matches[1].negated
    assert helper.rules[4].action == "mark"
    assert helper.rules[4].action_args == {"set": "meta mark", "value": "32"}
    helper2 = _chain(tables[("inet", "nsnf_native")], "helper2")
    assert helper2.rules[0].matches[0].values == ("eth+",)
    assert helper2.rules[1].matches[0].negated


def test_counters_from_real_packets(tables):
    inp = _chain(tables[("inet", "nsnf_native")], "input")
    established = inp.rules[2]
    assert established.packets > 0 and established.bytes > 0
    icmp6 = next(r for r in inp.rules if r.text.startswith("ip6 nexthdr"))
    assert icmp6.packets >= 2
    assert inp.rules[8].packets is None  # `iif "lo" accept` has no counter


def test_nat_statements(tables):
    pre, post = (_chain(tables[("ip", "nsnf_nat")], n) for n in ("pre", "post"))
    assert [(r.action, r.nat_to) for r in pre.rules] == [
        ("dnat", "10.1.1.2:80"), ("dnat", "10.1.1.3"), ("redirect", ":3129")]
    assert pre.rules[1].matches[-1].values == ("5000:5010",)
    assert [(r.action, r.nat_to) for r in post.rules] == [
        ("masquerade", None), ("snat", "192.0.2.1"), ("masquerade", ":1024-65535")]
    assert post.rules[2].text.endswith("masquerade to :1024-65535 random")


def test_unrecognised_expressions_are_kept(tables):
    inp = _chain(tables[("inet", "nsnf_native")], "input")
    limit = inp.rules[4]
    assert [m.field for m in limit.unrecognised] == ["limit"]
    assert "daddr_type" in [m.field for m in limit.matches]
    vmap = inp.rules[7]
    assert vmap.action == "vmap"
    assert vmap.action_args["map"] == "{ 10.9.0.1 : accept, 10.9.0.2 : drop }"
    socket_rule = inp.rules[10]
    assert [m.text for m in socket_rule.unrecognised] == ["socket transparent 1"]
    bridge = _chain(tables[("bridge", "nsnf_br")], "fwd_c")
    assert not bridge.rules[0].matches[0].recognised


def test_xt_expressions_are_flagged_when_not_skipped():
    # without the skip set, iptables-nft's tables come through with opaque xt expressions:
    # flagged, never silently treated as matching everything
    everything = {(t.family, t.name): t for t in nft.parse_ruleset(_load(), INODE)}
    web = _chain(everything[("ip", "filter")], "WEB")
    assert [m.field for m in web.rules[0].unrecognised] == ["xt:addrtype"]
    log = web.rules[1]
    assert log.action == "xt:log" and log.unrecognised[0].field == "limit"


@pytest.mark.parametrize(("expr", "field", "values", "negated"), [
    ({"op": "==", "left": {"meta": {"key": "oifname"}}, "right": "docker0"},
     "oif", ("docker0",), False),
    ({"op": "!=", "left": {"payload": {"protocol": "ip", "field": "daddr"}},
      "right": {"prefix": {"addr": "172.17.0.0", "len": 16}}},
     "daddr", ("172.17.0.0/16",), True),
    ({"op": "==", "left": {"fib": {"result": "type", "flags": ["saddr"]}}, "right": "local"},
     "saddr_type", ("local",), False),
    ({"op": "in", "left": {"ct": {"key": "status"}}, "right": "dnat"},
     "ct_status", ("dnat",), False),
    ({"op": "==", "left": {"meta": {"key": "mark"}}, "right": 255}, "mark", ("0xff",), False),
])
def test_match_table(expr, field, values, negated):
    (match,) = nft.match_of(expr)
    assert (match.field, match.values, match.negated, match.recognised) == \
        (field, values, negated, True)


def test_comparison_operators_are_not_guessed():
    (implied, match) = nft.match_of(
        {"op": "<", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 1024})
    assert implied.field == "proto"
    assert (match.recognised, match.text) == (False, "tcp dport < 1024")


def test_what_uses_conntrack(tables):
    users = conntrack_users(list(tables.values()))
    assert "a conntrack match in inet nsnf_native/input" in users  # ct state invalid
    assert "nat chain ip nsnf_nat/pre" in users
    assert "a mark rule in inet nsnf_native/helper" in users  # ct mark set 0x1
    assert conntrack_users([tables[("bridge", "nsnf_br")]]) == []
