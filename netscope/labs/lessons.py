"""Lessons: guided steps through container networking, written as data (topology/lessons/).

A lesson file is TOML (format in topology/README.md, "Lessons"):

    [lesson]
    number = 1
    id = "namespaces"
    title = "Namespaces and a veth pair, by hand"
    summary = "one line"
    namespaces = ["red", "blue"]      # every namespace the lesson may create

    [[step]]
    title = "Two network namespaces"
    text = '''what happens, in words'''
    do = ["ip netns add {red}", "ip netns add {blue}"]   # what the step runs
    show = ["red", "blue:veth-blue"]  # what to highlight on the topology
    check = { exists = ["red", "blue"] }

`{name}` in a command is the lesson's namespace `name` (`nsl-lesson1-red`), so everything a
lesson creates lives in lab namespaces and goes away with them. Commands become netscope's
operations in netscope.actions.lesson_plan, which refuses one that would act outside the
lesson's namespaces or that it does not know.
Checks: `exists` (namespaces and devices), `reach` (real traffic, as a lab check),
`path` (the static walk's verdict, and hops it must cross), `doctor` (a finding present or
absent). A drill lesson (`drills = true`) has no steps: it turns each lab's broken variants
into puzzles (netscope.actions.lessons).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from netscope.labs.topology import CHECK_OUTCOMES, CHECK_PROTOS, ns_name

NAME_RE = re.compile(r"^[a-z][a-z0-9]{0,11}$")
ID_RE = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
MAX_STEPS = 40
MAX_FILE = 256 * 1024
PATH_ENDS = ("delivered", "dropped", "no_route", "left_host", "uncertain", "unknown")


class LessonError(ValueError):
    """A lesson file that cannot be used; the message names the file and the place."""


@dataclass(frozen=True)
class Reach:
    """Real traffic from a lesson namespace, judged as a lab check judges it."""

    src: str
    dst: str
    proto: str = "icmp"
    port: int | None = None
    expect: str = "ok"


@dataclass(frozen=True)
class PathCheck:
    """The static walk from `src` to `dst`: how it must end, and places it must cross
    (`ns` or `ns:dev`, lesson names) or steps it must show (`nat`, `encap` ...)."""

    src: str
    dst: str
    proto: str = "icmp"
    port: int | None = None
    end: str = "delivered"
    via: tuple[str, ...] = ()
    steps: tuple[str, ...] = ()


@dataclass(frozen=True)
class Check:
    """What tells the learner the step worked: every part given must hold."""

    exists: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    reach: tuple[Reach, ...] = ()
    path: PathCheck | None = None
    doctor: tuple[str, ...] = ()        # finding checks that must be reported
    healthy: tuple[str, ...] = ()       # finding checks that must not be

    @property
    def empty(self) -> bool:
        return not (self.exists or self.absent or self.reach or self.path or self.doctor
                    or self.healthy)


@dataclass(frozen=True)
class Step:
    title: str
    text: str
    commands: tuple[str, ...] = ()      # as written, placeholders filled
    show: tuple[str, ...] = ()          # lesson names: "ns" or "ns:dev"
    check: Check = field(default_factory=Check)
    after: str = ""                     # said once the check passes


@dataclass(frozen=True)
class Lesson:
    number: int
    id: str
    title: str
    summary: str
    namespaces: tuple[str, ...]
    steps: tuple[Step, ...]
    path: str
    drills: bool = False
    needs: tuple[str, ...] = ()         # programs the lesson runs (checked before it starts)

    @property
    def instance(self) -> str:
        """The lab instance the lesson's namespaces and journal belong to."""
        return f"lesson{self.number}"

    def netns(self, name: str) -> str:
        """The namespace a lesson name stands for (`red` -> `nsl-lesson1-red`)."""
        return ns_name(self.instance, name)

    @property
    def all_netns(self) -> list[str]:
        return [self.netns(n) for n in self.namespaces]


# ---------------------------------------------------------------------- commands

