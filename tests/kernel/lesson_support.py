"""Helpers for the lesson kernel tests (no tests here): a lesson run end to end through the
same API the CLI and the TUI use, and the host compared before and after."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator

import pytest

from netscope.actions import labs, lessons
from netscope.actions.lesson_check import run_step_check
from netscope.actions.ops import NAMED_NETNS
from netscope.collect.runner import collect_snapshot
from netscope.labs.lessons import Lesson, find
from tests.kernel.test_labs_lifecycle import host_changes


def leftovers(instance: str) -> list[str]:
    try:
        return sorted(n for n in os.listdir(NAMED_NETNS) if n.startswith(f"nsl-{instance}-"))
    except FileNotFoundError:
        return []


@contextlib.contextmanager
def lesson_env(tmp_path, number: int) -> Iterator[Lesson]:
    """Lesson `number` with its own state directory and progress file; whatever happens,
    its instance is down and its namespaces are gone afterwards."""
    if os.geteuid() != 0:
        pytest.skip("lesson tests need root (they create network namespaces)")
    instance = f"lesson{number}"
    if leftovers(instance):
        pytest.fail(f"{leftovers(instance)} exist before the test: a learner's lesson is "
                    f"running here (`netscope learn {number} --end` removes it)")
    saved = {k: os.environ.get(k) for k in ("NETSCOPE_STATE_DIR", "XDG_STATE_HOME")}
    os.environ["NETSCOPE_STATE_DIR"] = str(tmp_path / "state")
    os.environ["XDG_STATE_HOME"] = str(tmp_path / "xdg")
    try:
        yield find(str(number))
    finally:
        with contextlib.suppress(Exception):
            labs.down(instance)
        for name in leftovers(instance):
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_every_step(lesson: Lesson, timeout: float = 1.0) -> list[tuple[int, float]]:
    """Each step's commands (journaled), then its check, which must pass; returns the
    seconds each step took."""
    times = []
    for step in lesson.steps:
        started = time.monotonic()
        if step.commands:
            runs = lessons.do_step(lesson, step.number)
            assert [r.number for r in runs] == [step.number], "no step was skipped"
        result = run_step_check(lesson, step.check, timeout)
        assert result.passed, (f"lesson {lesson.number} step {step.number} "
                               f"({step.title}):\n" + "\n".join(result.lines))
        times.append((step.number, round(time.monotonic() - started, 2)))
    return times


def lesson_end_to_end(lesson: Lesson) -> tuple[list[tuple[int, float]], list[str]]:
    """Every step done and checked, the lesson ended; returns the step times and what
    changed on the host (empty when it is as it was). One retry of the comparison: other
    suites may change the root namespace meanwhile on a shared machine."""
    for attempt in (1, 2):
        before = collect_snapshot()
        times = run_every_step(lesson)
        removed = lessons.end(lesson)
        assert removed, "end removed something"
        after = collect_snapshot()
        assert not leftovers(lesson.instance)
        assert not labs.journal_path(lesson.instance).exists(), "the journal is gone"
        assert not (labs.labs_dir() / lesson.instance).exists(), "its directory is gone"
        changes = host_changes(before, after, lesson.instance)
        if not changes or attempt == 2:
            return times, changes
    raise AssertionError("unreachable")
