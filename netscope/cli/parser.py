"""The command line's parser: every subcommand module, registered in one list.

Apart from the entry point (netscope.cli.main) so that what reads the parser (shell
completion, the manual page) does not import the entry point that dispatches to them.
"""

from __future__ import annotations

import argparse
import importlib

from netscope import __version__
from netscope.cli.convention import add_main_options

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
    "netscope.cli.learn_cmd",
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
