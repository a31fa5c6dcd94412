"""The rtnetlink reader, on captured bytes, against iproute2's view of the same namespace.

fixtures/rtnetlink/rtnl-dump.txt was captured by fixtures/rtnetlink/capture_rtnl.py from a
small router namespace (bridge and port, VXLAN over a veth, macvlan, tap, addresses with
labels, a peer and a secondary, routes with a metric, an MTU, two next hops and a blackhole,
policy rules, permanent neighbours, static FDB entries). Every object netscope decodes must
say what `ip -j -d` / `bridge -j` said about it at the same moment.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest

from netscope.host import rtnl
from netscope.host.netlink import parse_attrs
from netscope.host.rtnl_attrs import (
    AF_BRIDGE,
    FRA,
    IFA,
    IFADDRMSG,
    IFINFOMSG,
    IFLA,
    NDA,
    NDMSG,
    RTA,
    RTM_GETADDR,
    RTM_GETLINK,
    RTM_GETNEIGH,
    RTM_GETNETCONF,
    RTM_GETROUTE,
    RTM_GETRULE,
    RTMSG,
)
from netscope.host.rtnl_values import Memo
from netscope.model.made import maker, replaced

FIXTURE = Path(__file__).parents[2] / "fixtures" / "rtnetlink" / "rtnl-dump.txt"
SECTIONS = {RTM_GETLINK: "links", RTM_GETADDR: "addresses", RTM_GETROUTE: "routes",
            RTM_GETRULE: "rules", RTM_GETNETCONF: "netconf"}
TABLES = {"main": 254, "local": 255, "default": 253}


def _fixture() -> tuple[dict[str, list[bytes]], dict]:
    sections: dict[str, list[bytes]] = {}
    views: dict = {}
    current = None
    for line in FIXTURE.read_text().splitlines():
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), [])
        elif line.startswith("msg "):
            assert current is not None
            current.append(bytes.fromhex(line[4:]))
        elif line.startswith("ip "):
            views = json.loads(line[3:])
    return sections, views


class Replay:
    """Answers the reader's requests with the captured messages, as the kernel did."""

    def __init__(self, sections: dict[str, list[bytes]]) -> None:
        self.sections = sections

    def dump(self, msg_type: int, header: bytes, attrs: bytes = b"") -> list[bytes]:
        if msg_type == RTM_GETNEIGH:
            return self.sections["fdb" if header[0] == AF_BRIDGE else "neighbours"]
        return self.sections[SECTIONS[msg_type]]


@pytest.fixture(scope="module")
def captured():
    sections, views = _fixture()
    inode = views["inode"]
    sock = Replay(sections)
    links = rtnl.dump_links(sock, inode)
    names = {link.ifindex: link.name for link in links}
    return {
        "views": views, "inode": inode, "names": names, "links": links,
        "addresses": rtnl.dump_addrs(sock, inode), "routes": rtnl.dump_routes(sock, inode),
        "rules": rtnl.dump_rules(sock, inode), "neighbours": rtnl.dump_neighbours(sock, inode),
        "fdb": rtnl.dump_fdb(sock, inode), "netconf": rtnl.dump_netconf(sock),
        "sections": sections,
    }


def _ifname(captured, link_id: str | None) -> str | None:
    if link_id is None:
        return None
    assert link_id.startswith(f"link:{captured['inode']}/")
    return captured["names"][int(link_id.rsplit("/", 1)[1])]


def test_links_agree_with_ip(captured):
    ours = {link.name: link for link in captured["links"]}
    views = captured["views"]["links"]
    assert set(ours) == {v["ifname"] for v in views}
    for v in views:
        link = ours[v["ifname"]]
        info = v.get("linkinfo", {})
        assert link.id == f"link:{captured['inode']}/{v['ifindex']}"
        assert link.ifindex == v["ifindex"]
        assert link.mtu == v["mtu"]
        assert link.mac == v["address"]
        assert link.operstate == v["operstate"]
        assert set(link.flags) >= set(v["flags"]) - {"NO-CARRIER", "M-DOWN"}
        assert link.alias == v.get("ifalias")
        assert _ifname(captured, link.master) == v.get("master")
        assert link.kind == info.get("info_kind", "loopback" if v["ifname"] == "lo" else
                                     "device")
        if "link_netnsid" in v:  # the other end is in another namespace: resolved later
            assert link.peer is not None and link.peer.link is None
            assert (link.peer.ifindex, link.peer.netnsid) == (v["link_index"], v["link_netnsid"])
        elif link.kind == "veth":
            assert _ifname(captured, link.peer.link) == v["link"]
        elif "link" in v:  # macvlan: its parent, in this namespace
            assert _ifname(captured, link.parent) == v["link"]


