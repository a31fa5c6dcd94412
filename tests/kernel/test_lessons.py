"""Every lesson, run end to end on this host: each step's commands (journaled, inside the
lesson's own namespaces), each check passing with real traffic, the static walk and the
doctor; then `end`, and the host exactly as it was (snapshot comparison)."""

from __future__ import annotations

import pytest

from netscope.actions import lesson_progress
from netscope.labs.lessons import load_all
from tests.kernel.lesson_support import lesson_end_to_end, lesson_env

STEPPED = [x.number for x in load_all() if not x.drills]


@pytest.mark.parametrize("number", STEPPED, ids=lambda n: f"lesson{n}")
def test_lesson_end_to_end_leaves_the_host_as_it_was(tmp_path, number):
    with lesson_env(tmp_path, number) as lesson:
        times, changes = lesson_end_to_end(lesson)
        assert not changes, "\n".join(changes)
        print(f"lesson {number}: seconds per step {times}")


def test_a_drill_puzzle_comes_up_shows_its_symptom_hints_judges_and_goes(tmp_path):
    from netscope.actions import drills, labs
    from netscope.collect.runner import collect_snapshot
    from tests.kernel.lesson_support import host_changes, leftovers

    with lesson_env(tmp_path, 10) as lesson:
        number = next(p.number for p in drills.puzzles() if p.fault == "missing_masquerade")
        before = collect_snapshot()
        puzzle, removed = drills.start(lesson, number)
        assert removed == [] and drills.current(lesson) == puzzle
        status = next(s for s in labs.status()[0] if s.instance == lesson.instance)
        assert status.ref == f"lesson 10 puzzle {number}", "lab status does not give it away"
        found = drills.symptoms(lesson, puzzle)
        broken = [s for s in found if s.broken]
        assert broken and all(s.outcome == s.predicted for s in found)
        assert all("198.18.17.1" in s.what for s in broken), "only egress is broken"
        assert "nsl-lesson10-host" in drills.hint(lesson, puzzle, 1)
        assert "POSTROUTING" in drills.hint(lesson, puzzle, 2)
        assert "MASQUERADE" in drills.hint(lesson, puzzle, 3)
        assert not drills.judge(puzzle, "ip_forward_off")
        assert drills.judge(puzzle, "missing-masquerade")
        # another puzzle replaces this one on the same instance
        other = next(p.number for p in drills.puzzles() if p.fault == "host_veth_down")
        _, removed = drills.start(lesson, other)
        assert removed and drills.current(lesson).fault == "host_veth_down"
        labs.down(lesson.instance)
        assert not leftovers(lesson.instance)
        changes = host_changes(before, collect_snapshot(), lesson.instance)
        assert not changes, "\n".join(changes)


def test_ctrl_c_during_a_step_removes_everything_the_lesson_made(tmp_path, monkeypatch):
    """The CLI: `learn 2 --step 4 --do` interrupted after its first operations ran exits
    130 and leaves no namespace, journal or directory of the lesson."""
    from netscope.actions import labs, plan
    from netscope.cli.main import main
    from tests.kernel.lesson_support import leftovers

    real = plan.run_ops
    calls = []

    def interrupted(ops, done, **kwargs):
        calls.append(len(ops))
        if len(calls) == 3:  # steps 1 and 2 ran (catching up), step 3 is interrupted
            real(ops[:2], done, **kwargs)
            raise KeyboardInterrupt
        return real(ops, done, **kwargs)

    with lesson_env(tmp_path, 2) as lesson:
        monkeypatch.setattr(plan, "run_ops", interrupted)
        assert main(["learn", "2", "--step", "4", "--do"]) == 130
        assert len(calls) == 3
        assert not leftovers(lesson.instance)
        assert not labs.journal_path(lesson.instance).exists()
        assert lesson_progress.done_steps(lesson.id) == []


def test_a_lesson_typed_by_hand_is_removed_by_lab_down(tmp_path):
    """A learner typed step 1 in a shell (no journal): `lab down lesson2` removes it."""
    import subprocess

    from netscope.actions import labs
    from tests.kernel.lesson_support import leftovers

    with lesson_env(tmp_path, 2) as lesson:
        for ns in lesson.all_netns:
            subprocess.run(["ip", "netns", "add", ns], check=True)
        assert len(leftovers(lesson.instance)) == 3
        removed = labs.down(lesson.instance)
        assert len(removed) == 3 and not leftovers(lesson.instance)


def test_the_cli_catches_up_runs_a_step_and_prints_the_dnat_hop(tmp_path):
    """`learn 3 --step 4 --do` on a fresh host: steps 1-3 run first, step 4's check passes
    and prints the walk with its DNAT hop; --json says the same; --end removes it all."""
    import json
    import os
    import subprocess
    import sys

    from tests.kernel.lesson_support import leftovers

    def learn(*args):
        return subprocess.run([sys.executable, "-m", "netscope", "learn", "3", *args],
                              capture_output=True, text=True, timeout=120, env=os.environ)

    with lesson_env(tmp_path, 3) as lesson:
        done = learn("--step", "4", "--do")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "steps 1, 2, 3 ran first" in done.stdout
        dnat = [line for line in done.stdout.splitlines() if " nat " in line and "DNAT" in line
                and "iptables" not in line]
        assert dnat and "DNAT tcp 10.150.103.2 -> 10.150.103.1 40000->8080 => " \
            "tcp 10.150.103.2 -> 10.150.3.2 40000->80" in dnat[0], done.stdout
        assert "passed." in done.stdout
        again = learn("--step", "4", "--json")
        doc = json.loads(again.stdout)
        assert again.returncode == 0 and doc["check"]["passed"] and doc["step"] == 4
        assert [s["done"] for s in doc["lesson"]["steps"]] == [False, False, False, True, False]
        assert "nat" in [h["step"] for h in doc["check"]["path"]["hops"]]
        ended = learn("--end")
        assert ended.returncode == 0 and "lesson 3 ended" in ended.stdout
        assert not leftovers(lesson.instance)
