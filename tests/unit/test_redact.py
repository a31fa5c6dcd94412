"""Redaction: nothing original is left, and the redacted snapshot behaves like the original."""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import re
from pathlib import Path

import pytest

from netscope.analysis.doctor import run_doctor
from netscope.analysis.path import EndpointError, path
from netscope.cli.tree import render_tree
from netscope.model.dns import DnsNamespace, HostsEntry, ResolverConfig
from netscope.report.redact import HOST_TOKEN, redact
from netscope.snapshot import dumps, load, loads
from netscope.snapshot.codec import encode

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
NAMES = ("docker-like-lab", "docker-engine", "bundle-before", "bundle-after", "with-dns")
KEY = b"netscope-test-key".ljust(32, b".")


def _with_dns(snapshot):
    """The snapshot plus what the dns collector reads: nameservers, search domains, hosts."""
    ns = next(n for n in snapshot.namespaces if not n.is_self)
    resolver = ResolverConfig(
        id=f"resolv:{ns.inode}/0", netns=ns.id, path="/etc/resolv.conf",
        nameservers=("10.217.0.1", "203.0.113.53"), search=("corp.acme.example", "acme.lan"),
        hosts=(HostsEntry("127.0.0.1", ("localhost",)),
               HostsEntry("10.217.0.3", ("db.acme.lan", "db")),
               HostsEntry("127.0.1.1", (snapshot.header.hostname, "buildbox-17"))))
    return dataclasses.replace(snapshot, dns=(DnsNamespace(f"dns:{ns.inode}", ns.id,
                                                           (resolver,)),))


@pytest.fixture(scope="module", params=NAMES)
def original(request):
    if request.param == "with-dns":
        return _with_dns(load(str(FIXTURES / "bundle-after.json")))
    return load(str(FIXTURES / f"{request.param}.json"))


@pytest.fixture(scope="module")
def redacted(original):
    return redact(original, names=True, key=KEY)


WHOLE_BLOCKS = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24",
                                                  "203.0.113.0/24")]


