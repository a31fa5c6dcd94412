"""`netscope check SRC DST [--proto icmp|tcp|udp] [--port N] [--json]`: why can't A reach B?

Sends one test packet (crafted with scapy) from inside SRC's namespace, traces it and its
reply with the eBPF tracer, and answers in one line: delivered, or where and why it died.
Then the journeys, and where the observed path disagrees with the static path walk.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict

from netscope.cli.convention import add_command, completes, refuse_read_only
from netscope.cli.errors import UserError

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
    p.add_argument("--port", type=int, metavar="N", help="destination port (tcp/udp)")
    p.add_argument("--no-rules", action="store_true",
                   help="do not add nftrace tables (netfilter rules are then not named)")
    p.add_argument("--timeout", type=float, default=4.0, metavar="S",
                   help="how long to wait for the packet and its reply (default 4 s)")


def run(args) -> int:
    from netscope.analysis.path import EndpointError
    from netscope.analysis.path.endpoints import resolve
    from netscope.cli.source import collect_live
    from netscope.model.index import SnapshotIndex
    from netscope.trace.check import run_check
    from netscope.trace.errors import ProbeError
    from netscope.trace.places import Places
    from netscope.trace.preflight import require_ebpf

    if args.proto != "icmp" and not args.port:
        raise UserError(f"--proto {args.proto} needs --port N")
    if not args.no_rules:
        refuse_read_only(args, "check adds nftrace tables",
                         "add --no-rules to send the packet without them")
    try:
        require_ebpf()
    except ProbeError as e:
        raise UserError(str(e)) from None
    snapshot = collect_live(quiet=True)
    index = SnapshotIndex(snapshot)
    try:
        src, dst = resolve(index, args.src, "source"), resolve(index, args.dst, "destination")
    except EndpointError as e:
        raise UserError(str(e)) from None
    if src.netns is None or dst.address is None:
        raise UserError("SRC must be a namespace or container on this host and DST must have "
                        "an address")
    source_ns = index.namespaces[src.netns]
    if not source_ns.origins:
        raise UserError(f"cannot enter {source_ns.name}: no path to its namespace")
    # the static walk is a comparison, not a requirement
    expected = expected_path(snapshot, args.src, dst.address, args.proto, args.port)
    targets = None if args.no_rules else rule_targets(snapshot, expected)
    try:
        result = run_check(Places(snapshot, refresh=lambda: collect_live(quiet=True)),
                           source_ns.inode, source_ns.origins[0].path, dst.address,
                           args.proto, args.port, targets, timeout=args.timeout)
    except ProbeError as e:
        raise UserError(str(e)) from None
    except PermissionError as e:
        raise UserError(f"cannot send from {source_ns.name}: {e.strerror}; run as root") \
            from None
    comparison = compare(expected, result, index) if expected else None
    if args.json:
        doc = asdict(result)
        doc["expected"] = comparison
        print(json.dumps(doc, indent=2))
    else:
        print_check(result, comparison)
    return 0 if result.verdict == "delivered" else 1


def rule_targets(snapshot, expected) -> dict[int, str]:
    """Where to add nftrace tables: namespaces with nf_tables rules on the expected path
    (both ways), or all of them when there is no path walk."""
    from netscope.trace.nftrace import nftables_namespaces

    with_rules = nftables_namespaces(snapshot)
    on_path = _path_namespaces(expected) if expected else set(with_rules)
    return {i: p for i, p in with_rules.items() if i in on_path}


def expected_path(snapshot, src: str | None, dst: str | None, proto: str | None,
                  port: int | None):
    """The static path walk from src to dst, or None when it cannot be walked."""
    if not src or not dst:
        return None
    from netscope.analysis.path import EndpointError, path

    try:
        return path(snapshot, src, dst, proto or "icmp", port)
    except (EndpointError, ValueError, KeyError):
        return None


def _path_namespaces(expected) -> set[int]:
    out = set()
    for walk in (expected, expected.reply):
        for hop in walk.hops if walk else ():
            out.add(int(hop.netns.split(":", 1)[1]))
    return out


def _observed_namespaces(journey) -> list[str]:
    seen: list[str] = []
    for h in journey.hops if journey else ():
        if h.netns and (not seen or seen[-1] != f"ns:{h.netns}"):
            seen.append(f"ns:{h.netns}")
    return seen


def compare(expected, result, index) -> dict:
    """Where the static walk and the observed journey agree or part."""
    want = []
    for hop in expected.hops:
        if not want or want[-1] != hop.netns:
            want.append(hop.netns)
    seen = _observed_namespaces(result.request)
    end_seen = {"delivered": "delivered", "refused": "delivered", "dropped": "dropped",
                "no route": "no_route", "left": "left_host"}.get(result.verdict, "unknown")
    difference = None
    for i, (w, s) in enumerate(zip(want, seen, strict=False)):
        if w != s:
            difference = (f"at step {i + 1} the walk expected {index.ns_name(w)}, the packet "
                          f"went to {index.ns_name(s)}")
            break
    if difference is None and str(expected.end) != end_seen:
        where = index.ns_name(expected.end_netns) if expected.end_netns else "?"
        difference = (f"the walk expected {expected.end} in {where} ({expected.reason}); "
                      f"observed: {result.verdict}")
    return {"end": str(expected.end), "reason": expected.reason,
            "namespaces": [index.ns_name(n) for n in want], "agrees": difference is None,
            "difference": difference}


def print_check(result, comparison) -> None:
    from netscope.cli.trace_cmd import render_journey

    print(f"{result.verdict.upper()}: {result.answer}")
    print(f"test packet: {result.packet}")
    for journey in (result.request, result.reply):
        if journey:
            for line in render_journey(journey):
                print(line)
    if comparison:
        if comparison["agrees"]:
            print(f"static path walk agrees: {comparison['end']} "
                  f"({' -> '.join(comparison['namespaces'])})")
        else:
            print(f"static path walk DISAGREES: {comparison['difference']}")
    extra = f"probes attached in {result.attach_s:.2f} s"
    if result.rule_tracing:
        extra += f"; nftrace tables added and removed in {len(result.rule_tracing)} namespaces"
    if result.lost_events:
        extra += f"; {result.lost_events} EVENTS LOST"
    print(extra, file=sys.stderr)
