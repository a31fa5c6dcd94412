"""`netscope trace`: follow packets hop by hop across namespaces, bridges, routing and NAT.

Filters run in the kernel. Each packet is shown as a journey once it is complete: where it
was seen (namespace or container, device, hook), and how it ended (delivered, dropped with
the kernel's reason, no route). Replies are their own journeys, linked to their request.
The --json document is described in docs/trace.md.
"""

from __future__ import annotations

import argparse
import json
import sys

from netscope.cli import values
from netscope.cli.convention import add_command, completes, hidden_alias, refuse_read_only
from netscope.cli.errors import UserError
from netscope.cli.journey_text import render_journey, trace_document

ANY = "any"  # SRC or DST that matches every address
LIVE_ONLY = "it watches live packets with eBPF"
EPILOG = """\
SRC and DST are an IP address, a container or a namespace name; `any` leaves that end open
(`netscope trace any web` traces every packet to or from web's addresses, both directions).
-o FILE writes a file as well, its kind from its extension (repeat -o for both):
  .json     a recording: every event, rule verdict, the names they need and a snapshot of the
            namespaces involved (replayable without root; `netscope export REC -o t.pcapng`)
  .pcapng   the traced packets, one packet per hop, each hop's namespace, device, hook,
            verdict and NAT as its comment (tshark/Wireshark; headers rebuilt, no payload)
"""


def add_parser(sub) -> None:
    p = add_command(
        sub, "trace", help="follow packets hop by hop (eBPF)",
        description="Attach eBPF probes (raw tracepoints: receive, queue, xmit, drop, "
                    "consume, fib lookup), follow the packets that match the filter in either "
                    "direction, and print each one's journey. SRC/DST are IPs, container or "
                    "namespace names. Needs root, bcc and BTF; see `netscope probes`.",
        epilog=EPILOG, run=run, live_only=LIVE_ONLY, json_doc="docs/trace.md")
    # no defaults: the hidden --src/--dst may have set them (see endpoints())
    completes(p.add_argument("src", metavar="SRC", nargs="?", default=argparse.SUPPRESS,
                             help="source: IP, container or namespace name, or `any`"),
              "endpoint")
    completes(p.add_argument("dst", metavar="DST", nargs="?", default=argparse.SUPPRESS,
                             help="destination: IP, container or namespace name, or `any`"),
              "endpoint")
    hidden_alias(p, "--src", "src")
    hidden_alias(p, "--dst", "dst")
    p.add_argument("--proto", choices=("icmp", "tcp", "udp"), help="protocol")
    p.add_argument("--port", type=values.port, metavar="N", help="destination port (tcp/udp)")
    p.add_argument("--count", type=values.positive_int, metavar="K",
                   help="stop after K packets (replies not counted) have completed")
    p.add_argument("--duration", type=values.seconds, metavar="S",
                   help="stop after S seconds (default: run until Ctrl-C)")
    hidden_alias(p, "--timeout", "duration", type=values.seconds)
    p.add_argument("--rules", action="store_true",
                   help="also name the netfilter rule that judged each packet (nftrace). "
                        "CHANGES THE HOST while tracing: adds a table inet netscope_trace_<pid> "
                        "in each namespace with nf_tables rules on the expected path (all of "
                        "them without SRC and DST); removed on exit")
    completes(p.add_argument("-o", "--output", metavar="FILE", action="append",
                             help="also write FILE: a recording (.json) or the packets as "
                                  "pcapng (.pcapng); see below"), "file")
    hidden_alias(p, "--record", "record")
    hidden_alias(p, "--pcap", "pcap")
    p.add_argument("--note", metavar="TEXT",
                   help="with a .json recording: how the traffic was made, stored in its "
                        "header")
    p.add_argument("--ebpf", action="store_true",
                   help="print the eBPF program and its flags instead of loading it")


RECORDING_SUFFIXES = (".json",)
PCAP_SUFFIXES = (".pcapng", ".pcap")


def output_files(args) -> tuple[str | None, str | None]:
    """(recording path, pcapng path) from -o FILE... and the old --record/--pcap."""
    record, pcap = getattr(args, "record", None), getattr(args, "pcap", None)
    for path in getattr(args, "output", None) or []:
        if path.endswith(RECORDING_SUFFIXES) and record is None:
            record = path
        elif path.endswith(PCAP_SUFFIXES) and pcap is None:
            pcap = path
        else:
            raise UserError(f"-o {path}: give one .json file (a recording) and/or one "
                            ".pcapng file (the packets)")
    return record, pcap


def endpoints(args) -> tuple[str | None, str | None]:
    """SRC and DST as given, `any` (or nothing) as None."""
    given = (getattr(args, "src", None), getattr(args, "dst", None))
    return tuple(None if v is None or v.lower() == ANY else v for v in given)


