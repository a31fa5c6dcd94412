"""Hostile text: what an adversary puts into names, hostnames, comments and DNS files.

`PAYLOAD` retitles the terminal (OSC 0), clears the screen (CSI 2J), reverses the text that
follows (bidi override) and starts an 8-bit CSI: shown raw, any of them is an injection.
`hostile_snapshot_doc` plants it into every free-text field of a captured snapshot.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"

PAYLOAD = "\x1b]0;pwned\x07\x1b[2J\u202eevil\x9b31m"
# what each raw character above must look like once escaped
ESCAPED = "\\x1b]0;pwned\\x07\\x1b[2J\\u202eevil\\u009b31m"
RAW_FORBIDDEN = ("\x1b", "\x07", "\u202e", "\x9b")

# fields whose values are free text (names and words), never ids or addresses
TEXT_KEYS = {"name", "hostname", "note", "alias", "image", "comm", "comment", "label",
             "hosts_path", "path", "message"}
LIST_KEYS = {"names", "comms", "search", "options", "aliases"}


def _plant(value, key: str | None):
    if isinstance(value, dict):
        return {k: _plant(v, k) for k, v in value.items()}
    if isinstance(value, list):
        if key in LIST_KEYS:
            return [f"{v}{PAYLOAD}" if isinstance(v, str) else v for v in value]
        return [_plant(v, None) for v in value]
    if isinstance(value, str) and key in TEXT_KEYS:
        return f"{value}{PAYLOAD}"
    return value


def hostile_snapshot_doc(fixture: str = "flows-dns-lab.json") -> dict:
    """The fixture's document with PAYLOAD appended to every free-text field."""
    doc = json.loads((FIXTURES / fixture).read_text())
    out = _plant(copy.deepcopy(doc), None)
    out["format"], out["version"] = doc["format"], doc["version"]
    return out


def write_hostile_snapshot(path: Path, fixture: str = "flows-dns-lab.json") -> Path:
    path.write_text(json.dumps(hostile_snapshot_doc(fixture)))
    return path


def raw_controls(text: str) -> list[str]:
    """The forbidden raw characters present in `text` (empty: safe)."""
    return [repr(c) for c in RAW_FORBIDDEN if c in text]
