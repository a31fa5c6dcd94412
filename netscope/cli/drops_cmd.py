"""`netscope drops [--duration S] [--json]`: where packets die on this host, and why.

Counts every skb:kfree_skb in the kernel per (namespace, device, drop reason, kernel
location) and prints the table with container/namespace/device names. The --json document is
described in docs/trace.md.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict

from netscope.cli import values
from netscope.cli.convention import add_command
from netscope.cli.errors import UserError


def add_parser(sub) -> None:
    p = add_command(
        sub, "drops", help="count dropped packets per namespace, device, reason and location",
        description="Attach an eBPF probe to skb:kfree_skb (raw tracepoint) and count drops "
                    "in the kernel per (namespace, device, drop reason, kernel function), "
                    "with the last dropped packet of each. Needs root, bcc and BTF; see "
                    "`netscope probes`.",
        run=run, live_only="it counts live drops with eBPF", json_doc="docs/trace.md")
    p.add_argument("--duration", type=values.seconds, metavar="S",
                   help="seconds to count (default: until Ctrl-C)")
    p.add_argument("--ebpf", action="store_true",
                   help="print the eBPF program and its flags instead of loading it")


def run(args) -> int:
    from netscope.trace.errors import ProbeError

    if args.duration is not None and args.duration <= 0:
        raise UserError("--duration must be a positive number of seconds")
    try:
        if args.ebpf:
            from netscope.trace.drops import DROP_FILES, drop_settings
            from netscope.trace.loader import render

            print(render(DROP_FILES, drop_settings()))
            return 0
        report = _monitor(args)
    except ProbeError as e:
        raise UserError(str(e)) from None
    if args.json:
        print(json.dumps(asdict(report), indent=2))
    else:
        for line in render_drops(report):
            print(line)
    return 0


def _monitor(args):
    from netscope.cli.source import collect_live, collect_swept
    from netscope.trace.drops import monitor_drops
    from netscope.trace.loader import detach_on_signals
    from netscope.trace.places import Places
    from netscope.trace.preflight import require_ebpf

    require_ebpf()
    places = Places(collect_swept(quiet=True), refresh=lambda: collect_live(quiet=True))
    if sys.stderr.isatty() and not args.json:
        until = f"for {args.duration:g} s" if args.duration else "until Ctrl-C"
        print(f"netscope: counting drops {until} ...", file=sys.stderr)
    with detach_on_signals():
        return monitor_drops(args.duration, places)


def render_drops(report) -> list[str]:
    """The drop table as lines, most drops first."""
    lines = []
    if report.drops:
        rows = [(str(d.count), d.namespace, d.device, d.reason, d.location,
                 d.last_packet or "-") for d in report.drops]
        head = ("COUNT", "NAMESPACE", "DEVICE", "REASON", "LOCATION", "LAST PACKET")
        widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head) - 1)]
        for row in [head, *rows]:
            cells = [row[0].rjust(widths[0])]
            cells += [c.ljust(w) for c, w in zip(row[1:-1], widths[1:], strict=True)]
            lines.append("  ".join([*cells, row[-1]]))
    else:
        lines.append("no packets dropped")
    summary = (f"{report.total} drops in {report.duration_s:g} s "
               f"(probe attached in {report.attach_s:.2f} s)")
    if report.not_counted:
        summary += f"; {report.not_counted} drops not counted: aggregation map full"
    lines.append(summary)
    return lines