def trace_filter(args, graph=None):
    """The TraceFilter for the arguments, names resolved to addresses by the host graph
    (HostGraph.resolve_filter: with both ends, the source the kernel would choose for the
    route to the destination, as `netscope path` picks it)."""
    from netscope.graph.endpoints import EndpointError
    from netscope.trace.tracer import TraceFilter

    src, dst = endpoints(args)
    if graph is not None:
        try:
            src, dst = graph.resolve_filter(src, dst)
        except EndpointError as e:
            raise UserError(str(e)) from None
    return TraceFilter(src=src, dst=dst, proto=args.proto, port=args.port)


def run(args) -> int:
    from netscope.trace.errors import ProbeError

    if args.count is not None and args.count <= 0:
        raise UserError("--count must be a positive number of packets")
    if args.duration is not None and args.duration <= 0:
        raise UserError("--duration must be a positive number of seconds")
    args.record, args.pcap = output_files(args)
    if args.rules:
        refuse_read_only(args, "trace --rules adds nftrace tables")
    try:
        if args.ebpf:
            from netscope.trace.loader import render
            from netscope.trace.tracer import JOURNEY_FILES, filter_values, trace_settings

            values = filter_values(trace_filter(args))
            print(f"/* filter_cfg[0] (written before attaching): {values} */")
            print(render(JOURNEY_FILES, trace_settings()))
            return 0
        result = _trace(args)
    except ProbeError as e:
        raise UserError(str(e)) from None
    if args.json:
        print(json.dumps(trace_document(result), indent=2))
    else:
        print(render_footer(result))
    return 0


def _trace(args):
    from netscope.cli.source import collect_live, collect_swept
    from netscope.trace.places import Places
    from netscope.trace.preflight import require_ebpf
    from netscope.trace.session import run_trace

    require_ebpf()
    places = Places(collect_swept(quiet=True), refresh=lambda: collect_live(quiet=True))
    flt = trace_filter(args, places.graph)

    if not any((flt.src, flt.dst, flt.proto, flt.port)):
        print("netscope: no filter: every packet on the host is traced (expect lost events "
              "on a busy host; add SRC, DST, --proto or --port)", file=sys.stderr)

    def attached(seconds: float) -> None:
        if not args.json:
            print(f"tracing {flt.describe()} (probes attached in {seconds:.2f} s; "
                  "Ctrl-C to stop)", file=sys.stderr)

    def show(journey) -> None:
        if not args.json:
            for line in render_journey(journey):
                print(line)
            sys.stdout.flush()

    targets = None
    if args.rules:
        from netscope.analysis.path import expected_path
        from netscope.trace.nftrace import rule_targets

        targets = rule_targets(places.graph.snapshot, expected_path(
            places.graph, flt.src, flt.dst, flt.proto, flt.port))
    from netscope.trace.session import RawCapture

    capture = RawCapture() if args.record else None
    result = run_trace(flt, places, count=args.count, timeout=args.duration, on_journey=show,
                       on_attached=attached, rules=args.rules, rule_targets=targets,
                       capture=capture)
    if capture is not None:
        _record(args, places, capture)
    if args.pcap:
        _write_pcap(args.pcap, result.journeys)
    return result


def _write_pcap(path: str, journeys) -> None:
    import time

    from netscope.report.pcapng import journeys_pcapng
    from netscope.snapshot.files import write_file

    # journey times are the kernel's monotonic clock; pcapng wants wall-clock time
    offset = time.time_ns() - time.monotonic_ns()
    try:
        # traced packets of this host: readable by the owner only (0600)
        write_file(path, journeys_pcapng(journeys, offset), private=True)
    except OSError as e:
        raise UserError(f"cannot write {path}: {e.strerror}; choose another path") from None
    print(f"netscope: wrote {len(journeys)} journeys to {path} (pcapng)", file=sys.stderr)


def _record(args, places, capture) -> None:
    from netscope.trace.kernel_names import KernelSymbols, drop_reason_names
    from netscope.trace.recording import save_recording

    src, dst = endpoints(args)
    parts = ["netscope trace", src or ANY, dst or ANY] + [f"--{k} {v}" for k, v in (
        ("proto", args.proto), ("port", args.port), ("count", args.count),
        ("duration", args.duration)) if v is not None]
    parts += ["--rules"] if args.rules else []
    note = "captured by `" + " ".join(parts) + "`" + (f"; {args.note}" if args.note else "")
    try:
        save_recording(args.record, note, places.graph.snapshot, capture.events,
                       capture.verdicts, drop_reason_names(), KernelSymbols.load())
    except OSError as e:
        raise UserError(f"cannot write {args.record}: {e.strerror}; choose another path") \
            from None
    print(f"netscope: recorded {len(capture.events)} events to {args.record}", file=sys.stderr)


def render_footer(result) -> str:
    text = (f"{len(result.journeys)} journeys, {result.events} events in "
            f"{result.duration_s:g} s; probes attached in {result.attach_s:.2f} s")
    if result.rule_tracing:
        text += f"; nftrace tables added and removed in {len(result.rule_tracing)} namespaces"
    if result.lost_events:
        text += f"; {result.lost_events} EVENTS LOST (ring buffer full): journeys may be cut"
    else:
        text += "; no events lost"
    return text
