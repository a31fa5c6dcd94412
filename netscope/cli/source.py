"""Where a command's snapshot comes from: a file (--snapshot) or the live host."""

from __future__ import annotations

import sys

from netscope.cli.errors import UserError
from netscope.model import Snapshot


def add_snapshot_option(parser) -> None:
    """--snapshot FILE on a parser made without `convention.add_command` (which adds it):
    no default of its own, so `netscope --snapshot FILE CMD` reaches CMD."""
    import argparse

    parser.add_argument("--snapshot", metavar="FILE", default=argparse.SUPPRESS,
                        help="read a saved snapshot instead of the live host (no root needed)")


def collect_live(quiet: bool = False, note: str | None = None,
                 connections: bool = False) -> Snapshot:
    from netscope.collect.runner import collect_snapshot
    from netscope.host.errors import HostError

    def progress(message: str) -> None:
        if not quiet and sys.stderr.isatty():
            print(f"netscope: {message}", file=sys.stderr)

    try:
        return collect_snapshot(progress, note=note, connections=connections)
    except HostError as e:
        raise UserError(str(e)) from None
    except PermissionError as e:
        raise UserError(f"permission denied reading {e.filename or 'the host'}: "
                        "run netscope as root (sudo)") from None


def collect_swept(quiet: bool = False) -> Snapshot:
    """The live host, after removing what killed netscopes left behind (their nft trace
    tables, the accounting they turned on): what a command that attaches or changes
    something calls first, so that leftovers never pile up (netscope.actions.leftovers)."""
    from netscope.actions.leftovers import sweep

    snapshot = collect_live(quiet=quiet)
    if (getattr(snapshot, "leftovers", ()) or _accounting_journals()) and sweep(
            snapshot, lambda line: print(f"netscope: {line}", file=sys.stderr)):
        snapshot = collect_live(quiet=True)
    return snapshot


def _accounting_journals() -> bool:
    from netscope.actions.accounting import accounting_dir

    directory = accounting_dir()
    return directory.is_dir() and any(directory.glob("*.json"))


def snapshot_from_args(args, connections: bool = False) -> Snapshot:
    """The snapshot named by --snapshot, or a fresh one from the live host (`connections`:
    with every namespace's TCP connections, which cost a kernel table walk each)."""
    if getattr(args, "snapshot", None):
        from netscope.snapshot import SnapshotError, load

        try:
            return load(args.snapshot)
        except SnapshotError as e:
            raise UserError(str(e)) from None
    return collect_live(quiet=getattr(args, "json", False), connections=connections)
