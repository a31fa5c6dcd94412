"""`netscope netdex [--modes M ...] [--duration S] [--json] [-o FILE.md]`: what each container
networking mode costs on this host.

Each mode's lab is brought up (as instance netdex-<mode>), measured, and taken down before
the next one; Ctrl-C or SIGTERM takes the current lab down before netscope exits.

--json prints netscope.netdex.report.to_json's document ({"format": "netscope-netdex",
"version": 1, ..., "modes": [...]}; see `pydoc netscope.netdex.report`).
"""

from __future__ import annotations

import json
import os
import sys

from netscope.cli import values
from netscope.cli.convention import add_command, completes, hidden_alias
from netscope.cli.errors import UserError


def add_parser(sub) -> None:
    from netscope.netdex.modes import MODES

    p = add_command(
        sub, "netdex", help="measure what each container networking mode costs on this host "
                            "(root)",
        description="Brings up each lab in turn (" + ", ".join(
            f"{m.key}={m.lab}" for m in MODES) + "), measures between two endpoints "
            "of that mode (iperf3 TCP throughput, 64-byte TCP round trips: median and p99, "
            "connection setup rate, CPU per Gbit/s), takes the lab down, and compares every "
            "mode with host mode. Progress goes to stderr.",
        run=run, live_only="it measures this host", changes_host="creates lab namespaces",
        json_doc="docs/cli.md#netdex",
        exits=((0, "measured"), (1, "every mode failed to measure")))
    p.add_argument("--modes", nargs="+", metavar="MODE",
                   help="only these modes (space or comma separated): "
                        + ", ".join(m.key for m in MODES))
    p.add_argument("--duration", type=values.seconds, default=2.0, metavar="S",
                   help="seconds per measurement (default 2; iperf3 rounds up to whole "
                        "seconds); a mode takes about 2*S plus a second for its lab")
    p.add_argument("--repeat", type=values.positive_int, default=1, metavar="N",
                   help="measure every mode N times, modes alternating, and keep the "
                        "medians (default 1; 3 or more on a noisy machine)")
    completes(p.add_argument("-o", "--output", metavar="FILE.md",
                             help="also write the report as Markdown to FILE.md"), "file")
    hidden_alias(p, "--md", "output")
    p.add_argument("--prefix", default="netdex",
                   help="lab instances are named PREFIX-MODE (default netdex)")


def _progress(text: str) -> None:
    print(f"netdex {text}", file=sys.stderr, flush=True)


def run(args) -> int:
    from netscope.actions.labs import LabError, check_instance
    from netscope.netdex import measure, report, runner
    from netscope.netdex.modes import ModeError, select

    if os.geteuid() != 0:
        raise UserError("netscope netdex creates lab namespaces: run it as root (sudo)")
    missing = measure.iperf3_missing()
    if missing:
        raise UserError(missing)
    if args.duration <= 0 or args.duration > 600:
        raise UserError(f"--duration {args.duration:g}: give seconds between 0 and 600")
    if not 1 <= args.repeat <= 20:
        raise UserError(f"--repeat {args.repeat}: give a number of rounds from 1 to 20")
    keys = [k for item in args.modes or [] for k in item.split(",") if k]
    try:
        modes = select(keys or None)
        check_instance(f"{args.prefix}-{max((m.key for m in modes), key=len)}")
    except (ModeError, LabError) as e:
        raise UserError(str(e)) from None
    try:
        result = runner.run(modes, args.duration, args.prefix, _progress, args.repeat)
    except KeyboardInterrupt:
        print("netscope: netdex interrupted; the lab being measured was taken down",
              file=sys.stderr)
        return 130
    if args.output:
        try:
            with open(args.output, "w") as f:
                f.write(report.markdown(result))
        except OSError as e:
            raise UserError(f"cannot write {args.output}: {e.strerror}") from None
    if args.json:
        json.dump(report.to_json(result), sys.stdout, indent=1)
        print()
    else:
        print(report.text_report(result))
        if args.output:
            print(f"\nreport written to {args.output}")
    return 1 if all(r.error for r in result.results) else 0
