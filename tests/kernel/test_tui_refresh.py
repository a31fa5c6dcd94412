"""The live TUI's partial re-reads on real namespaces: a neighbour entry that appears after a
ping is found by re-reading only that namespace's neighbour table, the rest of the snapshot
untouched; a namespace that is gone makes the caller read everything."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from netscope.collect.runner import collect_snapshot
from netscope.model import ns_id
from netscope.tui.refresh import refresh_neighbours
from tests.support.netns import Namespaces, ip, require_root, sh


@pytest.fixture
def pair():
    """Namespaces a (10.252.7.1) and b (10.252.7.2) joined by one veth pair."""
    reason = require_root()
    if reason:
        pytest.skip(reason)
    spaces = Namespaces("nstui2")
    try:
        a, b = spaces.add("a"), spaces.add("b")
        ip("link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", b, ns=a)
        for ns, addr in ((a, "10.252.7.1/24"), (b, "10.252.7.2/24")):
            ip("addr", "add", addr, "dev", "eth0", ns=ns)
            ip("link", "set", "eth0", "up", ns=ns)
        # the kernel moves operstate to UP a moment after (linkwatch): a read before and
        # one after would differ in it (the completed-snapshot test compares two reads)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not all(
                "state UP" in sh("ip", "-n", ns, "-o", "link", "show", "eth0").stdout
                for ns in (a, b)):
            time.sleep(0.02)
        yield spaces
    finally:
        spaces.cleanup()


def inode(name: str) -> int:
    return os.stat(f"/run/netns/{name}").st_ino


def test_a_neighbour_entry_is_found_by_re_reading_the_neighbour_table_alone(pair):
    a = pair.names[0]
    before = collect_snapshot()
    ns_a = ns_id(inode(a))
    assert not [n for n in before.neighbours if n.netns == ns_a and n.address == "10.252.7.2"]
    sh("ip", "netns", "exec", a, "busybox", "ping", "-c", "1", "-W", "2", "10.252.7.2")
    after = refresh_neighbours(before, {inode(a)})
    assert after is not None
    found = [n for n in after.neighbours if n.netns == ns_a and n.address == "10.252.7.2"]
    assert len(found) == 1 and set(found[0].state) & {"REACHABLE", "STALE", "DELAY"}
    # only a's neighbours were re-read; everything else is the snapshot it was given
    assert after.links is before.links and after.routes is before.routes
    assert ([n for n in after.neighbours if n.netns != ns_a]
            == [n for n in before.neighbours if n.netns != ns_a])


def test_a_namespace_gone_since_the_snapshot_asks_for_a_whole_read(pair):
    a, b = pair.names
    before = collect_snapshot()
    gone = inode(b)
    ip("netns", "del", b)
    pair.names.remove(b)
    assert refresh_neighbours(before, {gone}) is None
    assert refresh_neighbours(before, {inode(a)}) is not None


def test_a_link_going_down_is_found_by_re_reading_links_alone(pair):
    from netscope.tui.refresh import refresh_kinds

    a = pair.names[0]
    before = collect_snapshot()
    ns_a = ns_id(inode(a))
    ip("link", "set", "eth0", "down", ns=a)
    after = refresh_kinds(before, {inode(a)}, {"link"})
    assert after is not None
    eth0 = next(x for x in after.links if x.netns == ns_a and x.name == "eth0")
    assert not eth0.up and eth0.operstate == "DOWN"
    # the veth pair stays paired across namespaces; nothing but links (and the FDB) re-read
    assert eth0.peer is not None and eth0.peer.link is not None
    assert after.routes is before.routes and after.addresses is before.addresses
    assert [x for x in after.links if x.netns != ns_a] == \
        [x for x in before.links if x.netns != ns_a]
    assert refresh_kinds(before, {inode(a)}, {"rule"}) is None  # no notification kind


def test_only_the_links_notifications_named_are_asked_again(pair):
    """refresh_kinds with the ifindexes the watcher read from the notifications: those links
    asked one by one (RTM_GETLINK by index), the namespace's others kept as they were (the
    same objects), the result what a dump of the namespace gives; a link gone since is
    dropped, and a link new to the snapshot makes the namespace dumped whole."""
    from netscope.tui.refresh import refresh_kinds

    a = pair.names[0]
    ip("link", "add", "br9", "type", "bridge", ns=a)
    before = collect_snapshot()
    ns_a = ns_id(inode(a))
    mine = {x.name: x for x in before.links if x.netns == ns_a}
    eth0, br9 = mine["eth0"], mine["br9"]
    ip("link", "set", "eth0", "down", ns=a)
    after = refresh_kinds(before, {inode(a)}, {"link"}, links={inode(a): {eth0.ifindex}})
    dumped = refresh_kinds(before, {inode(a)}, {"link"})
    assert after is not None and dumped is not None
    got = {x.name: x for x in after.links if x.netns == ns_a}
    assert not got["eth0"].up and got["eth0"].operstate == "DOWN"
    assert got["eth0"].peer == eth0.peer  # still paired with b's end
    assert got["br9"] is br9 and got["lo"] is mine["lo"], "not asked: kept"
    assert [x for x in after.links if x.netns == ns_a] == \
        [x for x in dumped.links if x.netns == ns_a]

    ip("link", "del", "br9", ns=a)
    gone = refresh_kinds(after, {inode(a)}, {"link"}, links={inode(a): {br9.ifindex}})
    assert gone is not None
    assert sorted(x.name for x in gone.links if x.netns == ns_a) == ["eth0", "lo"]

    ip("link", "add", "br8", "type", "bridge", ns=a)
    br8 = int(sh("ip", "-n", a, "-o", "link", "show", "br8").stdout.split(":", 1)[0])
    grown = refresh_kinds(gone, {inode(a)}, {"link"}, links={inode(a): {br8}})
    assert grown is not None
    assert sorted(x.name for x in grown.links if x.netns == ns_a) == ["br8", "eth0", "lo"]


def test_a_changed_namespace_is_read_again_alone(pair):
    """The live feed's re-read of whole namespaces: it must answer (None makes the TUI read
    the whole host, ~1.5 s at 1,000 namespaces), with the new address, the rest kept."""
    from netscope.tui.refresh import refresh_namespaces

    a = pair.names[0]
    before = collect_snapshot()
    ns_a = ns_id(inode(a))
    ip("addr", "add", "10.252.8.1/24", "dev", "eth0", ns=a)
    after = refresh_namespaces(before, {inode(a)})
    assert after is not None, "a whole-host read was asked for"
    assert [x for x in after.addresses if x.netns == ns_a and x.address == "10.252.8.1"]
    assert [x for x in after.addresses if x.netns != ns_a] == \
        [x for x in before.addresses if x.netns != ns_a]


def test_the_first_screen_completed_is_the_whole_snapshot(pair):
    """The TUI's first screen reads some collectors, then completes the snapshot with the
    others in every namespace: what it ends with must be what one whole read gives (here in
    a namespace with a ruleset and a namespace with a listening socket, the collectors that
    read the links found before: sockets, eBPF, sysctls)."""
    import subprocess
    import sys
    from dataclasses import fields

    from netscope.tui.refresh import complete_snapshot, first_screen_snapshot, still_to_read

    a, b = pair.names
    for rule in ("add table inet nstui2",
                 "add chain inet nstui2 input { type filter hook input priority 0 ; }",
                 "add rule inet nstui2 input tcp dport 8080 counter drop"):
        sh("ip", "netns", "exec", a, "nft", rule)
    listener = subprocess.Popen(
        ["ip", "netns", "exec", b, sys.executable, "-c",
         "import socket, sys, time\ns = socket.socket()\ns.bind(('10.252.7.2', 8080))\n"
         "s.listen()\nprint('up', flush=True)\ntime.sleep(60)"], stdout=subprocess.PIPE,
        text=True)
    try:
        assert listener.stdout.readline().strip() == "up"
        first = first_screen_snapshot()
        assert set(still_to_read(first)) >= {"netfilter", "sockets", "conntrack", "dns"}
        mine = {ns_id(inode(a)), ns_id(inode(b))}
        assert not [t for t in first.tables if t.netns in mine]
        completed = complete_snapshot(first)
        whole = collect_snapshot()
        assert completed is not None and still_to_read(completed) == ()
        assert completed.header.collectors == whole.header.collectors
        for field in fields(whole):
            if field.name in ("header", "namespaces", "errors"):
                continue
            got = [x for x in getattr(completed, field.name) if getattr(x, "netns", None) in mine]
            want = [x for x in getattr(whole, field.name) if getattr(x, "netns", None) in mine]
            assert got == want, field.name
        assert [t for t in completed.tables if t.netns == ns_id(inode(a))]
        sockets = [s for t in completed.sockets if t.netns == ns_id(inode(b)) for s in t.sockets]
        assert any(s.local_port == 8080 and s.state == "LISTEN" for s in sockets), sockets
    finally:
        listener.kill()
        listener.wait()


def test_the_watcher_tells_which_namespace_had_which_kind_of_notification(pair):
    """A link added in b and a neighbour entry added in a, seen by the real watcher: each
    namespace with its own kinds (the live feed re-reads a's neighbour table alone). Not
    the veth going down: a's end would lose its carrier, a link notification in a too."""
    from netscope.host.watch import HostChanges, NetworkWatcher

    a, b = pair.names
    with NetworkWatcher() as watcher:
        watcher.sync()
        ip("neigh", "add", "10.252.7.9", "lladdr", "02:00:00:00:00:09", "dev", "eth0", ns=a)
        ip("link", "add", "br9", "type", "bridge", ns=b)
        seen = HostChanges()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            got = watcher.wait(0.3)
            if not got and {inode(a), inode(b)} <= seen.namespaces:
                break  # both seen, and quiet since: nothing else either would say
            seen.namespaces |= got.namespaces
            for ino in got.namespaces:
                seen.kinds_by_ns.setdefault(ino, set()).update(got.kinds_in(ino))
    assert seen.kinds_by_ns.get(inode(a)) == {"neighbour"}, seen
    assert "link" in seen.kinds_by_ns.get(inode(b), set()), seen
    assert "link" not in seen.kinds_by_ns[inode(a)]


def test_a_noarp_entry_changing_is_no_neighbour_change_and_the_collector_agrees(pair):
    """The real kernel: a packet to a multicast group makes a NOARP neighbour entry (as
    router solicitations and MLD reports do for ff02::2 and ff02::16 on every interface:
    the kernel ages them out with a notification, ~40 a second on a fresh 1,000-namespace
    lab). A notification about one (here its link-layer address changed) is not a
    neighbour change the watcher reports, and the collector does not list the entry
    either: nothing to read again. Then an ordinary entry is one."""
    from netscope.host.watch import NetworkWatcher

    a = pair.names[0]

    def neighbour_kinds_in_a(watcher: NetworkWatcher) -> set[str]:
        kinds = set()
        while got := watcher.wait(0.5):
            if inode(a) in got.namespaces:
                kinds |= got.kinds_in(inode(a)) & {"neighbour", "fdb"}
        return kinds

    send = ("import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
            "s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, "
            "socket.inet_aton('10.252.7.1')); s.sendto(b'x', ('224.0.0.77', 9))")
    sh("ip", "netns", "exec", a, sys.executable, "-c", send)
    with NetworkWatcher() as watcher:
        watcher.sync()
        neighbour_kinds_in_a(watcher)  # whatever came before: not this test's
        ip("neigh", "change", "224.0.0.77", "lladdr", "01:00:5e:00:00:4e", "nud", "noarp",
           "dev", "eth0", ns=a)
        assert neighbour_kinds_in_a(watcher) == set()
        shown = [n for n in collect_snapshot().neighbours
                 if n.netns == ns_id(inode(a)) and n.address == "224.0.0.77"]
        assert shown == [], "the collector leaves NOARP entries out"
        ip("neigh", "add", "10.252.7.99", "lladdr", "02:00:00:00:00:63", "dev", "eth0", ns=a)
        assert neighbour_kinds_in_a(watcher) == {"neighbour"}


def test_a_socket_that_overflowed_is_told_as_that_namespace_lost(pair):
    """The real kernel: a's subscription with the smallest receive queue, more address
    notifications than fit: the watcher says a's notifications were lost (every kind, no
    interface named), not that the whole host must be read again; b lost nothing."""
    import socket

    from netscope.host.watch import ALL_KINDS, NetworkWatcher

    a, b = pair.names
    with NetworkWatcher() as watcher:
        watcher.sync()
        watcher._socks[inode(a)].setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)
        subprocess.run(["ip", "-n", a, "-batch", "-"], check=True, capture_output=True,
                       text=True, timeout=20,
                       input="".join(f"addr add 10.252.8.{i}/32 dev eth0\n"
                                     for i in range(1, 101)))
        ip("link", "set", "eth0", "mtu", "1400", ns=b)  # b: a link notification, kept
        got = watcher.wait(2.0)
        deadline = time.monotonic() + 2
        while inode(b) not in got.namespaces and time.monotonic() < deadline:
            more = watcher.wait(0.3)
            got.namespaces |= more.namespaces
            got.lost |= more.lost
            got.kinds_by_ns.update(more.kinds_by_ns)
            got.links_by_ns.update(more.links_by_ns)
    assert got.lost == {inode(a)}, got
    assert not got.overflow
    assert got.kinds_in(inode(a)) == ALL_KINDS
    assert inode(a) not in got.links_by_ns
    assert "link" in got.kinds_in(inode(b)) and inode(b) in got.links_by_ns


