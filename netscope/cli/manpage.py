"""The manual page, netscope(1), and the exit-status table, generated from the parser.

`netscope manpage > netscope.1` writes it; `man -l netscope.1` reads it. docs/cli.md and the
README carry `exit_table()` between markers; a unit test keeps them equal to the parser.
"""

from __future__ import annotations

import argparse
import re

from netscope import __version__
from netscope.cli.convention import Command, add_command, leaf_parsers

TABLE_BEGIN = "<!-- exit statuses: generated from the parser by netscope.cli.manpage -->"
TABLE_END = "<!-- end of exit statuses -->"

ENVIRONMENT = (
    ("NETSCOPE_STATE_DIR", "where repairs and labs are journaled (default /var/lib/netscope)"),
    ("NETSCOPE_TOPOLOGY_DIR", "read lab files from this directory instead of the ones "
                              "installed with netscope"),
    ("DOCKER_HOST", "the Docker Engine socket (unix://PATH), as the docker command reads it"),
)


def add_parser(sub) -> None:
    add_command(sub, "manpage", help="print the manual page netscope(1) (roff)",
                description="Print netscope's manual page, generated from its own argument "
                            "parser: `netscope manpage > netscope.1; man -l netscope.1`.",
                run=run, live_only="it prints the manual page")


def run(args) -> int:
    from netscope.cli.parser import build_parser

    print(render(build_parser()), end="")
    return 0


def _roff(text: str) -> str:
    """Plain text as roff: backslashes and hyphens escaped, no line starting a request."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join("\\&" + line if line[:1] in (".", "'") else line
                     for line in text.splitlines())


def _bold(text: str) -> str:
    return f"\\fB{_roff(text)}\\fR"


def _usage(parser: argparse.ArgumentParser) -> str:
    text = " ".join(parser.format_usage().split())
    return text.removeprefix("usage: ")


def _options(parser: argparse.ArgumentParser) -> list[str]:
    out = []
    for action in parser._actions:
        if action.help == argparse.SUPPRESS or isinstance(action, argparse._SubParsersAction):
            continue
        if action.option_strings:
            names = ", ".join(action.option_strings)
            if action.nargs != 0:
                names += f" {action.metavar or action.dest.upper()}"
        else:
            names = str(action.metavar or action.dest)
        out += [".TP", _bold(names), _roff(action.help or "")]
    return out


def _command(names: tuple[str, ...], parser: argparse.ArgumentParser) -> list[str]:
    info: Command = parser.get_default("cli_command")
    out = [f'.SS "{_roff(" ".join(names))}"', _bold(_usage(parser)), ".PP",
           _roff(parser.description or "")]
    out += _options(parser)
    if parser.epilog:
        out += [".PP", ".nf", _roff(parser.epilog), ".fi"]
    elif info is not None:
        out += [".PP", _roff(info.name)]
    return out


def commands(parser: argparse.ArgumentParser):
    """(names, parser) of every documented command."""
    return [(n, p) for n, p in leaf_parsers(parser) if p.get_default("cli_command")]


def render(parser: argparse.ArgumentParser) -> str:
    """netscope(1) in roff (man(7) macros)."""
    head = (parser.description or "").strip().splitlines()
    lines = [f'.TH NETSCOPE 1 "" "netscope {__version__}" "User Commands"',
             ".nh", ".ad l", ".SH NAME",
             "netscope \\- " + _roff(head[0].split(": ", 1)[-1]),
             ".SH SYNOPSIS", _bold(_usage(parser)),
             ".SH DESCRIPTION", _roff("\n".join(head[1:]).strip()),
             ".SH GLOBAL OPTIONS", *_options(parser),
             ".PP", _roff("The global options mean the same before and after the command "
                          "name. A command that cannot read a snapshot, or that changes the "
                          "host under --read-only, refuses in one line with exit status 2."),
             ".SH COMMANDS"]
    for names, sub in commands(parser):
        lines += _command(names, sub)
    lines += [".SH EXIT STATUS", _roff("2 is always an error: bad input or the host refused, "
                                       "said in one line on stderr. 130: interrupted (Ctrl-C, "
                                       "SIGTERM); whatever the command had attached or "
                                       "created is removed first.")]
    for names, sub in commands(parser):
        info: Command = sub.get_default("cli_command")
        lines += [".TP", _bold(f"netscope {' '.join(names)}"), _roff("; ".join(
            f"{c} {w}" for c, w in info.exits if c != 2))]
    lines += [".SH ENVIRONMENT"]
    for name, what in ENVIRONMENT:
        lines += [".TP", _bold(name), _roff(what)]
    lines += [".SH SEE ALSO", _roff("docs/cli.md (the convention and every --json format), "
                                    "docs/snapshot.md, docs/trace.md; "
                                    "netscope completion bash|zsh|fish")]
    return "\n".join(lines) + "\n"


def exit_table(parser: argparse.ArgumentParser) -> str:
    """The Markdown table of every command's exit statuses, between its markers."""
    rows = ["| command | 0 | 1 | 2 |", "|---|---|---|---|",
            "| `netscope` (the TUI) | quit | - | error |"]
    for names, sub in commands(parser):
        info: Command = sub.get_default("cli_command")
        by_code = dict(info.exits)
        rows.append(f"| `netscope {' '.join(names)}` | {by_code.get(0, '')} | "
                    f"{by_code.get(1, '-')} | error |")
    return "\n".join([TABLE_BEGIN, *rows, TABLE_END])


def table_in(text: str) -> str | None:
    """The generated table as it stands in a Markdown file, or None without its markers."""
    found = re.search(re.escape(TABLE_BEGIN) + ".*?" + re.escape(TABLE_END), text, re.S)
    return found.group(0) if found else None