def test_link_kinds_and_bridge_ports_agree_with_ip(captured):
    ours = {link.name: link for link in captured["links"]}
    data = {v["ifname"]: v.get("linkinfo", {}) for v in captured["views"]["links"]}
    vx = data["vx0"]["info_data"]
    assert ours["vx0"].details == {"vni": vx["id"], "local": vx["local"],
                                   "remote": vx["remote"], "dstport": vx["port"],
                                   "link_ifindex": ours[vx["link"]].ifindex}
    assert _ifname(captured, ours["vx0"].parent) == vx["link"]
    br = data["br0"]["info_data"]
    assert ours["br0"].details["forward_delay"] == br["forward_delay"]
    assert ours["br0"].details["stp"] == bool(br["stp_state"])
    assert ours["br0"].details["vlan_filtering"] == bool(br["vlan_filtering"])
    assert ours["mv0"].details == {"mode": data["mv0"]["info_data"]["mode"]}
    tap = data["tap0"]["info_data"]
    assert ours["tap0"].details == {"type": tap["type"], "persist": tap["persist"]}
    port = data["port0"]["info_slave_data"]
    got = ours["port0"].bridge_port
    assert (got.state, got.priority, got.cost) == (port["state"], port["priority"], port["cost"])
    assert (got.learning, got.flood, got.hairpin) == (port["learning"], port["flood"],
                                                      port["hairpin"])
    assert all(link.bridge_port is None for link in ours.values() if link.name != "port0")


def test_per_interface_sysctls_come_from_af_spec(captured):
    ours = {link.name: link for link in captured["links"]}
    # capture_rtnl.py set proxy_arp on eth0 only; forwarding is on for every interface
    assert ours["eth0"].sysctls["ipv4.proxy_arp"] == "1"
    assert ours["up0"].sysctls["ipv4.proxy_arp"] == "0"
    assert all(link.sysctls["ipv4.forwarding"] == "1" for link in ours.values())
    assert ours["eth0"].sysctls["ipv6.disable_ipv6"] == "0"


def test_addresses_agree_with_ip(captured):
    want = {(link["ifname"], a["local"]): a for link in captured["views"]["addresses"]
            for a in link["addr_info"]}
    ours = {(_ifname(captured, a.link), a.address): a for a in captured["addresses"]}
    assert set(ours) == set(want)
    for key, a in ours.items():
        v = want[key]
        assert (a.family, a.prefixlen, a.scope) == (v["family"], v["prefixlen"], v["scope"])
        assert a.label == v.get("label")
        assert a.broadcast == v.get("broadcast")
        assert a.peer == v.get("address")
        for flag in ("secondary", "nodad", "tentative"):
            assert (flag in a.flags) == bool(v.get(flag)), (key, flag)
        assert a.id == f"addr:{captured['inode']}/{a.link.rsplit('/', 1)[1]}/{a.address}/" \
                       f"{a.prefixlen}"


def _ip_dst(route: dict, family: str) -> str:
    dst = route["dst"]
    if dst == "default":
        return "0.0.0.0/0" if family == "inet" else "::/0"
    return str(ipaddress.ip_network(dst, strict=False)) if "/" in dst else \
        f"{dst}/{32 if family == 'inet' else 128}"


def test_routes_agree_with_ip(captured):
    want = {}
    for family, key in (("inet", "routes4"), ("inet6", "routes6")):
        for v in captured["views"][key]:
            table = TABLES.get(v["table"]) or int(v["table"])
            want[(family, table, v["type"], _ip_dst(v, family), v.get("dev"))] = v
    ours = {}
    for r in captured["routes"]:
        dev = _ifname(captured, r.nexthops[0].link) if len(r.nexthops) == 1 else None
        ours[(r.family, r.table, r.type, r.dst, dev)] = r
    assert set(ours) == set(want)
    for key, r in ours.items():
        v = want[key]
        assert (r.protocol, r.scope, r.prefsrc) == (v["protocol"], v["scope"], v.get("prefsrc"))
        assert r.metric == (v.get("metric") or None) or (r.metric, v.get("metric")) == (0, 0)
        assert r.mtu == next((m["mtu"] for m in v.get("metrics", []) if "mtu" in m), None)
        hops = v.get("nexthops") or ([v] if "dev" in v or "gateway" in v else [])
        assert [(h.gateway, _ifname(captured, h.link), h.weight) for h in r.nexthops] == \
            [(h.get("gateway"), h.get("dev"), h.get("weight", 1)) for h in hops]
        if "onlink" in v["flags"]:
            assert "onlink" in r.nexthops[0].flags


