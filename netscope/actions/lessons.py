"""Running a lesson: its steps applied as a lab instance's journal, its checks, progress.

A lesson's namespaces and journal are those of lab instance `lesson<N>`
(`<state dir>/labs/lesson<N>.json`): the journal lists every namespace the lesson may create
before anything runs, each step's operations are journaled before they run
(netscope.actions.plan.apply_more), and `end` (or `netscope lab down lesson<N>`) removes
everything, after Ctrl-C or a crash too, whether a step ran the commands or the learner typed
them in a shell. Progress (the steps whose check passed) is kept per user in
$XDG_STATE_HOME/netscope/lessons.json (~/.local/state/netscope/lessons.json).
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from netscope.actions import journal as jr
from netscope.actions import labs, plan
from netscope.actions.execute import ActionFailed
from netscope.actions.lesson_plan import step_ops
from netscope.actions.ops import NetnsAdd
from netscope.actions.probe import run_check
from netscope.labs.lessons import Check, Lesson, PathCheck, Step
from netscope.labs.topology import Check as LabCheck


class LessonRunError(Exception):
    """A lesson cannot do what was asked; the message says what to run."""


@dataclass(frozen=True)
class CheckResult:
    """Whether a step's check passed, with one line per thing it looked at."""

    passed: bool
    lines: tuple[str, ...]


# ---------------------------------------------------------------------- steps

def _journal(lesson: Lesson) -> jr.Journal:
    """The lesson's journal, created (declaring every lesson namespace) if it is new."""
    path = labs.journal_path(lesson.instance)
    try:
        journal = jr.load(path)
    except jr.JournalError as e:
        raise LessonRunError(str(e)) from None
    if journal is not None:
        if journal.kind != "lesson" or journal.title != lesson.id:
            raise LessonRunError(f"lab instance {lesson.instance} is up as {journal.title}: run "
                                 f"`netscope lab down {lesson.instance}` first")
        return journal
    journal = jr.Journal(path, kind="lesson", title=lesson.id,
                         plan=[NetnsAdd(ns) for ns in lesson.all_netns], meta={
                             "lab": f"lesson {lesson.number}", "ref": lesson.id,
                             "instance": lesson.instance, "fault": None,
                             "nodes": {n: {"netns": lesson.netns(n), "role": "lesson"}
                                       for n in lesson.namespaces}})
    journal.state = jr.APPLIED  # nothing runs yet: the namespaces are only declared
    journal.save()
    return journal


def do_step(lesson: Lesson, step: Step) -> list[str]:
    """Run the step's commands (journaled first); returns them as shell lines.

    Raises LessonRunError when one fails (what ran before stays, recorded)."""
    ops = step_ops(lesson, step)
    path = labs.journal_path(lesson.instance)
    with labs.locked(path, lesson.all_netns, f"lesson {lesson.number}"):
        journal = _journal(lesson)
        try:
            plan.apply_more(journal, ops)
        except ActionFailed as e:
            raise LessonRunError(f"step failed: {e} (what ran is recorded; `netscope learn "
                                 f"{lesson.number} --end` removes everything)") from None
    return [op.shell() for op in ops]


def end(lesson: Lesson) -> list[str]:
    """Remove everything the lesson created (its lab instance); returns what was removed."""
    try:
        return labs.down(lesson.instance)
    except labs.LabError as e:
        raise LessonRunError(str(e)) from None


def is_started(lesson: Lesson) -> bool:
    return labs.journal_path(lesson.instance).exists() or any(
        os.path.lexists(os.path.join("/run/netns", ns)) for ns in lesson.all_netns)


# ---------------------------------------------------------------------- checks

