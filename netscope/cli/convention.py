"""The one convention every `netscope` subcommand follows (documented in docs/cli.md).

A subcommand module registers itself with `add_command(sub, name, ...)`, which gives it:
- `--snapshot FILE` and `--read-only`, the global options, accepted before or after the
  command name with the same meaning. A command that cannot read a snapshot, or that changes
  the host, still accepts them and refuses with one line (`refuse_unusable_globals`, called
  once by `netscope.cli.main` for every command);
- `--json` when the command reports something, its format documented where `json_doc` says;
- an epilog with its exit statuses (0/1/2) and the JSON format's place;
- its `Command` record in the parsed arguments (`args.cli_command`): what the manual page,
  completion and the tests read.

Old spellings of a renamed option stay as hidden aliases (`hidden_alias`), so scripts keep
working while `--help` shows one name per idea.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from netscope.cli.errors import UserError

ERROR_EXIT = "2 error: bad input or the host refused (one line on stderr)"


@dataclass(frozen=True)
class Command:
    """What a subcommand is, for the global checks, the manual page, completion and tests."""

    name: str                      # "doctor", "lab up"
    snapshot: bool                 # reads --snapshot FILE instead of the live host
    live_only: str | None          # why it cannot read a snapshot (when snapshot is False)
    changes_host: str | None       # what it changes on the host (refused with --read-only)
    json_doc: str | None           # where its --json format is documented (None: no --json)
    exits: tuple[tuple[int, str], ...]


class Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the epilog's line breaks (exit statuses, JSON keys) as written."""


def add_command(sub, name: str, *, help: str, description: str,
                run: Callable, snapshot: bool = False, live_only: str | None = None,
                changes_host: str | None = None, json_doc: str | None = None,
                exits: Sequence[tuple[int, str]] = ((0, "success"),), epilog: str = "",
                parent: str = "", aliases: Sequence[str] = ()) -> argparse.ArgumentParser:
    """Register subcommand `name` on `sub` with the convention's options; returns its parser.

    snapshot: the command reads a snapshot (`--snapshot FILE`, or the live host without it).
    live_only: when it cannot, why (shown when --snapshot is given anyway).
    changes_host: what it changes, when it always changes the host (refused with --read-only);
      a command that changes the host only with some option calls `refuse_read_only` itself.
    json_doc: where its `--json` format is documented; None when it has no --json.
    exits: its exit statuses other than 2 (error), which every command has.
    parent: "lab" for `lab up` (the name shown is "lab up").
    """
    full = f"{parent} {name}".strip()
    exit_pairs = (*tuple(exits), (2, ERROR_EXIT.removeprefix("2 ")))
    info = Command(full, snapshot, live_only, changes_host, json_doc, exit_pairs)
    text = epilog.rstrip("\n")
    text += ("\n" if text else "") + exit_text(info)
    if json_doc:
        text += f"\n--json: the format is documented in {json_doc}."
    p = sub.add_parser(name, help=help, description=description, epilog=text,
                       formatter_class=Formatter, aliases=list(aliases))
    add_global_options(p, info)
    if json_doc:
        p.add_argument("--json", action="store_true",
                       help=f"print JSON instead of text ({json_doc})")
    p.set_defaults(func=run, cli_command=info)
    return p


def exit_text(info: Command) -> str:
    """The "exit status:" block of a help epilog, one line per status."""
    return "exit status:\n" + "\n".join(f"  {code}  {what}" for code, what in info.exits)


def add_global_options(p: argparse.ArgumentParser, info: Command) -> None:
    """--snapshot and --read-only on a subcommand, without defaults of their own: a value
    given before the command name (on the main parser) is not overwritten by the subparser."""
    if info.snapshot:
        p.add_argument("--snapshot", metavar="FILE", default=argparse.SUPPRESS,
                       help="read a saved snapshot instead of the live host (no root needed)"
                       ).complete = "file"
    else:
        p.add_argument("--snapshot", metavar="FILE", default=argparse.SUPPRESS,
                       help=argparse.SUPPRESS)
    p.add_argument("--read-only", action="store_true", default=argparse.SUPPRESS,
                   help="refuse to change the host" if info.changes_host else
                   argparse.SUPPRESS)


def add_main_options(parser: argparse.ArgumentParser) -> None:
    """The global options on the main parser (before any command name)."""
    parser.add_argument("--read-only", action="store_true",
                        help="change nothing on the host: the TUI disables repair, undo and "
                             "labs; commands that change the host refuse")
    parser.add_argument("--snapshot", metavar="FILE",
                        help="read a saved snapshot instead of the live host, offline and "
                             "read-only (no root needed); every command that reads the host "
                             "reads FILE, the others refuse").complete = "file"


def hidden_alias(p: argparse.ArgumentParser, old: str, dest: str, **kwargs) -> None:
    """Accept `old` as a spelling of `dest`'s option without showing it in --help."""
    p.add_argument(old, dest=dest, default=argparse.SUPPRESS, help=argparse.SUPPRESS, **kwargs)


def completes(action: argparse.Action, kind: str) -> argparse.Action:
    """Mark what completes an argument's value: file, namespace, endpoint, lab, lab_instance."""
    action.complete = kind
    return action


def refuse_read_only(args, what: str, instead: str = "drop --read-only to allow it") -> None:
    """One line and exit 2 when --read-only was given and `what` would change the host."""
    if getattr(args, "read_only", False):
        raise UserError(f"{what}: refused with --read-only ({instead})")


def refuse_unusable_globals(args) -> None:
    """The global options' checks, for whichever command was parsed."""
    info: Command | None = getattr(args, "cli_command", None)
    if info is None:
        return
    if getattr(args, "snapshot", None) and not info.snapshot:
        why = info.live_only or "it does not read a snapshot"
        raise UserError(f"{info.name} cannot use --snapshot FILE: {why} (drop --snapshot)")
    if info.changes_host:
        refuse_read_only(args, f"{info.name} {info.changes_host}")


def leaf_parsers(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()
                 ) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every runnable subcommand: (("lab", "up"), its parser), in the order --help lists them."""
    out = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            seen = set()
            for name, sub in action.choices.items():
                if id(sub) in seen:  # an alias of a command already listed
                    continue
                seen.add(id(sub))
                out += leaf_parsers(sub, (*prefix, name))
    if not out and prefix:
        out.append((prefix, parser))
    return out
