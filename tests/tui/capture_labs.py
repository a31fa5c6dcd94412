"""Record lab snapshots for the TUI and export tests: `python -m tests.tui.capture_labs` (root).

Brings up each lab below as instance `nscap`, takes a snapshot with netscope's collector (no
traffic is sent), keeps the lab's namespaces only (its "host" is a namespace too), and writes
fixtures/lab-<name>.json with a header note saying so. Everything is torn down afterwards,
even on failure.

- macvlan, overlay-vxlan (topology/): devices built on a parent (macvlan children of a veth,
  VXLAN on an underlay veth): the "lower" links the topology draws.
- policy-routing (tests/tui/labs/, not a shipped lab): a router whose policy rule sends the
  client subnet through table 100 to a second uplink, while its main table points at the first.
"""

from __future__ import annotations

import sys
from pathlib import Path

from netscope.actions import labs
from netscope.collect.runner import collect_snapshot
from netscope.labs.loader import load_lab_file
from netscope.snapshot import save
from tests.tui.capture_trace import only_lab

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
INSTANCE = "nscap"
TEST_LABS = Path(__file__).resolve().parent / "labs"


def capture(name: str) -> None:
    local = TEST_LABS / f"{name}.toml"
    topo = load_lab_file(local).base if local.exists() else labs.resolve(name)
    labs.up(topo, instance=INSTANCE)
    try:
        where = f"tests/tui/labs/{name}.toml" if local.exists() else f"topology/{name}.toml"
        note = (f"fixture lab-{name}: captured by `python -m tests.tui.capture_labs` (lab "
                f"{where} as instance {INSTANCE}, no traffic sent); only the lab's "
                "namespaces kept (the namespace netscope ran in left out)")
        snapshot = only_lab(collect_snapshot(note=note), INSTANCE, keep_self=False)
        save(snapshot, str(FIXTURES / f"lab-{name}.json"), pretty=True)
        print(f"lab-{name}: {len(snapshot.namespaces)} namespaces, {len(snapshot.links)} links",
              file=sys.stderr)
    finally:
        labs.down(INSTANCE)


if __name__ == "__main__":
    for lab in sys.argv[1:] or ("macvlan", "overlay-vxlan", "policy-routing"):
        capture(lab)
