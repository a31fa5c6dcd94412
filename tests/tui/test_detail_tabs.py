"""The Flows and DNS tabs: what they say for a namespace of a recorded lab, and what they say
when the snapshot cannot answer (no accounting, no collector); then the same in the app."""

from __future__ import annotations

from dataclasses import replace

from rich.console import Console

from netscope.graph.host import HostGraph
from netscope.snapshot import load
from netscope.tui.detail_common import Selection
from netscope.tui.detail_dns import dns_tab, prepare_dns
from netscope.tui.detail_flows import ENABLE_HINT, flows_tab, prepare_flows
from tests.tui.conftest import SIZE, offline_app, snapshot_path, sync
from tests.tui.test_app import shown


def text(renderable, width: int = 200) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def lab(name: str):
    snap = load(snapshot_path(name))
    return snap, HostGraph.of(snap)


def ns(index: HostGraph, suffix: str) -> str:
    return next(n.id for n in index.namespaces.values() if n.name.endswith(suffix))


def flows_of(name: str, suffix: str) -> str:
    snap, index = lab(name)
    return text(flows_tab(index, Selection(ns(index, suffix)), prepare_flows(snap)))


def test_flows_of_a_container_with_bytes_each_way_class_and_nat():
    # the fixture's capture: c1 sent 10 MB to c2:7001 (1 MB back), 10 MB to inet:7001
    # through the host's masquerade, and inet reached c1:80 through the published port 8080
    out = flows_of("flows-dns-lab.json", "-c1")
    assert "accounting on in nsl-nsdxcap-host" in out
    assert "3 flows of nsl-nsdxcap-c1" in out
    lines = out.splitlines()
    to_c2 = next(i for i, line in enumerate(lines) if "→ 10.217.0.3:7001 (nsl-nsdxcap-c2)" in line)
    assert "east-west" in lines[to_c2]
    assert "sent 9.6 MiB (212 pkts) · received 984.3 KiB (152 pkts)" in lines[to_c2 + 1]
    to_inet = next(i for i, line in enumerate(lines) if "→ 198.18.17.1:7001" in line)
    assert "north-south" in lines[to_inet]
    assert "SNAT 10.217.0.2:57324 -> 198.18.17.2:57324" in out
    inbound = next(i for i, line in enumerate(lines) if line.startswith("← 198.18.17.1:"))
    assert "north-south" in lines[inbound]
    assert "DNAT 198.18.17.2:8080 -> 10.217.0.2:80" in out and "dialled 198.18.17.2:8080" in out


def test_the_container_host_lists_the_flows_it_forwards():
    out = flows_of("flows-dns-lab.json", "-host")
    assert "3 flows nsl-nsdxcap-host forwards between other ends" in out
    assert "10.217.0.2:50066 (nsl-nsdxcap-c1) → 10.217.0.3:7001 (nsl-nsdxcap-c2)" in out


def test_without_accounting_the_tab_says_how_to_get_byte_counts():
    out = flows_of("tui-docker-bridge.json", "-c1")
    assert "accounting off in nsl-nstui-host: no byte counts" in out
    assert ENABLE_HINT in out and "the TUI never turns it on" in out
    assert "no flows of nsl-nstui-c1 in conntrack" in out


def test_a_namespace_no_conntrack_can_see_says_so():
    snap, index = lab("flows-dns-lab.json")
    off = replace(snap, conntrack=tuple(replace(t, active=False, entries=())
                                        for t in snap.conntrack))
    out = text(flows_tab(HostGraph.of(off), Selection(ns(index, "-c1")), prepare_flows(off)))
    assert "conntrack is not running here or in the namespaces joined to it" in out


def test_a_snapshot_without_conntrack_says_so_instead_of_an_empty_list():
    snap, index = lab("flows-dns-lab.json")
    header = replace(snap.header, collectors=tuple(c for c in snap.header.collectors
                                                   if c != "conntrack"))
    index = HostGraph.of(replace(snap, header=header))
    assert "has no conntrack data" in text(flows_tab(index, Selection(ns(index, "-c1")), None))


def dns_of(name: str, suffix: str) -> str:
    snap, index = lab(name)
    return text(dns_tab(index, Selection(ns(index, suffix)), prepare_dns(snap)))


def test_dns_of_a_docker_container_shows_the_embedded_dns_and_its_dnat():
    out = dns_of("dns-docker.json", "-app")
    assert "nameserver 127.0.0.11  answers" in out
    assert "Docker's embedded DNS" in out
    assert "DNAT nat/DOCKER_OUTPUT" in out and "--to-destination 127.0.0.11:50397" in out
    assert "answered by udp 127.0.0.11:50397" in out
    assert "ndots 0" in out
    assert "172.21.0.2  683c1bb18ec8" in out  # /etc/hosts: the container's own name


def test_dns_of_a_lab_namespace_names_the_unreachable_nameservers():
    out = dns_of("flows-dns-lab.json", "-c2")
    assert "nameserver 127.0.0.53  UNREACHABLE" in out
    assert "systemd-resolved's stub" in out
    assert "nameserver 10.99.99.99  UNREACHABLE" in out
    assert "ndots 5" in out and "read by python[3100], python[3105]" in out
    # its other processes read the host's file, inherited
    assert "the host's own resolv.conf, inherited" in out


def test_dns_of_a_namespace_where_nothing_runs_says_what_ip_netns_exec_would_read():
    out = dns_of("flows-dns-lab.json", "-host")
    assert "/etc/resolv.conf" in out and "no process runs here" in out


def test_a_snapshot_without_the_dns_collector_says_so():
    snap, _ = lab("tui-docker-bridge.json")
    header = replace(snap.header, collectors=tuple(c for c in snap.header.collectors
                                                   if c != "dns"))
    index = HostGraph.of(replace(snap, header=header))
    out = text(dns_tab(index, Selection(ns(index, "-c1")), None))
    assert "has no DNS view" in out


@sync
async def test_the_app_shows_flows_and_dns_for_the_selected_container():
    app = offline_app("flows-dns-lab.json")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.selected = next(n.id for n in app.snapshot.namespaces
                                      if n.name.endswith("-c1"))
        await pilot.pause()
        await pilot.click("#details Tab#--content-tab-tab-flows")
        await app.workers.wait_for_complete()
        await pilot.pause()
        flows = shown(app.query_one("#detail-flows"))
        assert "3 flows of nsl-nsdxcap-c1" in flows and "east-west" in flows
        await pilot.click("#details Tab#--content-tab-tab-dns")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "nameserver 198.18.17.1  answers" in shown(app.query_one("#detail-dns"))
        # the selection changes: the tab follows without another worker run
        app.selected = next(n.id for n in app.snapshot.namespaces
                                      if n.name.endswith("-c2"))
        await pilot.pause()
        assert "127.0.0.53  UNREACHABLE" in shown(app.query_one("#detail-dns"))
