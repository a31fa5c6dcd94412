"""`netscope diff A.json B.json [--json]`: what changed between two snapshots."""

from __future__ import annotations

import argparse
import json
import sys

from netscope.cli.errors import UserError

EPILOG = """\
Objects are matched by name (namespace, device, CIDR, route destination, rule text), never by
id, so snapshots taken before and after a namespace was re-created compare well. Neighbour
states, conntrack entries and nf_conntrack_count are left out: they change by themselves.
Exit status: 0 no changes, 1 changes, 2 error.
--json prints {"before", "after", "changes": [{"change": added|removed|changed, "what",
"netns", "subject", "detail"}], "counters": [{"netns", "subject", "packets", "bytes"}]}.
"""


def add_parser(sub) -> None:
    p = sub.add_parser(
        "diff", help="what changed between two snapshots",
        description="Compare two snapshots: namespaces, containers, links and their state, "
                    "addresses, routes, policy rules, netfilter tables, chains and rules (with "
                    "the counters that moved) and sysctls, grouped by namespace.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("before", metavar="A.json", help="the older snapshot (when it worked)")
    p.add_argument("after", metavar="B.json", help="the newer snapshot")
    p.add_argument("--json", action="store_true", help="print the changes as JSON")
    p.set_defaults(func=run)


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
