"""`netscope` entry point: parse arguments, dispatch to a subcommand module, map errors.

Each subcommand lives in its own module under `netscope.cli` with `add_parser(subparsers)`
(which registers it and sets `func`) and is listed in SUBCOMMANDS. Modules import heavy
packages (Textual, bcc, scapy) inside their run functions only, so `netscope show` starts fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from netscope import __version__
from netscope.cli import output
from netscope.cli.convention import add_main_options, refuse_unusable_globals
from netscope.cli.errors import UserError

SUBCOMMANDS = (
    # see the host
    "netscope.cli.show_cmd",
    "netscope.cli.snapshot_cmd",
    "netscope.cli.conntrack_cmd",
    "netscope.cli.flows_cmd",
    "netscope.cli.dns_cmd",
    "netscope.cli.sockets_cmd",
    # find what is wrong, and repair it
    "netscope.cli.doctor_cmd",
    "netscope.cli.path_cmd",
    "netscope.cli.repair_cmd",
    # watch packets (eBPF)
    "netscope.cli.trace_cmd",
    "netscope.cli.drops_cmd",
    "netscope.cli.check_cmd",
    "netscope.cli.probes_cmd",
    # learn and compare
    "netscope.cli.lab_cmd",
    "netscope.cli.demo_cmd",
    "netscope.cli.netdex_cmd",
    # report
    "netscope.cli.diff_cmd",
    "netscope.cli.export_cmd",
    # many nodes
    "netscope.cli.merge_cmd",
    "netscope.cli.cluster_cmd",
    # the command line itself
    "netscope.cli.completion",
    "netscope.cli.manpage",
)

DESCRIPTION = """\
netscope: where does my packet go on this host, where does it die, and why?

Without a command, netscope opens the terminal UI on the live host (or on --snapshot FILE).
It reads every network namespace (named, Docker's, those of processes), pairs veth ends
across them, reads routes, rules, neighbours, bridges, iptables/nftables and conntrack;
explains what is wrong (doctor), walks the expected path of a packet (path), repairs with a
preview and an undo (repair, undo), and follows real packets with eBPF (trace, drops, check).
Reading the live host needs root (CAP_SYS_ADMIN to enter namespaces, CAP_NET_ADMIN).
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="netscope", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"netscope {__version__}")
    # global: with no COMMAND they are the TUI's; a command given them reads or refuses them
    add_main_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in SUBCOMMANDS:
        importlib.import_module(module_name).add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["__complete"]:  # what the completion scripts ask; never an error
        from netscope.cli.completion import complete

        return complete(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        from netscope.cli import tui_cmd

        args.func = tui_cmd.run
    with output.guarded() as out:
        return _run(args, out)


def _run(args, out: output.SafeStream) -> int:
    """The command's exit status; user errors (a lost standard output included) as one line."""
    try:
        refuse_unusable_globals(args)
        status = int(args.func(args) or 0)
        output.finish(out)
        return status
    except output.OutputLost as e:
        if e.broken_pipe:  # the reader went away (`| head`): nobody is left to tell
            return 0
        print(f"netscope: {e}", file=sys.stderr)
        return e.exit_code
    except UserError as e:
        print(f"netscope: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("netscope: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