def test_a_socket_that_overflowed_gets_a_queue_the_next_burst_fits_in(pair):
    """After the overflow its queue is RCVBUF_GROWN (the kernel books twice what is asked),
    and the same burst again (the addresses removed) arrives whole: nothing lost."""
    import socket

    from netscope.host.watch import RCVBUF_GROWN, NetworkWatcher

    a = pair.names[0]

    def burst(verb: str) -> None:
        subprocess.run(["ip", "-n", a, "-batch", "-"], check=True, capture_output=True,
                       text=True, timeout=20,
                       input="".join(f"addr {verb} 10.252.9.{i}/32 dev eth0\n"
                                     for i in range(1, 101)))

    def quiet_wait(watcher: NetworkWatcher) -> tuple[set[int], set[str]]:
        lost, kinds = set(), set()
        while got := watcher.wait(0.5):
            lost |= got.lost
            kinds |= got.kinds_in(inode(a))
        return lost, kinds

    with NetworkWatcher() as watcher:
        watcher.sync()
        sock = watcher._socks[inode(a)]
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)
        burst("add")
        assert quiet_wait(watcher)[0] == {inode(a)}, "the small queue overflowed"
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) == 2 * RCVBUF_GROWN
        burst("del")  # their local routes go too: route notifications
        lost, kinds = quiet_wait(watcher)
    assert not lost and "address" in kinds, (lost, kinds)


