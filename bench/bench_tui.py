"""Benchmark: the TUI on a 200-namespace docker-like host, driven in tmux as a user sees it.

- first full screen: from starting `netscope` in a 160x50 tmux pane (--height: more rows, for
  a host whose own devices push the lab's bridge below the 50th) to the pane showing the
  status line with every namespace counted and the topology drawn; baseline: the whole
  `netscope show` process (the text tree) in the same run. Alternating, medians.
- change visible: from `ip link set <host veth> down` returning to the topology drawing that
  port as down on screen (capture-pane polled every 10 ms); down and up alternate.
- idle CPU: utime+stime of the TUI process over --idle seconds with nothing changing,
  starting once the live feed has settled after the change test, in 5 s windows.
- drop monitor (`D`): from the key to "counting drops" on screen, the attach time the app
  reports, then idle CPU and RSS of the process with the probe attached (polled every second).
- Flows and DNS tabs: their per-snapshot work (prepare_flows, prepare_dns, done in a worker)
  and the tab drawn for one namespace, on a snapshot of this host, in-process.
- update work: in-process, what one live update costs the UI (the app's handling of a new
  snapshot: what changed, the host graph, tree, topology and details redrawn) on a 160x50
  headless app holding this host's snapshot, one port toggled down/up per update; baseline:
  the partial re-read of that one namespace (refresh_namespaces) the live feed would do.

    sudo .venv/bin/python bench/bench_tui.py [--namespaces 200] [--runs 5] [--idle 20]
    sudo .venv/bin/python bench/bench_tui.py --update-only | --update-compare OTHER_CHECKOUT
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scale_lab
from bench_common import as_installed

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from netscope.tui.live import QUIET_S
from tests.support.tmux import socket_path

# after a port comes up the bridge moves it to forwarding 15 s later (its forward delay: a
# link notification), and the live feed then re-reads; idle is measured after that
SETTLE_S = 20.0
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOCKET = "nsb-bench-tui"
HEIGHT = 50  # rows of the tmux pane (--height)


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", "-L", SOCKET, *args], capture_output=True, text=True,
                          check=True).stdout


def screen() -> str:
    return tmux("capture-pane", "-t", "tui", "-p")


def wait_for(text: str, timeout: float = 30.0, poll: float = 0.01) -> float:
    """Seconds until `text` is on screen."""
    start = time.perf_counter()
    while text not in screen():
        if time.perf_counter() - start > timeout:
            raise SystemExit(f"{text!r} not on screen after {timeout} s:\n{screen()}")
        time.sleep(poll)
    return time.perf_counter() - start


def start_tui() -> float:
    """Start the TUI; seconds until its first full screen (every namespace, topology drawn)."""
    subprocess.run(["tmux", "-L", SOCKET, "kill-server"], capture_output=True)
    started = time.perf_counter()
    tmux("new-session", "-d", "-s", "tui", "-x", "160", "-y", str(HEIGHT),
         f"cd {REPO} && env -u COLUMNS -u LINES {sys.executable} -m netscope")
    wait_for(f"◆ ● {scale_lab.BRIDGE}")  # the topology has the lab's bridge hub
    return time.perf_counter() - started


def stop_tui() -> None:
    tmux("send-keys", "-t", "tui", "q")
    time.sleep(0.5)
    subprocess.run(["tmux", "-L", SOCKET, "kill-server"], capture_output=True)


def show_process() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "netscope", "show"], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def tui_pid() -> int:
    pane = tmux("list-panes", "-t", "tui", "-F", "#{pane_pid}").strip()
    out = subprocess.run(["pgrep", "-P", pane], capture_output=True, text=True).stdout.split()
    return int(out[0]) if out else int(pane)


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def change_latency(runs: int) -> list[float]:
    """The topology draws a port that is down as "○ <name>" outside its group; up, it goes
    back into the group. (The event log says it too, but other engineers' tests on a shared
    machine can scroll it away.)"""
    out = []
    veth = f"{scale_lab.PREFIX}v7"
    drawn_down = f"○ {veth} "
    for i in range(runs):
        state = "down" if i % 2 == 0 else "up"
        subprocess.run(["ip", "link", "set", veth, state], check=True)
        started = time.perf_counter()
        while (drawn_down in screen()) != (state == "down"):
            if time.perf_counter() - started > 10:
                raise SystemExit(f"{veth} {state} not shown after 10 s:\n{screen()}")
            time.sleep(0.01)
        out.append(time.perf_counter() - started)
        time.sleep(0.6)  # past the highlight and the throttle window
    if runs % 2:
        subprocess.run(["ip", "link", "set", veth, "up"], check=True)
    return out


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


WINDOW_S = 5.0


def idle_cpu(pid: int, seconds: float) -> tuple[float, str]:
    """CPU % of one core over `seconds`, and per WINDOW_S window (a window where something
    changed on this shared host costs a re-collection and stands out)."""
    windows = []
    t_start, cpu_start = time.perf_counter(), cpu_seconds(pid)
    last = cpu_start
    for _ in range(max(1, round(seconds / WINDOW_S))):
        time.sleep(WINDOW_S)
        now = cpu_seconds(pid)
        windows.append((now - last) / WINDOW_S * 100)
        last = now
    total = (last - cpu_start) / (time.perf_counter() - t_start) * 100
    return total, ", ".join(f"{w:.1f}" for w in windows)


def drop_monitor(idle: float) -> None:
    """D in the running TUI: time to attached, then idle CPU and RSS while counting."""
    pid = tui_pid()
    rss_before = rss_mb(pid)
    tmux("send-keys", "-t", "tui", "D")
    seen = wait_for("counting drops (probe attached in", timeout=60)
    line = next(x for x in screen().splitlines() if "probe attached in" in x)
    reported = line.split("probe attached in ", 1)[1].split(" s", 1)[0]
    time.sleep(2)
    cpu, windows = idle_cpu(pid, idle)
    print(f"drop monitor: D -> 'counting drops' on screen {seen:.2f} s (the app reports "
          f"attach {reported} s); counting, idle CPU over {idle:g} s {cpu:.2f}% of one core "
          f"(per {WINDOW_S:g} s: {windows}); RSS {rss_before:.0f} MB before D, "
          f"{rss_mb(pid):.0f} MB with the probe (load average {os.getloadavg()[0]:.1f})")


def tab_work(runs: int) -> None:
    """The Flows and DNS tabs' work on this host, in-process, medians: per snapshot
    (prepare, done in a worker) plus the tab drawn for one lab namespace (what a user
    waits for); for DNS also every namespace's rows at once, for reference."""
    from netscope.analysis.dns import dns_rows
    from netscope.collect.runner import collect_snapshot
    from netscope.graph.host import HostGraph
    from netscope.tui.detail_common import Selection
    from netscope.tui.detail_dns import dns_tab, prepare_dns
    from netscope.tui.detail_flows import flows_tab, prepare_flows

    snapshot = collect_snapshot()
    graph = HostGraph.of(snapshot)
    shown = next(n.id for n in snapshot.namespaces if n.name.endswith("-007"))
    entries = sum(len(t.entries) for t in snapshot.conntrack)
    for name, prepare, tab in (("flows", prepare_flows, flows_tab), ("dns", prepare_dns, dns_tab)):
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            tab(graph, Selection(shown), prepare(snapshot))
            times.append(time.perf_counter() - started)
        print(f"{name} tab work (prepare + one namespace's tab), {len(snapshot.namespaces)} "
              f"namespaces, {entries} conntrack entries: median "
              f"{statistics.median(times) * 1000:.0f} ms (runs "
              f"{', '.join(f'{x * 1000:.0f}' for x in times)})")
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        dns_rows(graph, idle=True)
        times.append(time.perf_counter() - started)
    print(f"  for reference, every namespace's DNS rows at once: median "
          f"{statistics.median(times) * 1000:.0f} ms")


