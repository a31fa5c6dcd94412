"""`netscope learn DRILLS`: the labs' broken variants as puzzles (netscope.actions.drills).

    netscope learn 10                      the puzzles, which are solved, which is up
    sudo netscope learn 10 --step 3 --do   bring puzzle 3 up (as lab instance lesson10) and
                                           show its symptom (the lab's traffic, really sent)
    netscope learn 10 --hint               the next hint: where, then what, the doctor last
    netscope learn 10 --answer FAULT       judged; right: the explanation
    sudo netscope learn 10 --end           remove it
"""

from __future__ import annotations

from netscope.cli.convention import refuse_read_only
from netscope.cli.errors import UserError
from netscope.cli.learn_text import FORMAT, VERSION, dump, end_lesson, require_root, wrap


def _drills():
    from netscope.actions import drills

    return drills


def run_drills(args, lesson) -> int:
    drills = _drills()
    try:
        if args.end:
            if args.step or args.do or args.hint or args.answer:
                raise UserError("--end removes the puzzle that is up: give it alone")
            return _end(args, lesson)
        if args.answer is not None:
            return _answer(args, lesson)
        if args.hint:
            return _hint(args, lesson)
        if args.step is not None or args.do:
            return _puzzle(args, lesson)
        return _list(args, lesson)
    except (drills.DrillError, LookupError) as e:
        raise UserError(str(e)) from None


def _end(args, lesson) -> int:
    removed = end_lesson(args, lesson, "puzzle's")
    if args.json:
        return dump(_doc(lesson, removed=removed))
    for line in removed:
        print(line)
    print(f"lesson {lesson.number} ended: "
          + ("the puzzle's lab is removed" if removed else "no puzzle was up"))
    return 0


def _doc(lesson, **more) -> dict:
    from netscope.actions import lesson_progress

    drills = _drills()
    solved = lesson_progress.done_steps(lesson.id)
    up = drills.current(lesson)
    return {"format": FORMAT, "version": VERSION,
            "lesson": {"number": lesson.number, "id": lesson.id, "title": lesson.title,
                       "summary": lesson.summary, "instance": lesson.instance,
                       "drills": True, "puzzles": [
                           {"number": p.number, "lab": p.lab, "symptom": p.report,
                            "solved": p.number in solved,
                            "hints": lesson_progress.hints_taken(p.key(lesson)),
                            "up": up is not None and up.number == p.number}
                           for p in drills.puzzles()]},
            "puzzle": None, "symptoms": None, "hints": None, "answer": None,
            "removed": None, **more}


def _list(args, lesson) -> int:
    from netscope.actions import lesson_progress

    drills = _drills()
    if args.json:
        return dump(_doc(lesson))
    solved = lesson_progress.done_steps(lesson.id)
    up = drills.current(lesson)
    print(f"lesson {lesson.number}: {lesson.title}")
    for line in wrap(lesson.summary):
        print(line)
    print()
    for p in drills.puzzles():
        mark = "solved" if p.number in solved else "UP" if up and up.number == p.number \
            else ""
        print(f"  {p.number:>2}. [{mark:<6}] {p.lab:<15} {_short(p.report)}")
    print(f"\n`sudo netscope learn {lesson.number} --step N --do` brings puzzle N up; then find "
          "the fault with netscope's views (show, path, doctor, the TUI).")
    return 0


