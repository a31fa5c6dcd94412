"""The on-disk journal of changes: what a plan meant to do, what it did, and how to undo it.

One JSON file per change set, under $NETSCOPE_STATE_DIR or /var/lib/netscope:
`labs/<instance>.json` for a lab, `repairs/<id>.json` for a repair. The plan is written
before the first operation runs, and every applied operation (with its undo) right after it
ran, so a new process can undo everything even after a crash. Writes are atomic (write a
temporary file, fsync, rename).
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from netscope.actions.execute import Done
from netscope.actions.ops import Op, op_from_dict

FORMAT_NAME = "netscope-journal"
FORMAT_VERSION = 1
ENV_STATE_DIR = "NETSCOPE_STATE_DIR"

# States: applying (plan written, running or crashed), applied, failed (rollback incomplete).
APPLYING, APPLIED, FAILED = "applying", "applied", "failed"


class JournalError(ValueError):
    """A journal file that cannot be read; the message names the file."""


def state_dir() -> Path:
    return Path(os.environ.get(ENV_STATE_DIR) or "/var/lib/netscope")


@dataclass
class Journal:
    """One change set. `meta` holds what its owner needs (lab name, namespaces, ...)."""

    path: Path
    kind: str
    title: str
    plan: list[Op]
    meta: dict = field(default_factory=dict)
    done: list[Done] = field(default_factory=list)
    state: str = APPLYING
    created: str = ""
    message: str = ""

    def save(self) -> None:
        """Write atomically; the file is either the old or the new version, never half."""
        if not self.created:
            self.created = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "format": FORMAT_NAME, "version": FORMAT_VERSION, "kind": self.kind,
            "title": self.title, "state": self.state, "created": self.created,
            "message": self.message, "meta": self.meta,
            "plan": [op.to_dict() for op in self.plan],
            "done": [{"op": d.op.to_dict(), "undo": d.undo.to_dict() if d.undo else None}
                     for d in self.done],
        }
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with open(tmp, "w") as f:
            json.dump(data, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    def remove(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def load(path: Path) -> Journal | None:
    """The journal at `path`, or None when there is none. Raises JournalError if unreadable."""
    try:
        with open(path) as f:
            data = json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, json.JSONDecodeError) as e:
        raise JournalError(f"{path}: cannot read the journal: {e}") from None
    if data.get("format") != FORMAT_NAME or data.get("version") != FORMAT_VERSION:
        raise JournalError(f"{path}: not a version {FORMAT_VERSION} netscope journal")
    try:
        return Journal(
            path=path, kind=data["kind"], title=data["title"], state=data["state"],
            created=data.get("created", ""), message=data.get("message", ""),
            meta=data.get("meta", {}), plan=[op_from_dict(d) for d in data["plan"]],
            done=[Done(op_from_dict(d["op"]), op_from_dict(d["undo"]) if d["undo"] else None)
                  for d in data["done"]],
        )
    except (KeyError, TypeError, ValueError) as e:
        raise JournalError(f"{path}: damaged journal ({e})") from None


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `path`.lock: one process changes a journal at a time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
                 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise JournalError(f"{path}: another netscope process is changing this right "
                               "now; wait for it to finish") from None
        yield
    finally:
        os.close(fd)
