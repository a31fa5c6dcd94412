"""What the Lessons panel shows (a lesson, its current step or puzzle, the last check, hints)
and what it lights up on the topology. Pure (no Textual): the App keeps a LessonView in its
state, the panel draws it, `lesson_ids` turns it into topology ids."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from netscope.graph.host import HostGraph
from netscope.labs.lessons import Lesson


@dataclass(frozen=True)
class LessonView:
    """A lesson open in the TUI. Stepped lessons: `step` is the step shown, `done` the steps
    whose check passed (progress), `ran` those netscope ran; `check` the last check of this
    step (netscope.actions.lesson_check.CheckResult). Drills: `step` is the puzzle shown,
    `puzzle` the one that is up (netscope.actions.drills.Puzzle), `symptoms` its traffic,
    `hints` those shown so far, `answer` the last verdict. `busy` says what runs now."""

    lesson: Lesson
    step: int = 1
    done: tuple[int, ...] = ()
    ran: tuple[int, ...] = ()
    check: object | None = None
    busy: str = ""
    puzzle: object | None = None
    puzzles: tuple = ()
    symptoms: tuple = ()
    hints: tuple[str, ...] = ()
    answer: str = ""
    read_only: str | None = None

    @property
    def count(self) -> int:
        """How many steps (or puzzles) there are to move between."""
        return len(self.puzzles) if self.lesson.drills else len(self.lesson.steps)

    def moved(self, delta: int) -> LessonView:
        """The next or previous step, its check not yet run."""
        step = max(1, min(self.count, self.step + delta))
        if step == self.step:
            return self
        return dataclasses.replace(self, step=step, check=None, hints=(), answer="")

    def with_(self, **changes) -> LessonView:
        return dataclasses.replace(self, **changes)


def _place(graph: HostGraph, lesson: Lesson, ref: str) -> str | None:
    name, _, dev = ref.partition(":")
    found = graph.namespaces_named(lesson.netns(name))
    if len(found) != 1:
        return None
    if not dev:
        return found[0]
    link = graph.link_named(found[0], dev)
    return link.id if link is not None else found[0]


def lesson_ids(graph: HostGraph | None, view: LessonView | None) -> frozenset[str]:
    """The topology ids the shown step is about (its `show` places that exist now), or the
    namespace a puzzle is about once its first hint names it."""
    if graph is None or view is None:
        return frozenset()
    lesson = view.lesson
    if lesson.drills:
        if view.puzzle is None or not view.hints:
            return frozenset()
        node = view.puzzle.target.partition(":")[0]
        found = graph.namespaces_named(lesson.netns(node))
        return frozenset(found[:1])
    refs = lesson.step(view.step).show if 1 <= view.step <= len(lesson.steps) else ()
    return frozenset(i for i in (_place(graph, lesson, r) for r in refs) if i is not None)
