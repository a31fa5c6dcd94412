"""`netscope doctor [--snapshot FILE] [--json]`: what is wrong, why, and how to repair it."""

from __future__ import annotations

import json
import sys

from netscope.cli.convention import add_command
from netscope.cli.source import snapshot_from_args

EPILOG = """\
--json prints a list of findings: {"id", "check", "severity", "title", "summary", "explain",
"evidence": [ids and rule texts], "subject", "repair": [operations]}. Repair a finding with
`netscope repair ID`.
"""


def add_parser(sub) -> None:
    p = add_command(
        sub, "doctor", help="explain what is wrong with the host's network",
        description="Run every check over the host (or a snapshot): each finding says what is "
                    "wrong, the mechanism behind it, the evidence, and whether netscope can "
                    "repair it.", epilog=EPILOG, run=run, snapshot=True,
        json_doc="docs/cli.md#doctor",
        exits=((0, "healthy"), (1, "findings of severity error or warning")))
    p.add_argument("--all", action="store_true", help="also show findings of severity info")
    p.add_argument("--explain", action="store_true",
                   help="print each finding's explanation of the mechanism too")
    p.add_argument("--list-checks", action="store_true",
                   help="list every check (id, severity, title) and exit")


def run(args) -> int:
    from netscope.analysis.doctor import run_doctor
    from netscope.snapshot.codec import encode

    if args.list_checks:
        from netscope.analysis.doctor import CHECKS

        for c in CHECKS:
            print(f"{c.id:<24} {c.severity:<8} {c.title}")
        return 0
    snapshot = snapshot_from_args(args)
    findings = run_doctor(snapshot)
    shown = [f for f in findings if args.all or args.json or f.severity != "info"]
    if args.json:
        json.dump(encode(shown), sys.stdout, indent=1)
        print()
    elif not shown:
        hidden = len(findings) - len(shown)
        print("healthy: no findings" + (f" ({hidden} info, see --all)" if hidden else ""))
    else:
        for f in shown:
            fix = "  [repairable]" if f.repair else ""
            print(f"{f.severity.upper():<8} {f.id}{fix}")
            print(f"         {f.summary}")
            if args.explain:
                print(f"         why: {f.explain}")
        print()
        print("details: netscope doctor --explain   repair: netscope repair ID [--dry-run]")
    return 1 if any(f.severity in ("error", "warning") for f in findings) else 0
