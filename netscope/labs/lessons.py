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
    after = "said once the check passes"

`{name}` in a command or text is the lesson's namespace `name` (`nsl-lesson1-red`), so
everything a lesson creates lives in lab namespaces and goes away with them; `{state}` is the
lesson's own directory under netscope's state directory (removed with the lesson), filled in
when the commands are planned (netscope.actions.lesson_plan). `[files]` holds texts a command
reads on its standard input (`... < NAME`: a CNI configuration). Commands become netscope's
operations in netscope.actions.lesson_plan, which refuses one that would act outside the
lesson's namespaces or that it does not know. Checks: netscope.labs.lesson_checks.

A drill lesson (`drills = true`) has no steps: each broken variant of the labs is a puzzle
(netscope.actions.drills), and `[look]` says, per fault id, what to look at (the second hint).
"""

from __future__ import annotations

import re
import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from netscope.labs.faults import FAULTS
from netscope.labs.lesson_checks import (
    Check,
    LessonError,
    PathCheck,
    Reach,
    name_ref,
    parse_check,
    strs,
    table,
)
from netscope.labs.topology import ns_name
from netscope.snapshot.files import FileRefused, read_regular

__all__ = ["Check", "Lesson", "LessonError", "PathCheck", "Reach", "Step", "find",
           "load_all", "load_lesson"]

NAME_RE = re.compile(r"^[a-z][a-z0-9]{0,11}$")
ID_RE = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
FILE_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{0,40}$")
PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9]{0,11})\}")
STATE = "state"  # the `{state}` placeholder: the lesson's directory
MAX_STEPS = 40
MAX_FILE = 256 * 1024


@dataclass(frozen=True)
class Step:
    """One step: what it says, the commands it runs (placeholders filled, `{state}` kept),
    what it highlights (lesson names: "ns" or "ns:dev"), its check and the words said once
    the check passes."""

    number: int
    title: str
    text: str
    commands: tuple[str, ...] = ()
    show: tuple[str, ...] = ()
    check: Check = field(default_factory=Check)
    after: str = ""


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
    files: dict[str, str] = field(default_factory=dict)
    look: dict[str, str] = field(default_factory=dict)   # drills: fault id -> what to see

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

    def step(self, number: int) -> Step:
        """Step `number` (1-based). Raises LookupError saying which steps there are."""
        if not 1 <= number <= len(self.steps):
            raise LookupError(f"lesson {self.number} has steps 1-{len(self.steps)}, not "
                              f"{number}")
        return self.steps[number - 1]

    def place(self, ref: str) -> str:
        """A lesson name "ns" or "ns:dev" with the namespace's real name."""
        name, _, dev = ref.partition(":")
        return self.netns(name) + (f":{dev}" if dev else "")


# ---------------------------------------------------------------------- placeholders

def _fill(text: str, names: tuple[str, ...], instance: str, where: str) -> str:
    def one(m: re.Match) -> str:
        if m.group(1) == STATE:
            return m.group(0)  # filled when planned: the state directory is the host's
        if m.group(1) not in names:
            raise LessonError(f"{where}: {{{m.group(1)}}} is not one of the lesson's "
                              f"namespaces ({', '.join(names)}) nor {{{STATE}}}")
        return ns_name(instance, m.group(1))
    return PLACEHOLDER.sub(one, text)


# ---------------------------------------------------------------------- files

STEP_KEYS = {"title", "text", "do", "show", "check", "after"}
LESSON_KEYS = {"number", "id", "title", "summary", "namespaces", "drills"}


def _read(path: Path) -> dict:
    where = path.name
    try:
        raw = read_regular(str(path), MAX_FILE, "lesson")
        return tomllib.loads(raw.decode())
    except FileRefused as e:
        raise LessonError(str(e)) from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError) as e:
        raise LessonError(f"{where}: cannot read it: {e}") from None


def _head(doc: dict, where: str) -> tuple[int, str, tuple[str, ...], bool]:
    head = table(doc.get("lesson"), f"{where} [lesson]", LESSON_KEYS)
    unknown = set(doc) - {"lesson", "step", "files", "look"}
    if unknown:
        raise LessonError(f"{where}: unknown section {sorted(unknown)[0]!r}")
    number, ident = head.get("number"), head.get("id")
    if not isinstance(number, int) or isinstance(number, bool) or not 1 <= number <= 99:
        raise LessonError(f"{where} [lesson].number: 1-99")
    if not isinstance(ident, str) or not ID_RE.match(ident):
        raise LessonError(f"{where} [lesson].id: lowercase letters, digits and '-'")
    names = strs(head.get("namespaces", []), f"{where} [lesson].namespaces")
    bad = [n for n in names if not NAME_RE.match(n) or n == STATE]
    if bad:
        raise LessonError(f"{where} [lesson].namespaces: {bad[0]!r}: 1-12 lowercase letters "
                          "and digits, starting with a letter (not 'state')")
    if len(set(names)) != len(names):
        raise LessonError(f"{where} [lesson].namespaces: a name is given twice")
    for key in ("title", "summary"):
        if not isinstance(head.get(key), str) or not head[key].strip():
            raise LessonError(f"{where} [lesson].{key}: required text")
    drills = head.get("drills", False)
    if not isinstance(drills, bool):
        raise LessonError(f"{where} [lesson].drills: true or false")
    return number, ident, names, drills