def _toggled(snapshot, name: str, down: bool):
    """`snapshot` with the root namespace's device `name` down (or up): what a partial
    re-read returns after `ip link set name down`."""
    from dataclasses import replace

    def flip(link):
        if link.name != name:
            return link
        flags = tuple(f for f in link.flags if f != "UP") + (() if down else ("UP",))
        return replace(link, flags=flags, operstate="DOWN" if down else "UP")
    return replace(snapshot, links=tuple(flip(x) for x in snapshot.links))


def update_work(runs: int, veth: str | None = None) -> None:
    """The UI's work per live update, in-process (see the module docstring), toggling the
    lab's port `veth` (default: this process's lab's v7)."""
    import asyncio

    from netscope.collect.runner import collect_snapshot
    from netscope.tui.app import NetscopeApp
    from netscope.tui.backends import Backends
    from netscope.tui.live import Update
    from netscope.tui.refresh import refresh_namespaces

    snapshot = collect_snapshot()
    veth = veth or f"{scale_lab.PREFIX}v7"
    me = next(ns.inode for ns in snapshot.namespaces if ns.is_self)
    refresh = []
    for _ in range(runs):
        started = time.perf_counter()
        refresh_namespaces(snapshot, {me})
        refresh.append(time.perf_counter() - started)
    handled: list[float] = []
    on_screen: list[float] = []

    class Timed(NetscopeApp):
        CSS_PATH = os.path.join(os.path.dirname(sys.modules[NetscopeApp.__module__].__file__),
                                "app.tcss")

        def on_netscope_app_snapshot_arrived(self, message) -> None:
            started = time.perf_counter()
            super().on_netscope_app_snapshot_arrived(message)
            handled.append(time.perf_counter() - started)

    app = Timed(snapshot, read_only="bench", backends=Backends.none())

    async def drive() -> None:
        async with app.run_test(size=(160, 50)) as pilot:
            await pilot.pause(0.5)
            for i in range(2 * runs + 2):
                update = Update(_toggled(snapshot, veth, i % 2 == 0), None, 0.0)
                started = time.perf_counter()
                app.post_message(app.SnapshotArrived(update))
                await pilot.pause()
                on_screen.append(time.perf_counter() - started)
                await pilot.pause(0.1)
            await pilot.pause(2.5)  # the last change's highlight timer, before the app ends
    asyncio.run(drive())
    handled, on_screen = handled[2:], on_screen[2:]  # the first ones warm caches up

    def ms(xs: list[float]) -> str:
        return (f"median {statistics.median(xs) * 1000:.1f} ms (runs "
                f"{', '.join(f'{x * 1000:.0f}' for x in xs)})")
    print(f"update work, {len(snapshot.namespaces)} namespaces, one port toggled: handler "
          f"{ms(handled)}; post -> idle {ms(on_screen)}; baseline partial re-read of the "
          f"namespace {ms(refresh)}; ratio handler/re-read "
          f"{statistics.median(handled) / statistics.median(refresh):.2f}")


