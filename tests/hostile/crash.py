"""SIGKILL at random points, then the next start's cleanup: the harness of the crash tests.

Also a script: `python -m tests.hostile.crash --kills 100` (root) brings up a broken lab, kills
`netscope repair --yes` at random points 100 times, runs `netscope undo` after each kill and
checks that the lab is back to its before-state (snapshot diff of its namespaces empty).
Half of the kills land at a uniformly random time of the whole run, half within a few
milliseconds after the repair's journal appears (where a change is made): the window that
matters is short and uniform kills alone would rarely hit it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def netscope(*args: str, env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "netscope", *args], capture_output=True,
                          text=True, timeout=timeout, env=env, cwd=REPO,
                          stdin=subprocess.DEVNULL)


@dataclass
class Kill:
    """What one run did: when it was killed (None: it finished first) and how it ended."""

    delay: float | None
    returncode: int


def kill_at(argv: list[str], env: dict, delay: float,
            trigger: Callable[[], bool] | None = None) -> Kill:
    """Start argv (own process group), SIGKILL the whole group `delay` s after the start
    (or after `trigger()` first returns True), and wait for it."""
    proc = subprocess.Popen(argv, env=env, cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    started = time.monotonic()
    if trigger is not None:
        while proc.poll() is None and not trigger() and time.monotonic() - started < 60:
            time.sleep(0.001)
        started = time.monotonic()
    while proc.poll() is None and time.monotonic() - started < delay:
        time.sleep(0.001)
    killed = proc.poll() is None
    if killed:
        os.killpg(proc.pid, signal.SIGKILL)  # children too: nothing lands after the check
    proc.wait()
    return Kill(delay if killed else None, proc.returncode)


def lab_state(prefix: str):
    """A snapshot of the host (the diff below keeps only the namespaces of `prefix`)."""
    from netscope.collect.runner import collect_snapshot

    return collect_snapshot()


def lab_changes(before, after, prefix: str) -> list[str]:
    """What changed in the namespaces whose names start with `prefix`."""
    from netscope.report.diff import diff_snapshots

    return [f"{c.change} {c.what} {c.netns} {c.subject} {c.detail}".strip()
            for c in diff_snapshots(before, after).changes if c.netns.startswith(prefix)]


class BrokenLab:
    """docker-bridge/missing_masquerade as a throw-away instance, its own state directory."""

    def __init__(self, state_dir: Path, variant: str = "missing_masquerade") -> None:
        self.instance = f"hs{secrets.token_hex(3)}"
        self.prefix = f"nsl-{self.instance}-"
        self.env = {**os.environ, "NETSCOPE_STATE_DIR": str(state_dir),
                    "PYTHONPATH": str(REPO)}
        self.state_dir = state_dir
        self.variant = variant

    def up(self) -> None:
        p = netscope("lab", "up", f"docker-bridge/{self.variant}", "--instance",
                     self.instance, "-q", env=self.env)
        if p.returncode != 0:
            raise RuntimeError(f"lab up failed: {p.stderr}")
        from tests.support.netns import wait_ipv6_settled

        wait_ipv6_settled([f"{self.prefix}{node}" for node in ("host", "c1", "c2", "inet")])

    def down(self) -> None:
        netscope("lab", "down", self.instance, env=self.env)

    def finding(self, check: str = "missing_masquerade") -> str:
        p = netscope("doctor", "--json", env=self.env)
        found = [f["id"] for f in json.loads(p.stdout)
                 if f["check"] == check and self.prefix in f["id"]]
        if len(found) != 1:
            raise RuntimeError(f"expected one {check} finding in {self.prefix}*, got {found}")
        return found[0]

    def repairs(self) -> list[Path]:
        return sorted((self.state_dir / "repairs").glob("*.json"))


def kill_repair_then_undo(lab: BrokenLab, finding: str, kills: int, rng: random.Random,
                          say: Callable[[str], None] = lambda _line: None) -> dict:
    """`kills` rounds of: SIGKILL `repair FINDING --yes` at a random point, `undo`, compare
    with the before-state. Returns the counts and every round that did not come back."""
    argv = [sys.executable, "-m", "netscope", "repair", finding, "--yes"]
    clean = lab_state(lab.prefix)
    full = time.monotonic()
    finished = kill_at(argv, lab.env, 3600)  # one whole run: how long a repair takes
    full = time.monotonic() - full
    if finished.returncode != 0:
        raise RuntimeError(f"repair --yes failed on its own (exit {finished.returncode})")
    netscope("undo", env=lab.env)
    if lab_changes(clean, lab_state(lab.prefix), lab.prefix):
        raise RuntimeError("undo of a whole repair did not restore the lab")
    out = {"kills": 0, "finished": 0, "undo_ran": 0, "nothing_to_undo": 0, "bad": [],
           "repair_s": round(full, 2)}
    for n in range(kills):
        if n % 2:
            kill = kill_at(argv, lab.env, rng.uniform(0, full))
        else:
            kill = kill_at(argv, lab.env, rng.uniform(0, 0.03), trigger=lambda: bool(
                lab.repairs()))
        out["kills" if kill.delay is not None else "finished"] += 1
        undo = netscope("undo", env=lab.env)
        if "there is no repair to undo" in undo.stderr:
            out["nothing_to_undo"] += 1
        else:
            out["undo_ran"] += 1
        changes = lab_changes(clean, lab_state(lab.prefix), lab.prefix)
        left = lab.repairs()
        ok = (undo.returncode == 0 or "there is no repair to undo" in undo.stderr) \
            and not changes and not left
        if not ok:
            out["bad"].append({"round": n, "delay": kill.delay, "undo": undo.returncode,
                               "undo_said": (undo.stdout + undo.stderr).strip()[-300:],
                               "changes": changes, "journals_left": [p.name for p in left]})
            for p in left:  # the next round starts clean
                p.unlink()
        when = "finished" if kill.delay is None else f"killed after {kill.delay:.3f} s"
        say(f"round {n + 1}/{kills}: {when}; undo exit {undo.returncode}; "
            f"{'back to before' if ok else 'NOT RESTORED'}")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kills", type=int, default=100)
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    import tempfile

    seed = args.seed if args.seed is not None else secrets.randbits(32)
    with tempfile.TemporaryDirectory(prefix="netscope-crash-") as state:
        lab = BrokenLab(Path(state))
        lab.up()
        try:
            result = kill_repair_then_undo(lab, lab.finding(), args.kills, random.Random(seed),
                                           say=lambda line: print(line, flush=True))
        finally:
            lab.down()
    result["seed"] = seed
    print(json.dumps(result, indent=1))
    return 1 if result["bad"] else 0


if __name__ == "__main__":
    sys.exit(main())
