"""`netscope learn [LESSON] [--step N] [--do] [--end]`: guided lessons (topology/lessons/).

`learn` lists the lessons with the learner's progress; `learn 3` shows lesson 3 and its next
step; `--step N` prints step N (its commands with the real namespace names, ready to type)
and runs its check; `--do` runs the step's commands first (journaled: `--end`, Ctrl-C and
`netscope lab down lesson3` remove everything the lesson made). The drills lesson turns the
labs' broken variants into puzzles (netscope.cli.learn_drills).
"""

from __future__ import annotations

import sys

from netscope.cli import values
from netscope.cli.convention import add_command, refuse_read_only
from netscope.cli.errors import UserError
from netscope.cli.learn_text import FORMAT, VERSION, dump, end_lesson, require_root, wrap

EPILOG = """\
Lessons build small networks from namespaces named nsl-lesson<N>-<name> (nothing else on the
host is touched) and check each step with real traffic, the static walk and the doctor.
Progress (the steps whose check passed) is kept in ~/.local/state/netscope/lessons.json
($XDG_STATE_HOME); under sudo, the invoking user's.
"""


def add_parser(sub) -> None:
    p = add_command(
        sub, "learn", help="guided lessons: container networking step by step, checked live",
        description="Lessons from namespaces and veth pairs to Kubernetes services and "
                    "network policy, each step a few commands and a check; the last lesson "
                    "is troubleshooting drills on the labs' broken variants.",
        epilog=EPILOG, run=run, json_doc="docs/cli.md#learn",
        live_only="lessons build and check namespaces on the live host",
        exits=((0, "success (with a check: it passed; with --answer: right)"),
               (1, "the step's check did not pass, or the answer is not the fault")))
    p.add_argument("lesson", nargs="?", metavar="LESSON",
                   help="a lesson's number or id (without it: the list of lessons)")
    p.add_argument("--step", type=values.positive_int, metavar="N",
                   help="print step N (a puzzle, in the drills) and run its check (root)")
    p.add_argument("--do", action="store_true",
                   help="run the step's commands (or bring the puzzle up), then check (root)")
    p.add_argument("--end", action="store_true",
                   help="remove everything the lesson created (root)")
    p.add_argument("--hint", action="store_true",
                   help="drills: the next hint for the puzzle that is up")
    p.add_argument("--answer", metavar="FAULT",
                   help="drills: name the fault (a fault id of `netscope lab list NAME`)")


def _load(ref: str):
    from netscope.labs.lessons import LessonError, find

    try:
        return find(ref)
    except (LookupError, LessonError) as e:
        raise UserError(str(e)) from None


# ---------------------------------------------------------------------- run

def run(args) -> int:
    if args.lesson is None:
        if args.step or args.do or args.end or args.hint or args.answer:
            raise UserError("name the lesson: `netscope learn 3 --step 2` (`netscope learn` "
                            "lists them)")
        return run_list(args)
    lesson = _load(args.lesson)
    if lesson.drills:
        from netscope.cli.learn_drills import run_drills

        return run_drills(args, lesson)
    if args.hint or args.answer:
        raise UserError(f"--hint and --answer are for the drills; lesson {lesson.number} has "
                        "steps: `--step N` prints one and checks it")
    if args.end:
        if args.step or args.do:
            raise UserError("--end removes the whole lesson: give it alone")
        return run_end(args, lesson)
    if args.step is None and not args.do:
        return run_show(args, lesson)
    return run_step(args, lesson)


def run_list(args) -> int:
    from netscope.actions import lesson_progress, lessons
    from netscope.labs.lessons import LessonError, load_all

    try:
        found = load_all()
    except LessonError as e:
        raise UserError(str(e)) from None
    done = lesson_progress.load()["done"]
    rows = [{"number": x.number, "id": x.id, "title": x.title, "summary": x.summary,
             "drills": x.drills, "steps": len(x.steps), "done": done.get(x.id, []),
             "started": lessons.is_started(x)} for x in found]
    if args.json:
        return dump({"format": FORMAT, "version": VERSION, "lessons": rows})
    for row in rows:
        if row["drills"]:
            mark = f"{len(row['done'])} solved"
        else:
            mark = f"{len(row['done'])}/{row['steps']} done"
        started = "  (started)" if row["started"] else ""
        print(f"{row['number']:>3}  {row['title']:<48} {mark:<10}{started}")
        print(f"     {row['summary']}")
    print("\n`netscope learn N` shows lesson N and its next step; `sudo netscope learn N --step "
          "S --do` runs step S.")
    return 0


def _lesson_json(lesson, done: list[int], applied: list[int]) -> dict:
    from netscope.actions.lesson_plan import fill_state, step_ops

    return {"number": lesson.number, "id": lesson.id, "title": lesson.title,
            "summary": lesson.summary, "instance": lesson.instance,
            "namespaces": {n: lesson.netns(n) for n in lesson.namespaces},
            "steps": [{"number": s.number, "title": s.title,
                       "text": fill_state(s.text, lesson),
                       "commands": [op.shell() for op in step_ops(lesson, s)],
                       "show": [lesson.place(x) for x in s.show],
                       "after": fill_state(s.after, lesson),
                       "done": s.number in done, "ran": s.number in applied}
                      for s in lesson.steps]}


def _doc(lesson, done, applied, **more) -> dict:
    return {"format": FORMAT, "version": VERSION, "lesson": _lesson_json(lesson, done, applied),
            "step": None, "ran": None, "check": None, "removed": None, **more}


