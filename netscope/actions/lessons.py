"""Running a lesson: its steps applied as a lab instance's journal, and ending it.

A lesson's namespaces and journal are those of lab instance `lesson<N>`
(`<state dir>/labs/lesson<N>.json`): the journal lists every namespace the lesson may create
before anything runs, each step's operations are journaled before they run
(netscope.actions.plan.apply_more), and `end` (or `netscope lab down lesson<N>`) removes
everything, after Ctrl-C or a crash too, whether a step ran the commands or the learner typed
them in a shell. Checks: netscope.actions.lesson_check; progress:
netscope.actions.lesson_progress.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from netscope.actions import journal as jr
from netscope.actions import labs, plan
from netscope.actions.execute import ActionFailed
from netscope.actions.lesson_plan import step_ops
from netscope.actions.ops import NAMED_NETNS, NetnsAdd
from netscope.labs.lessons import Lesson

KIND = "lesson"


class LessonRunError(Exception):
    """A lesson cannot do what was asked; the message says what to run."""


@dataclass(frozen=True)
class StepRun:
    """A step whose commands ran: its number and the shell commands they equal."""

    number: int
    commands: tuple[str, ...]
    catching_up: bool = False


def _journal(lesson: Lesson) -> jr.Journal:
    """The lesson's journal, created (declaring every lesson namespace) if it is new."""
    path = labs.journal_path(lesson.instance)
    try:
        journal = jr.load(path)
    except jr.JournalError as e:
        raise LessonRunError(str(e)) from None
    if journal is not None:
        if journal.kind != KIND or journal.title != lesson.id:
            raise LessonRunError(f"lab instance {lesson.instance} is up as {journal.title}: "
                                 f"run `netscope lab down {lesson.instance}` first")
        return journal
    journal = jr.Journal(path, kind=KIND, title=lesson.id,
                         plan=[NetnsAdd(ns) for ns in lesson.all_netns], meta={
                             "lab": f"lesson {lesson.number}", "ref": lesson.id,
                             "instance": lesson.instance, "fault": None, "applied": [],
                             "nodes": {n: {"netns": lesson.netns(n), "role": "lesson"}
                                       for n in lesson.namespaces}})
    journal.state = jr.APPLIED  # nothing runs yet: the namespaces are only declared
    (labs.labs_dir() / lesson.instance).mkdir(parents=True, exist_ok=True)
    journal.save()
    return journal


def applied_steps(lesson: Lesson) -> list[int]:
    """The steps whose commands netscope ran (the journal says), in order."""
    try:
        journal = jr.load(labs.journal_path(lesson.instance))
    except jr.JournalError:
        return []
    if journal is None or journal.kind != KIND or journal.title != lesson.id:
        return []
    return [n for n in journal.meta.get("applied", []) if isinstance(n, int)]


def _typed_by_hand(lesson: Lesson, journal: jr.Journal) -> bool:
    """Lesson namespaces exist that no journaled operation created: the learner is typing
    the commands in a shell, so netscope does not repeat earlier steps."""
    made = {d.op.name for d in journal.done if isinstance(d.op, NetnsAdd)}
    return any(os.path.lexists(os.path.join(NAMED_NETNS, ns)) and ns not in made
               for ns in lesson.all_netns)


def do_step(lesson: Lesson, number: int, catch_up: bool = True) -> list[StepRun]:
    """Run step `number`'s commands (journaled first), after the earlier steps netscope has
    not run yet (unless the learner is typing them by hand, or `catch_up` is False).

    Raises LessonRunError when a command fails (what ran before stays, recorded) or the step
    already ran; LookupError for a step the lesson does not have."""
    lesson.step(number)  # LookupError before anything is locked or written
    path = labs.journal_path(lesson.instance)
    runs: list[StepRun] = []
    with labs.locked(path, lesson.all_netns, f"lesson {lesson.number}"):
        journal = _journal(lesson)
        applied = list(journal.meta.get("applied", []))
        if number in applied:
            raise LessonRunError(f"step {number} of lesson {lesson.number} already ran: "
                                 f"`netscope learn {lesson.number} --step {number}` checks it "
                                 f"again, `--end` starts the lesson over")
        todo = [number]
        if catch_up and not _typed_by_hand(lesson, journal):
            todo = [n for n in range(1, number) if n not in applied
                    and lesson.step(n).commands] + todo
        for n in todo:
            ops = step_ops(lesson, lesson.step(n))
            try:
                plan.apply_more(journal, ops)
            except ActionFailed as e:
                raise LessonRunError(
                    f"step {n} failed: {e} (what ran is recorded; `netscope learn "
                    f"{lesson.number} --end` removes everything)") from None
            applied.append(n)
            journal.meta["applied"] = applied
            journal.save()
            runs.append(StepRun(n, tuple(op.shell() for op in ops), n != number))
    return runs


def end(lesson: Lesson) -> list[str]:
    """Remove everything the lesson created (its lab instance, or without a journal its
    namespaces by name); returns what was removed, as shell commands."""
    try:
        return labs.down(lesson.instance)
    except labs.LabError as e:
        raise LessonRunError(str(e)) from None


def is_started(lesson: Lesson) -> bool:
    """A journal, or one of the lesson's namespaces, exists."""
    return labs.journal_path(lesson.instance).exists() or any(
        os.path.lexists(os.path.join(NAMED_NETNS, ns)) for ns in lesson.all_netns)