def _files(doc: dict, names, instance: str, where: str) -> dict[str, str]:
    files = doc.get("files", {})
    if not isinstance(files, dict):
        raise LessonError(f"{where} [files]: a table of name = text")
    out = {}
    for name, text in files.items():
        if not FILE_RE.match(name) or not isinstance(text, str):
            raise LessonError(f"{where} [files].{name}: a name of a-z0-9.- and a text")
        out[name] = _fill(text, names, instance, f"{where} [files].{name}")
    return out


def _look(doc: dict, drills: bool, where: str) -> dict[str, str]:
    look = doc.get("look", {})
    if look and not drills:
        raise LessonError(f"{where} [look]: only a drills lesson has it")
    if not isinstance(look, dict):
        raise LessonError(f"{where} [look]: a table of fault id = text")
    for fault, text in look.items():
        if fault not in FAULTS:
            raise LessonError(f"{where} [look].{fault}: not a fault id (netscope lab list "
                              "shows them)")
        if not isinstance(text, str) or not text.strip():
            raise LessonError(f"{where} [look].{fault}: required text")
    return {k: " ".join(v.split()) for k, v in look.items()}


def _step(raw, number: int, names, instance: str, files: dict, where: str) -> Step:
    at = f"{where} step {number}"
    s = table(raw, at, STEP_KEYS)
    if not isinstance(s.get("title"), str) or not isinstance(s.get("text"), str):
        raise LessonError(f"{at}: title and text are required")
    commands = tuple(_fill(c, names, instance, f"{at}.do")
                     for c in strs(s.get("do", []), f"{at}.do"))
    for command in commands:
        try:
            words = shlex.split(command)
        except ValueError as e:
            raise LessonError(f"{at}.do: cannot split {command!r}: {e}") from None
        if "<" in words:
            stdin = words[words.index("<") + 1:]
            if len(stdin) != 1 or stdin[0] not in files:
                raise LessonError(f"{at}.do: `< {' '.join(stdin)}`: give one name of [files] "
                                  f"({', '.join(files) or 'none'}) last")
    after = s.get("after", "")
    if not isinstance(after, str):
        raise LessonError(f"{at}.after: expected text")
    return Step(
        number=number, title=s["title"].strip(),
        text=_fill(s["text"], names, instance, f"{at}.text").strip(), commands=commands,
        show=tuple(name_ref(x, names, f"{at}.show") for x in strs(s.get("show", []),
                                                                    f"{at}.show")),
        check=parse_check(s.get("check", {}), names, f"{at}.check"),
        after=_fill(after, names, instance, f"{at}.after").strip())


def load_lesson(path: Path) -> Lesson:
    """A lesson file, checked whole. Raises LessonError: one line naming the file and the
    place (`02-bridge.toml step 3.check.reach[0].port: port must be 1-65535`)."""
    where = path.name
    doc = _read(path)
    number, ident, names, drills = _head(doc, where)
    instance = f"lesson{number}"
    files = _files(doc, names, instance, where)
    raw_steps = doc.get("step", [])
    if not isinstance(raw_steps, list) or len(raw_steps) > MAX_STEPS:
        raise LessonError(f"{where}: at most {MAX_STEPS} [[step]] tables")
    steps = tuple(_step(s, i, names, instance, files, where)
                  for i, s in enumerate(raw_steps, 1))
    if not steps and not drills:
        raise LessonError(f"{where}: a lesson needs at least one [[step]]")
    if steps and drills:
        raise LessonError(f"{where}: a drills lesson has no [[step]] (its puzzles are the "
                          "labs' broken variants)")
    head = doc["lesson"]
    return Lesson(number, ident, head["title"].strip(), head["summary"].strip(), names, steps,
                  str(path), drills, files, _look(doc, drills, where))


def lessons_dir() -> Path:
    """topology/lessons beside the lab files ($NETSCOPE_TOPOLOGY_DIR/lessons when set)."""
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