def test_a_forwarding_entry_is_told_apart_and_found_by_re_reading_the_fdb_alone(pair):
    """A MAC added to a bridge port's forwarding database: the real watcher calls it an fdb
    notification (a neighbour message of the bridge family: before, a "neighbour" one, and
    only the ARP table was read again, so the TUI's FDB went stale), and refresh_kinds reads
    that namespace's FDB alone, its links given from the snapshot (the FDB reader needs them
    to know there is a bridge)."""
    from netscope.host.watch import NetworkWatcher
    from netscope.tui.refresh import refresh_kinds

    b = pair.names[1]
    ip("link", "add", "br9", "type", "bridge", ns=b)
    ip("link", "add", "port9", "type", "veth", "peer", "name", "peer9", ns=b)
    ip("link", "set", "port9", "master", "br9", ns=b)
    before = collect_snapshot()
    ns_b = ns_id(inode(b))
    mac = "02:00:00:00:09:99"
    assert not [e for e in before.fdb if e.netns == ns_b and e.mac == mac]
    with NetworkWatcher() as watcher:
        watcher.sync()
        sh("bridge", "-n", b, "fdb", "add", mac, "dev", "port9", "master", "static")
        kinds: set[str] = set()
        deadline = time.monotonic() + 5
        while "fdb" not in kinds and time.monotonic() < deadline:
            got = watcher.wait(0.3)
            if inode(b) in got.namespaces:
                kinds |= got.kinds_in(inode(b))
    assert "fdb" in kinds and "neighbour" not in kinds, kinds
    after = refresh_kinds(before, {inode(b)}, {"fdb"})
    assert after is not None
    assert [e for e in after.fdb if e.netns == ns_b and e.mac == mac]
    assert after.links is before.links and after.neighbours is before.neighbours
