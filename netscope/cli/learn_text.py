"""What `netscope learn` prints, shared by its lessons and its drills (netscope.cli.learn_cmd,
netscope.cli.learn_drills): paragraphs wrapped, JSON documents, the root check."""

from __future__ import annotations

import json
import os
import sys
import textwrap

from netscope.cli.errors import UserError

FORMAT, VERSION = "netscope-learn", 1
WIDTH = 88


def require_root(what: str) -> None:
    from netscope.collect.privileges import CAP_NET_ADMIN, CAP_SYS_ADMIN, effective_caps

    caps = effective_caps()
    if os.geteuid() != 0 or not (caps >> CAP_SYS_ADMIN & 1 and caps >> CAP_NET_ADMIN & 1):
        raise UserError(f"{what} needs root (it enters the lesson's network namespaces): "
                        "run it with sudo")


def wrap(text: str, indent: str = "  ") -> list[str]:
    """Paragraphs re-filled; lines that start with a space or `$` (commands) kept as is."""
    out: list[str] = []
    for para in text.strip().split("\n\n"):
        lines = para.splitlines()
        if any(line.startswith((" ", "$")) for line in lines):
            out += [indent + line for line in lines]
        else:
            out += textwrap.wrap(" ".join(para.split()), WIDTH, initial_indent=indent,
                                 subsequent_indent=indent, break_on_hyphens=False)
        out.append("")
    return out[:-1]


def dump(doc: dict, code: int = 0) -> int:
    json.dump(doc, sys.stdout, indent=1)
    print()
    return code


def end_lesson(args, lesson, whose: str) -> list[str]:
    """`learn --end` for a lesson or a puzzle (`whose` namespaces, for the refusal): what it
    removed, one line each."""
    from netscope.actions import lessons
    from netscope.cli.convention import refuse_read_only

    refuse_read_only(args, f"learn --end removes the {whose} namespaces")
    require_root("learn --end")
    try:
        return lessons.end(lesson)
    except lessons.LessonRunError as e:
        raise UserError(str(e)) from None
