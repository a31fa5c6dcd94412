"""`netscope diff A.json B.json [--json]`: what changed between two snapshots."""

from __future__ import annotations

import json
import sys

from netscope.cli.convention import add_command, completes
from netscope.cli.errors import UserError

EPILOG = """\
Objects are matched by name (namespace, device, CIDR, route destination, rule text), never by
id, so snapshots taken before and after a namespace was re-created compare well. Neighbour
states, conntrack entries and nf_conntrack_count are left out: they change by themselves.
--json prints {"before", "after", "changes": [{"change": added|removed|changed, "what",
"netns", "subject", "detail", "ids"}], "counters": [{"netns", "subject", "packets",
"bytes"}]}; ids point at the changed object (else its namespace) in the newer snapshot.
"""


def add_parser(sub) -> None:
    p = add_command(
        sub, "diff", help="what changed between two snapshots",
        description="Compare two snapshots: namespaces, containers, links and their state, "
                    "addresses, routes, policy rules, netfilter tables, chains and rules (with "
                    "the counters that moved) and sysctls, grouped by namespace.",
        epilog=EPILOG, run=run, live_only="it compares the two files it is given",
        json_doc="docs/cli.md#diff", exits=((0, "no changes"), (1, "changes")))
    completes(p.add_argument("before", metavar="A.json",
                             help="the older snapshot (when it worked)"), "file")
    completes(p.add_argument("after", metavar="B.json", help="the newer snapshot"), "file")


def run(args) -> int:
    from netscope.report.diff import diff_snapshots
    from netscope.report.diff_text import render_diff
    from netscope.snapshot import SnapshotError, load
    from netscope.snapshot.codec import encode

    try:
        before, after = load(args.before), load(args.after)
    except SnapshotError as e:
        raise UserError(str(e)) from None
    diff = diff_snapshots(before, after)
    if args.json:
        json.dump(encode(diff), sys.stdout, indent=1)
        print()
    else:
        for line in render_diff(diff):
            print(line)
    return 0 if diff.empty else 1
