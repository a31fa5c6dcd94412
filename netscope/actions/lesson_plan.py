"""A lesson step's commands as netscope's operations (journaled and undone like a lab's).

Only commands that act inside the lesson's own namespaces are accepted: `ip netns add NS`,
`ip -n NS ...`, and under `ip netns exec NS`: `sysctl -w K=V`, `iptables [-t T] ...`, `nft
...` (one nft command), `serve NAME [--tcp P] [--udp P] [--bind A]` (netscope's lab
responder, netscope/labs/serve.py) and a CNI plugin run as a runtime runs it:
`env CNI_COMMAND=ADD CNI_CONTAINERID=ID CNI_NETNS=/run/netns/NS CNI_IFNAME=eth0
CNI_PATH=/usr/lib/cni [CNI_ARGS=...] /usr/lib/cni/PLUGIN < FILE` (FILE: a lesson [files]
text). Anything else is refused with the form to use. `{state}` becomes the lesson's own
directory (<state dir>/labs/lesson<N>, removed with the lesson).
"""

from __future__ import annotations

import os
import shlex
import sys

from netscope.actions.lab_plan import SERVE_SCRIPT
from netscope.actions.ops import NAMED_NETNS, Cni, Ip, Iptables, NetnsAdd, Nft, Op, Spawn, Sysctl
from netscope.labs.lessons import STATE, Lesson, LessonError, Step
from netscope.labs.topology import IPTABLES_TABLES

CNI_ENV = ("CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH")
FORMS = ("use `ip netns add {ns}`, `ip -n {ns} ...`, or `ip netns exec {ns}` with sysctl -w, "
         "iptables, nft, serve or a CNI plugin (env CNI_...=... /usr/lib/cni/PLUGIN < FILE)")


def state_dir(lesson: Lesson) -> str:
    """The lesson's own directory (`{state}`): removed with the lesson."""
    from netscope.actions.labs import labs_dir

    return str(labs_dir() / lesson.instance)


def fill_state(text: str, lesson: Lesson) -> str:
    return text.replace("{" + STATE + "}", state_dir(lesson))


def _own(netns: str, lesson_ns: set[str], where: str) -> str:
    if netns not in lesson_ns:
        raise LessonError(f"{where}: {netns!r} is not a lesson namespace: write {{name}}")
    return netns


def _cni(netns: str, rest: list[str], lesson: Lesson, own: set[str], where: str) -> Cni:
    words = list(rest[1:])
    env: dict[str, str] = {}
    while words and "=" in words[0] and not words[0].startswith("/"):
        key, _, value = words.pop(0).partition("=")
        if key not in (*CNI_ENV, "CNI_ARGS"):
            raise LessonError(f"{where}: {key} is not a CNI variable ({', '.join(CNI_ENV)}, "
                              "CNI_ARGS)")
        env[key] = value
    if len(words) != 3 or words[1] != "<":
        raise LessonError(f"{where}: a CNI plugin runs as `env CNI_...=... PLUGIN < FILE`")
    plugin, name = words[0], words[2]
    missing = [k for k in CNI_ENV if k not in env]
    if missing:
        raise LessonError(f"{where}: {missing[0]} is missing")
    if env["CNI_COMMAND"] not in ("ADD", "DEL"):
        raise LessonError(f"{where}: CNI_COMMAND is ADD or DEL")
    if os.path.dirname(plugin) != env["CNI_PATH"]:
        raise LessonError(f"{where}: the plugin {plugin} is not in CNI_PATH {env['CNI_PATH']}")
    target = env["CNI_NETNS"]
    if os.path.dirname(target) != NAMED_NETNS:
        raise LessonError(f"{where}: CNI_NETNS must be {NAMED_NETNS}/{{name}}")
    _own(os.path.basename(target), own, where)
    if name not in lesson.files:
        raise LessonError(f"{where}: no file {name!r} in the lesson's [files]")
    return Cni(netns, plugin, env["CNI_COMMAND"], env["CNI_CONTAINERID"], target,
               env["CNI_IFNAME"], fill_state(lesson.files[name], lesson),
               env.get("CNI_ARGS", ""))


def _serve_args(args: list[str], where: str) -> list[str]:
    words = list(args)
    while words:
        option = words.pop(0)
        if option == "--reuseport":
            continue
        if option not in ("--tcp", "--udp", "--bind") or not words:
            raise LessonError(f"{where}: serve NAME takes --tcp PORT, --udp PORT, --bind ADDRESS "
                              "and --reuseport")
        value = words.pop(0)
        if option != "--bind" and not (value.isdigit() and 1 <= int(value) <= 65535):
            raise LessonError(f"{where}: {option} {value}: a port is 1-65535")
    return list(args)


def parse_command(text: str, lesson: Lesson, where: str) -> Op:
    """One `do` command (placeholders filled) -> the operation netscope runs for it.
    Raises LessonError for a command netscope cannot run inside the lesson's namespaces."""
    own = set(lesson.all_netns)
    try:
        argv = shlex.split(fill_state(text, lesson))
    except ValueError as e:
        raise LessonError(f"{where}: cannot split {text!r}: {e}") from None
    if argv[:3] == ["ip", "netns", "add"] and len(argv) == 4:
        return NetnsAdd(_own(argv[3], own, where))
    if argv[:2] == ["ip", "-n"] and len(argv) > 3:
        return Ip(_own(argv[2], own, where), tuple(argv[3:]))
    if argv[:3] == ["ip", "netns", "exec"] and len(argv) > 4:
        netns, rest = _own(argv[3], own, where), argv[4:]
        if rest[:2] == ["sysctl", "-w"] and len(rest) == 3 and "=" in rest[2]:
            key, _, value = rest[2].partition("=")
            if not key.startswith("net."):
                raise LessonError(f"{where}: only net.* sysctls belong to a namespace")
            return Sysctl(netns, key, value)
        if rest[0] == "iptables":
            table, args = "filter", [a for a in rest[1:] if a != "-w"]
            if args[:1] == ["-t"] and len(args) > 2:
                table, args = args[1], args[2:]
            if table not in IPTABLES_TABLES:
                raise LessonError(f"{where}: unknown iptables table {table!r}")
            return Iptables(netns, table, tuple(args))
        if rest[0] == "nft" and len(rest) > 1:
            return Nft(netns, shlex.join(rest[1:]))
        if rest[0] == "serve" and len(rest) > 1:
            return Spawn(netns, rest[1], (sys.executable, SERVE_SCRIPT, "--name", rest[1],
                                          *_serve_args(rest[2:], where)))
        if rest[0] == "env":
            return _cni(netns, rest, lesson, own, where)
    raise LessonError(f"{where}: netscope cannot run {text!r}: {FORMS}")


def step_ops(lesson: Lesson, step: Step) -> list[Op]:
    """The operations of one step. Raises LessonError for a command netscope cannot run."""
    return [parse_command(c, lesson, f"{lesson.id} step {step.number}")
            for c in step.commands]


def check_lesson(lesson: Lesson) -> None:
    """Every step's commands can be run. Raises LessonError for the first that cannot."""
    for step in lesson.steps:
        step_ops(lesson, step)
