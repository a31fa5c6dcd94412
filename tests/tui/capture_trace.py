"""Record the TUI's trace fixtures from a real lab: `python -m tests.tui.capture_trace` (root).

Brings up the docker-bridge lab (and its forward_policy_drop variant) as instance `nstui`,
takes a snapshot, traces one ping c1 -> c2 with netscope's tracer, and writes
fixtures/tui-<name>.json (snapshot) and fixtures/tui-<name>.journey.json (the observed journey,
netscope.model.journey, placed on that snapshot's ids: netscope.tui.journey.journey_document).
Everything is torn down afterwards, even on failure.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

from netscope.actions import labs
from netscope.actions.lab_plan import ns_name
from netscope.collect.runner import collect_snapshot
from netscope.model import Snapshot
from netscope.snapshot import save
from netscope.trace.places import Places
from netscope.trace.session import run_trace
from netscope.trace.tracer import TraceFilter
from netscope.tui.journey import journey_document

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
INSTANCE = "nstui"
C1, C2 = "10.217.0.2", "10.217.0.3"


def only_lab(snapshot: Snapshot, instance: str = INSTANCE, keep_self: bool = True) -> Snapshot:
    """The lab's namespaces (and the host's, with keep_self), nothing else that happened to
    run on the machine."""
    keep = {ns.id for ns in snapshot.namespaces
            if (keep_self and ns.is_self) or ns.name.startswith(ns_name(instance, ""))}
    fields = {f: tuple(x for x in getattr(snapshot, f) if getattr(x, "netns", None) in keep)
              for f in ("links", "addresses", "routes", "rules", "neighbours", "fdb")}
    links = {x.id for x in fields["links"]}
    fields["fdb"] = tuple(x for x in fields["fdb"] if x.link in links)
    extra = {f: tuple(x for x in getattr(snapshot, f) if x.netns in keep)
             for f in ("tables", "conntrack") if hasattr(snapshot, f)}
    return replace(snapshot, namespaces=tuple(n for n in snapshot.namespaces if n.id in keep),
                   errors=tuple(e for e in snapshot.errors if e.netns in keep | {None}),
                   **fields, **extra)


def _ping_after_attach(_attach_s: float) -> None:
    def ping() -> None:
        subprocess.run(["ip", "netns", "exec", ns_name(INSTANCE, "c1"), "busybox", "ping",
                        "-c", "1", "-W", "1", C2], capture_output=True)
    threading.Thread(target=ping, daemon=True).start()


def capture(ref: str, name: str) -> None:
    labs.up(labs.resolve(ref), instance=INSTANCE)
    try:
        note = (f"fixture tui-{name}: captured by `python -m tests.tui.capture_trace` "
                f"(lab {ref} as instance {INSTANCE}), then one ping c1 -> c2 traced; only "
                "the lab's namespaces kept (the namespace netscope ran in left out)")
        snapshot = only_lab(collect_snapshot(note=note), keep_self=False)
        result = run_trace(TraceFilter(src=C1, dst=C2, proto="icmp"), Places(snapshot),
                           count=1, timeout=8, on_attached=_ping_after_attach)
        forward = [j for j in result.journeys if not j.is_reply]
        if not forward:
            raise SystemExit(f"{ref}: the tracer saw no packet c1 -> c2")
        save(snapshot, str(FIXTURES / f"tui-{name}.json"), pretty=True)
        doc = journey_document(forward[0], note)
        (FIXTURES / f"tui-{name}.journey.json").write_text(json.dumps(doc, indent=1) + "\n")
        print(f"{name}: {len(forward[0].hops)} hops, {forward[0].summary}", file=sys.stderr)
    finally:
        labs.down(INSTANCE)


if __name__ == "__main__":
    capture("docker-bridge", "docker-bridge")
    capture("docker-bridge/forward_policy_drop", "forward-drop")