def _kept(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Addresses that identify nothing and are deliberately kept: fe80:: (the network of every
    IPv6 link-local route), the network and broadcast address of a network that is a whole
    special-purpose block (nothing else they could become), loopback, multicast ..."""
    if any(ip in (n.network_address, n.broadcast_address) for n in WHOLE_BLOCKS):
        return True
    return str(ip) == "fe80::" or ip.is_loopback or ip.is_unspecified or ip.is_multicast or (
        ip.version == 4 and (ip in ipaddress.ip_network("240.0.0.0/4")
                             or ip in ipaddress.ip_network("0.0.0.0/8")))


def _ips_in_text(text: str) -> set[str]:
    """Addresses in free text, found without the redactor's own patterns."""
    out = set()
    for token in re.split(r"[\s,=\[\]{}()\"'@]+", text):
        for part in re.split(r"-(?=\d)", token):
            candidate = part.split("/")[0]
            if candidate.count(".") == 3 and ":" in candidate:
                candidate = candidate.split(":")[0]  # 10.0.0.2:80
            try:
                out.add(str(ipaddress.ip_address(candidate)))
            except ValueError:
                continue
    return out


def _originals(snapshot) -> tuple[set[str], set[str], set[str]]:
    """(addresses, MACs, words) held by the original snapshot, read field by field."""
    ips: set[str] = set()
    macs: set[str] = set()
    words = {snapshot.header.hostname}
    if snapshot.header.note:
        words.add(snapshot.header.note)
    for a in snapshot.addresses:
        ips.update(x for x in (a.address, a.peer, a.broadcast) if x)
    for r in snapshot.routes:
        ips.add(r.dst.split("/")[0])
        ips.update(x for x in (r.prefsrc, *(h.gateway for h in r.nexthops)) if x)
    for r in snapshot.rules:
        ips.update(x.split("/")[0] for x in (r.src, r.dst) if x)
    for n in snapshot.neighbours:
        ips.add(n.address)
        macs.update(x for x in (n.lladdr,) if x)
    for f in snapshot.fdb:
        macs.add(f.mac)
        ips.update(x for x in (f.dst,) if x)
    for link in snapshot.links:
        macs.update(x for x in (link.mac,) if x)
        ips.update(v for k, v in link.details.items() if k in ("remote", "local") and v)
        words.update(x for x in (link.alias,) if x)
    for t in snapshot.conntrack:
        for e in t.entries:
            ips.update((e.orig.src, e.orig.dst, e.reply.src, e.reply.dst))
    for table in snapshot.tables:
        for chain in table.chains:
            for rule in chain.rules:
                ips |= _ips_in_text(rule.text) | _ips_in_text(rule.nat_to or "")
                for m in rule.matches:
                    ips |= _ips_in_text(" ".join(m.values))
                words.update(x for x in (rule.comment,) if x)
    for c in snapshot.containers:
        words.update((c.name, c.container_id, c.container_id[:12], c.image))
    for ns in snapshot.namespaces:
        if not ns.is_self:
            words.add(ns.name)
    for d in snapshot.dns:
        for r in d.resolvers:
            ips.update(r.nameservers)
            words.update(r.search)
            for entry in r.hosts:
                ips.add(entry.address)
                words.update(n for n in entry.names if n != "localhost")
    ips = {str(ipaddress.ip_address(x)) for x in ips}
    return ({x for x in ips if not _kept(ipaddress.ip_address(x))},
            {m for m in macs if m not in ("00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff")
             and not int(m[:2], 16) & 1}, words)


@pytest.mark.parametrize("form", ["file text", "loaded and dumped"])
def test_no_original_value_is_left(original, redacted, form):
    text = redacted.text if form == "file text" else dumps(redacted.snapshot)
    ips, macs, words = _originals(original)
    assert ips and macs, "the fixture must hold addresses and MACs to test anything"
    for ip in ips:
        boundary = r"[\d.]" if "." in ip else r"[0-9a-fA-F:]"
        pattern = rf"(?<!{boundary}){re.escape(ip)}(?!{boundary})"
        assert not re.search(pattern, text), f"address {ip} left in the redacted snapshot"
    for mac in macs:
        assert mac not in text.lower(), f"MAC {mac} left in the redacted snapshot"
    for word in words - {"host", "vm"}:  # "host" names the root namespace, "vm" too short
        pattern = rf"(?<![\w.-]){re.escape(json.dumps(word)[1:-1])}(?![\w-])"
        assert not re.search(pattern, text), f"{word!r} left in the redacted snapshot"
    assert redacted.snapshot.header.hostname == HOST_TOKEN
    assert redacted.snapshot.header.redacted is True


def test_comment_and_alias_replaced_where_they_appear():
    snap = load(str(FIXTURES / "bundle-before.json"))
    red = redact(snap, key=KEY)
    rules = [r for t in red.snapshot.tables for c in t.chains for r in c.rules if r.comment]
    assert [r.comment for r in rules] == ["comment-1"]
    assert '--comment "comment-1"' in rules[0].text
    assert "203.0.113.7" not in rules[0].text
    aliases = [link.alias for link in red.snapshot.links if link.alias]
    assert aliases == ["alias-1"]


def test_redacted_snapshot_loads_and_shows(original, redacted):
    assert loads(redacted.text) == redacted.snapshot  # the fast rebuild equals a strict load
    again = loads(dumps(redacted.snapshot))
    assert again == redacted.snapshot
    tree = list(render_tree(redacted.snapshot))
    assert tree[0].startswith(HOST_TOKEN)
    assert redacted.rewrite("\n".join(list(render_tree(original))[1:])) == "\n".join(tree[1:])


def test_ids_and_fields_rewritten_consistently(original, redacted):
    red = redacted.snapshot
    assert [redacted.rewrite(a.id) for a in original.addresses] == [a.id for a in red.addresses]
    for a in red.addresses:
        ino, ifindex = a.link.split(":")[1].split("/")
        assert a.id == f"addr:{ino}/{ifindex}/{a.address}/{a.prefixlen}"
    assert [r.id for r in red.routes] == [redacted.rewrite(r.id) for r in original.routes]
    assert {r.dst.split("/")[1] for r in red.routes} == {r.dst.split("/")[1]
                                                          for r in original.routes}
    for r in red.routes:  # a route's destination is still a network
        ipaddress.ip_network(r.dst)


def test_class_prefix_and_membership_kept(original, redacted):
    pairs = list(zip(original.addresses, redacted.snapshot.addresses, strict=True))
    for before, after in pairs:
        old, new = ipaddress.ip_address(before.address), ipaddress.ip_address(after.address)
        assert after.prefixlen == before.prefixlen
        assert old.is_private == new.is_private, (old, new)
        assert old.is_global == new.is_global, (old, new)
        assert old.is_link_local == new.is_link_local
    # every gateway is still inside the subnet of the address it was inside
    for before, after in pairs:
        net_before = ipaddress.ip_interface(before.cidr).network
        net_after = ipaddress.ip_interface(after.cidr).network
        for r0, r1 in zip(original.routes, redacted.snapshot.routes, strict=True):
            for h0, h1 in zip(r0.nexthops, r1.nexthops, strict=True):
                if h0.gateway and ipaddress.ip_address(h0.gateway).version == net_before.version:
                    assert (ipaddress.ip_address(h0.gateway) in net_before) == \
                        (ipaddress.ip_address(h1.gateway) in net_after)


def _findings(snapshot) -> list[str]:
    return [json.dumps(encode(f), sort_keys=True) for f in run_doctor(snapshot)]


def test_doctor_findings_equal_up_to_renaming(original, redacted):
    expected = sorted(redacted.rewrite(f) for f in _findings(original))
    assert sorted(_findings(redacted.snapshot)) == expected


def test_doctor_finding_survives_redaction():
    snap = load(str(FIXTURES / "bundle-after.json"))
    red = redact(snap, names=True, key=KEY)
    checks = [f.check for f in run_doctor(red.snapshot)]
    assert "missing_masquerade" in checks
    assert [f.check for f in run_doctor(snap)] == checks


def _endpoints(snapshot) -> list[str]:
    names = [ns.name for ns in snapshot.namespaces] + [c.name for c in snapshot.containers]
    return names + [a.address for a in snapshot.addresses if a.scope == "global"][:4]


def test_path_walks_equal_up_to_renaming(original, redacted):
    walked = 0
    for src in _endpoints(original):
        for dst in _endpoints(original):
            for proto, port in (("icmp", None), ("tcp", 80)):
                try:
                    before = json.dumps(encode(path(original, src, dst, proto, port)))
                except EndpointError as e:
                    with pytest.raises(EndpointError) as after:
                        path(redacted.snapshot, redacted.rewrite(src), redacted.rewrite(dst),
                             proto, port)
                    assert str(after.value) == redacted.rewrite(str(e))
                    continue
                after = path(redacted.snapshot, redacted.rewrite(src), redacted.rewrite(dst),
                             proto, port)
                assert json.dumps(encode(after)) == redacted.rewrite(before), (src, dst, proto)
                walked += 1
    assert walked > 20


def test_same_key_same_tokens_other_key_other_tokens():
    snap = load(str(FIXTURES / "docker-like-lab.json"))
    a, b = redact(snap, key=KEY), redact(snap, key=KEY)
    c = redact(snap, key=b"another key".ljust(32, b"."))
    assert dumps(a.snapshot) == dumps(b.snapshot)
    assert [x.address for x in a.snapshot.addresses] != [x.address for x in c.snapshot.addresses]


def test_names_only_with_redact_names():
    snap = load(str(FIXTURES / "docker-engine.json"))
    plain = redact(snap, key=KEY).snapshot
    named = redact(snap, names=True, key=KEY).snapshot
    assert [c.name for c in plain.containers] == [c.name for c in snap.containers]
    assert [c.container_id for c in plain.containers] == [c.container_id for c in snap.containers]
    assert all(c.name.startswith("container-") for c in named.containers)
    assert all(re.fullmatch(r"[0-9a-f]{64}", c.container_id) for c in named.containers)
    # the container's namespace carries the same token as the container
    ns_names = {ns.id: ns.name for ns in named.namespaces}
    assert all(ns_names[c.netns] == c.name for c in named.containers if c.netns)


def test_special_addresses_kept_and_lengths_preserved():
    snap = load(str(FIXTURES / "bundle-before.json"))  # knows 10.217.0.0/16
    red = redact(snap, key=KEY)
    assert red.rewrite("127.0.0.1 ::1 0.0.0.0/0 ::/0 255.255.255.255 224.0.0.251") == \
        "127.0.0.1 ::1 0.0.0.0/0 ::/0 255.255.255.255 224.0.0.251"
    out = red.rewrite("10.217.0.0/16 10.217.255.255 10.217.0.7/16 fe80::1/64 02:42:ac:11:00:02")
    net, bcast, host, ll, mac = out.split()
    assert ipaddress.ip_network(net).prefixlen == 16
    assert str(ipaddress.ip_network(net).broadcast_address) == bcast
    assert ipaddress.ip_interface(host).network == ipaddress.ip_network(net)
    assert ipaddress.ip_interface(ll).ip.is_link_local
    assert mac != "02:42:ac:11:00:02" and int(mac[:2], 16) & 0x03 == 0x02


def test_fast_encoder_matches_the_codec(original):
    from netscope.report.redact import _encode
    from netscope.snapshot.codec import encode

    assert _encode(original) == encode(original)
