"""A lesson step's commands as netscope's operations (journaled and undone like a lab's).

Only commands that act inside the lesson's own namespaces are accepted: `ip netns add NS`,
`ip -n NS ...`, and under `ip netns exec NS`: `sysctl -w K=V`, `iptables [-t T] ...`, `nft
...` (one nft command) and `serve NAME [--tcp P] [--udp P] [--bind A]` (netscope's lab
responder, netscope/labs/serve.py). Anything else is refused with the form to use.
"""

from __future__ import annotations

import shlex
import sys

from netscope.actions.lab_plan import SERVE_SCRIPT
from netscope.actions.ops import Ip, Iptables, NetnsAdd, Nft, Op, Spawn, Sysctl
from netscope.labs.lessons import Lesson, LessonError, Step
from netscope.labs.topology import IPTABLES_TABLES


def _own(netns: str, lesson_ns: set[str], where: str) -> str:
    if netns not in lesson_ns:
        raise LessonError(f"{where}: {netns!r} is not a lesson namespace: write {{name}}")
    return netns


def parse_command(text: str, lesson_ns: set[str], where: str) -> Op:
    """One `do` command (placeholders filled) -> the operation netscope runs for it."""
    try:
        argv = shlex.split(text)
    except ValueError as e:
        raise LessonError(f"{where}: cannot split {text!r}: {e}") from None
    if argv[:3] == ["ip", "netns", "add"] and len(argv) == 4:
        return NetnsAdd(_own(argv[3], lesson_ns, where))
    if argv[:2] == ["ip", "-n"] and len(argv) > 3:
        return Ip(_own(argv[2], lesson_ns, where), tuple(argv[3:]))
    if argv[:3] == ["ip", "netns", "exec"] and len(argv) > 4:
        netns, rest = _own(argv[3], lesson_ns, where), argv[4:]
        if rest[:2] == ["sysctl", "-w"] and len(rest) == 3 and "=" in rest[2]:
            key, _, value = rest[2].partition("=")
            return Sysctl(netns, key, value)
        if rest[0] == "iptables":
            table, args = "filter", rest[1:]
            if args[:1] == ["-t"] and len(args) > 2:
                table, args = args[1], args[2:]
            if table not in IPTABLES_TABLES:
                raise LessonError(f"{where}: unknown iptables table {table!r}")
            return Iptables(netns, table, tuple(args))
        if rest[0] == "nft" and len(rest) > 1:
            return Nft(netns, shlex.join(rest[1:]))
        if rest[0] == "serve" and len(rest) > 1:
            return Spawn(netns, rest[1], (sys.executable, SERVE_SCRIPT, "--name", rest[1],
                                          *rest[2:]))
    raise LessonError(f"{where}: netscope cannot run {text!r}: use `ip netns add`, `ip -n NS`"
                      ", or `ip netns exec NS` with sysctl -w, iptables, nft or serve")


def step_ops(lesson: Lesson, step: Step) -> list[Op]:
    """The operations of one step. Raises LessonError for a command netscope cannot run."""
    own = set(lesson.all_netns)
    number = lesson.steps.index(step) + 1
    return [parse_command(c, own, f"{lesson.id} step {number}") for c in step.commands]


def check_lesson(lesson: Lesson) -> None:
    """Every step's commands can be run. Raises LessonError for the first that cannot."""
    for step in lesson.steps:
        step_ops(lesson, step)