def _short(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[:width - 3].rstrip() + "..."


def _target(args, lesson):
    """The puzzle `--step N` names, else the one that is up."""
    drills = _drills()
    if args.step is not None:
        return drills.puzzle(args.step)
    up = drills.current(lesson)
    if up is None:
        raise UserError(f"no puzzle is up: `sudo netscope learn {lesson.number} --step N --do`"
                        " brings one up")
    return up


def _puzzle(args, lesson) -> int:
    drills = _drills()
    number = args.step if args.step is not None else _target(args, lesson).number
    removed: list[str] = []
    if args.do:
        refuse_read_only(args, "learn --do brings a broken lab up", "drop --do")
        require_root("learn --do")
        from netscope.actions.plan import PlanFailed

        try:
            p, removed = drills.start(lesson, number)
        except (PlanFailed, drills.labs.LabError) as e:
            raise UserError(f"puzzle {number} did not come up: {e}") from None
    else:
        p = drills.puzzle(number)
    up = drills.current(lesson)
    is_up = up is not None and up.number == p.number
    found = []
    if is_up:
        require_root("showing the symptom")
        found = drills.symptoms(lesson, p)
    reproduced = is_up and all(s.outcome == s.predicted for s in found)
    if args.json:
        return dump(_doc(lesson, puzzle={"number": p.number, "lab": p.lab,
                                         "symptom": p.report, "up": is_up,
                                         "namespaces": drills.lesson_netns(lesson, p)},
                         symptoms=[{"what": s.what, "outcome": s.outcome,
                                    "healthy": s.healthy, "detail": s.detail}
                                   for s in found], removed=removed),
                    0 if reproduced or not is_up else 1)
    for line in removed:
        print(f"# {line}")
    print(f"lesson {lesson.number}, puzzle {p.number}: something is wrong in the {p.lab} lab")
    print()
    for line in wrap(f"What users report: {p.report}"):
        print(line)
    print()
    if not is_up:
        print(f"it is not up: `sudo netscope learn {lesson.number} --step {p.number} --do`")
        return 0
    print("  namespaces: " + ", ".join(drills.lesson_netns(lesson, p)))
    print()
    print("what the lab's traffic does now (sent for real):")
    for s in found:
        mark = "BROKEN" if s.broken else "fine  "
        print(f"  {mark} {s.what}: {s.outcome} (a healthy {p.lab} lab: {s.healthy})")
    print()
    print("find the fault with netscope (`netscope show`, `path`, `show --netfilter`, the TUI), "
          f"then `netscope learn {lesson.number} --answer FAULT`; `--hint` helps.")
    return 0 if reproduced else 1


def _hint(args, lesson) -> int:
    from netscope.actions import lesson_progress

    drills = _drills()
    p = _target(args, lesson)
    key = p.key(lesson)
    taken = min(lesson_progress.hints_taken(key) + 1, drills.HINTS)
    if taken == drills.HINTS:
        require_root("the doctor's hint")
    hints = [drills.hint(lesson, p, n) for n in range(1, taken + 1)]
    if lesson_progress.hints_taken(key) < drills.HINTS:
        lesson_progress.take_hint(key)
    if args.json:
        return dump(_doc(lesson, puzzle={"number": p.number, "lab": p.lab}, hints=hints))
    names = ("where to look", "what to look at", "the doctor")
    for n, text in enumerate(hints, 1):
        print(f"hint {n} ({names[n - 1]}):")
        for line in wrap(text):
            print(line)
    if taken < drills.HINTS:
        print(f"\n`netscope learn {lesson.number} --hint` again for the next one.")
    return 0


def _answer(args, lesson) -> int:
    from netscope.actions import lesson_progress
    from netscope.labs.faults import FAULTS

    drills = _drills()
    p = _target(args, lesson)
    right = drills.judge(p, args.answer)
    if right:
        lesson_progress.mark_done(lesson.id, p.number)
    if args.json:
        return dump(_doc(lesson, puzzle={"number": p.number, "lab": p.lab},
                         answer={"given": args.answer, "right": right,
                                 "fault": p.fault if right else None,
                                 "explain": p.summary if right else None}),
                    0 if right else 1)
    if not right:
        print(f"not that: puzzle {p.number} is not {args.answer}. Look again "
              f"(`netscope learn {lesson.number} --hint` helps).")
        return 1
    print(f"right: {p.fault} - {FAULTS[p.fault].title}.")
    for line in wrap(f"In this lab: {p.summary}. {p.symptom}"):
        print(line)
    print(f"\n`netscope doctor` names the finding and `sudo netscope repair` fixes it; "
          f"`sudo netscope learn {lesson.number} --end` removes the lab.")
    return 0
