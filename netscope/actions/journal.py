"""The on-disk journal of changes: what a plan meant to do, what it did, and how to undo it.

One JSON file per change set, under $NETSCOPE_STATE_DIR or /var/lib/netscope:
`labs/<instance>.json` for a lab, `repairs/<id>.json` for a repair. The plan is written
before the first operation runs; an operation that changes something outside the namespaces
the plan creates is written as `pending`, with its undo, before it runs, and moved to `done`
once it ran, so a new process can undo everything even after a crash at any point. Writes
are atomic and durable (temporary file, fsync, rename, fsync of the directory).
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from netscope.actions.execute import Done
from netscope.actions.ops import Op, op_from_dict
from netscope.snapshot.files import MIB, parse_json, read_regular

# a lab of 200 containers journals a few MiB of operations
JOURNAL_LIMIT = 64 * MIB
_TMP_RE = re.compile(r"^\..+\.(\d+)\.tmp$")
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
    """One change set. `meta` holds what its owner needs (lab name, namespaces, ...).

    `pending` holds the operations about to run, with their undo, saved (fsync) before they
    run: a crash between running and recording leaves them there, and `undo` asks the host
    whether they took effect instead of trusting `done` alone."""

    path: Path
    kind: str
    title: str
    plan: list[Op]
    meta: dict = field(default_factory=dict)
    done: list[Done] = field(default_factory=list)
    state: str = APPLYING
    created: str = ""
    message: str = ""
    pending: list[Done] = field(default_factory=list)

    def save(self) -> None:
        """Write atomically and durably: the file is either the old or the new version,
        never half, and it is on disk (file and directory synced) when this returns."""
        if not self.created:
            self.created = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "format": FORMAT_NAME, "version": FORMAT_VERSION, "kind": self.kind,
            "title": self.title, "state": self.state, "created": self.created,
            "message": self.message, "meta": self.meta,
            "plan": [op.to_dict() for op in self.plan],
            "done": [_done_dict(d) for d in self.done],
            "pending": [_done_dict(d) for d in self.pending],
        }
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            with open(tmp, "w") as f:
                json.dump(data, f, indent=1)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise
        _sync_dir(self.path.parent)

    def remove(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        _sync_dir(self.path.parent)


def _done_dict(d: Done) -> dict:
    return {"op": d.op.to_dict(), "undo": d.undo.to_dict() if d.undo else None}


def _sync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _done_list(data: dict, key: str) -> list[Done]:
    items = data.get(key, [])
    if not isinstance(items, list):
        raise TypeError(f"{key} is not a list")
    out = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("op"), dict) or not (
                item.get("undo") is None or isinstance(item["undo"], dict)):
            raise TypeError(f"an entry of {key} is not {{\"op\": {{...}}, \"undo\": ...}}")
        out.append(Done(op_from_dict(item["op"]),
                        op_from_dict(item["undo"]) if item["undo"] else None))
    return out


def load(path: Path) -> Journal | None:
    """The journal at `path`, or None when there is none. Raises JournalError (one line
    naming the file) for anything that is not a valid journal: not a regular file, too big,
    not JSON, not an object, a field of the wrong type, an unknown operation."""
    try:
        raw = read_regular(str(path), JOURNAL_LIMIT, "journal")
        data = parse_json(raw, str(path))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:  # FileRefused and JSONDecodeError are ValueErrors
        raise JournalError(f"{path}: cannot read the journal: {e}") from None
    if not isinstance(data, dict):
        raise JournalError(f"{path}: not a netscope journal (a JSON {type(data).__name__}, "
                           "not an object)")
    if data.get("format") != FORMAT_NAME or data.get("version") != FORMAT_VERSION:
        raise JournalError(f"{path}: not a version {FORMAT_VERSION} netscope journal")
    try:
        for key in ("kind", "title", "state"):
            if not isinstance(data[key], str):
                raise TypeError(f"{key} is not a string")
        meta, plan = data.get("meta", {}), data["plan"]
        if not isinstance(meta, dict) or not isinstance(plan, list) or not all(
                isinstance(op, dict) for op in plan):
            raise TypeError("meta is not an object or plan not a list of operations")
        if data["state"] not in (APPLYING, APPLIED, FAILED):
            raise ValueError(f"unknown state {data['state']!r}")
        return Journal(
            path=path, kind=data["kind"], title=data["title"], state=data["state"],
            created=str(data.get("created", "")), message=str(data.get("message", "")),
            meta=meta, plan=[op_from_dict(d) for d in plan], done=_done_list(data, "done"),
            pending=_done_list(data, "pending"))
    except (KeyError, TypeError, ValueError) as e:
        raise JournalError(f"{path}: damaged journal ({e})") from None


def sweep_temporary(directory: Path) -> list[Path]:
    """Remove the temporary files (`.<name>.<pid>.tmp`) of saves that a killed process left
    behind (its pid is gone); returns what was removed."""
    removed = []
    sweep_old_locks(directory)
    for tmp in directory.glob(".*.tmp") if directory.is_dir() else []:
        match = _TMP_RE.match(tmp.name)
        if match is None or pid_alive(int(match.group(1))):
            continue
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
            removed.append(tmp)
    return removed


def sweep_old_locks(directory: Path) -> None:
    """Remove `<journal>.lock` files of earlier netscope versions whose journal is gone (locks
    now live in <state dir>/locks and are removed on release)."""
    import fcntl

    for lock in directory.glob("*.json.lock") if directory.is_dir() else []:
        if lock.with_suffix("").exists():
            continue
        with contextlib.suppress(OSError):
            fd = os.open(lock, os.O_RDWR | os.O_CLOEXEC | os.O_NOFOLLOW)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                lock.unlink()
            finally:
                os.close(fd)


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (one of another user counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
