"""`netscope [--read-only] [--snapshot FILE]`: the TUI, on the live host or on a saved snapshot.

Textual is imported here, inside run(), never by the other subcommands.
"""

from __future__ import annotations

import os
import sys

from netscope.cli.errors import UserError


def _need_terminal() -> None:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UserError("the TUI needs a terminal; for text output use `netscope show`")


def live_feed():
    """A LiveFeed on this host, after checking the privileges reading it needs."""
    from netscope.collect.privileges import require_capabilities
    from netscope.collect.runner import collect_snapshot
    from netscope.host.errors import HostError
    from netscope.tui.live import LiveFeed
    from netscope.tui.refresh import (
        complete_snapshot,
        first_screen_snapshot,
        refresh_kinds,
        refresh_namespaces,
        refresh_neighbours,
        still_to_read,
    )

    try:
        require_capabilities()
    except HostError as e:
        raise UserError(f"{e}; or open a saved one: netscope --snapshot FILE") from None
    return LiveFeed(collect_snapshot, refresh=refresh_namespaces,
                    refresh_neighbours=refresh_neighbours, refresh_kinds=refresh_kinds,
                    first_screen=first_screen_snapshot, complete=complete_snapshot,
                    still_to_read=still_to_read)


def build_app(args, feed=None):
    """The app for these arguments: offline on --snapshot FILE, else live (feed given or made).
    A live feed starts collecting before Textual is even imported (first screen sooner)."""
    path = getattr(args, "snapshot", None)
    if not path:
        feed = feed or live_feed()
        feed.prefetch()
    from netscope.tui.app import NetscopeApp

    if path:
        from netscope.snapshot import SnapshotError, load

        try:
            snapshot = load(path)
        except SnapshotError as e:
            raise UserError(str(e)) from None
        return NetscopeApp(snapshot, read_only=f"offline snapshot {os.path.basename(path)}",
                           source_note=path)
    read_only = "--read-only" if getattr(args, "read_only", False) else None
    return NetscopeApp(feed=feed, read_only=read_only)


def run(args) -> int:
    if getattr(args, "snapshot", None):
        app = build_app(args)  # a bad file is reported before the terminal is checked
        _need_terminal()
    else:
        _need_terminal()
        app = build_app(args)
    app.run()
    return 0
