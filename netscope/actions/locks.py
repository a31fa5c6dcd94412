"""Locks: one netscope process changes a namespace (or a journal) at a time.

Every change takes the locks of the namespaces it touches, whatever it is (a repair, a lab, an
accounting switch), so two `netscope repair` of the same finding, or a repair and `lab down`
of the lab it repairs, cannot interleave. A namespace that exists is locked by its inode (the
same namespace named `nsl-x-host`, `/run/netns/nsl-x-host` or `/proc/<pid>/ns/net` is one
lock); one that does not exist yet (a lab about to create it) by its name.

Lock files live in <state dir>/locks/, hold the owner's pid and what it is doing (for the
message the next process shows), and are removed on release: a lock file is unlinked while
it is still locked, and a process that locked a file someone just unlinked notices (the
inode changed) and locks the new one, so removing them is safe.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

from netscope.actions.journal import JournalError, state_dir

SELF_NETNS = "/proc/self/ns/net"
MAX_HOLDER_TEXT = 200


class LockBusy(JournalError):
    """Another process holds a lock; the message names it and says to wait."""


def lock_dir() -> Path:
    return state_dir() / "locks"


def netns_key(ref: str | None) -> str:
    """The lock name of a namespace reference (None: netscope's own, an ip-netns name, or a
    namespace file path): its inode when it exists, else its name."""
    from netscope.actions.ops import netns_path

    path = SELF_NETNS if ref is None else netns_path(ref)
    try:
        return f"netns-{os.stat(path).st_ino}"
    except OSError:
        return "name-" + _safe(ref or "self")


def _safe(text: str) -> str:
    readable = re.sub(r"[^A-Za-z0-9_.-]", "_", text)[:40]
    return f"{readable}-{hashlib.sha256(text.encode(errors='surrogateescape')).hexdigest()[:12]}"


def _holder(fd: int) -> str:
    with contextlib.suppress(OSError):
        text = os.pread(fd, MAX_HOLDER_TEXT, 0).decode(errors="replace").strip()
        if text and text.isprintable():
            return text
    return "another netscope process"


def _acquire(path: Path, owner: str, label: str) -> int:
    """An fd holding an exclusive lock on `path` (created if needed). Raises LockBusy."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise JournalError(f"{path} is not a lock file: remove it")
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise LockBusy(f"{_holder(fd)} is changing {label} right now; wait for it to "
                               "finish, then try again") from None
            try:
                same = os.stat(path, follow_symlinks=False).st_ino == st.st_ino
            except FileNotFoundError:
                same = False
            if not same:  # its holder removed it as we locked it: lock the new one
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"netscope pid {os.getpid()} ({owner})\n".encode(), 0)
            return fd
        except BaseException:
            with contextlib.suppress(OSError):
                os.close(fd)
            raise


@contextlib.contextmanager
def held(names: Iterable[tuple[str, str]], owner: str) -> Iterator[None]:
    """Hold the locks `names` ((lock name, what it protects, for messages)) together.

    Taken in sorted order (no deadlock between two processes taking overlapping sets);
    released and their files removed at the end. Raises LockBusy at once when one is held:
    a change waits for no one, it says who is in the way."""
    directory = lock_dir()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    sweep()
    taken: list[tuple[Path, int]] = []
    try:
        for name, label in sorted(dict(names).items()):
            path = directory / f"{name}.lock"
            taken.append((path, _acquire(path, owner, label)))
        yield
    finally:
        for path, fd in reversed(taken):
            with contextlib.suppress(OSError):
                os.unlink(path)
            os.close(fd)


def sweep() -> int:
    """Remove the lock files of processes that died holding them (a lock dies with its
    process; its file stays behind); how many."""
    removed = 0
    for path in lock_dir().glob("*.lock") if lock_dir().is_dir() else []:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CLOEXEC | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            with contextlib.suppress(FileNotFoundError):
                if os.stat(path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino:
                    os.unlink(path)
                    removed += 1
        except OSError:
            pass  # held: its owner is alive
        finally:
            os.close(fd)
    return removed


def namespace_locks(refs: Iterable[str | None]) -> list[tuple[str, str]]:
    """The (lock name, label) of each namespace reference."""
    return [(netns_key(ref), f"namespace {ref or 'of netscope (the host)'}") for ref in refs]


def journal_lock(journal_path: Path) -> tuple[str, str]:
    """The lock of one journal file (a lab instance, a repair)."""
    return (f"journal-{_safe(journal_path.parent.name + '/' + journal_path.stem)}",
            f"{journal_path}")
