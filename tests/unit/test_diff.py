"""netscope diff: exactly what changed, matched by names, from captured snapshots."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from netscope.cli.main import main
from netscope.report.diff import diff_snapshots
from netscope.report.diff_text import render_diff
from netscope.report.redact import redact
from netscope.snapshot import load, save

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
HOST = "nsl-nsr76a10-host"


@pytest.fixture(scope="module")
def before():
    return load(str(FIXTURES / "bundle-before.json"))


@pytest.fixture(scope="module")
def after():
    return load(str(FIXTURES / "bundle-after.json"))


def _replace_link(snap, ns_name, dev, **changes):
    ns_id = next(ns.id for ns in snap.namespaces if ns.name == ns_name)
    links = tuple(dataclasses.replace(link, **changes)
                  if (link.netns, link.name) == (ns_id, dev) else link for link in snap.links)
    return dataclasses.replace(snap, links=links)


def test_planted_fault_is_the_only_change(before, after):
    diff = diff_snapshots(before, after)
    assert [(c.change, c.what, c.netns) for c in diff.changes] == \
        [("removed", "nfrule", HOST)]
    assert diff.changes[0].subject == \
        "ip nat POSTROUTING: -A POSTROUTING -s 10.217.0.0/16 ! -o docker0 -j MASQUERADE"
    assert diff.counters == ()
    text = "\n".join(render_diff(diff))
    assert "- nfrule" in text and "MASQUERADE" in text and "1 change in 1 namespace" in text


def test_same_snapshot_no_changes(before):
    diff = diff_snapshots(before, before)
    assert diff.empty and diff.counters == ()


def test_link_state_mtu_and_master(before):
    changed = _replace_link(before, HOST, "veth1", flags=("BROADCAST", "MULTICAST"),
                            operstate="DOWN", mtu=1400, master=None)
    (c,) = diff_snapshots(before, changed).changes
    assert (c.change, c.what, c.netns, c.subject) == ("changed", "link", HOST, "veth1")
    assert "state UP -> DOWN" in c.detail
    assert "mtu 1500 -> 1400" in c.detail
    assert "master docker0 -> -" in c.detail


def test_address_route_sysctl(before):
    ns = next(n for n in before.namespaces if n.name == "nsl-nsr76a10-c1")
    addr = next(a for a in before.addresses if a.netns == ns.id and a.address == "10.217.0.2")
    default = next(r for r in before.routes if r.netns == ns.id and r.is_default
                   and r.family == "inet")
    moved = dataclasses.replace(default, nexthops=(dataclasses.replace(
        default.nexthops[0], gateway="10.217.0.254"),))
    sysctls = {**ns.sysctls, "net.ipv4.conf.all.rp_filter": "1"}
    changed = dataclasses.replace(
        before,
        addresses=tuple(a for a in before.addresses if a is not addr),
        routes=tuple(moved if r is default else r for r in before.routes),
        namespaces=tuple(dataclasses.replace(n, sysctls=sysctls) if n is ns else n
                         for n in before.namespaces))
    got = {(c.change, c.what, c.subject, c.detail) for c in diff_snapshots(before, changed).changes}
    assert got == {
        ("removed", "address", "10.217.0.2/16 on eth0", ""),
        ("changed", "route", "0.0.0.0/0",
         "default via 10.217.0.1 dev eth0 -> default via 10.217.0.254 dev eth0"),
        ("changed", "sysctl", "net.ipv4.conf.all.rp_filter", "0 -> 1"),
    }


def _chain(snap, ns_name, table, chain):
    ns_id = next(ns.id for ns in snap.namespaces if ns.name == ns_name)
    for t in snap.tables:
        if t.netns == ns_id and t.name == table:
            for c in t.chains:
                if c.name == chain:
                    return t, c
    raise LookupError(chain)


def _with_chain(snap, table, new_chain):
    tables = tuple(dataclasses.replace(t, chains=tuple(new_chain if c.id == new_chain.id else c
                                                       for c in t.chains))
                   if t.id == table.id else t for t in snap.tables)
    return dataclasses.replace(snap, tables=tables)


def test_inserted_rule_is_one_change_and_counters_move(before):
    table, forward = _chain(before, HOST, "filter", "FORWARD")
    first = forward.rules[0]
    inserted = dataclasses.replace(first, text="-A FORWARD -s 10.217.0.9/32 -j DROP",
                                   position=1, packets=0, bytes=0)
    shifted = tuple(dataclasses.replace(r, position=r.position + 1) for r in forward.rules)
    counted = (dataclasses.replace(shifted[0], packets=(shifted[0].packets or 0) + 7,
                                   bytes=(shifted[0].bytes or 0) + 588), *shifted[1:])
    changed = _with_chain(before, table, dataclasses.replace(
        forward, rules=(inserted, *counted), policy="ACCEPT"))
    diff = diff_snapshots(before, changed)
    assert {(c.change, c.what, c.subject) for c in diff.changes} == {
        ("added", "nfrule", "ip filter FORWARD: -A FORWARD -s 10.217.0.9/32 -j DROP"),
        ("changed", "chain", "ip filter FORWARD"),
    }
    assert [(c.subject, c.packets, c.bytes) for c in diff.counters] == \
        [(f"ip filter FORWARD: {first.text}", 7, 588)]


def test_recreated_namespace_matches_by_name(before):
    """New inodes and ifindexes (ids) but the same names: no change."""
    def bump(text: str) -> str:
        return text.replace("4026", "5026")

    renumbered = dataclasses.replace(
        before, namespaces=tuple(dataclasses.replace(n, id=bump(n.id)) for n in before.namespaces),
        links=tuple(dataclasses.replace(link, id=bump(link.id), netns=bump(link.netns),
                                        master=link.master and bump(link.master))
                    for link in before.links),
        addresses=tuple(dataclasses.replace(a, netns=bump(a.netns), link=bump(a.link))
                        for a in before.addresses))
    changes = diff_snapshots(before, renumbered).changes
    assert not [c for c in changes if c.what in ("namespace", "address")]


def test_vanished_namespace_is_one_change(before):
    gone = next(n for n in before.namespaces if n.name.endswith("-c2"))
    smaller = dataclasses.replace(
        before, namespaces=tuple(n for n in before.namespaces if n is not gone),
        links=tuple(link for link in before.links if link.netns != gone.id),
        addresses=tuple(a for a in before.addresses if a.netns != gone.id),
        routes=tuple(r for r in before.routes if r.netns != gone.id))
    own = [c for c in diff_snapshots(before, smaller).changes if c.netns == gone.name]
    assert [(c.change, c.what) for c in own] == [("removed", "namespace")]
    assert "2 links" in own[0].detail


def test_redacted_pair_gives_the_same_diff_renamed(before, after):
    key = b"k" * 32
    ra, rb = redact(before, key=key), redact(after, key=key)
    original = diff_snapshots(before, after)
    redacted = diff_snapshots(ra.snapshot, rb.snapshot)
    assert [ra.rewrite(c.subject) for c in original.changes] == \
        [c.subject for c in redacted.changes]


def test_cli_exit_status_json_and_errors(tmp_path, capsys, before):
    a, b = FIXTURES / "bundle-before.json", FIXTURES / "bundle-after.json"
    assert main(["diff", str(a), str(b), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert [c["what"] for c in data["changes"]] == ["nfrule"]
    assert set(data) == {"before", "after", "changes", "counters"}
    same = tmp_path / "same.json"
    save(before, str(same))
    assert main(["diff", str(a), str(same)]) == 0
    assert "no changes" in capsys.readouterr().out
    assert main(["diff", str(a), str(tmp_path / "missing.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such file" in err


def test_the_tui_log_reads_the_same_diff(before, after):
    """One snapshot diff: the TUI's event log says what `netscope diff` finds, pointing at
    the objects of the newer snapshot; neighbours that newly FAILED are added for it."""
    from netscope.tui.changes import diff_snapshots as tui_diff

    host = next(ns for ns in after.namespaces if ns.name == HOST)
    veth = next(lk for lk in after.links if lk.netns == host.id and lk.kind == "veth")
    down = _replace_link(after, HOST, veth.name, flags=())
    failed = next(n for n in after.neighbours if "FAILED" not in n.state)
    down = dataclasses.replace(down, neighbours=tuple(
        dataclasses.replace(n, state=("FAILED",)) if n is failed else n
        for n in down.neighbours))
    cli = diff_snapshots(after, down, live=True).changes
    log = tui_diff(after, down)
    assert [(c.what, c.ids) for c in cli] == [(c.kind, c.ids) for c in log]
    assert f"{HOST}:{veth.name}: UP -> DOWN" in [c.text for c in log]
    assert veth.id in next(c.ids for c in log if c.kind == "link")
    neigh = next(c for c in log if c.kind == "neighbour")
    assert neigh.text.endswith(f"neighbour {failed.address} on "
                               f"{next(lk.name for lk in after.links if lk.id == failed.link)}"
                               " FAILED") and neigh.netns == failed.netns
    assert not [c for c in diff_snapshots(after, down).changes if c.what == "neighbour"]
    assert tui_diff(after, after) == []
