"""A learner in the real TUI (tmux, live host): L opens lesson 3, x runs each step and its
check passes, step 4's walk is drawn at its DNAT hop (highlighted); then the drills: a
broken lab comes up as a puzzle, h gives a hint, a wrong answer is refused and the right one
accepted; q ends the TUI and everything the lessons made is gone."""

from __future__ import annotations

import re
import secrets
import sys
import time
from pathlib import Path

import pytest

from netscope.actions.drills import puzzles
from tests.kernel.lesson_support import leftovers
from tests.kernel.test_tui_tmux import REPO, own_tmux
from tests.support.netns import require_root
from tests.support.tmux import Tmux


@pytest.fixture
def tmux():
    reason = require_root()
    if reason:
        pytest.skip(reason)
    for instance in ("lesson3", "lesson10"):
        if leftovers(instance):
            pytest.fail(f"{leftovers(instance)} exist before the test: a learner's lesson is "
                        "running here")
    yield from own_tmux(f"nsl{secrets.token_hex(2)}")


def ansi_screen(tmux: Tmux) -> str:
    """The pane with its colours (SGR escape sequences)."""
    return tmux.tmux("capture-pane", "-t", "tui", "-p", "-e")


def pick(tmux: Tmux, number: int) -> None:
    """L, then lesson `number` in the list (options in lesson order, the first highlighted)."""
    tmux.keys("L")
    tmux.wait_for("lessons: Enter opens one")
    time.sleep(0.3)
    for _ in range(number - 1):
        tmux.keys("Down")
    tmux.keys("Enter")


def test_a_learner_goes_through_lesson_3_and_solves_a_puzzle(tmux, tmp_path):
    status = tmp_path / "status"
    env = (f"NETSCOPE_STATE_DIR={tmp_path / 'state'} XDG_STATE_HOME={tmp_path / 'xdg'}")
    tmux.start(f"cd {REPO} && env -u COLUMNS -u LINES {env} {sys.executable} -m netscope; "
               f"echo $? > {status}")
    tmux.wait_for("LIVE", timeout=30)
    started = time.monotonic()
    pick(tmux, 3)
    tmux.wait_for("step 1 of 5")
    for step in range(1, 5):
        tmux.keys("x")
        screen = tmux.wait_for("passed", timeout=20)
        assert f"check of step {step}:" in screen
        if step < 4:
            tmux.keys("n")
            tmux.wait_for(f"step {step + 1} of 5")
    # step 4: the check's walk is on screen at the DNAT hop, which is highlighted
    screen = tmux.wait_for("expected path (static walk, nothing sent)")
    hop = re.search(r"hop (\d+)/(\d+): '-A PREROUTING -d 10\.150\.103\.1/32 -p tcp -m tcp "
                    r"--dport 8080", screen)
    assert hop, screen
    coloured = ansi_screen(tmux)
    # the strip lists the hops; the current one ("eth0 nat", its number may wrap onto the
    # line above) has a background colour of its own, the hop before it has not
    current = re.search(r"\x1b\[48;5;(\d+)m(?:\d+ )?eth0 nat\x1b", coloured)
    before = re.search(r"\x1b\[48;5;(\d+)m[^\x1b]*?eth0 netfilter", coloured)
    assert current and (before is None or before.group(1) != current.group(1)), \
        "the DNAT hop is drawn in the current hop's colours:\n" + "\n".join(
            line for line in coloured.splitlines() if " nat" in line)
    assert "nsl-lesson3-host" in screen and leftovers("lesson3")

    # the drills: opening them ends lesson 3 (this session made it)
    number = next(p.number for p in puzzles() if p.fault == "missing_masquerade")
    pick(tmux, 10)
    tmux.wait_for("puzzle 1 of")
    for _ in range(number - 1):
        tmux.keys("n")
    tmux.wait_for(f"puzzle {number} of")
    tmux.keys("x")
    screen = tmux.wait_for("BROKEN", timeout=30)
    assert "Egress from c1 times out." in " ".join(screen.split())
    assert not leftovers("lesson3"), "the lesson closed is removed"
    tmux.keys("h")
    tmux.wait_for("hint 1 (where to look)", timeout=20)
    tmux.keys("a")
    tmux.wait_for("which fault is it?")
    tmux.type("ip_forward_off")
    tmux.keys("Enter")
    tmux.wait_for("not that")
    tmux.keys("a")
    tmux.wait_for("which fault is it?")
    tmux.type("missing_masquerade")
    tmux.keys("Enter")
    tmux.wait_for("right: missing_masquerade")
    print(f"lesson 3 steps 1-4 and a puzzle in {time.monotonic() - started:.1f} s")
    assert leftovers("lesson10")

    tmux.keys("q")
    deadline = time.monotonic() + 20
    while not status.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert status.exists(), f"q did not end the app:\n{tmux.screen()}"
    assert status.read_text().strip() == "0"
    assert "Traceback" not in tmux.screen()
    assert not leftovers("lesson3") and not leftovers("lesson10"), "quitting removed it all"
    assert not list(Path(tmp_path / "state" / "labs").glob("*.json")), "no journal is left"
    progress = (tmp_path / "xdg" / "netscope" / "lessons.json").read_text()
    assert '"nat": [' in progress and '"drills": [' in progress
