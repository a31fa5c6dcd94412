"""Record the lesson fixture for the TUI tests and the README's picture (root):

    sudo .venv/bin/python -m tests.tui.capture_lesson

Runs lesson 3 (NAT, MASQUERADE and a published port) through step 4 with its own state
directory, exactly as `netscope learn 3 --step 4 --do` does, takes a snapshot with netscope's
collector, keeps the lesson's namespaces only (everything per namespace: links, addresses,
routes, rules, neighbours, netfilter, conntrack, sockets), writes fixtures/lesson-nat.json
with a header note saying so, and ends the lesson (even on failure).
"""

from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
from pathlib import Path

from netscope.actions import lessons
from netscope.collect.runner import collect_snapshot
from netscope.labs.lessons import find
from netscope.snapshot import save

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "lesson-nat.json"
STEP = 4


def only(snapshot, prefix: str):
    """The snapshot with the namespaces named `prefix`* only, and what lives in them."""
    keep = {ns.id for ns in snapshot.namespaces if ns.name.startswith(prefix)}
    fields = {}
    for f in dataclasses.fields(snapshot):
        items = getattr(snapshot, f.name)
        if f.name == "namespaces":
            fields[f.name] = tuple(n for n in items if n.id in keep)
        elif isinstance(items, tuple) and items and hasattr(items[0], "netns"):
            fields[f.name] = tuple(x for x in items if x.netns in keep | {None}
                                   and (x.netns is not None or f.name == "errors"))
    fields["cni_networks"] = ()  # the machine's own CNI configurations, not the lesson's
    links = {x.id for x in fields.get("links", ())}
    if "fdb" in fields:
        fields["fdb"] = tuple(x for x in fields["fdb"] if x.link in links)
    return dataclasses.replace(snapshot, **fields)


def main() -> None:
    os.environ["NETSCOPE_STATE_DIR"] = tempfile.mkdtemp(prefix="netscope-capture-")
    lesson = find("nat")
    try:
        lessons.do_step(lesson, STEP)  # catches up steps 1-3 first
        note = (f"fixture lesson-nat: captured by `python -m tests.tui.capture_lesson` (lesson 3 "
                f"{lesson.id} run through step {STEP}, as `netscope learn 3 --step {STEP} "
                "--do`); only the lesson's namespaces kept")
        snapshot = only(collect_snapshot(note=note), f"nsl-{lesson.instance}-")
        save(snapshot, str(FIXTURE), pretty=True)
        print(f"{FIXTURE.name}: {len(snapshot.namespaces)} namespaces, {len(snapshot.links)} "
              "links", file=sys.stderr)
    finally:
        lessons.end(lesson)


if __name__ == "__main__":
    main()