def run_step_check(lesson: Lesson, check: Check) -> CheckResult:
    """Look at the host (a fresh snapshot, real traffic) and judge the step's check."""
    lines: list[str] = []
    ok = True
    snapshot = None
    if check.exists or check.absent or check.path or check.doctor or check.healthy:
        from netscope.collect.runner import collect_snapshot

        snapshot = collect_snapshot()
    for ref in check.exists:
        found = _exists(snapshot, lesson, ref)
        ok &= found
        lines.append(f"{'ok ' if found else 'NO '} {_ref_text(lesson, ref)} exists")
    for ref in check.absent:
        gone = not _exists(snapshot, lesson, ref)
        ok &= gone
        lines.append(f"{'ok ' if gone else 'NO '} {_ref_text(lesson, ref)} is gone")
    for r in check.reach:
        res = run_check(LabCheck(key="lesson", src=r.src, dst=r.dst, proto=r.proto,
                                 expect=r.expect, port=r.port), lesson.netns(r.src))
        good = res.outcome == r.expect
        ok &= good
        what = f"{r.proto}" + (f"/{r.port}" if r.port else "")
        detail = f" - {res.detail}" if res.detail else ""
        lines.append(f"{'ok ' if good else 'NO '} {what} from {r.src} to {r.dst}: "
                     f"{res.outcome} (expected {r.expect}){detail}")
    if check.path is not None:
        good, line = _path(snapshot, lesson, check.path)
        ok &= good
        lines.append(line)
    if check.doctor or check.healthy:
        found = _findings(snapshot, lesson)
        for name in check.doctor:
            hit = [f for f in found if f.check == name]
            ok &= bool(hit)
            lines.append(f"{'ok ' if hit else 'NO '} doctor reports {name}"
                         + (f": {hit[0].summary}" if hit else ""))
        for name in check.healthy:
            hit = [f for f in found if f.check == name]
            ok &= not hit
            lines.append(f"{'NO ' if hit else 'ok '} doctor does not report {name}"
                         + (f" (it does: {hit[0].summary})" if hit else ""))
    return CheckResult(ok, tuple(lines))


def _ref_text(lesson: Lesson, ref: str) -> str:
    name, _, dev = ref.partition(":")
    return lesson.netns(name) + (f" device {dev}" if dev else "")


def _exists(snapshot, lesson: Lesson, ref: str) -> bool:
    name, _, dev = ref.partition(":")
    ns = next((n for n in snapshot.namespaces if n.name == lesson.netns(name)), None)
    if ns is None:
        return False
    return not dev or any(lk.netns == ns.id and lk.name == dev for lk in snapshot.links)


def _path(snapshot, lesson: Lesson, want: PathCheck) -> tuple[bool, str]:
    from netscope.analysis.path import EndpointError, path

    try:
        journey = path(snapshot, lesson.netns(want.src.split(":")[0]), want.dst, want.proto,
                       want.port)
    except (EndpointError, ValueError) as e:
        return False, f"NO  the path from {want.src} to {want.dst} cannot be walked: {e}"
    hops = [*journey.hops, *(journey.reply.hops if journey.reply else ())]
    places = {h.netns_name for h in hops} | {f"{h.netns_name}:{h.device}" for h in hops}
    missing = [v for v in want.via if _ref_text_place(lesson, v) not in places]
    steps = {h.step for h in hops}
    lacking = [s for s in want.steps if s not in steps]
    good = journey.verdict.value == want.end and not missing and not lacking
    line = (f"{'ok ' if good else 'NO '} path {want.src} -> {want.dst}: {journey.verdict.words}"
            f" (expected {want.end.replace('_', ' ')})")
    if missing:
        line += f"; it does not cross {', '.join(missing)}"
    if lacking:
        line += f"; no {', '.join(lacking)} step"
    return good, line


def _ref_text_place(lesson: Lesson, ref: str) -> str:
    name, _, dev = ref.partition(":")
    return lesson.netns(name) + (f":{dev}" if dev else "")


def _findings(snapshot, lesson: Lesson):
    """Doctor findings about the lesson's namespaces."""
    from netscope.analysis.doctor import run_doctor

    mine = set(lesson.all_netns)
    return [f for f in run_doctor(snapshot)
            if any(ns in f.id or ns in f.summary for ns in mine)]


# ---------------------------------------------------------------------- progress

def progress_path() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local",
                                                           "state")
    return Path(base) / "netscope" / "lessons.json"


def load_progress() -> dict[str, list[int]]:
    """Lesson id -> step numbers whose check passed. A damaged file counts as empty."""
    try:
        data = json.loads(progress_path().read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or not isinstance(data.get("done"), dict):
        return {}
    return {k: sorted({n for n in v if isinstance(n, int) and not isinstance(n, bool)})
            for k, v in data["done"].items() if isinstance(k, str) and isinstance(v, list)}


def mark_done(lesson: Lesson, number: int) -> None:
    done = load_progress()
    done[lesson.id] = sorted(set(done.get(lesson.id, [])) | {number})
    path = progress_path()
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".lessons-")
        with os.fdopen(fd, "w") as f:
            json.dump({"done": done, "updated": datetime.datetime.now(
                datetime.UTC).isoformat(timespec="seconds")}, f)
        os.replace(tmp, path)
