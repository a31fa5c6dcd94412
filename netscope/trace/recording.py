"""Trace recordings: the probe events and rule verdicts of a real run, with the snapshot and
the kernel names (drop reasons, symbols) they need, so journeys rebuild anywhere without
root, bcc or the same kernel. `netscope trace --record FILE` writes one; fixtures use them.
"""

from __future__ import annotations

import datetime
import json
import os
from dataclasses import asdict, dataclass, replace

from netscope import __version__
from netscope.model import Snapshot
from netscope.snapshot import dumps, loads
from netscope.snapshot.files import SNAPSHOT_LIMIT, parse_json, read_regular, write_file
from netscope.trace.events import PacketTuple, ProbeEvent
from netscope.trace.kernel_names import KernelSymbols
from netscope.trace.nftrace import RuleVerdict

FORMAT = "netscope-trace-recording"
VERSION = 1


@dataclass(frozen=True)
class Recording:
    note: str
    kernel: str
    snapshot: Snapshot
    events: tuple[ProbeEvent, ...]
    verdicts: tuple[RuleVerdict, ...]
    drop_reasons: dict[int, str]
    symbols: KernelSymbols
    captured_at: str | None = None


def only_namespaces(snapshot: Snapshot, inodes: set[int]) -> Snapshot:
    """The snapshot cut down to the given namespaces: a fixture holds only what its events
    touch, not whatever else ran on the machine."""
    keep = {ns.id for ns in snapshot.namespaces if ns.inode in inodes}
    cut = {}
    for name in ("links", "addresses", "routes", "rules", "neighbours", "fdb", "tables",
                 "conntrack"):
        if hasattr(snapshot, name):
            cut[name] = tuple(x for x in getattr(snapshot, name)
                              if getattr(x, "netns", None) in keep)
    return replace(snapshot, namespaces=tuple(n for n in snapshot.namespaces if n.id in keep),
                   containers=tuple(c for c in snapshot.containers if c.netns in keep),
                   errors=tuple(e for e in snapshot.errors if e.netns in keep | {None}),
                   **cut)


def save_recording(path: str, note: str, snapshot: Snapshot, events: list[ProbeEvent],
                   verdicts: list[RuleVerdict], reasons: dict[int, str],
                   symbols: KernelSymbols) -> None:
    inodes = {e.netns for e in events} | {v.netns for v in verdicts}
    starts = {}
    for e in events:
        sym = symbols.symbol_at(e.location) if e.location else None
        if sym:
            starts[f"{sym[0]:x}"] = sym[1]
    doc = {
        "format": FORMAT, "version": VERSION,
        "header": {"note": note, "kernel": os.uname().release, "netscope_version": __version__,
                   "captured_at": datetime.datetime.now(datetime.UTC).isoformat(
                       timespec="seconds")},
        "drop_reasons": {str(e.reason): reasons.get(e.reason, str(e.reason))
                         for e in events if e.hook == "drop"},
        "symbols": starts,
        "events": [{**e._asdict(), "tuple": e.tuple._asdict() if e.tuple else None}
                   for e in events],
        "verdicts": [asdict(v) for v in verdicts],
        "snapshot": json.loads(dumps(only_namespaces(snapshot, inodes))),
    }
    # packets, addresses and names of this host: readable by the owner only (0600)
    write_file(path, json.dumps(doc, indent=1) + "\n", private=True)


def load_recording(path: str) -> Recording:
    """The recording in `path` (a regular file, bounded like a snapshot). Raises OSError,
    ValueError (FileRefused, not a recording), KeyError or TypeError (a damaged one)."""
    doc = parse_json(read_regular(path, SNAPSHOT_LIMIT, "trace recording"), path,
                     max_depth=None)
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("version") != VERSION:
        raise ValueError(f"{path} is not a netscope trace recording (format {FORMAT} v{VERSION})")
    events = tuple(ProbeEvent(**{**e, "tuple": PacketTuple(**e["tuple"]) if e["tuple"] else None})
                   for e in doc["events"])
    lines = [f"{addr} T {name}" for addr, name in doc["symbols"].items()]
    return Recording(
        note=doc["header"]["note"], kernel=doc["header"]["kernel"],
        snapshot=loads(json.dumps(doc["snapshot"]), source=path), events=events,
        verdicts=tuple(RuleVerdict(**v) for v in doc["verdicts"]),
        drop_reasons={int(k): v for k, v in doc["drop_reasons"].items()},
        symbols=KernelSymbols(lines), captured_at=doc["header"].get("captured_at"))