def test_route_ids_are_unique_and_name_the_route(captured):
    ids = [r.id for r in captured["routes"]]
    assert len(ids) == len(set(ids))
    default = next(r for r in captured["routes"] if r.dst == "0.0.0.0/0")
    assert default.id == f"route:{captured['inode']}/254/unicast/0.0.0.0/0/0/0/2"


def test_rules_agree_with_ip(captured):
    want = [("inet", v) for v in captured["views"]["rules4"]] + \
        [("inet6", v) for v in captured["views"]["rules6"]]
    assert len(captured["rules"]) == len(want)
    for r, (family, v) in zip(captured["rules"], want, strict=True):
        assert (r.family, r.priority) == (family, v["priority"])
        assert r.src == (None if v["src"] == "all" else f"{v['src']}/{v['srclen']}")
        assert r.dst == (f"{v['dst']}/{v['dstlen']}" if "dst" in v else None)
        assert r.invert == ("not" in v)
        assert r.iif == v.get("iif")
        assert r.fwmark == (int(v["fwmark"], 16) if "fwmark" in v else None)
        assert r.fwmask == (int(v["fwmask"], 16) if "fwmask" in v else None)
        if "goto" in v:
            assert (r.action, r.goto) == ("goto", v["goto"])
        else:
            assert (r.action, r.table) == ("lookup", TABLES.get(v["table"]) or int(v["table"]))


def test_neighbours_agree_with_ip(captured):
    ours = {(_ifname(captured, n.link), n.address): n for n in captured["neighbours"]}
    want = {(v["dev"], v["dst"]): v for v in captured["views"]["neighbours"]}
    assert set(ours) == set(want)
    for key, n in ours.items():
        assert n.lladdr == want[key].get("lladdr")
        assert list(n.state) == want[key]["state"]


def test_fdb_keeps_forwarding_entries_as_bridge_shows_them(captured):
    # a plain device's own multicast filter ("self", no master, no remote) is not
    # forwarding state: every other entry bridge(8) shows is kept
    want = {(v["ifname"], v["mac"], v.get("dst")): v for v in captured["views"]["fdb"]
            if "master" in v or "dst" in v}
    ours = {(_ifname(captured, e.link), e.mac, e.dst): e for e in captured["fdb"]}
    assert set(ours) == set(want)
    for key, e in ours.items():
        assert _ifname(captured, e.master) == want[key].get("master")
        assert e.state == want[key]["state"]
        assert ("self" in e.flags) == ("self" in want[key]["flags"])


def test_netconf_reads_the_namespace_switches(captured):
    # capture_rtnl.py: ip_forward=1 and conf.all.rp_filter=2 in the router namespace
    assert captured["netconf"][("inet", -1)]["forwarding"] == 1
    assert captured["netconf"][("inet", -1)]["rp_filter"] == 2
    assert set(captured["netconf"]) == {("inet", -1), ("inet", -2), ("inet6", -1),
                                        ("inet6", -2)}


@pytest.mark.parametrize("section,space,header", [
    ("links", IFLA, IFINFOMSG.size), ("addresses", IFA, IFADDRMSG.size),
    ("routes", RTA, RTMSG.size), ("rules", FRA, RTMSG.size), ("neighbours", NDA, NDMSG.size),
    ("fdb", NDA, NDMSG.size),
])
def test_every_attribute_the_kernel_sent_is_declared(captured, section, space, header):
    """The tables name every top-level attribute this kernel sends, so a message prints
    attribute by name and a reader's source can say which one it reads."""
    sent = {t for body in captured["sections"][section] for t in parse_attrs(body, header)}
    undeclared = sorted(t for t in sent if space.name(t) == f"{space.prefix}_{t}")
    assert not undeclared, f"{section}: undeclared {space.prefix} attributes {undeclared}"


def test_parsing_twice_gives_equal_objects_from_the_caches(captured):
    sock = Replay(captured["sections"])
    again = rtnl.dump_routes(sock, captured["inode"]) + rtnl.dump_rules(sock, captured["inode"])
    assert again == captured["routes"] + captured["rules"]


def test_maker_and_replaced_build_what_the_constructor_builds(captured):
    link = captured["links"][1]
    cls = type(link)
    fields = [getattr(link, name) for name in cls.__dataclass_fields__]
    assert maker(cls)(*fields) == cls(*fields)
    assert replaced(link, name="other") == cls(*[("other" if n == "name" else getattr(link, n))
                                                 for n in cls.__dataclass_fields__])
    with pytest.raises(TypeError):
        replaced(link, no_such_field=1)


def test_memo_is_bounded(monkeypatch):
    from netscope.host import rtnl_values

    monkeypatch.setattr(rtnl_values, "CACHE_SIZE", 4)
    memo: Memo[int, int] = Memo()
    for i in range(10):
        assert memo.decoded(i, lambda k: k * 2) == i * 2
        assert len(memo) <= 4