def update_compare(base: str, runs: int, rounds: int = 3) -> None:
    """update_work on `base` (another checkout of netscope, with this bench file) and on this
    tree, alternately, in fresh processes, on the same lab: before/after on one machine."""
    veth = f"{scale_lab.PREFIX}v7"
    for _ in range(rounds):
        for tree in (base, REPO):
            code = (f"import sys; sys.path.insert(0, {os.path.join(tree, 'bench')!r}); "
                    f"import bench_tui; bench_tui.update_work({runs}, {veth!r})")
            print(f"{tree}: ", end="", flush=True)
            subprocess.run([sys.executable, "-c", code], cwd=tree, check=True,
                           env={**os.environ, "PYTHONPATH": tree})


def main() -> None:
    as_installed()  # processes from bytecode, as installed
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--namespaces", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--height", type=int, default=50,
                        help="rows of the tmux pane (default 50)")
    parser.add_argument("--idle", type=float, default=20.0)
    parser.add_argument("--update-only", action="store_true",
                        help="measure only the in-process update work")
    parser.add_argument("--screen-only", action="store_true",
                        help="measure only the first screen and a change becoming visible")
    parser.add_argument("--update-compare", metavar="CHECKOUT",
                        help="the update work of CHECKOUT (another netscope tree) and of this "
                             "one, alternately, on one lab")
    args = parser.parse_args()
    global HEIGHT
    HEIGHT = args.height
    scale_lab.up(args.namespaces)
    if args.update_only or args.update_compare:
        try:
            if args.update_compare:
                update_compare(args.update_compare, args.runs)
            else:
                update_work(args.runs)
        finally:
            scale_lab.down()
        return
    total = len(os.listdir("/run/netns"))
    print(f"host: {total} named namespaces in all ({args.namespaces} of the lab), load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    try:
        firsts, shows = [], []
        for _ in range(args.runs):
            firsts.append(start_tui())
            stop_tui()
            shows.append(show_process())
        first, show = statistics.median(firsts), statistics.median(shows)
        print(f"first full screen, {args.namespaces} namespaces: netscope TUI {first:.2f} s "
              f"(runs {', '.join(f'{x:.2f}' for x in firsts)}); baseline `netscope show` "
              f"process {show:.2f} s; ratio {first / show:.2f}")

        start_tui()
        time.sleep(2)
        latencies = change_latency(2 * args.runs)
        print(f"change visible (link down/up -> drawn on screen): median "
              f"{statistics.median(latencies) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms "
              f"(runs {', '.join(f'{x * 1000:.0f}' for x in latencies)})")
        if args.screen_only:
            stop_tui()
            return

        # past the settling of the last link up (the bridge port's forward delay, then the
        # full collection the live feed makes QUIET_S after the last change)
        time.sleep(QUIET_S + SETTLE_S)
        cpu, windows = idle_cpu(tui_pid(), args.idle)
        print(f"idle CPU over {args.idle:g} s: {cpu:.2f}% of one core (per {WINDOW_S:g} s: "
              f"{windows}; load average now {os.getloadavg()[0]:.1f})")
        drop_monitor(args.idle)
        stop_tui()
        tab_work(args.runs)
        update_work(args.runs)
    finally:
        subprocess.run(["tmux", "-L", SOCKET, "kill-server"], capture_output=True)
        # tmux leaves its socket file behind (the tests' driver removes its own too)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(socket_path(SOCKET))
        scale_lab.down()


if __name__ == "__main__":
    main()
