"""`netscope flows [--ns NAME] [--top N] [--json] [--enable-accounting [--duration S]]`: per
container, its flows with packets and bytes each way, east-west or north-south, with NAT.

The source is conntrack. Bytes need conntrack accounting (net.netfilter.nf_conntrack_acct),
which is off by default and counts only connections that start after it is turned on:
`--enable-accounting` turns it on where conntrack runs and it is off (journaled, like every
change netscope makes), waits --duration seconds while connections happen, shows the flows, and
turns it back off (also on Ctrl-C and SIGTERM). Without it, flows show without byte counts
where accounting is off, and the output says so.

--json prints {"format": "netscope-flows", "version": 1, "sources": [{"netns", "name",
"active", "accounting", "entries"}], "accounting_enabled": [namespace names netscope turned
it on in for this run], "flows": [flow], "rows": [{"netns", "name", "role", "peer", "flow",
"sent_bytes", "sent_packets", "received_bytes", "received_packets"}]}; a flow is {"id",
"proto", "state", "client", "server", "dialled", "nat", "direction", "why", "tracked_in",
"to_server_packets", "to_server_bytes", "to_client_packets", "to_client_bytes", "family",
"to_server_payload", "to_client_payload"} and an end {"address", "port", "netns", "name",
"outside"}; bytes are IP bytes as conntrack counts them, payload the TCP/UDP data they
carried (bytes minus one header a packet): the application's bytes plus whatever TCP sent
again (a retransmitted segment is counted each time it crosses), so never less than the
application's; rows also carry "sent_payload" and "received_payload"; counters are null when
not counted.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time

from netscope.cli import values
from netscope.cli.convention import add_command, completes, hidden_alias, refuse_read_only
from netscope.cli.errors import UserError
from netscope.cli.source import collect_live, snapshot_from_args
from netscope.graph.endpoints import EndpointError
from netscope.graph.host import HostGraph
from netscope.model import Snapshot
from netscope.model.labels import human_bytes

JSON_FORMAT = "netscope-flows"
JSON_VERSION = 1


def add_parser(sub) -> None:
    p = add_command(
        sub, "flows", help="flows per container: bytes each way, east-west or north-south, NAT",
        description="Flows from conntrack, merged across the namespaces that track them, per "
                    "container: packets and bytes each way, east-west (stays on this host) or "
                    "north-south (leaves it, or arrives through a published port), and the NAT "
                    "mapping. Bytes need conntrack accounting: see --enable-accounting.",
        run=run, snapshot=True, json_doc="docs/cli.md#flows")
    completes(p.add_argument(
        "--ns", metavar="NAME", help="only flows of this namespace or container (a name "
                                     "`netscope show` prints, or ns:<inode>)"), "namespace")
    p.add_argument("--top", type=values.positive_int, metavar="N", help="only the N largest flows")
    p.add_argument("--enable-accounting", action="store_true",
                   help="turn conntrack accounting on where conntrack runs and it is off (with "
                        "--ns: only in that namespace and the ones joined to it by a veth, "
                        "i.e. its container host); a host change, journaled; count for "
                        "--duration seconds, show, turn it back off")
    p.add_argument("--duration", type=values.seconds, default=10.0, metavar="S",
                   help="with --enable-accounting: seconds to count new connections "
                        "(default 10; Ctrl-C stops early)")
    hidden_alias(p, "--wait", "duration", type=values.seconds)


def select_ns(snapshot: Snapshot, name: str | None) -> str | None:
    """The namespace id NAME means (namespace or container name, ns:<inode>). UserError."""
    if name is None:
        return None
    try:
        return HostGraph.of(snapshot).namespace_called(name)
    except EndpointError as e:
        raise UserError(str(e)) from None


def _say(text: str) -> None:
    print(f"netscope: {text}", file=sys.stderr, flush=True)


def _counted(args) -> tuple[Snapshot, list[str]]:
    """Turn accounting on where it is off, wait, snapshot, turn it back off."""
    from netscope.actions import accounting
    from netscope.actions.plan import sigterm_interrupts

    if getattr(args, "snapshot", None):
        raise UserError("--enable-accounting changes the live host: it cannot be used with "
                        "--snapshot")
    refuse_read_only(args, "flows --enable-accounting turns conntrack accounting on")
    if os.geteuid() != 0:
        raise UserError("--enable-accounting changes a sysctl: run netscope as root (sudo)")
    if not 0 < args.duration <= 3600:
        raise UserError(f"--duration {args.duration:g}: give seconds between 0 and 3600")
    from netscope.analysis.flows import neighbourhood

    try:
        # values an earlier, killed netscope left on go back first, so that what is off
        # below is what the user really has
        if accounting.restore_orphans(_say):
            _say("restored the conntrack accounting a killed netscope had left on")
    except accounting.AccountingError as e:
        raise UserError(str(e)) from None
    before = collect_live(quiet=True)
    graph = HostGraph.of(before)
    names = graph.namespaces
    wanted = select_ns(before, args.ns)
    near = neighbourhood(before, wanted) if wanted else set(names)
    off = [names[t.netns] for t in before.conntrack
           if t.active and not t.accounting and t.netns in names and t.netns in near]
    journal = None
    with sigterm_interrupts():
        try:
            journal = accounting.enable([graph.ns_ref(n.id) or None for n in off], _say)
            if journal is not None:
                _say(f"conntrack accounting turned on in {len(off)} namespaces "
                     f"({', '.join(n.name for n in off)}); it counts connections that start "
                     f"from now on: waiting {args.duration:g} s (Ctrl-C to stop early)")
                try:
                    time.sleep(args.duration)
                except KeyboardInterrupt:
                    _say("stopped waiting")
            else:
                _say("conntrack accounting is already on wherever it can count these flows: "
                     "nothing to turn on")
            return collect_live(quiet=True), [n.name for n in off] if journal else []
        except accounting.AccountingError as e:
            raise UserError(str(e)) from None
        finally:
            if journal is not None:
                errors = accounting.restore(journal)
                if errors:
                    _say(f"could not turn accounting back off: {errors[0]} (the journal "
                         f"{journal.path} keeps the values to restore)")
                else:
                    _say(f"conntrack accounting turned back off in {len(off)} namespaces")


def run(args) -> int:
    from netscope.analysis import flows as fl

    if args.top is not None and args.top < 1:
        raise UserError("--top N needs N >= 1")
    if args.enable_accounting:
        snapshot, enabled = _counted(args)
    else:
        snapshot, enabled = snapshot_from_args(args), []
    wanted = select_ns(snapshot, args.ns)
    rows = fl.flow_rows(snapshot, wanted, args.top)
    srcs = fl.sources(snapshot)
    if args.json:
        chosen = list(dict.fromkeys(r.flow for r in rows))
        json.dump({"format": JSON_FORMAT, "version": JSON_VERSION,
                   "sources": [dataclasses.asdict(s) for s in srcs],
                   "accounting_enabled": enabled,
                   "flows": [_flow_json(f) for f in chosen],
                   "rows": [_row_json(r) for r in rows]}, sys.stdout, indent=1)
        print()
        return 0
    print(source_text(srcs, enabled))
    print()
    print(rows_text(rows) if rows else "no flows" + (f" for {args.ns}" if args.ns else ""))
    return 0


def _flow_json(f) -> dict:
    return {**dataclasses.asdict(f), "to_server_payload": f.to_server_payload,
            "to_client_payload": f.to_client_payload}


def _row_json(r) -> dict:
    return {"netns": r.netns, "name": r.name, "role": r.role,
            "peer": dataclasses.asdict(r.peer), "flow": r.flow.id,
            "sent_bytes": r.sent_bytes, "sent_packets": r.sent_packets,
            "sent_payload": r.sent_payload, "received_bytes": r.received_bytes,
            "received_packets": r.received_packets, "received_payload": r.received_payload}


def source_text(srcs, enabled: list[str]) -> str:
    """Which conntrack tables the figures come from, and whether they count bytes."""
    counting = [s.name for s in srcs if s.active and s.accounting]
    blind = [s.name for s in srcs if s.active and not s.accounting]
    idle = [s.name for s in srcs if not s.active]
    lines = ["source: conntrack (bytes are IP bytes, headers included; data: what TCP/UDP "
             "carried, retransmissions included)"]
    if counting:
        how = " (turned on by netscope for this run)" if enabled else ""
        lines.append(f"  accounting on{how}: {', '.join(counting)}")
    if blind:
        lines.append(f"  accounting off, no byte counts: {', '.join(blind)}; "
                     "`netscope flows --enable-accounting` counts new connections")
    if idle:
        lines.append(f"  conntrack not running in {len(idle)} namespaces (no rule there uses "
                     "it): their flows show only where a host namespace tracks them")
    return "\n".join(lines)


def _count(nbytes: int | None, packets: int | None, data: int | None) -> str:
    if nbytes is None:
        return "?"
    text = f"{human_bytes(nbytes)} ({packets or 0} pkts"
    return text + (f", {human_bytes(data)} data)" if data is not None else ")")


def rows_text(rows) -> str:
    out: list[str] = []
    current = None
    for r in rows:
        if r.name != current:
            if current is not None:
                out.append("")
            out.append(r.name)
            current = r.name
        f = r.flow
        arrow = "->" if r.role == "client" else "<-"
        peer = r.peer.text() + ("" if r.peer.netns is None else f" ({r.peer.name})")
        out.append(f"  {f.proto:<4} {arrow} {peer:<38} {f.direction:<11} "
                   f"sent {_count(r.sent_bytes, r.sent_packets, r.sent_payload):<36} "
                   f"received {_count(r.received_bytes, r.received_packets, r.received_payload)}")
        detail = [f.why, *f.nat]
        if r.role == "server" and f.dialled != r.flow.server.text():
            detail.append(f"dialled {f.dialled}")
        out.append("       " + "; ".join(dict.fromkeys(detail)))
    return "\n".join(out)
