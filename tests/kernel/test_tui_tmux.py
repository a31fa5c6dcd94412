"""The real TUI in tmux on namespaces built here: it shows them, follows a link going down,
traces a ping between two of them hop by hop, and `q` exits cleanly, leaving nothing behind."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.netns import Namespaces, ip, require_root, sh

REPO = Path(__file__).resolve().parents[2]


class Tmux:
    """One tmux server of our own (-L), so nothing else's sessions are touched."""

    def __init__(self, tag: str) -> None:
        self.socket = f"{tag}-tui"

    def tmux(self, *args: str) -> str:
        return sh("tmux", "-L", self.socket, *args).stdout

    def start(self, command: str) -> None:
        # remain-on-exit keeps the pane (and what the app printed last) after the app exits
        self.tmux("new-session", "-d", "-s", "tui", "-x", "160", "-y", "50", command,
                  ";", "set-option", "-w", "remain-on-exit", "on")

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "tui", *keys)

    def type(self, text: str) -> None:
        """Literal text (so "-a" is not taken for an option of send-keys)."""
        self.tmux("send-keys", "-t", "tui", "-l", text)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-t", "tui", "-p")

    def wait_for(self, text: str, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not on screen after {timeout} s:\n{screen}")
            time.sleep(0.1)

    def alive(self) -> bool:
        return sh("tmux", "-L", self.socket, "has-session", "-t", "tui", check=False
                  ).returncode == 0

    def kill(self) -> None:
        sh("tmux", "-L", self.socket, "kill-server", check=False)


@pytest.fixture
def lab():
    """Namespaces a (10.251.0.2) and b (10.251.0.3) on bridge br0 in a third one, h (so no
    rule of the root namespace, such as Docker's FORWARD DROP, is on their path)."""
    reason = require_root()
    if reason:
        pytest.skip(reason)
    spaces = Namespaces("nstui")
    try:
        hub = spaces.add("h")
        ip("link", "add", "br0", "type", "bridge", ns=hub)
        ip("link", "set", "br0", "up", ns=hub)
        for n, name in enumerate(("a", "b"), start=2):
            ns = spaces.add(name)
            ip("link", "add", f"v{name}", "type", "veth", "peer", "name", "eth0", "netns", ns,
               ns=hub)
            ip("link", "set", f"v{name}", "master", "br0", "up", ns=hub)
            ip("addr", "add", f"10.251.0.{n}/24", "dev", "eth0", ns=ns)
            ip("link", "set", "eth0", "up", ns=ns)
        yield spaces
    finally:
        spaces.cleanup()


@pytest.fixture
def tmux(lab):
    # tmux's server daemonizes through /dev/null; `netscope snapshot -o /dev/null` (an atomic
    # rename) has been seen to replace the device with a plain file on these machines
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode), "/dev/null is not a device: recreate " \
        "it with `rm /dev/null && mknod -m 666 /dev/null c 1 3`"
    t = Tmux(lab.tag)
    yield t
    t.kill()


def test_tui_shows_the_namespaces_follows_changes_traces_and_quits(lab, tmux, tmp_path):
    hub, a, b = lab.names
    status = tmp_path / "status"
    # COLUMNS/LINES inherited from the test runner would override the pane's size
    tmux.start(f"cd {REPO} && env -u COLUMNS -u LINES {sys.executable} -m netscope; "
               f"echo $? > {status}")
    tmux.wait_for("LIVE")
    # other namespaces on this host may fill the tree: filter on this test's tag
    tmux.keys("/")
    tmux.wait_for("filter: name, device, IP")  # keys typed before the input shows go elsewhere
    tmux.type(lab.tag)
    tmux.keys("Enter")
    screen = tmux.wait_for(f"filter: {lab.tag}")
    assert f"□ {a}" in screen and f"□ {b}" in screen and f"□ {hub}" in screen

    # a change on the host shows within the budget, named, in the event log
    ip("link", "set", "va", "down", ns=hub)
    started = time.monotonic()
    tmux.wait_for(f"{hub}:va: UP -> DOWN", timeout=5)
    assert time.monotonic() - started < 2.0
    ip("link", "set", "va", "up", ns=hub)
    tmux.wait_for(f"{hub}:va: DOWN -> UP", timeout=5)

    if _tracer_unavailable() is None:
        tmux.keys("/")
        time.sleep(0.5)
        tmux.type(a)  # the old filter text is selected on focus: typing replaces it
        tmux.keys("Enter")
        tmux.wait_for("filter: " + a)
        time.sleep(1)  # Enter hands focus back to the tree; a "t" sent earlier is typed
        tmux.keys("t")
        tmux.wait_for("trace from " + a)
        tmux.type("10.251.0.3")
        tmux.keys("Enter")
        tmux.wait_for("send a packet now")
        ping = subprocess.Popen(["ip", "netns", "exec", a, "busybox", "ping", "-c", "8",
                                 "-i", "0.5", "10.251.0.3"], stdout=subprocess.DEVNULL)
        try:
            screen = tmux.wait_for("delivered", timeout=20)
        finally:
            ping.kill()
            ping.wait()
        # the hops, grouped by namespace: a's eth0, the bridge in h, b's eth0
        hops = [line.strip(" │") for line in screen.splitlines() if line.strip(" │").startswith(
            (f"{a}: 1 ", f"{hub}: ", f"{b}: "))]
        assert [h.split(":")[0] for h in hops] == [a, hub, b], screen
        assert "br0 bridge" in hops[1] and "deliver" in hops[2], screen
        tmux.keys("Escape")
        time.sleep(0.5)  # ESC right before q would read as alt+q

    tmux.keys("q")
    deadline = time.monotonic() + 10
    while not status.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert status.exists(), f"q did not end the app within 10 s:\n{tmux.screen()}"
    assert status.read_text().strip() == "0"
    screen = tmux.screen()
    assert "Traceback" not in screen and "Error" not in screen
    # the pane's shell and the app in it are gone: nothing left running or attached
    assert tmux.tmux("display", "-p", "-t", "tui", "#{pane_dead}").strip() == "1"


def _tracer_unavailable() -> str | None:
    try:
        from netscope.trace.preflight import require_ebpf

        require_ebpf()
    except Exception as e:  # bcc, BTF or privileges missing: the rest is still tested
        return str(e)
    return None
