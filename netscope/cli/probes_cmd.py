"""`netscope probes`: what this kernel lets netscope attach, and what is lost without each."""

from __future__ import annotations

import json
import os
from dataclasses import asdict

from netscope.cli.convention import add_command


def add_parser(sub) -> None:
    p = add_command(
        sub, "probes", help="what eBPF this kernel offers netscope, and what is lost without it",
        description="Check bcc, privileges, BTF, kernel headers, raw tracepoints, tracefs, "
                    "kprobes, fentry and tc. With root, tiny test programs are loaded and "
                    "removed to prove each one works.",
        run=run, live_only="it tests this kernel", json_doc="docs/trace.md")
    p.add_argument("--no-test-load", action="store_true",
                   help="only look at files; load no test program")


def run(args) -> int:
    from netscope.trace.capabilities import command_readiness, probe_capabilities

    caps = probe_capabilities(test_load=not args.no_test_load)
    ready = command_readiness(caps)
    if args.json:
        print(json.dumps({"kernel": os.uname().release,
                          "capabilities": [asdict(c) for c in caps],
                          "commands": ready}, indent=2))
        return 0
    print(f"eBPF on this kernel ({os.uname().release}):")
    width = max(len(c.name) for c in caps)
    for c in caps:
        print(f"  {'yes' if c.available else 'NO ':3}  {c.name.ljust(width)}  {c.detail}")
        if c.without:
            print(f"  {'':3}  {'':{width}}  without it: {c.without}")
    print("commands:")
    for command, state in ready.items():
        print(f"  {command}: {state}")
    return 0
