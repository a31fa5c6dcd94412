"""`netscope conntrack [--ns NAME] [--snapshot FILE] [--json]`: tracked connections per namespace.

NAT shows as a mapping: an entry whose reply does not mirror its original direction was
translated (DNAT: the destination; SNAT/MASQUERADE: the source). A namespace where nothing
uses conntrack says so instead of showing an empty table.

--json prints {"format": "netscope-conntrack", "version": 1, "namespaces": [...]}, one item
per namespace: {"netns", "name", and the snapshot's conntrack table fields: "active",
"reason", "count", "max", "accounting", "truncated", "entries"} (docs/snapshot.md).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator

from netscope.cli.convention import add_command, completes
from netscope.cli.errors import UserError
from netscope.cli.source import snapshot_from_args
from netscope.graph.endpoints import EndpointError
from netscope.graph.host import HostGraph
from netscope.model import Snapshot
from netscope.model.labels import human_bytes
from netscope.model.netfilter import ConntrackEntry, ConntrackTable, CtTuple

JSON_FORMAT = "netscope-conntrack"
JSON_VERSION = 1


def add_parser(sub) -> None:
    p = add_command(
        sub, "conntrack", help="tracked connections and their NAT mappings, per namespace",
        description="Every namespace's conntrack table (read over netlink, at most 10,000 "
                    "entries each, with the total): original -> reply tuples, so NAT shows as "
                    "a mapping; TCP state, status flags, timeout, mark, zone, counters. A "
                    "namespace where nothing uses conntrack says so.",
        run=run, snapshot=True, json_doc="docs/cli.md#conntrack")
    completes(p.add_argument(
        "--ns", metavar="NAME",
        help="only this namespace: its name as `netscope show` prints it (host, a "
             "container, an ip netns name), or its id ns:<inode>"), "namespace")


def select_tables(snapshot: Snapshot, ns: str | None) -> list[ConntrackTable]:
    """The tables to show: every namespace's, or the one `ns` names (UserError if none)."""
    graph = HostGraph.of(snapshot)
    tables = sorted(snapshot.conntrack, key=lambda t: (
        not (graph.namespaces.get(t.netns) and graph.namespaces[t.netns].is_self),
        graph.ns_name(t.netns)))
    if ns is None:
        return tables
    try:
        wanted = graph.namespace_called(ns)
    except EndpointError as e:
        raise UserError(str(e)) from None
    return [t for t in tables if t.netns == wanted]


def _end(t: CtTuple) -> tuple[str, str]:
    host = f"[{t.src}]" if ":" in t.src else t.src
    peer = f"[{t.dst}]" if ":" in t.dst else t.dst
    if t.sport is None:
        return host, peer
    return f"{host}:{t.sport}", f"{peer}:{t.dport}"


def entry_line(e: ConntrackEntry) -> str:
    """One connection: proto, state, original direction, and what NAT did to it."""
    src, dst = _end(e.orig)
    parts = [f"{e.proto:<7}", f"{e.state or '':<11}", f"{src} -> {dst}"]
    if e.orig.sport is None and e.orig.icmp_type is not None:
        parts.append(f"type {e.orig.icmp_type} code {e.orig.icmp_code} id {e.orig.icmp_id}")
    reply_src, reply_dst = _end(e.reply)
    if e.dnat:
        parts.append(f"DNAT to {reply_src}")
    if e.snat:
        parts.append(f"SNAT from {reply_dst}")
    flags = [f for f in ("ASSURED",) if f in e.status]
    if "SEEN_REPLY" not in e.status:
        flags.append("UNREPLIED")
    parts += [f"[{f}]" for f in flags]
    if e.timeout is not None:
        parts.append(f"{e.timeout}s")
    if e.mark:
        parts.append(f"mark {e.mark:#x}")
    if e.zone:
        parts.append(f"zone {e.zone}")
    if e.orig_packets is not None:
        parts.append(f"{e.orig_packets}/{e.reply_packets} pkts "
                     f"{human_bytes(e.orig_bytes or 0)}/{human_bytes(e.reply_bytes or 0)}")
    return "  ".join(parts)


def table_lines(table: ConntrackTable, name: str) -> Iterator[str]:
    head = f"{name} ({table.netns})"
    if not table.active:
        yield f"{head}: conntrack not active: {table.reason}"
        return
    shown = len(table.entries)
    total = f"{table.count} entr{'y' if table.count == 1 else 'ies'}"
    total += f" (max {table.max})" if table.max else ""
    if table.truncated:
        total += f", showing the first {shown}"
    acct = "" if table.accounting else ", no counters (nf_conntrack_acct=0)"
    yield f"{head}: {total}{acct}"
    for e in table.entries:
        yield "  " + entry_line(e)


def run(args) -> int:
    snapshot = snapshot_from_args(args)
    tables = select_tables(snapshot, args.ns)
    graph = HostGraph.of(snapshot)
    if args.json:
        from netscope.snapshot.codec import encode

        doc = {"format": JSON_FORMAT, "version": JSON_VERSION, "namespaces": [
            {"netns": t.netns, "name": graph.ns_name(t.netns),
             **{k: v for k, v in encode(t).items() if k not in ("id", "netns")}}
            for t in tables]}
        json.dump(doc, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    if not tables:
        print("no conntrack tables in this snapshot (taken before netscope read conntrack?)")
    for table in tables:
        for line in table_lines(table, graph.ns_name(table.netns)):
            print(line)
    return 0
