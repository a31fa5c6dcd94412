"""`repair --yes` killed (SIGKILL) at random points, then `undo`: the lab is back to its
before-state every time, and undo never says "undone" while a change stays. Two repairs of
one finding at once apply it once. (Root: builds a lab; `python -m tests.hostile.crash
--kills 100` is the long run.)"""

from __future__ import annotations

import random
import subprocess
import sys

import pytest

from tests.hostile.crash import BrokenLab, kill_repair_then_undo, netscope
from tests.support.netns import require_root


@pytest.fixture
def lab(tmp_path):
    reason = require_root()
    if reason:
        pytest.skip(reason)
    made = BrokenLab(tmp_path / "state")
    made.up()
    try:
        yield made
    finally:
        made.down()


def test_killed_repairs_are_undone_to_the_before_state(lab):
    result = kill_repair_then_undo(lab, lab.finding(), kills=10, rng=random.Random(1313))
    assert not result["bad"], result["bad"]
    assert result["kills"] >= 5  # most rounds were really killed, not finished first


def masquerade_rules(lab: BrokenLab) -> int:
    out = subprocess.run(["ip", "netns", "exec", f"{lab.prefix}host", "iptables", "-t", "nat",
                          "-S", "POSTROUTING"], capture_output=True, text=True, check=True)
    return sum("MASQUERADE" in line for line in out.stdout.splitlines())


def test_two_repairs_of_one_finding_at_once_apply_it_once(lab):
    finding = lab.finding()
    assert masquerade_rules(lab) == 0
    procs = [subprocess.Popen([sys.executable, "-m", "netscope", "repair", finding, "--yes"],
                              env=lab.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    results = [(p.wait(timeout=120), p.stdout.read(), p.stderr.read()) for p in procs]
    assert masquerade_rules(lab) == 1, results
    assert len(lab.repairs()) == 1, results
    applied = [r for r in results if r[0] == 0]
    refused = [r for r in results if r[0] == 2]
    assert len(applied) == 1 and len(refused) == 1, results
    said = refused[0][2]
    assert ("already repaired" in said or "is changing" in said
            or f"no finding {finding!r}" in said), said
    undo = netscope("undo", env=lab.env)
    assert undo.returncode == 0 and "undone" in undo.stdout, undo.stderr
    assert masquerade_rules(lab) == 0 and not lab.repairs()
    again = netscope("undo", env=lab.env)  # idempotent: nothing left to undo
    assert again.returncode == 2 and "there is no repair to undo" in again.stderr


def test_undo_is_honest_when_a_change_cannot_be_reverted(lab):
    finding = lab.finding()
    assert netscope("repair", finding, "--yes", env=lab.env).returncode == 0
    host = f"{lab.prefix}host"
    # someone else adds the very same rule again: the undo removes one, one stays
    subprocess.run(["ip", "netns", "exec", host, "iptables", "-t", "nat", "-A", "POSTROUTING",
                    "-s", "10.217.0.0/16", "!", "-o", "docker0", "-j", "MASQUERADE"],
                   check=True)
    undo = netscope("undo", env=lab.env)
    assert undo.returncode == 2 and "partly applied" in undo.stderr, undo.stderr
    error = undo.stderr.strip().splitlines()[-1]  # after the command it ran
    assert error.startswith("netscope: undo of ") and "journal" in error and "is kept" in error
    assert "undone" not in undo.stdout and len(lab.repairs()) == 1  # the journal is kept
    subprocess.run(["ip", "netns", "exec", host, "iptables", "-t", "nat", "-D", "POSTROUTING",
                    "-s", "10.217.0.0/16", "!", "-o", "docker0", "-j", "MASQUERADE"],
                   check=True)
    undo = netscope("undo", env=lab.env)
    assert undo.returncode == 0 and not lab.repairs(), undo.stderr
