"""Namespaces that come and go while netscope reads the host: 50 created and 50 deleted a
second (one `ip -batch` process, named <tag>-<n>, ten alive at a time), during snapshots,
doctor, show and the live TUI. Every read must finish with a whole, valid answer (a namespace
that vanished under it left out, never a traceback or a half document), and the TUI must stay
up and quit cleanly. (Root: creates namespaces; all of them are deleted at the end.)"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys
import threading
import time

import pytest

from netscope.snapshot import load
from tests.support.netns import require_root, sh
from tests.support.tmux import Tmux

RATE = 50  # namespaces created (and deleted) a second
ALIVE = 10


class Churn:
    """A thread feeding `ip -force -batch -`: netns add <tag>-<n>, and the one made ALIVE
    before it deleted, RATE times a second, until stop()."""

    def __init__(self) -> None:
        self.tag = f"nsch{secrets.token_hex(2)}"
        self.made = 0
        self._stop = threading.Event()
        self._ip = subprocess.Popen(["ip", "-force", "-batch", "-"], stdin=subprocess.PIPE,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    text=True)
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        start = time.monotonic()
        while not self._stop.is_set():
            lines = f"netns add {self.tag}-{self.made}\n"
            if self.made >= ALIVE:
                lines += f"netns del {self.tag}-{self.made - ALIVE}\n"
            self._ip.stdin.write(lines)
            self._ip.stdin.flush()
            self.made += 1
            # paced against the start, so a slow write does not lower the rate
            time.sleep(max(0.0, start + self.made / RATE - time.monotonic()))

    def __enter__(self) -> Churn:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5)
        self._ip.stdin.close()
        self._ip.wait(30)
        for name in sh("ip", "netns", "list").stdout.split():
            if name.startswith(f"{self.tag}-"):
                sh("ip", "netns", "del", name, check=False)


@pytest.fixture
def churn():
    reason = require_root()
    if reason:
        pytest.skip(reason)
    with Churn() as c:
        yield c
    left = [n for n in sh("ip", "netns", "list").stdout.split() if n.startswith(c.tag)]
    assert not left, f"namespaces of the churn left behind: {left}"


def netscope(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "netscope", *args], capture_output=True,
                          text=True, timeout=timeout)


def test_reads_under_churn_finish_whole(churn, tmp_path):
    time.sleep(0.5)  # the churn under way
    seen_churned = 0
    for i in range(3):
        out = tmp_path / f"s{i}.json"
        p = netscope("snapshot", "-o", str(out))
        assert p.returncode == 0, p.stderr
        snap = load(str(out))  # whole and valid
        seen_churned += sum(1 for ns in snap.namespaces if (ns.name or "").startswith(churn.tag))
        shown = netscope("show", "--snapshot", str(out))
        assert shown.returncode == 0, shown.stderr
        doctor = netscope("doctor", "--json")
        assert doctor.returncode in (0, 1), doctor.stderr
        assert isinstance(json.loads(doctor.stdout), list)
        assert "Traceback" not in p.stderr + shown.stderr + doctor.stderr
    assert churn.made >= RATE, f"the churn made only {churn.made} namespaces"
    # the reads really ran among churned namespaces (some were caught alive)
    assert seen_churned > 0


def test_the_live_tui_stays_up_under_churn(churn):
    if not shutil.which("tmux"):
        pytest.skip("tmux is not installed (setup.sh installs it)")
    tmux = Tmux(churn.tag)
    try:
        tmux.start(f"{sys.executable} -m netscope")
        tmux.wait_for("palette", timeout=60)
        before = churn.made
        time.sleep(6)  # the live feed sees namespaces appear and vanish
        assert churn.made - before >= 4 * RATE, "the churn stalled"
        assert not tmux.ended(), f"the TUI ended under churn:\n{tmux.screen()}"
        assert "Traceback" not in tmux.screen()
        ended = tmux.quit("q", timeout=20)
        assert ended == ["0"], f"exit status and signal: {ended}; screen:\n{tmux.screen()}"
    finally:
        tmux.kill()
