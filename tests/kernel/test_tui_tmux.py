"""The real TUI in tmux on namespaces built here: it shows them, follows a link going down,
traces a ping between two of them hop by hop, and `q` exits cleanly, leaving nothing behind."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.netns import Namespaces, ip, require_root, sh
from tests.support.tmux import Tmux

REPO = Path(__file__).resolve().parents[2]


def bridge_lab(prefix: str):
    """Namespaces a (10.251.0.2) and b (10.251.0.3) on bridge br0 in a third one, h (so no
    rule of the root namespace, such as Docker's FORWARD DROP, is on their path)."""
    reason = require_root()
    if reason:
        pytest.skip(reason)
    spaces = Namespaces(prefix)
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
def lab():
    yield from bridge_lab("nstui")


def own_tmux(tag: str):
    # tmux's server daemonizes through /dev/null; `netscope snapshot -o /dev/null` (an atomic
    # rename) has been seen to replace the device with a plain file on these machines
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode), "/dev/null is not a device: recreate " \
        "it with `rm /dev/null && mknod -m 666 /dev/null c 1 3`"
    t = Tmux(tag)
    yield t
    t.kill()


@pytest.fixture
def tmux(lab):
    yield from own_tmux(lab.tag)


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
        # first the expected path, from the snapshot; then the tracer waits for the packet
        tmux.wait_for("expected path (static walk, nothing sent)")
        tmux.wait_for("send a packet now")
        ping = subprocess.Popen(["ip", "netns", "exec", a, "busybox", "ping", "-c", "8",
                                 "-i", "0.5", "10.251.0.3"], stdout=subprocess.DEVNULL)
        try:
            screen = tmux.wait_for("observed (eBPF)", timeout=20)
        finally:
            ping.kill()
            ping.wait()
        assert "delivered" in screen, screen
        # the real packet went where the walk said it would
        assert "expected vs observed: the walk agrees" in screen, screen
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
    assert tmux.ended()


def _tracer_unavailable() -> str | None:
    try:
        from netscope.trace.preflight import require_ebpf

        require_ebpf()
    except Exception as e:  # bcc, BTF or privileges missing: the rest is still tested
        return str(e)
    return None


@pytest.fixture
def drop_lab():
    yield from bridge_lab("nstui2")


@pytest.fixture
def drop_tmux(drop_lab):
    yield from own_tmux(drop_lab.tag)


def tui_pid(tmux: Tmux) -> int:
    """The netscope process in the pane (the child of the pane's shell)."""
    pane = tmux.tmux("list-panes", "-t", "tui", "-F", "#{pane_pid}").strip()
    children = sh("pgrep", "-P", pane, check=False).stdout.split()
    return int(children[0]) if children else int(pane)


def bpf_progs_held(pid: int, attached: bool = False) -> set[int]:
    """Ids of the BPF programs whose file descriptors (programs, links) a process holds;
    with `attached`, only those it holds an attachment of (a raw tracepoint link): the TUI
    compiles its programs ahead, loaded but attached only when a key asks."""
    ids = set()
    fdinfo = Path(f"/proc/{pid}/fdinfo")
    for entry in fdinfo.iterdir():
        try:
            text = entry.read_text()
        except OSError:  # closed meanwhile
            continue
        if attached and "link_type:" not in text:
            continue
        ids.update(int(line.split()[1]) for line in text.splitlines()
                   if line.startswith("prog_id:"))
    return ids


def box_info_under(screen: str, address: str) -> str:
    """The line under a topology box's device line (" N links · M drops"), by column."""
    lines = screen.splitlines()
    device = f"● eth0 {address}/"  # the tree on the same row writes "eth0 veth <address>"
    row = next(i for i, line in enumerate(lines) if device in line)
    left = lines[row].rfind("│", 0, lines[row].index(device))
    return lines[row + 1][left:left + 28]


@pytest.mark.parametrize("ending", ["q", "C-c", "SIGTERM", "hangup"])
def test_drop_counts_attach_on_request_show_per_device_and_detach_on_exit(
        drop_lab, drop_tmux, tmp_path, ending):


    from tests.kernel.test_trace_hygiene import bpf_prog_ids, still_loaded

    unavailable = _tracer_unavailable()
    if unavailable:
        pytest.skip(unavailable)
    if sh("which", "bpftool", check=False).returncode:
        pytest.skip("bpftool is not installed")
    tmux, (_, a, b) = drop_tmux, drop_lab.names
    status = tmp_path / "status"
    tmux.start(f"cd {REPO} && env -u COLUMNS -u LINES {sys.executable} -m netscope; "
               f"echo $? > {status}")
    tmux.wait_for("LIVE")
    tmux.keys("/")
    tmux.wait_for("filter: name, device, IP")
    tmux.type(drop_lab.tag)
    tmux.keys("Enter")
    tmux.wait_for(f"filter: {drop_lab.tag}")
    time.sleep(1)  # Enter hands focus back to the tree; a key sent earlier is typed
    pid = tui_pid(tmux)
    assert not bpf_progs_held(pid, attached=True), "something was attached before D"

    tmux.keys("D")
    tmux.wait_for("counting drops (probe attached in", timeout=30)
    attached = bpf_progs_held(pid, attached=True)
    held = bpf_progs_held(pid)
    assert attached and held <= bpf_prog_ids(), f"bpftool does not list {held}"

    # a real drop: UDP to a port nobody listens on in b; b's kernel drops it (NO_SOCKET)
    sh("ip", "netns", "exec", a, sys.executable, "-c",
       "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
       "for _ in range(5): s.sendto(b'x', ('10.251.0.3', 9))")
    screen = tmux.wait_for("NO_SOCKET", timeout=10)
    drop_lines = [line for line in screen.splitlines() if "NO_SOCKET" in line]
    assert any(f"{b}:eth0: " in line and " dropped, NO_SOCKET in " in line
               for line in drop_lines), screen
    deadline = time.monotonic() + 5
    while True:  # the five may arrive over two polls: the box shows them all
        info = box_info_under(tmux.screen(), "10.251.0.3")
        counted = re.search(r"(\d+) drops", info)
        if (counted and int(counted.group(1)) >= 5) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert counted and int(counted.group(1)) >= 5, tmux.screen()

    # D again detaches while the app goes on; D once more attaches anew
    tmux.keys("D")
    tmux.wait_for("drop counting stopped: the probe is detached")
    assert not bpf_progs_held(pid, attached=True)
    assert "✗" not in tmux.screen() and "drops" not in box_info_under(tmux.screen(),
                                                                       "10.251.0.3")
    tmux.keys("D")
    deadline = time.monotonic() + 30
    while not bpf_progs_held(pid, attached=True) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert bpf_progs_held(pid, attached=True), "D did not attach the drop monitor again"
    held |= bpf_progs_held(pid)
    # exit code 0 after SIGTERM: the app ended as q ends it (the default would be 143)

    if ending == "hangup":  # the terminal goes away (tmux killed, ssh dropped)
        tmux.kill()
        deadline = time.monotonic() + 15
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not Path(f"/proc/{pid}").exists(), "the app outlived its terminal"
        assert not still_loaded(held), f"BPF programs {held} still loaded after a hangup"
        return
    if ending == "SIGTERM":
        os.kill(pid, 15)
    else:
        tmux.keys(ending)
    deadline = time.monotonic() + 15
    while not status.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert status.exists(), f"{ending} did not end the app within 15 s:\n{tmux.screen()}"
    assert status.read_text().strip() == "0"
    assert "Traceback" not in tmux.screen()
    assert not still_loaded(held), f"BPF programs {held} still loaded after {ending}"
