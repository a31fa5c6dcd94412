"""`netscope merge NODE.json... -o cluster.json`: node snapshots -> one cluster document."""

from __future__ import annotations

import json
import sys

from netscope.cli.convention import add_command, completes
from netscope.cli.errors import UserError

EPILOG = """\
Each NODE.json is a snapshot taken on one node (`netscope snapshot -o NODE.json`, copied by
ssh, collected by `netscope cluster snapshot`, or from CI); NAME=NODE.json names the node,
otherwise the snapshot's hostname does. A cluster document given as input keeps its nodes.
In the result every node keeps its own namespaces, ids are node-qualified
(ns:NODE@INODE), namespaces are called NODE:NAME, and the header lists the nodes with their
kernels and capture times. Every command that reads --snapshot reads a cluster document too:
`netscope path --snapshot cluster.json POD_A POD_B` walks across nodes.
"""

# captures further apart than this are worth a warning: the nodes' states may disagree
SKEW_WARN_S = 60.0


def add_parser(sub) -> None:
    p = add_command(
        sub, "merge", help="merge node snapshots into one cluster document",
        description="Merge snapshots of several nodes into one cluster document, so that "
                    "paths and doctor checks can cross nodes.",
        epilog=EPILOG, run=run, live_only="it reads the NODE.json files it is given",
        json_doc="docs/cli.md#merge", exits=((0, "merged and written"),))
    completes(p.add_argument("inputs", nargs="+", metavar="[NAME=]NODE.json",
                             help="a node's snapshot, optionally named (node-a=a.json)"),
              "file")
    completes(p.add_argument("-o", "--output", metavar="FILE",
                             help="where to write the cluster document (required)"), "file")
    p.add_argument("--name", default="cluster", help="what to call the cluster (default: "
                   "cluster)")
    p.add_argument("--note", help="why and how the snapshots were taken, kept in the header")


def _split(arg: str) -> tuple[str | None, str]:
    name, sep, path = arg.partition("=")
    if sep and name and "/" not in name:
        return name, path
    return None, arg


def run(args) -> int:
    import gc

    from netscope.snapshot.cluster import MergeError, capture_skew_s, merge_files
    from netscope.snapshot.files import write_file
    from netscope.snapshot.io import SnapshotError

    if not args.output:
        raise UserError("merge needs -o FILE: where to write the cluster document")
    # a million short-lived values and nothing cyclic: the collector would only rescan them
    gc.disable()
    try:
        text, header, namespaces = merge_files([_split(a) for a in args.inputs],
                                               cluster=args.name, note=args.note)
    except (MergeError, SnapshotError) as e:
        raise UserError(str(e)) from None
    try:
        write_file(args.output, text, private=not header.redacted)
    except OSError as e:
        raise UserError(f"cannot write {args.output}: {e.strerror or e}") from None
    skew = capture_skew_s(header.nodes)
    if args.json:
        json.dump({"output": args.output, "skew_s": skew, "namespaces": namespaces,
                   "nodes": [{"name": n.name, "hostname": n.hostname, "kernel": n.kernel,
                              "captured_at": n.captured_at} for n in header.nodes]},
                  sys.stdout, indent=1)
        print()
        return 0
    from netscope.model.safe_text import safe

    for n in header.nodes:
        print(f"node {safe(n.name)}: {safe(n.hostname)}, kernel {safe(n.kernel)}, "
              f"captured {safe(n.captured_at)}")
    print(f"{len(header.nodes)} nodes, {namespaces} namespaces -> "
          f"{args.output}")
    if skew is None:
        print("capture times: some cannot be read, so their skew is unknown")
    elif skew > SKEW_WARN_S:
        print(f"warning: the captures are {skew:.0f} s apart: state may have changed between "
              "them")
    else:
        print(f"capture skew: {skew:.1f} s")
    return 0
