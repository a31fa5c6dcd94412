"""`netscope --snapshot FILE` in a real terminal (tmux), as a person uses it, no root: `t` on a
saved snapshot shows the expected path with its verdict, and `]` steps it hop by hop."""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import pytest

from tests.support.tmux import Tmux
from tests.tui.conftest import snapshot_path

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


@pytest.fixture
def tmux():
    t = Tmux(f"nstuioff{time.monotonic_ns() % 100000}")
    yield t
    t.kill()


def test_t_on_a_saved_snapshot_shows_the_expected_path(tmux, tmp_path):
    status = tmp_path / "status"
    tmux.start(f"cd {REPO} && env -u COLUMNS -u LINES {sys.executable} -m netscope "
               f"--snapshot {snapshot_path('tui-forward-drop.json')}; echo $? > {status}")
    tmux.wait_for("OFFLINE snapshot")
    # the cursor starts on the first namespace, nsl-nstui-c1
    screen = tmux.wait_for("nsl-nstui-c1  (ns:")
    tmux.keys("t")
    tmux.wait_for("trace from nsl-nstui-c1 to:")
    tmux.keys("Down")  # into the list of namespaces: nsl-nstui-c2 first
    time.sleep(0.3)
    tmux.keys("Enter")
    tmux.wait_for("expected path (static walk, nothing sent)")
    # the notice comes after the path is drawn (the same worker, one call later): wait for it
    screen = tmux.wait_for("expected path only:")
    flat = " ".join(screen.replace("│", " ").split())
    # the walk says what the recorded trace of this lab saw: FORWARD's policy drops it
    assert "icmp 10.217.0.2 -> 10.217.0.3" in flat
    assert "dropped at hop" in flat and "FORWARD" in flat
    assert "expected path only: this is a saved snapshot" in flat
    tmux.keys("]")
    screen = tmux.wait_for("hop 2/")
    tmux.keys("Escape")
    time.sleep(0.5)  # Escape right before q would read as alt+q
    tmux.keys("q")
    deadline = time.monotonic() + 10
    while not status.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert status.read_text().strip() == "0", tmux.screen()
    assert "Traceback" not in tmux.screen()