def print_step(lesson, step, ran: bool = False) -> None:
    from netscope.actions.lesson_plan import fill_state, step_ops

    print(f"lesson {lesson.number}: {lesson.title}")
    print(f"step {step.number} of {len(lesson.steps)}: {step.title}")
    print()
    for line in wrap(fill_state(step.text, lesson)):
        print(line)
    ops = step_ops(lesson, step)
    if ops:
        print()
        print("  commands" + ("" if ran else f" (type them, or `sudo netscope learn "
                                              f"{lesson.number} --step {step.number} --do`)")
              + ":")
        for op in ops:
            for line in op.shell().splitlines():
                print(f"    {line}")
    if step.show:
        print()
        print("  look at: " + ", ".join(lesson.place(x) for x in step.show))


def run_show(args, lesson) -> int:
    from netscope.actions import lesson_progress, lessons

    done = lesson_progress.done_steps(lesson.id)
    applied = lessons.applied_steps(lesson)
    if args.json:
        return dump(_doc(lesson, done, applied))
    print(f"lesson {lesson.number}: {lesson.title}")
    for line in wrap(lesson.summary):
        print(line)
    print()
    for s in lesson.steps:
        mark = "done" if s.number in done else "ran " if s.number in applied else "    "
        print(f"  [{mark}] {s.number}. {s.title}")
    nxt = next((s for s in lesson.steps if s.number not in done), None)
    print()
    if nxt is None:
        print(f"every step is done. `sudo netscope learn {lesson.number} --end` removes what "
              "the lesson made.")
        return 0
    print_step(lesson, nxt)
    print()
    print(f"`sudo netscope learn {lesson.number} --step {nxt.number}` checks it.")
    return 0


def _pick_step(args, lesson, applied: list[int]) -> int:
    if args.step is not None:
        if args.step > len(lesson.steps):
            raise UserError(f"lesson {lesson.number} has steps 1-{len(lesson.steps)}: "
                            f"--step {args.step} is not one")
        return args.step
    left = [s.number for s in lesson.steps if s.number not in applied]
    if not left:
        raise UserError(f"every step of lesson {lesson.number} ran: `--step N` checks one, "
                        "`--end` starts over")
    return left[0]


def run_step(args, lesson) -> int:
    from netscope.actions import lesson_progress, lessons
    from netscope.actions.lesson_check import run_step_check
    from netscope.actions.plan import sigterm_interrupts

    applied = lessons.applied_steps(lesson)
    number = _pick_step(args, lesson, applied)
    step = lesson.step(number)
    runs = []
    if args.do:
        refuse_read_only(args, "learn --do changes the host", "drop --do to only check")
        require_root("learn --do")
        try:
            with sigterm_interrupts():
                runs = lessons.do_step(lesson, number)
        except lessons.LessonRunError as e:
            raise UserError(str(e)) from None
        except KeyboardInterrupt:
            _abandon(lesson)
            raise
    require_root(f"checking step {number}" if not args.json else "learn --step")
    if not args.json:
        print_step(lesson, step, ran=bool(runs))
        earlier = [str(r.number) for r in runs if r.catching_up]
        if earlier:
            print(f"\n  (steps {', '.join(earlier)} ran first: netscope had not run them)")
        if runs:
            print("\n  ran: the commands above (journaled; `--end` removes what they made)")
        print()
    result = run_step_check(lesson, step.check)
    if result.passed:
        lesson_progress.mark_done(lesson.id, number)
    if args.json:
        done = lesson_progress.done_steps(lesson.id)
        return dump(_doc(lesson, done, lessons.applied_steps(lesson), step=number,
                         ran=[{"step": r.number, "commands": list(r.commands)} for r in runs],
                         check={"passed": result.passed, "lines": list(result.lines),
                                "path": _path_json(result.journey)}),
                    0 if result.passed else 1)
    print_check(lesson, step, result)
    return 0 if result.passed else 1


def _abandon(lesson) -> None:
    """Ctrl-C (or SIGTERM) while a step runs: the lesson is abandoned, and everything it
    made is removed (from its journal)."""
    from netscope.actions import lessons

    print(f"netscope: interrupted: removing what lesson {lesson.number} made",
          file=sys.stderr)
    try:
        lessons.end(lesson)
    except lessons.LessonRunError as e:
        print(f"netscope: {e}", file=sys.stderr)


def _path_json(journey) -> dict | None:
    if journey is None:
        return None
    from netscope.cli.journey_text import path_document

    return path_document(journey)


def print_check(lesson, step, result) -> None:
    from netscope.actions.lesson_plan import fill_state
    from netscope.cli.journey_text import render_path

    if step.check.empty:
        print("check: nothing to check in this step.")
    else:
        print("check:")
        for line in result.lines:
            print(f"  {line}")
    if result.journey is not None:
        print()
        for line in render_path(result.journey):
            print(f"    {line}" if line else "")
    print()
    if result.passed:
        print("passed." + (f" {fill_state(step.after, lesson)}" if step.after else ""))
        if step.number < len(lesson.steps):
            print(f"next: `netscope learn {lesson.number} --step {step.number + 1}`")
        else:
            print(f"that was the last step: `sudo netscope learn {lesson.number} --end` "
                  "removes what the lesson made.")
    else:
        print(f"not yet: the check did not pass. Did step {step.number}'s commands run? "
              f"(`sudo netscope learn {lesson.number} --step {step.number} --do` runs them)")


def run_end(args, lesson) -> int:
    removed = end_lesson(args, lesson, "lesson's")
    if args.json:
        from netscope.actions import lesson_progress

        return dump(_doc(lesson, lesson_progress.done_steps(lesson.id), [],
                         removed=removed))
    for line in removed:
        print(line)
    what = "everything it made is removed" if removed else "nothing of it was on this host"
    print(f"lesson {lesson.number} ended: {what}")
    return 0