def _fill(text: str, names: tuple[str, ...], instance: str, where: str) -> str:
    def one(m: re.Match) -> str:
        if m.group(1) not in names:
            raise LessonError(f"{where}: {{{m.group(1)}}} is not one of the lesson's "
                              f"namespaces ({', '.join(names)})")
        return ns_name(instance, m.group(1))
    return PLACEHOLDER.sub(one, text)


# ---------------------------------------------------------------------- checks

def _strs(value, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise LessonError(f"{where}: expected a list of strings")
    return tuple(value)


def _table(value, where: str, known: set[str]) -> dict:
    if not isinstance(value, dict):
        raise LessonError(f"{where}: expected a table")
    unknown = set(value) - known
    if unknown:
        raise LessonError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    return value


def _name_ref(ref: str, names: tuple[str, ...], where: str) -> str:
    if ref.split(":", 1)[0] not in names:
        raise LessonError(f"{where}: {ref!r} names no lesson namespace ({', '.join(names)})")
    return ref


def _port(value, where: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 65535:
        raise LessonError(f"{where}: port must be 1-65535")
    return value


def _reach(raw, names, where: str) -> Reach:
    t = _table(raw, where, {"from", "to", "proto", "port", "expect"})
    proto = t.get("proto", "icmp")
    if proto not in CHECK_PROTOS:
        raise LessonError(f"{where}.proto: one of {', '.join(CHECK_PROTOS)}")
    expect = t.get("expect", "ok")
    if expect not in CHECK_OUTCOMES:
        raise LessonError(f"{where}.expect: one of {', '.join(CHECK_OUTCOMES)}")
    if "from" not in t or "to" not in t:
        raise LessonError(f"{where}: needs from and to")
    port = _port(t.get("port"), f"{where}.port")
    if proto != "icmp" and port is None:
        raise LessonError(f"{where}: {proto} needs a port")
    return Reach(_name_ref(t["from"], names, f"{where}.from"), str(t["to"]), proto, port,
                 expect)


def _path(raw, names, where: str) -> PathCheck:
    t = _table(raw, where, {"from", "to", "proto", "port", "end", "via", "steps"})
    if "from" not in t or "to" not in t:
        raise LessonError(f"{where}: needs from and to")
    end = t.get("end", "delivered")
    if end not in PATH_ENDS:
        raise LessonError(f"{where}.end: one of {', '.join(PATH_ENDS)}")
    via = tuple(_name_ref(v, names, f"{where}.via") for v in _strs(t.get("via", []),
                                                                     f"{where}.via"))
    return PathCheck(_name_ref(t["from"], names, f"{where}.from"), str(t["to"]),
                     t.get("proto", "icmp"), _port(t.get("port"), f"{where}.port"), end, via,
                     _strs(t.get("steps", []), f"{where}.steps"))


def _check(raw, names, where: str) -> Check:
    t = _table(raw, where, {"exists", "absent", "reach", "path", "doctor", "healthy"})
    reach = t.get("reach", [])
    reach = [reach] if isinstance(reach, dict) else reach
    if not isinstance(reach, list):
        raise LessonError(f"{where}.reach: a table or a list of tables")
    return Check(
        exists=tuple(_name_ref(x, names, f"{where}.exists")
                     for x in _strs(t.get("exists", []), f"{where}.exists")),
        absent=tuple(_name_ref(x, names, f"{where}.absent")
                     for x in _strs(t.get("absent", []), f"{where}.absent")),
        reach=tuple(_reach(r, names, f"{where}.reach[{i}]") for i, r in enumerate(reach)),
        path=_path(t["path"], names, f"{where}.path") if "path" in t else None,
        doctor=_strs(t.get("doctor", []), f"{where}.doctor"),
        healthy=_strs(t.get("healthy", []), f"{where}.healthy"))


# ---------------------------------------------------------------------- files

STEP_KEYS = {"title", "text", "do", "show", "check", "after"}
LESSON_KEYS = {"number", "id", "title", "summary", "namespaces", "drills", "needs"}


def load_lesson(path: Path) -> Lesson:
    """A lesson file, checked whole. Raises LessonError naming the file and the place."""
    where = path.name
    try:
        raw = path.read_bytes()
        if len(raw) > MAX_FILE:
            raise LessonError(f"{where}: bigger than {MAX_FILE // 1024} KiB")
        doc = tomllib.loads(raw.decode())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError) as e:
        raise LessonError(f"{where}: cannot read it: {e}") from None
    head = _table(doc.get("lesson"), f"{where} [lesson]", LESSON_KEYS)
    unknown = set(doc) - {"lesson", "step"}
    if unknown:
        raise LessonError(f"{where}: unknown section {sorted(unknown)[0]!r}")
    number, ident = head.get("number"), head.get("id")
    if not isinstance(number, int) or isinstance(number, bool) or not 1 <= number <= 99:
        raise LessonError(f"{where} [lesson].number: 1-99")
    if not isinstance(ident, str) or not ID_RE.match(ident):
        raise LessonError(f"{where} [lesson].id: lowercase letters, digits and '-'")
    names = _strs(head.get("namespaces", []), f"{where} [lesson].namespaces")
    bad = [n for n in names if not NAME_RE.match(n)]
    if bad:
        raise LessonError(f"{where}: namespace name {bad[0]!r}: 1-12 lowercase letters/digits")
    for key in ("title", "summary"):
        if not isinstance(head.get(key), str) or not head[key].strip():
            raise LessonError(f"{where} [lesson].{key}: required text")
    instance = f"lesson{number}"
    steps = []
    raw_steps = doc.get("step", [])
    if not isinstance(raw_steps, list) or len(raw_steps) > MAX_STEPS:
        raise LessonError(f"{where}: at most {MAX_STEPS} [[step]] tables")
    for i, s in enumerate(raw_steps, 1):
        at = f"{where} step {i}"
        s = _table(s, at, STEP_KEYS)
        if not isinstance(s.get("title"), str) or not isinstance(s.get("text"), str):
            raise LessonError(f"{at}: title and text are required")
        commands = tuple(_fill(c, names, instance, f"{at}.do")
                         for c in _strs(s.get("do", []), f"{at}.do"))
        steps.append(Step(
            title=s["title"], text=_fill(s["text"], names, instance, f"{at}.text"),
            commands=commands,
            show=tuple(_name_ref(x, names, f"{at}.show") for x in _strs(s.get("show", []),
                                                                         f"{at}.show")),
            check=_check(s.get("check", {}), names, f"{at}.check"),
            after=_fill(s.get("after", ""), names, instance, f"{at}.after")))
    drills = bool(head.get("drills", False))
    if not steps and not drills:
        raise LessonError(f"{where}: a lesson needs at least one [[step]]")
    return Lesson(number, ident, head["title"].strip(), head["summary"].strip(), names,
                  tuple(steps), str(path), drills,
                  _strs(head.get("needs", []), f"{where} [lesson].needs"))


def lessons_dir() -> Path:
    from netscope.labs.catalog import topology_dir

    return topology_dir() / "lessons"


def load_all(directory: Path | None = None) -> list[Lesson]:
    """Every lesson, in number order. Raises LessonError for a broken file or two lessons
    with one number or id."""
    lessons = [load_lesson(p) for p in sorted((directory or lessons_dir()).glob("*.toml"))]
    for attr in ("number", "id"):
        seen: dict = {}
        for lesson in lessons:
            key = getattr(lesson, attr)
            if key in seen:
                raise LessonError(f"{Path(lesson.path).name} and {seen[key]} have the same "
                                  f"{attr} {key}")
            seen[key] = Path(lesson.path).name
    return sorted(lessons, key=lambda x: x.number)


def find(ref: str, directory: Path | None = None) -> Lesson:
    """A lesson by number ("3") or id ("nat"). Raises LookupError listing the lessons."""
    lessons = load_all(directory)
    for lesson in lessons:
        if ref in (str(lesson.number), lesson.id):
            return lesson
    known = ", ".join(f"{x.number} {x.id}" for x in lessons)
    raise LookupError(f"no lesson {ref!r} (lessons: {known})")
