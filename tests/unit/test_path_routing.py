"""Route lookup as the kernel does it: rules by priority, longest prefix, metric, route types."""

import pytest

from netscope.graph.routing import route_lookup
from netscope.model import Nexthop, Route, Rule


def route(dst, table=254, type_="unicast", metric=None, dev="eth0", gw=None):
    return Route(id=f"r/{table}/{dst}/{metric}/{dev}", netns="ns:1", family="inet", table=table,
                 type=type_, dst=dst, protocol="static", scope="global", metric=metric,
                 nexthops=(Nexthop(gw, f"link:1/{dev}"),))


def rule(priority, table=None, action="lookup", **sel):
    return Rule(id=f"rule/{priority}", netns="ns:1", family="inet", priority=priority,
                action=action, table=table, **sel)


ROUTES = [
    route("0.0.0.0/0", gw="10.0.0.1"),
    route("10.0.0.0/24", dev="eth0"),
    route("10.0.0.0/16", dev="eth1"),
    route("192.0.2.0/24", metric=200, dev="eth1"),
    route("192.0.2.0/24", metric=100, dev="eth2"),
    route("10.0.0.5/32", table=255, type_="local", dev="eth0"),
    route("198.51.100.0/24", table=100, dev="wg0"),
    route("203.0.113.0/24", type_="unreachable", dev="lo"),
]
RULES = [rule(0, 255), rule(100, 100, src="172.16.0.0/12"), rule(32766, 254), rule(32767, 253)]

CASES = [
    # (src, dst, expected kind, expected route id or None)
    ("10.0.0.5", "10.0.0.9", "unicast", "r/254/10.0.0.0/24/None/eth0"),   # longest prefix
    ("10.0.0.5", "10.0.7.1", "unicast", "r/254/10.0.0.0/16/None/eth1"),
    ("10.0.0.5", "192.0.2.7", "unicast", "r/254/192.0.2.0/24/100/eth2"),  # lowest metric
    ("10.0.0.5", "10.0.0.5", "local", "r/255/10.0.0.5/32/None/eth0"),     # local table first
    ("10.0.0.5", "8.8.4.4", "unicast", "r/254/0.0.0.0/0/None/eth0"),      # default route
    ("172.16.3.3", "198.51.100.9", "unicast", "r/100/198.51.100.0/24/None/wg0"),  # policy rule
    ("10.0.0.5", "198.51.100.9", "unicast", "r/254/0.0.0.0/0/None/eth0"),  # rule does not match
    ("10.0.0.5", "203.0.113.1", "unreachable", "r/254/203.0.113.0/24/None/lo"),
]


@pytest.mark.parametrize(("src", "dst", "kind", "route_id"), CASES)
def test_route_lookup(src, dst, kind, route_id):
    lk = route_lookup(ROUTES, RULES, "inet", src, dst)
    assert lk.kind == kind
    assert (lk.route.id if lk.route else None) == route_id


def test_no_route_without_default():
    lk = route_lookup(ROUTES[1:2], RULES, "inet", "10.0.0.5", "192.0.2.1")
    assert lk.kind == "none" and lk.route is None


def test_prohibit_rule_and_fwmark():
    rules = [rule(0, 255), rule(10, action="prohibit", fwmark=7, fwmask=0xFF), rule(32766, 254)]
    assert route_lookup(ROUTES, rules, "inet", "10.0.0.5", "10.0.0.9", mark=7).kind == "prohibit"
    assert route_lookup(ROUTES, rules, "inet", "10.0.0.5", "10.0.0.9", mark=8).kind == "unicast"


def test_snapshot_without_rules_uses_the_implicit_ones():
    lk = route_lookup(ROUTES, [], "inet", "10.0.0.5", "10.0.0.5")
    assert lk.kind == "local"
