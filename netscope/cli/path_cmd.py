"""`netscope path SRC DST [--proto P] [--port N] [--size BYTES] [--json]`: the expected
path, hop by hop (with --size, a don't-fragment packet of that size: MTUs on the path count)."""

from __future__ import annotations

import json
import sys

from netscope.cli import values
from netscope.cli.convention import add_command, completes
from netscope.cli.errors import UserError
from netscope.cli.source import snapshot_from_args

EPILOG = """\
SRC and DST are an IP address, a container name (or id prefix), or a namespace name.
--json prints {"packet", "hops": [...], "end", "reason", "end_netns", "reply", "branches"};
each hop has netns, netns_name, device, step, decision, explain, evidence (ids), packet,
link (id). A random choice netfilter makes per connection (kube-proxy's endpoints: -m
statistic, numgen) ends "hops" with a "choice" hop; "branches" then holds one
{"probability", "choice", "path"} per outcome, "path" being this same document for the
rest of that walk (its own end and reply); the top "end" is theirs, or the worst of them.
SRC's address is the one its kernel would choose for the route to DST (as trace and check).
"""


def add_parser(sub) -> None:
    p = add_command(
        sub, "path", help="walk the expected path of a packet (static, from the snapshot)",
        description="Follow what the kernel would do with a packet from SRC to DST: policy "
                    "rules and routes, netfilter hooks and NAT, forwarding and rp_filter, veth "
                    "pairs, bridges and VXLAN, then the reply. Nothing is sent.",
        epilog=EPILOG, run=run, snapshot=True, json_doc="docs/cli.md#path",
        exits=((0, "the packet and its reply are delivered (or leave the host), on every "
                   "branch of a random choice"),
               (1, "they are not")))
    completes(p.add_argument("src", metavar="SRC"), "endpoint")
    completes(p.add_argument("dst", metavar="DST"), "endpoint")
    p.add_argument("--proto", default="icmp", choices=("icmp", "tcp", "udp"))
    p.add_argument("--port", type=values.port, metavar="N", help="destination port (tcp/udp)")
    p.add_argument("--size", type=values.positive_int, metavar="BYTES", default=0,
                   help="a packet of this many bytes that may not be fragmented: the walk "
                        "stops it at the first device whose MTU is smaller")


def run(args) -> int:
    from netscope.analysis.path import EndpointError, path
    from netscope.cli.journey_text import path_document, render_path

    snapshot = snapshot_from_args(args)
    try:
        result = path(snapshot, args.src, args.dst, args.proto, args.port, args.size)
    except EndpointError as e:
        raise UserError(str(e)) from None
    if args.json:
        json.dump(path_document(result), sys.stdout, indent=1)
        print()
    else:
        known = "netfilter" in snapshot.header.collectors
        for line in render_path(result, netfilter_known=known):
            print(line)
    ok = all(j.verdict.fine and (j.reply is None or j.reply.verdict.fine)
             for _, j in result.outcomes())
    return 0 if ok else 1
