"""`netscope show [--snapshot FILE] [--json]`: the topology as a readable tree."""

from __future__ import annotations

import sys

from netscope.cli.convention import add_command
from netscope.cli.source import snapshot_from_args


def add_parser(sub) -> None:
    p = add_command(
        sub, "show", help="print the topology as a tree",
        description="Namespaces (with container names) -> interfaces with state, addresses and "
                    "veth peers -> bridge ports -> routes.",
        run=run, snapshot=True, json_doc="docs/cli.md#show")
    p.add_argument("--all-tables", action="store_true",
                   help="also show the local routing table and kernel-made IPv6 routes")
    p.add_argument("--netfilter", action="store_true",
                   help="show iptables/nftables chains instead: rules with counters, jumps "
                        "followed, Docker's chains and published ports labelled")


def run(args) -> int:
    snapshot = snapshot_from_args(args)
    if args.json:
        from netscope.snapshot import dumps

        sys.stdout.write(dumps(snapshot))
        return 0
    if args.netfilter:
        from netscope.cli.netfilter_tree import render_netfilter

        for line in render_netfilter(snapshot):
            print(line)
        return 0
    from netscope.cli.tree import render_tree

    for line in render_tree(snapshot, all_tables=args.all_tables):
        print(line)
    return 0
