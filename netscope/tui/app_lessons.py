"""The app's lesson keys: `L` the lessons (netscope learn in the TUI). A lesson opens in the
Lessons panel on the right, the topology filtered to its namespaces and what the step is
about highlighted; `x` runs the step's commands (journaled, as `netscope learn N --step S
--do`) and checks it, `c` checks it again, `n` / `b` move between steps, `E` ends the lesson
(removes everything it made). A check whose walk crosses a NAT or a drop shows that walk
with the hop on it: the DNAT of a published port, the rule of a policy. The drills: `n` /
`b` pick a puzzle, `x` brings it up, `h` gives the next hint, `a` takes an answer.

What a lesson run from this session made is removed when another lesson is opened, when the
lesson is closed, and when the TUI exits (q, Ctrl-C, SIGTERM): its journal says what.
A mixin of NetscopeApp (kept apart so app.py stays small); the host work runs in thread
workers and comes back through call_from_thread.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from netscope.labs.faults import FAULTS
from netscope.tui.journey import expected_view
from netscope.tui.lesson_view import LessonView
from netscope.tui.screens.lessons import CLOSE, AnswerScreen, LessonsScreen
from netscope.tui.widgets.event_log import EventLog
from netscope.tui.widgets.filter_bar import FilterBar

# actions that need an open lesson (the others stay hidden from the footer and palette)
LESSON_ACTIONS = {"lesson_move", "lesson_do", "lesson_check", "lesson_end"}
DRILL_ACTIONS = {"lesson_hint", "lesson_answer"}
# the hop a lesson's walk is shown at: where the address changes, else where it dies
FOCUS_STEPS = ("nat", "drop", "choice", "encap", "macvlan")


class LessonKeys:
    """Needs from the app: notice, snapshot, graph, filter_text, show_journey, hop,
    _follow_hop, _backends, _feed, _read_only and the reactives lesson_view and
    lesson_words; Textual's run_worker, call_from_thread, push_screen, query_one."""

    def _init_lessons(self) -> None:
        self._lessons_run: dict[int, object] = {}  # lessons this session changed the host for
        self._filter_before: str | None = None

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        """Lesson keys exist only while a lesson is open (drill keys, in the drills)."""
        view = self.lesson_view
        if action in LESSON_ACTIONS and view is None:
            return None
        if action in DRILL_ACTIONS and (view is None or not view.lesson.drills):
            return None
        return True

    def _lessons(self):
        backend = self._backends.get("lessons")
        if backend is None:
            self.notice(self._backends.unavailable("lessons"))
        return backend

    # --- L: open, close -----------------------------------------------------------------

    def action_lessons(self) -> None:
        backend = self._lessons()
        if backend is None:
            return
        try:
            found = backend.catalogue()
        except backend.error as e:
            self.notice(str(e))
            return
        rows = []
        for x in found:
            done = backend.done(x.id)
            words = f"{len(done)} solved" if x.drills else f"{len(done)}/{len(x.steps)} done"
            rows.append((x.number, x.title, x.summary, words))
        by_number = {str(x.number): x for x in found}
        view = self.lesson_view

        def chosen(choice: str | None) -> None:
            if choice == CLOSE:
                self.close_lesson()
            elif choice in by_number:
                self.open_lesson(by_number[choice])
        self.push_screen(LessonsScreen(rows, view.lesson.number if view else None), chosen)

    def open_lesson(self, lesson) -> None:
        """Show `lesson` in the panel, at its first step not done (the drills: the puzzle
        that is up), the topology filtered to its namespaces."""
        backend = self._lessons()
        if backend is None:
            return
        if self.lesson_view is not None and self.lesson_view.lesson.number != lesson.number:
            self.close_lesson()
        done = tuple(backend.done(lesson.id))
        view = LessonView(lesson, done=done, ran=tuple(backend.ran(lesson)),
                          read_only=self._read_only)
        if lesson.drills:
            try:
                puzzles = tuple(backend.puzzles())
                up = backend.current_puzzle(lesson)
            except backend.error as e:
                self.notice(str(e))
                return
            view = view.with_(puzzles=puzzles, puzzle=up, step=up.number if up else 1)
        else:
            view = view.with_(step=next((s.number for s in lesson.steps
                                         if s.number not in done), 1))
        if self._filter_before is None:
            self._filter_before = self.filter_text
        self._set_filter(f"nsl-{lesson.instance}-")
        self.lesson_view = view
        self.query_one(EventLog).add("notice", f"lesson {lesson.number}: {lesson.title}")

    def close_lesson(self) -> None:
        """Close the panel; what this session ran for the lesson is removed."""
        view = self.lesson_view
        if view is None:
            return
        self.lesson_view = None
        self._set_filter(self._filter_before or "")
        self._filter_before = None
        lesson = self._lessons_run.pop(view.lesson.number, None)
        if lesson is not None:
            self._lesson_work(lambda: self._end(lesson), f"removing lesson {lesson.number}")

    def _set_filter(self, text: str) -> None:
        bar = self.query_one(FilterBar)
        if text:
            bar.show_text(text)
        else:
            bar.value = ""
            bar.remove_class("-shown")
        self.filter_text = text

    def watch_lesson_view(self) -> None:
        view, backend = self.lesson_view, self._backends.get("lessons")
        self.query_one("#main").set_class(view is not None, "-lesson")
        words = None
        if view is not None and not view.lesson.drills and backend is not None:
            words = backend.words(view.lesson, view.lesson.step(view.step))
        self.lesson_words = words
        self.update_marks()

    def end_lessons_on_exit(self) -> None:
        """The TUI is ending: remove what this session ran for its lessons (waits)."""
        backend = self._backends.get("lessons") if self._lessons_run else None
        for lesson in list(self._lessons_run.values()):
            # if it fails, the journal stays: `netscope lab down lessonN` finishes it
            with contextlib.suppress(backend.error):
                backend.end(lesson)
        self._lessons_run.clear()

    # --- n b: move ----------------------------------------------------------------------

    def action_lesson_move(self, delta: int) -> None:
        view = self.lesson_view
        moved = view.moved(delta)
        if view.lesson.drills and moved.step != view.step:
            moved = moved.with_(symptoms=())
        self.lesson_view = moved

    # --- x c E: run, check, end ---------------------------------------------------------

    def _may_change(self, what: str) -> bool:
        if self._read_only:
            self.notice(f"read-only ({self._read_only}): {what} is disabled")
            return False
        if self._feed is None:
            self.notice(f"{what}: lessons run on the live host, not on a saved snapshot")
            return False
        return True

    def _lesson_work(self, work: Callable[[], None], busy: str) -> None:
        """Run `work` in a thread worker, `busy` shown in the panel meanwhile."""
        if self.lesson_view is not None:
            self.lesson_view = self.lesson_view.with_(busy=busy)

        def run() -> None:
            try:
                work()
            finally:
                self.call_from_thread(self._not_busy)
        self.run_worker(run, thread=True, exclusive=True, exit_on_error=False,
                        group="lesson", name="lesson")

    def _not_busy(self) -> None:
        if self.lesson_view is not None and self.lesson_view.busy:
            self.lesson_view = self.lesson_view.with_(busy="")

    def action_lesson_do(self) -> None:
        view = self.lesson_view
        if view.lesson.drills:
            self._start_puzzle(view)
            return
        if not self._may_change(f"running step {view.step}"):
            return
        backend, lesson, number = self._backends.get("lessons"), view.lesson, view.step
        self._lessons_run[lesson.number] = lesson

        def work() -> None:
            try:
                runs = backend.do_step(lesson, number)
            except backend.error as e:
                self.call_from_thread(self.notice, f"step {number}: {e}")
                return
            for r in runs:
                self.call_from_thread(self._log_commands, r.number, r.commands)
            if self._feed is not None:  # iptables and sysctl changes send no netlink notice
                self._feed.refresh_now()
            self._checked(backend, lesson, number, None)
        self._lesson_work(work, f"running step {number}")

    def _log_commands(self, number: int, commands: tuple[str, ...]) -> None:
        log = self.query_one(EventLog)
        for line in commands:
            log.add("notice", f"step {number}: {line.splitlines()[0]}")

    def action_lesson_check(self) -> None:
        view = self.lesson_view
        if view.lesson.drills:
            self.notice("the drills: x brings the puzzle up, h gives a hint, a answers")
            return
        backend, lesson, number = self._backends.get("lessons"), view.lesson, view.step
        offline = self.snapshot if self._feed is None else None
        if self._feed is None and offline is None:
            return
        self._lesson_work(lambda: self._checked(backend, lesson, number, offline),
                          f"checking step {number}")

    def _checked(self, backend, lesson, number: int, snapshot) -> None:
        """In the worker: check step `number`, then show the result."""
        try:
            result = backend.check(lesson, number, snapshot)
        except backend.error as e:
            self.call_from_thread(self.notice, f"check of step {number}: {e}")
            return
        self.call_from_thread(self._show_check, lesson, number, result,
                              tuple(backend.done(lesson.id)), tuple(backend.ran(lesson)))

    def _show_check(self, lesson, number: int, result, done, ran) -> None:
        view = self.lesson_view
        if view is None or view.lesson.number != lesson.number:
            return
        self.lesson_view = view.with_(check=result if view.step == number else view.check,
                                      done=done, ran=ran)
        log = self.query_one(EventLog)
        for line in result.lines:
            log.add("trace", f"step {number}: {line}")
        log.add("notice", f"step {number}: {'passed' if result.passed else 'not yet'}")
        if result.journey is not None:
            journey = result.journey
            if journey.branches:  # a service's random choice: its first way, whole
                journey = journey.outcomes()[0][1]
            self.show_journey(expected_view(journey))
            focus = next((i for step in FOCUS_STEPS for i, h in enumerate(journey.hops)
                          if h.step == step), 0)
            self.hop = focus
            self._follow_hop()

    def action_lesson_end(self) -> None:
        view = self.lesson_view
        if not self._may_change(f"ending lesson {view.lesson.number}"):
            return
        lesson = view.lesson
        self._lessons_run.pop(lesson.number, None)
        self.journey = None
        self._lesson_work(lambda: self._end(lesson), f"removing lesson {lesson.number}")

    def _end(self, lesson) -> None:
        backend = self._backends.get("lessons")
        try:
            removed = backend.end(lesson)
        except backend.error as e:
            self.call_from_thread(self.notice, f"lesson {lesson.number}: {e}")
            return
        if self._feed is not None:
            self._feed.refresh_now()
        self.call_from_thread(self._ended, lesson, len(removed))

    def _ended(self, lesson, removed: int) -> None:
        self.notice(f"lesson {lesson.number} ended: {removed} things it made removed"
                    if removed else f"lesson {lesson.number}: nothing of it was up")
        view = self.lesson_view
        if view is not None and view.lesson.number == lesson.number:
            self.lesson_view = view.with_(ran=(), check=None, puzzle=None, symptoms=(),
                                          hints=(), answer="")

    # --- drills: x h a ------------------------------------------------------------------

    def _start_puzzle(self, view: LessonView) -> None:
        if not self._may_change(f"bringing puzzle {view.step} up"):
            return
        backend, lesson, number = self._backends.get("lessons"), view.lesson, view.step
        self._lessons_run[lesson.number] = lesson

        def work() -> None:
            try:
                puzzle, _ = backend.start_puzzle(lesson, number)
                if self._feed is not None:
                    self._feed.refresh_now()
                symptoms = tuple(backend.symptoms(lesson, puzzle))
            except backend.error as e:
                self.call_from_thread(self.notice, f"puzzle {number}: {e}")
                return
            self.call_from_thread(self._puzzle_up, puzzle, symptoms)
        self._lesson_work(work, f"bringing puzzle {number} up")

    def _puzzle_up(self, puzzle, symptoms) -> None:
        view = self.lesson_view
        if view is None or not view.lesson.drills:
            return
        self.lesson_view = view.with_(puzzle=puzzle, symptoms=symptoms, hints=(), answer="",
                                      step=puzzle.number)
        broken = sum(1 for s in symptoms if s.broken)
        self.query_one(EventLog).add("notice", f"puzzle {puzzle.number} is up: {broken} of "
                                               f"the lab's checks fail")

    def _puzzle_shown(self):
        """The puzzle that is up, if it is the one shown; else None (said why)."""
        view = self.lesson_view
        if view.puzzle is None or view.puzzle.number != view.step:
            self.notice(f"puzzle {view.step} is not up: x brings it up")
            return None
        return view.puzzle

    def action_lesson_hint(self) -> None:
        puzzle = self._puzzle_shown()
        if puzzle is None:
            return
        backend, lesson = self._backends.get("lessons"), self.lesson_view.lesson

        def work() -> None:
            try:
                hints = backend.take_hint(lesson, puzzle)
            except backend.error as e:
                self.call_from_thread(self.notice, f"hint: {e}")
                return
            self.call_from_thread(self._hinted, hints)
        self._lesson_work(work, "looking for a hint")

    def _hinted(self, hints: tuple[str, ...]) -> None:
        if self.lesson_view is not None:
            self.lesson_view = self.lesson_view.with_(hints=hints)

    def action_lesson_answer(self) -> None:
        puzzle = self._puzzle_shown()
        if puzzle is None:
            return
        backend, lesson = self._backends.get("lessons"), self.lesson_view.lesson

        def answered(text: str | None) -> None:
            if not text:
                return
            try:
                right = backend.judge(lesson, puzzle, text)
            except backend.error as e:
                self.notice(str(e))
                return
            verdict = (f"right: {puzzle.fault} - {FAULTS[puzzle.fault].title}. "
                       f"{puzzle.summary}." if right else
                       f"not that: puzzle {puzzle.number} is not {text} (h for a hint)")
            self.lesson_view = self.lesson_view.with_(
                answer=verdict, done=tuple(backend.done(lesson.id)))
            self.notice(verdict)
        self.push_screen(AnswerScreen(puzzle.number, sorted(FAULTS)), answered)
