"""`netscope sockets [--ns NAME] [--listening] [--json]`: TCP and UDP sockets per namespace.

What `ss -tanup` shows, for every namespace at once: each socket's protocol, state, local and
peer address, queues and the processes that hold it (comm[pid]), under its namespace and
containers. --listening keeps the sockets that take new connections or datagrams (TCP LISTEN,
UDP bound and not connected). On a live host TCP connections are read too (not with
--listening: that costs the kernel a walk of its connection table per namespace); a snapshot
has them when it was taken with `netscope snapshot --connections`.

--json prints {"format": "netscope-sockets", "version": 1, "namespaces": [...]}, one item per
namespace: {"netns", "name", "containers", and the snapshot's socket table fields: "count",
"truncated", "sources", "owners", "sockets"} where each socket has the fields of
docs/snapshot.md (`sockets`), the same names and meanings.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator

from netscope.cli.convention import add_command, completes
from netscope.cli.source import snapshot_from_args
from netscope.graph.host import HostGraph
from netscope.model.sockets import (
    Socket,
    SocketTable,
    local_text,
    peer_text,
    processes_text,
    socket_order,
)

JSON_FORMAT = "netscope-sockets"
JSON_VERSION = 1


def add_parser(sub) -> None:
    p = add_command(
        sub, "sockets", help="TCP and UDP sockets per namespace, with the processes holding them",
        description="Every namespace's TCP and UDP sockets (IPv4 and IPv6, read over "
                    "sock_diag) as `ss -tanup` lists them: state, local and peer address, "
                    "queues, and the process holding each one (comm[pid]).",
        run=run, snapshot=True, json_doc="docs/cli.md#sockets")
    completes(p.add_argument(
        "--ns", metavar="NAME",
        help="only this namespace: its name as `netscope show` prints it (host, a "
             "container, an ip netns name), or its id ns:<inode>"), "namespace")
    p.add_argument("--listening", action="store_true",
                   help="only sockets that take new connections or datagrams (TCP LISTEN, "
                        "UDP bound and not connected)")


def socket_line(sock: Socket, device: str | None = None) -> str:
    """One socket as one line: proto, state, local, peer, queues, processes."""
    proto = sock.proto + ("6" if sock.family == "inet6" else "")
    return (f"{proto:<5} {sock.state:<10} {local_text(sock, device):<28} "
            f"{peer_text(sock):<24} {sock.recv_q:>6} {sock.send_q:>6}  "
            f"{processes_text(sock)}").rstrip()


def select_tables(graph: HostGraph, ns: str | None) -> list[SocketTable]:
    """The socket tables to show, in the graph's namespace order; only `ns`'s when given."""
    from netscope.cli.flows_cmd import select_ns

    wanted = select_ns(graph.snapshot, ns)
    order = [wanted] if wanted is not None else graph.ns_order()
    return [t for t in (graph.socket_table(n) for n in order) if t is not None]


def table_lines(graph: HostGraph, table: SocketTable, listening: bool) -> Iterator[str]:
    """The namespace's title line, then its sockets (receiving ones first) as a table."""
    containers = [c.name for c in graph.containers_in(table.netns)]
    title = f"{graph.ns_name(table.netns)} ({table.netns})"
    if containers:
        title += f" container {', '.join(containers)}"
    shown = sorted((s for s in table.sockets if s.receiving or not listening), key=socket_order)
    notes = []
    if table.truncated:
        notes.append(f"{table.count} sockets, the first {len(table.sockets)} kept")
    if not table.owners:
        notes.append("processes unknown (/proc could not be read)")
    if not table.connections and not listening:
        notes.append("TCP connections not in this snapshot (only listeners)")
    notes += [f"{proto} read from /proc (no {proto}_diag module)"
              for proto, source in sorted(table.sources.items()) if source == "proc"]
    yield title + (f": {'; '.join(notes)}" if notes else "")
    if not shown:
        yield "  no " + ("listening " if listening else "") + "sockets"
        return
    yield (f"  {'proto':<5} {'state':<10} {'local':<28} {'peer':<24} {'recv-q':>6} "
           f"{'send-q':>6}  process")
    for sock in shown:
        device = graph.links[sock.link].name if sock.link in graph.links else None
        yield "  " + socket_line(sock, device)


def run(args) -> int:
    snapshot = snapshot_from_args(args, connections=not args.listening)
    graph = HostGraph.of(snapshot)
    tables = select_tables(graph, args.ns)
    if args.json:
        from netscope.snapshot.codec import encode

        doc = {"format": JSON_FORMAT, "version": JSON_VERSION, "namespaces": [{
            "netns": t.netns, "name": graph.ns_name(t.netns),
            "containers": [c.name for c in graph.containers_in(t.netns)],
            **{k: v for k, v in encode(t).items() if k not in ("id", "netns", "sockets")},
            "sockets": [encode(s) for s in sorted(t.sockets, key=socket_order)
                        if s.receiving or not args.listening]} for t in tables]}
        json.dump(doc, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    if not graph.collected("sockets"):
        print("this snapshot has no sockets (taken by a netscope without the sockets "
              "collector): they are unknown; take a new one with `netscope snapshot`")
        return 0
    print("\n\n".join("\n".join(table_lines(graph, t, args.listening)) for t in tables))
    return 0
