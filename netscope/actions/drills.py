"""Troubleshooting drills (the lesson with `drills = true`): every broken variant of the labs
is a puzzle. The variant is brought up as the lesson's lab instance (`lesson<N>`, so `learn N
--end` and `netscope lab down lesson<N>` remove it), the learner sees its symptom (the lab's
test traffic, really sent, against what the healthy lab does) and looks for the fault with
netscope's views; hints come in order (where to look, what to look at, the doctor last) and
an answer (a fault id) is judged. The journal and `lab status` call it "lesson N puzzle K",
not by its variant's name, which would give the answer away.
"""

from __future__ import annotations

from dataclasses import dataclass

from netscope.actions import journal as jr
from netscope.actions import labs
from netscope.actions.probe import run_checks
from netscope.labs import catalog
from netscope.labs.faults import FAULTS
from netscope.labs.lessons import Lesson
from netscope.labs.topology import Topology

HINTS = 3


class DrillError(Exception):
    """What the learner asked cannot be done; the message says what to run."""


@dataclass(frozen=True)
class Puzzle:
    """One broken variant as a puzzle: `number` in `learn N`'s list, `ref` lab/variant."""

    number: int
    ref: str
    lab: str
    fault: str
    summary: str
    symptom: str        # as the lab file says it: what users see, then why
    target: str

    @property
    def report(self) -> str:
        """What users report, without the why (the symptom up to its first ": ")."""
        seen = self.symptom.split(": ", 1)[0].rstrip(".")
        return seen + "."

    def key(self, lesson: Lesson) -> str:
        """The puzzle's key in the progress file."""
        return f"{lesson.id}/{self.ref}"


@dataclass(frozen=True)
class Symptom:
    """One of the lab's checks, sent for real: what happened, and what a healthy lab does."""

    what: str
    outcome: str
    healthy: str
    predicted: str
    detail: str

    @property
    def broken(self) -> bool:
        return self.outcome != self.healthy


def puzzles() -> list[Puzzle]:
    """Every broken variant of every lab, in `netscope lab list` order."""
    out = []
    for lab in catalog.load_all():
        for v in lab.base.variants:
            out.append(Puzzle(len(out) + 1, f"{lab.name}/{v.key}", lab.name, v.fault,
                              v.summary, " ".join(v.symptom.split()), v.target))
    return out


def puzzle(number: int) -> Puzzle:
    found = puzzles()
    if not 1 <= number <= len(found):
        raise LookupError(f"the drills are puzzles 1-{len(found)}, not {number}")
    return found[number - 1]


def current(lesson: Lesson) -> Puzzle | None:
    """The puzzle that is up as the lesson's instance, if any."""
    try:
        journal = jr.load(labs.journal_path(lesson.instance))
    except jr.JournalError as e:
        raise DrillError(str(e)) from None
    if journal is None:
        return None
    ref = journal.meta.get("ref")
    return next((p for p in puzzles() if p.ref == ref), None)


def start(lesson: Lesson, number: int, progress=None) -> tuple[Puzzle, list[str]]:
    """Bring puzzle `number` up as the lesson's instance (whatever else was up there is
    removed first); returns it and what was removed."""
    wanted = puzzle(number)
    removed: list[str] = []
    up_now = current(lesson)
    if up_now is not None and up_now.ref == wanted.ref:
        return wanted, removed
    if labs.journal_path(lesson.instance).exists() or up_now is not None:
        removed = labs.down(lesson.instance, progress)
    labs.up(labs.resolve(wanted.ref), lesson.instance, progress,
            title=f"lesson {lesson.number} puzzle {number}",
            extra={"lesson": lesson.id, "puzzle": number})
    return wanted, removed


def topology(p: Puzzle) -> Topology:
    return labs.resolve(p.ref)


def symptoms(lesson: Lesson, p: Puzzle, timeout: float = 1.0) -> list[Symptom]:
    """The lab's test traffic sent in the puzzle's namespaces, beside what the healthy lab
    does."""
    broken, healthy = topology(p), labs.resolve(p.lab)
    expected = {c.key: c.expect for c in healthy.checks}
    out = []
    for check, result in zip(broken.checks, run_checks(broken, lesson.instance, timeout),
                             strict=True):
        what = (f"{lesson.netns(check.src)} -> {check.dst} {check.proto}"
                + (f"/{check.port}" if check.port else ""))
        out.append(Symptom(what, result.outcome, expected.get(check.key, check.expect),
                           check.expect, result.detail))
    return out


def _where(lesson: Lesson, p: Puzzle) -> str:
    node, _, link_key = p.target.partition(":")
    topo = topology(p)
    role = topo.node(node).role
    place = f"namespace {lesson.netns(node)} (the lab's {role})"
    if link_key:
        place += f", device {topo.link(link_key).name}"
    return f"Look at {place}."


def _path_command(lesson: Lesson, p: Puzzle) -> str:
    """`netscope path` for the first of the lab's checks that the fault changes."""
    healthy = {c.key: c.expect for c in labs.resolve(p.lab).checks}
    changed = [c for c in topology(p).checks if c.expect != healthy.get(c.key)
               and c.proto != "arp"] or list(topology(p).checks)
    c = changed[0]
    port = f" --proto {c.proto} --port {c.port}" if c.port else ""
    return f"netscope path {lesson.netns(c.src)} {c.dst}{port}"


def hint(lesson: Lesson, p: Puzzle, n: int) -> str:
    """The n-th hint (1: where to look, 2: what to look at, 3: what the doctor says)."""
    if n == 1:
        return _where(lesson, p)
    if n == 2:
        look = lesson.look.get(p.fault, "Look at what decides this traffic's fate there.")
        return f"{look} Walk the traffic that fails: `{_path_command(lesson, p)}`."
    from netscope.analysis.doctor import run_doctor
    from netscope.collect.runner import collect_snapshot

    mine = set(lesson_netns(lesson, p))
    found = [f for f in run_doctor(collect_snapshot())
             if any(ns in f.id or ns in f.summary for ns in mine)]
    if not found:
        return "The doctor reports nothing about these namespaces."
    return "The doctor says: " + "; ".join(f"{f.title} ({f.summary})" for f in found[:3])


def lesson_netns(lesson: Lesson, p: Puzzle) -> list[str]:
    return [lesson.netns(n.key) for n in topology(p).nodes]


def judge(p: Puzzle, answer: str) -> bool:
    """Whether `answer` names the puzzle's fault. Raises DrillError for a word that is no
    fault id at all (the list is shown)."""
    word = answer.strip().lower().replace("-", "_")
    if word not in FAULTS:
        raise DrillError(f"{answer!r} is not a fault id: one of {', '.join(sorted(FAULTS))}")
    return word == p.fault
