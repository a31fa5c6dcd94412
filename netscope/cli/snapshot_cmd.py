"""`netscope snapshot [-o FILE]`: save the host's network state as a versioned JSON file.

With --snapshot FILE it re-writes that snapshot instead (e.g. `--redact`ed), so that it
follows the global convention: every command that reads the host reads FILE instead.
"""

from __future__ import annotations

import argparse
import sys

from netscope.cli.convention import add_command, completes
from netscope.cli.errors import UserError
from netscope.cli.source import collect_live, snapshot_from_args


def add_parser(sub) -> None:
    p = add_command(
        sub, "snapshot", help="save the host's network state as JSON",
        description="Collect every namespace, link, address, route, rule, neighbour and bridge "
                    "FDB entry, and write them as a versioned JSON snapshot (docs/snapshot.md) "
                    "that `netscope show --snapshot FILE` opens anywhere, without root. With "
                    "--snapshot FILE, write that snapshot again instead (e.g. redacted).",
        run=run, snapshot=True, exits=((0, "written"),))
    completes(p.add_argument("-o", "--output", metavar="FILE",
                             help="file to write (default: standard output)"), "file")
    p.add_argument("--note", metavar="TEXT",
                   help="a sentence stored in the header: why and how this snapshot was taken")
    p.add_argument("--redact", action="store_true",
                   help="replace IP and MAC addresses, the hostname, the note, rule comments and "
                        "interface aliases by consistent tokens (prefix lengths, subnets and "
                        "private/public kept), for a bug report")
    p.add_argument("--redact-names", action="store_true",
                   help="with --redact: also replace container names, ids and images, Docker "
                        "network names and the names of ip netns namespaces")
    p.add_argument("--connections", action="store_true",
                   help="also list every namespace's TCP connections (listeners and UDP "
                        "sockets are always there); the kernel walks its whole connection "
                        "table once per namespace for this (about 1.5 ms each)")
    # for the node pod of `netscope cluster snapshot` (netscope.actions.host_root)
    p.add_argument("--host-root", metavar="DIR", help=argparse.SUPPRESS)


def run(args) -> int:
    import gc

    from netscope.snapshot import dumps, save

    # one short process making a hundred thousand acyclic objects (1,000 namespaces): cyclic
    # GC would only walk them again and again (a quarter of reading and writing them)
    gc.disable()

    if getattr(args, "snapshot", None):
        if args.note or args.host_root or args.connections:
            raise UserError("--note, --host-root and --connections describe a new "
                            "collection: they cannot change --snapshot FILE (drop one of them)")
        snapshot = snapshot_from_args(args)
    else:
        if args.host_root:
            from netscope.actions.host_root import HostRootError, bind_host_root

            try:
                bind_host_root(args.host_root)
            except HostRootError as e:
                raise UserError(str(e)) from None
        snapshot = collect_live(note=args.note, connections=args.connections)
    if args.redact or args.redact_names:
        from netscope.cli.snapshot_redacted import write_redacted

        return write_redacted(snapshot, args.output, names=args.redact_names)
    if args.output and args.output != "-":
        try:
            save(snapshot, args.output)
        except OSError as e:
            raise UserError(f"cannot write {args.output}: {e.strerror}; "
                            "choose a writable path with -o") from None
        print(f"netscope: wrote {args.output}: {len(snapshot.namespaces)} namespaces, "
              f"{len(snapshot.links)} links, {len(snapshot.containers)} containers, "
              f"{len(snapshot.errors)} collector errors, in {snapshot.header.duration_ms:.0f} ms",
              file=sys.stderr)
    else:
        sys.stdout.write(dumps(snapshot))
    return 0
