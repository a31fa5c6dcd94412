"""`netscope demo`: bring up the docker-bridge lab, open the TUI on it, tear it down on exit.

A ping from c1 to c2 runs every second while the demo is open, so `t` (trace) from c1 to c2
has a packet to follow. The lab comes down when the TUI exits, on q, Ctrl-C or SIGTERM; a lab
that was already up before the demo is left as it was.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys

from netscope.cli.convention import add_command
from netscope.cli.errors import UserError

LAB = "docker-bridge"


def add_parser(sub) -> None:
    add_command(
        sub, "demo", help="bring up the docker-bridge lab and open the TUI on it",
        description="Create the docker-bridge lab (a docker0-like bridge, two containers, "
                    "MASQUERADE, a published port), open the TUI filtered to it with a ping "
                    "from c1 to c2 running, and remove the lab when the TUI exits. Needs root.",
        run=run, live_only="it builds a lab on the live host (open a snapshot with "
                           "`netscope --snapshot FILE`)",
        changes_host="creates the docker-bridge lab")


def _pinger(namespace: str, target: str) -> subprocess.Popen | None:
    """busybox ping inside `namespace`; None when busybox is missing (the demo goes on)."""
    try:
        return subprocess.Popen(["ip", "netns", "exec", namespace, "busybox", "ping", "-i", "1",
                                 target], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        return None


def _terminate(_signum, _frame) -> None:
    raise KeyboardInterrupt


def run(args) -> int:
    from netscope.actions import labs
    from netscope.actions.lab_plan import ns_name
    from netscope.actions.plan import PlanFailed
    from netscope.cli.tui_cmd import _need_terminal, live_feed

    _need_terminal()
    feed = live_feed()  # checks privileges before anything is created
    topo = labs.resolve(LAB)
    print(f"netscope: bringing up lab {LAB} ...", file=sys.stderr)
    try:
        started = labs.up(topo)
    except (labs.LabError, PlanFailed) as e:
        raise UserError(f"cannot bring up lab {LAB}: {e}") from None
    c1, c2 = ns_name(started.instance, "c1"), ns_name(started.instance, "c2")
    pinger = _pinger(c1, "10.217.0.3")
    feed.prefetch()  # collecting while Textual loads
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        from netscope.tui.app import NetscopeApp

        app = NetscopeApp(
            feed=feed, initial_filter=ns_name(started.instance, ""),
            greeting=f"demo: lab {LAB} is up; {c1} pings {c2} every second.\n"
                     f"demo: select {c1} in the tree, press t, pick {c2}: the ping is drawn "
                     "hop by hop; [ and ] step, each hop explained.\n"
                     "demo: q ends the demo and removes the lab.")
        with contextlib.suppress(KeyboardInterrupt):
            app.run()
    finally:
        signal.signal(signal.SIGTERM, previous)
        if pinger is not None:
            pinger.terminate()
            pinger.wait()
        if started.already_up:
            print(f"netscope: lab {LAB} was up before the demo: left up "
                  f"(`netscope lab down {started.instance}` removes it)", file=sys.stderr)
        else:
            print(f"netscope: removing lab {LAB} ...", file=sys.stderr)
            try:
                labs.down(started.instance)
            except labs.LabError as e:
                raise UserError(str(e)) from None
    return 0
