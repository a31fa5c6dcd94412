"""`netscope check SRC DST [--proto icmp|tcp|udp] [--port N] [--json]`: why can't A reach B?

Sends one test packet (crafted with scapy) from inside SRC's namespace, traces it and its
reply with the eBPF tracer, and answers in one line: delivered, or where and why it died.
Then the journeys, and where the observed path disagrees with the static path walk.
"""

from __future__ import annotations

import json
import sys

from netscope.cli import values
from netscope.cli.convention import add_command, completes, refuse_read_only
from netscope.cli.errors import UserError
from netscope.cli.journey_text import check_document, render_journey

EPILOG = """\
SRC is a container, namespace name, or an address one namespace holds; DST an address, a
container or a namespace name.
Changes to the host while it runs: one test packet is sent, and (unless --no-rules) a table
`inet netscope_trace_<pid>` with nftrace rules for that packet is added in each namespace on
its expected path, and removed at the end (also on Ctrl-C, SIGTERM and errors).
--json prints {"verdict", "answer", "packet", "request", "reply", "journeys",
"expected": {"end", "reason", "namespaces", "agrees", "difference"}} (docs/trace.md).
"""


def add_parser(sub) -> None:
    p = add_command(
        sub, "check", help="send a test packet from SRC to DST and say where it goes and dies",
        description="The 'why can't A reach B?' button: an ICMP echo, TCP SYN or UDP datagram "
                    "from inside SRC, traced hop by hop with its reply.",
        epilog=EPILOG, run=run, live_only="it sends a real packet on the live host",
        json_doc="docs/trace.md", exits=((0, "delivered"), (1, "not delivered")))
    completes(p.add_argument("src", metavar="SRC"), "endpoint")
    completes(p.add_argument("dst", metavar="DST"), "endpoint")
    p.add_argument("--proto", default="icmp", choices=("icmp", "tcp", "udp"))
    p.add_argument("--port", type=values.port, metavar="N", help="destination port (tcp/udp)")
    p.add_argument("--no-rules", action="store_true",
                   help="do not add nftrace tables (netfilter rules are then not named)")
    p.add_argument("--mtu", action="store_true",
                   help="find the largest packet that gets to DST and back (don't-fragment "
                        "ICMP echoes of growing size), trace the first size that is lost to "
                        "the hop that drops it, and compare with the static walk's path MTU "
                        "(--json: docs/trace.md#check---mtu)")
    p.add_argument("--timeout", type=values.seconds, default=4.0, metavar="S",
                   help="how long to wait for the packet and its reply (default 4 s)")


def run(args) -> int:
    from netscope.analysis.compare import compare
    from netscope.analysis.path import EndpointError, expected_path
    from netscope.cli.source import collect_live, collect_swept
    from netscope.graph.host import HostGraph
    from netscope.model.journey import Verdict
    from netscope.trace.check import run_check
    from netscope.trace.errors import ProbeError
    from netscope.trace.nftrace import rule_targets
    from netscope.trace.places import Places
    from netscope.trace.preflight import require_ebpf
    from netscope.trace.probe_packet import scapy_missing

    if args.mtu and (args.proto != "icmp" or args.port):
        raise UserError("--mtu sends ICMP echoes of growing size: drop --proto and --port")
    if args.proto != "icmp" and not args.port:
        raise UserError(f"--proto {args.proto} needs --port N")
    if not args.no_rules:
        refuse_read_only(args, "check adds nftrace tables",
                         "add --no-rules to send the packet without them")
    if scapy_missing():
        raise UserError(scapy_missing())
    try:
        require_ebpf()
    except ProbeError as e:
        raise UserError(str(e)) from None
    snapshot = collect_swept(quiet=True)
    graph = HostGraph.of(snapshot)
    try:
        src, dst = graph.resolve_pair(args.src, args.dst)
    except EndpointError as e:
        raise UserError(str(e)) from None
    source_ns = graph.namespaces[src.netns]
    if not source_ns.origins:
        raise UserError(f"cannot enter {source_ns.name}: no path to its namespace")
    # the static walk is a comparison, not a requirement
    expected = expected_path(graph, args.src, dst.address, args.proto, args.port)
    targets = None if args.no_rules else rule_targets(snapshot, expected)
    if args.mtu:
        from netscope.cli.check_mtu import run_mtu

        return run_mtu(args, graph, source_ns, dst.address,
                       Places(snapshot, refresh=lambda: collect_live(quiet=True)), targets)
    try:
        result = run_check(Places(snapshot, refresh=lambda: collect_live(quiet=True)),
                           source_ns.inode, source_ns.origins[0].path, dst.address,
                           args.proto, args.port, targets, timeout=args.timeout)
    except ProbeError as e:
        raise UserError(str(e)) from None
    except PermissionError as e:
        raise UserError(f"cannot send from {source_ns.name}: {e.strerror}; run as root") \
            from None
    seen = {"delivered": Verdict.DELIVERED, "refused": Verdict.REFUSED,
            "dropped": Verdict.DROPPED, "no route": Verdict.NO_ROUTE,
            "left": Verdict.LEFT_HOST}.get(result.verdict, Verdict.UNKNOWN)
    comparison = compare(expected, result.request, graph, seen) if expected else None
    if args.json:
        print(json.dumps(check_document(result, comparison), indent=2))
    else:
        print_check(result, comparison)
    return 0 if result.verdict == "delivered" else 1


def print_check(result, comparison) -> None:
    print(f"{result.verdict.upper()}: {result.answer}")
    print(f"test packet: {result.packet}")
    for journey in (result.request, result.reply):
        if journey:
            for line in render_journey(journey):
                print(line)
    if comparison:
        if comparison.agrees:
            print(f"static path walk agrees: {comparison.end} "
                  f"({' -> '.join(comparison.namespaces)})")
        else:
            print(f"static path walk DISAGREES: {comparison.difference}")
    extra = f"probes attached in {result.attach_s:.2f} s"
    if result.rule_tracing:
        extra += f"; nftrace tables added and removed in {len(result.rule_tracing)} namespaces"
    if result.lost_events:
        extra += f"; {result.lost_events} EVENTS LOST"
    print(extra, file=sys.stderr)
