"""The Lessons panel (right, in place of the details while a lesson is open): the lesson, the
step shown (its text, the commands it runs with the real namespace names, what it looks at),
the last check line by line; for the drills, the puzzle, its symptoms, the hints and the
verdict. Keys (the App's, shown at the bottom): x run the step, c check it, n / b next and
previous step, E end the lesson; drills: x brings the puzzle up, h hint, a answer.

Attributes down: the app binds `view` (a LessonView, None hides the panel) and `words` (the
shown step's text, shell commands and closing words, with the lesson's directory filled in
by the lessons backend). Every text shown comes
from a lesson file or the host: it goes through the sanitiser.
"""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.containers import VerticalScroll
from textual.reactive import reactive
from textual.widgets import Static

from netscope.tui.lesson_view import LessonView
from netscope.tui.safe_render import safe_renderable

HINT_NAMES = ("where to look", "what to look at", "the doctor")


def _paragraphs(text: str, style: str = "") -> Text:
    """A lesson's text: paragraphs re-flowed (the widget wraps them), blank lines kept."""
    paras = [" ".join(p.split()) for p in text.strip().split("\n\n") if p.strip()]
    return Text("\n\n".join(paras), style=style)


def _check_lines(lines, passed: bool | None) -> Text:
    out = Text()
    for line in lines:
        style = "green" if line.startswith("ok") else "dim" if line.startswith("--") \
            else "bold red"
        out.append(line + "\n", style=style)
    skipped = any(line.startswith("--") for line in lines)
    if skipped and not any(line.startswith("NO") for line in lines):
        out.append("checked as far as a snapshot shows (the rest needs the live host)",
                   style="bold yellow")
    elif passed is not None:
        out.append("passed" if passed else "not yet", style="bold green" if passed else
                   "bold red")
    return out


class LessonPanel(VerticalScroll):
    DEFAULT_CSS = """
    LessonPanel { display: none; width: 2fr; min-width: 42; height: 1fr;
                  border-left: solid $accent; padding: 0 1; }
    LessonPanel.-shown { display: block; }
    LessonPanel > Static { width: 1fr; }
    """

    view: reactive[LessonView | None] = reactive(None, init=False)
    words: reactive[tuple[str, tuple[str, ...], str] | None] = reactive(None, init=False)

    def compose(self):
        yield Static(id="lesson-body")

    def watch_view(self, old: LessonView | None, new: LessonView | None) -> None:
        self._show()
        if new is not None and new.check is not None and (old is None or old.check is not
                                                          new.check):
            # the check's result is what the learner waits for: below a long step's
            # commands, it would be off the panel
            self.call_after_refresh(self.scroll_end, animate=False)
        elif new is not None and (old is None or old.step != new.step):
            self.scroll_home(animate=False)

    def watch_words(self) -> None:
        self._show()

    def _show(self) -> None:
        view = self.view
        self.set_class(view is not None, "-shown")
        if view is None:
            return
        parts = self._drill(view) if view.lesson.drills else self._step(view)
        if view.busy:
            parts.append(Text(f"\n{view.busy} ...", style="bold yellow"))
        parts.append(Text("\n" + self._keys(view), style="dim"))
        self.query_one("#lesson-body", Static).update(safe_renderable(Group(*parts)))

    def _step(self, view: LessonView) -> list:
        lesson = view.lesson
        step = lesson.step(view.step)
        marks = "".join("●" if n in view.done else "○" for n in range(1, len(lesson.steps) + 1))
        head = Text(f"lesson {lesson.number}: {lesson.title}\n", style="bold")
        head.append(f"step {step.number} of {len(lesson.steps)}  {marks}\n", style="dim")
        head.append(step.title, style="bold cyan")
        text, commands, after = self.words or (step.text, (), step.after)
        parts: list = [head, Text(""), _paragraphs(text)]
        if commands:
            ran = "ran" if step.number in view.ran else "x runs them"
            parts += [Text(f"\ncommands ({ran}):", style="bold"),
                      Text("\n".join(commands), style="cyan")]
        if step.show:
            parts.append(Text("\nlook at: " + ", ".join(lesson.place(x) for x in step.show),
                              style="yellow"))
        check = view.check
        if check is not None:
            parts += [Text(f"\ncheck of step {step.number}:", style="bold"),
                      _check_lines(check.lines, check.passed)]
            if check.passed and after:
                parts.append(_paragraphs(after, "green"))
        return parts

    def _drill(self, view: LessonView) -> list:
        lesson = view.lesson
        head = Text(f"lesson {lesson.number}: {lesson.title}\n", style="bold")
        solved = sum(1 for n in view.done if n <= view.count)
        head.append(f"puzzle {view.step} of {view.count}  ({solved} solved)\n", style="dim")
        shown = view.puzzles[view.step - 1] if view.puzzles else None
        parts: list = [head]
        if shown is not None:
            up = view.puzzle is not None and view.puzzle.number == shown.number
            parts.append(Text(f"something is wrong in the {shown.lab} lab", style="bold cyan"))
            parts.append(_paragraphs(f"What users report: {shown.report}"))
            if not up:
                parts.append(Text("\nx brings it up (as lab instance "
                                  f"{lesson.instance})", style="yellow"))
        for s in view.symptoms:
            mark, style = ("BROKEN", "bold red") if s.broken else ("fine  ", "green")
            parts.append(Text(f"{mark} {s.what}: {s.outcome} (healthy: {s.healthy})",
                              style=style))
        for n, hint in enumerate(view.hints, 1):
            parts += [Text(f"\nhint {n} ({HINT_NAMES[min(n, 3) - 1]}):", style="bold"),
                      _paragraphs(hint)]
        if view.answer:
            parts.append(Text("\n" + view.answer, style="bold green" if view.answer.startswith(
                "right") else "bold red"))
        return parts

    @staticmethod
    def _keys(view: LessonView) -> str:
        if view.lesson.drills:
            keys = "n/b puzzle · x bring it up · h hint · a answer · E end"
        else:
            keys = "x run step · c check · n/b next/prev · E end lesson"
        if view.read_only:
            keys += f"   (read-only: {view.read_only}; x and E disabled)"
        return keys
