"""DNS: parsing (resolv.conf, hosts, socket tables, symlinks inside a root), and where queries
go, judged on captured snapshots (fixtures/dns-docker.json, fixtures/flows-dns-lab.json)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest

from netscope.analysis.dns import dns_rows, host_nameservers
from netscope.analysis.doctor import run_doctor
from netscope.host.dns import (
    dns_listeners,
    parse_hosts,
    parse_resolv_conf,
    read_in_root,
    resolve_in_root,
)
from netscope.host.sockdiag import parse_proc_net
from netscope.model.dns import DOCKER_EMBEDDED_DNS, DnsListener
from netscope.snapshot import load
from tests.unit.conftest import FIXTURES

DOCKER = FIXTURES / "dns-docker.json"
LAB = FIXTURES / "flows-dns-lab.json"


@pytest.mark.parametrize("text, servers, search, ndots, options", [
    ("nameserver 127.0.0.11\noptions ndots:0\n", ("127.0.0.11",), (), 0, ("ndots:0",)),
    ("# c\nnameserver 10.0.0.1 # x\nnameserver fe80::1%eth0\n", ("10.0.0.1", "fe80::1"), (),
     None, ()),
    ("search a.example b.example\ndomain c.example\n", (), ("c.example",), None, ()),
    ("domain c.example\nsearch a.example b.example\n", (), ("a.example", "b.example"),
     None, ()),
    ("options ndots:5 timeout:1\noptions ndots:30 rotate\n", (), (), 15,
     ("ndots:5", "timeout:1", "ndots:30", "rotate")),
    ("nameserver\n; nameserver 1.1.1.1\n", (), (), None, ()),
])
def test_resolv_conf(text, servers, search, ndots, options):
    parsed = parse_resolv_conf(text)
    assert (parsed.nameservers, parsed.search, parsed.ndots, parsed.options) == (
        servers, search, ndots, options)


def test_hosts():
    entries = parse_hosts("127.0.0.1 localhost\n# c\n172.18.0.2\tab12 web  # x\nbad line\n"
                          "::1 ip6-localhost\n", limit=3)
    assert [(e.address, e.names) for e in entries] == [
        ("127.0.0.1", ("localhost",)), ("172.18.0.2", ("ab12", "web")),
        ("::1", ("ip6-localhost",))]


HEADER = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  " \
    "timeout inode ref pointer drops\n"


def _table(*rows: tuple[str, str, str, int]) -> str:
    """A /proc/net/udp{,6} table as the kernel writes it: (local, remote, state, inode)."""
    return HEADER + "".join(
        f"{i:4}: {local} {remote} {state} 00000000:00000000 00:00000000 00000000     0        0 "
        f"{inode} 2 0000000000000000 0\n" for i, (local, remote, state, inode) in enumerate(rows))


ZERO4, ZERO6 = "00000000:0000", "0" * 32 + ":0000"
UDP = _table(("0B00007F:C4DD", ZERO4, "07", 21), ("00000000:0035", ZERO4, "07", 22),
             ("0100007F:1F90", ZERO4, "07", 23), ("0200000A:0035", "0100000A:0035", "01", 24))
UDP6 = _table(("00000000000000000000000001000000:0035", ZERO6, "07", 31),
              ("0000000000000000FFFF00000B00007F:A000", ZERO6, "07", 32))


def _dns(text: str, family: str) -> list[DnsListener]:
    return dns_listeners((r["proto"], r["state"], r["local"], r["local_port"])
                         for r in parse_proc_net(text, "udp", family))


def test_socket_tables():
    """Bound UDP sockets on port 53 or on Docker's embedded DNS address answer; a connected
    one (a client that happens to use port 53) does not."""
    assert _dns(UDP, "inet") == [DnsListener("udp", "0.0.0.0", 53),
                                 DnsListener("udp", "127.0.0.11", 50397)]
    assert _dns(UDP6, "inet6") == [DnsListener("udp", "127.0.0.11", 40960),
                                   DnsListener("udp", "::1", 53)]
    assert [r["inode"] for r in parse_proc_net(UDP, "udp", "inet")] == [21, 22, 23, 24]


def test_symlinks_resolve_inside_the_root(tmp_path):
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "run" / "resolve").mkdir(parents=True)
    (root / "run" / "resolve" / "stub.conf").write_text("nameserver 127.0.0.53\n")
    (root / "etc" / "resolv.conf").symlink_to("/run/resolve/stub.conf")  # absolute
    (root / "etc" / "hosts").symlink_to("../../../../../../etc/../run/resolve/stub.conf")
    data, _ = read_in_root(str(root), "/etc/resolv.conf")
    assert data == b"nameserver 127.0.0.53\n"
    assert resolve_in_root(str(root), "/etc/hosts") == str(root / "run/resolve/stub.conf")
    (root / "etc" / "loop").symlink_to("/etc/loop")
    with pytest.raises(OSError):
        read_in_root(str(root), "/etc/loop")


@pytest.fixture(scope="module")
def docker():
    return load(str(DOCKER))


@pytest.fixture(scope="module")
def lab():
    return load(str(LAB))


def _row(snap, suffix: str, nameserver: str | None = None):
    return next(r for r in dns_rows(snap, idle=False) if r.name.endswith(suffix) and (
        nameserver is None or nameserver in r.resolver.nameservers))


def test_embedded_dns_is_reached_through_the_containers_own_dnat(docker):
    row = _row(docker, "nsdx-app")
    (view,) = row.nameservers
    assert view.kind == "docker-embedded" and view.reachable is True and row.judged
    targets = {int(rule.rsplit(":", 1)[1]) for rule in view.dnat}
    assert {int(s.rsplit(":", 1)[1]) for s in view.listeners} == targets and len(targets) == 2
    upstream = host_nameservers(docker)
    assert upstream and upstream[0] in view.explain  # where dockerd forwards the rest
    plain = _row(docker, "nsdx-plain")
    assert DOCKER_EMBEDDED_DNS not in plain.resolver.nameservers and plain.judged
    assert not [f for f in run_doctor(docker) if f.check == "nameserver_unreachable"]


def _without(snap, netns: str, rules: bool = False, sockets: bool = False):
    tables = snap.tables
    if rules:
        tables = tuple(dataclasses.replace(t, chains=tuple(
            dataclasses.replace(c, rules=tuple(r for r in c.rules if r.action != "dnat"))
            for c in t.chains)) if t.netns == netns else t for t in tables)
    dns = tuple(dataclasses.replace(d, listeners=()) if sockets and d.netns == netns else d
                for d in snap.dns)
    return dataclasses.replace(snap, tables=tables, dns=dns)


@pytest.mark.parametrize("rules, sockets, words", [
    (True, False, "no DNAT rule"),
    (False, True, "nothing in"),
])
def test_embedded_dns_broken_is_found(docker, rules, sockets, words):
    netns = _row(docker, "nsdx-app").netns
    broken = _without(docker, netns, rules, sockets)
    (view,) = _row(broken, "nsdx-app").nameservers
    assert view.reachable is False and words in view.explain
    findings = [f for f in run_doctor(broken) if f.check == "nameserver_unreachable"]
    assert [f.subject for f in findings] == [netns]
    assert findings[0].severity == "error" and "cannot resolve names" in findings[0].summary


def test_lab_resolvers_judged_as_real_queries_went(lab):
    good = _row(lab, "-c1", "198.18.17.1")
    (view,) = good.nameservers
    assert view.reachable is True and view.path is not None
    assert view.listeners == ("udp 0.0.0.0:53",) and "nsl-nsdxcap-inet" in view.explain
    bad = _row(lab, "-c2", "127.0.0.53")
    stub, unrouted = bad.nameservers
    assert stub.reachable is False and "systemd-resolved" in stub.explain
    assert unrouted.reachable is False and unrouted.path.verdict == "no_route"
    findings = [f for f in run_doctor(lab) if f.check == "nameserver_unreachable"]
    assert [f.subject for f in findings] == [bad.netns]
    # the lab's own servers read the host's file: shown as inherited, never judged
    inherited = [r for r in dns_rows(lab, idle=False) if r.inherited]
    assert inherited and not any(r.judged for r in inherited)
    assert not [r for r in dns_rows(lab, idle=False, inherited=False) if r.inherited]


def _flag_listener_gone(lab):
    inet = next(n.id for n in lab.namespaces if n.name == "nsl-nsdxcap-inet")
    return dataclasses.replace(lab, dns=tuple(
        dataclasses.replace(d, listeners=()) if d.netns == inet else d for d in lab.dns))


def test_routed_nameserver_without_a_socket_is_unreachable(lab):
    (view,) = _row(_flag_listener_gone(lab), "-c1", "198.18.17.1").nameservers
    assert view.reachable is False and "nothing there listens" in view.explain


def netscope(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "netscope", *args], capture_output=True,
                          text=True, timeout=60)


def test_cli():
    out = netscope("dns", "--snapshot", str(DOCKER), "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    app = next(r for r in doc["namespaces"] if r["name"].endswith("nsdx-app"))
    assert app["nameservers"][0]["kind"] == "docker-embedded" and app["containers"]
    text = netscope("dns", "--snapshot", str(DOCKER)).stdout
    assert "DNAT nat/DOCKER_OUTPUT" in text and "answered by udp 127.0.0.11:" in text
    old = netscope("dns", "--snapshot", str(FIXTURES / "docker-like-lab.json"))
    assert old.returncode == 2 and "no DNS view" in old.stderr and "Traceback" not in old.stderr
