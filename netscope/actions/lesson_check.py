"""Judge a lesson step's check on the live host: a fresh snapshot (namespaces, devices, the
static walk, the doctor) and real traffic between the lesson's namespaces (as `lab check`
sends it). Changes nothing; needs root (it enters every namespace)."""

from __future__ import annotations

from dataclasses import dataclass

from netscope.actions.probe import run_check
from netscope.labs.lessons import Check, Lesson, PathCheck, Reach
from netscope.labs.topology import Check as LabCheck
from netscope.model import Snapshot
from netscope.model.journey import Journey

OK_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class CheckResult:
    """Whether a step's check passed, one line per thing it looked at (starting "ok " or
    "NO "), the walk when the check has a path (its hops shown to the learner, the NAT
    or drop hop highlighted) and the snapshot it judged."""

    passed: bool
    lines: tuple[str, ...]
    journey: Journey | None = None
    snapshot: Snapshot | None = None


def _mark(good: bool) -> str:
    return "ok " if good else "NO "


def run_step_check(lesson: Lesson, check: Check, timeout: float = 1.0,
                   snapshot: Snapshot | None = None, traffic: bool = True) -> CheckResult:
    """Look at the host (a fresh snapshot, real traffic) and judge the check.

    With `snapshot` (a saved one, the TUI offline), the parts that read the host judge it
    instead; without `traffic` the real-traffic parts are skipped (a line says so, and the
    result does not pass: it was not all checked)."""
    lines: list[str] = []
    ok = True
    journey = None
    if check.reads_host and snapshot is None:
        from netscope.collect.runner import collect_snapshot

        snapshot = collect_snapshot()
    for ref in check.exists:
        found = _exists(snapshot, lesson, ref)
        ok &= found
        lines.append(f"{_mark(found)} {_ref_text(lesson, ref)} exists")
    for ref in check.absent:
        gone = not _exists(snapshot, lesson, ref)
        ok &= gone
        lines.append(f"{_mark(gone)} {_ref_text(lesson, ref)} is gone")
    for r in check.reach:
        if not traffic:
            ok = False
            lines.append(f"--  {r.describe()}: not sent (real traffic needs the live host)")
            continue
        good, line = _reach(lesson, r, timeout)
        ok &= good
        lines.append(line)
    if check.path is not None:
        good, line, journey = _path(snapshot, lesson, check.path)
        ok &= good
        lines.append(line)
    if check.doctor or check.healthy:
        found = _findings(snapshot, lesson)
        for name in check.doctor:
            hit = [f for f in found if f.check == name]
            ok &= bool(hit)
            lines.append(f"{_mark(bool(hit))} doctor reports {name}"
                         + (f": {hit[0].summary}" if hit else ""))
        for name in check.healthy:
            hit = [f for f in found if f.check == name]
            ok &= not hit
            lines.append(f"{_mark(not hit)} doctor does not report {name}"
                         + (f" (it does: {hit[0].summary})" if hit else ""))
    return CheckResult(ok, tuple(lines), journey, snapshot)


def _reach(lesson: Lesson, r: Reach, timeout: float) -> tuple[bool, str]:
    # an answer comes as soon as it comes: waiting longer for one costs nothing when things
    # work, and a first packet over a new path (ARP, a VXLAN FDB) may take most of a second
    if r.expect not in ("timeout", "unreachable"):
        timeout = max(timeout, OK_TIMEOUT_S)
    res = run_check(LabCheck(key="lesson", src=r.src, dst=r.dst, proto=r.proto,
                             expect=r.expect, port=r.port, reply=r.reply,
                             reply_all=r.reply_all, peer=r.peer, payload=r.payload),
                    lesson.netns(r.src), timeout=timeout)
    good = res.outcome == r.expect
    detail = f": {res.detail}" if res.detail else ""
    described = r.describe().replace(f" from {r.src} ", f" from {lesson.netns(r.src)} ", 1)
    return good, (f"{_mark(good)} {described}: {res.outcome} (expected {r.expect})"
                  f"{detail}")


def _ref_text(lesson: Lesson, ref: str) -> str:
    name, _, dev = ref.partition(":")
    return lesson.netns(name) + (f" device {dev}" if dev else "")


def _exists(snapshot, lesson: Lesson, ref: str) -> bool:
    name, _, dev = ref.partition(":")
    ns = next((n for n in snapshot.namespaces if n.name == lesson.netns(name)), None)
    if ns is None:
        return False
    return not dev or any(lk.netns == ns.id and lk.name == dev for lk in snapshot.links)


def _path(snapshot, lesson: Lesson, want: PathCheck) -> tuple[bool, str, Journey | None]:
    from netscope.analysis.path import EndpointError, path

    what = f"path {lesson.netns(want.src)} -> {want.dst}"
    if want.port:
        what += f" {want.proto}/{want.port}"
    try:
        journey = path(snapshot, lesson.netns(want.src), want.dst, want.proto, want.port,
                       want.size)
    except (EndpointError, ValueError) as e:
        return False, f"NO  {what} cannot be walked: {e}", None
    # a random choice (a service's endpoints) splits the walk: judge every way it can go
    outcomes = journey.outcomes()
    hops_of = [[*j.hops, *(j.reply.hops if j.reply else ())] for _, j in outcomes]
    places = {p for hops in hops_of for h in hops
              for p in (h.netns_name, f"{h.netns_name}:{h.device}")}
    missing = [v for v in want.via if lesson.place(v) not in places]
    lacking = [s for s in want.steps if not all(s in {h.step for h in hops}
                                                 for hops in hops_of)]
    replies = sorted({j.reply.verdict.value if j.reply else "none" for _, j in outcomes})
    reply_ok = want.reply is None or replies == [want.reply]
    says_ok = not want.says or want.says in journey.summary
    count_ok = want.branches is None or len(outcomes) == want.branches
    good = (journey.verdict.value == want.end and not missing and not lacking and reply_ok
            and says_ok and count_ok)
    line = (f"{_mark(good)} {what}: {journey.verdict.words} (expected "
            f"{want.end.replace('_', ' ')}): {journey.summary}")
    if len(outcomes) > 1 or want.branches is not None:
        shares = ", ".join(f"{p:.0%}" for p, _ in outcomes)
        line += f"; {len(outcomes)} ways ({shares})"
        if not count_ok:
            line += f", expected {want.branches}"
    if want.reply is not None:
        line += f"; the reply: {'/'.join(replies)} (expected {want.reply})"
    if missing:
        line += f"; it does not cross {', '.join(missing)}"
    if lacking:
        line += f"; no {', '.join(lacking)} step"
    if not says_ok:
        line += f"; it does not say {want.says!r}"
    return good, line, journey


def _findings(snapshot, lesson: Lesson):
    """Doctor findings about the lesson's namespaces."""
    from netscope.analysis.doctor import run_doctor

    mine = set(lesson.all_netns)
    return [f for f in run_doctor(snapshot)
            if any(ns in f.id or ns in f.summary for ns in mine)]
