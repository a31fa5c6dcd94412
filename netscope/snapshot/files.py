"""Files a user (or a colleague, or a crashed netscope) hands netscope: read boundedly.

Snapshots, trace recordings, journals and lab files are opened without blocking (a FIFO
would wait forever for a writer), must be regular files (/dev/zero would fill the memory),
are read up to a size limit stated in the error, and JSON nested deeper than any netscope
document is refused instead of overflowing the interpreter's stack.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import tempfile
from typing import Any

MIB = 1024 * 1024
# a snapshot of 1,000 namespaces with full conntrack tables is tens of MiB; far below this
SNAPSHOT_LIMIT = 256 * MIB
# netscope's own documents nest a dozen levels; a hand-made bomb nests thousands
MAX_DEPTH = 64


class FileRefused(ValueError):
    """The file cannot be read as asked; the message is one line naming the file and why."""


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISDIR, "a directory")):
        if test(mode):
            return name
    return "not a regular file"


def _size(n: int) -> str:
    return f"{n / MIB:.0f} MiB" if n >= MIB else f"{n:,} bytes"


def read_regular(path: str, limit: int, what: str) -> bytes:
    """The bytes of `path`, a regular file of at most `limit` bytes. Raises FileRefused for
    anything else (a device, a FIFO, a directory, a file too big), FileNotFoundError when it
    does not exist, and OSError when it cannot be opened."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise FileRefused(f"{path} is {_kind(st.st_mode)}, not a {what} file: give the "
                              f"path of a regular file")
        if st.st_size > limit:
            raise FileRefused(f"{path} is {_size(st.st_size)}: larger than the {_size(limit)} "
                              f"netscope reads for a {what}")
        os.set_blocking(fd, True)
        chunks, total = [], 0
        while total <= limit:
            chunk = os.read(fd, min(MIB, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:  # it grew while being read
            raise FileRefused(f"{path} is larger than the {_size(limit)} netscope reads for "
                              f"a {what}")
        return b"".join(chunks)
    finally:
        os.close(fd)


def depth_exceeds(value: Any, limit: int = MAX_DEPTH) -> bool:
    """True when lists and objects in `value` nest deeper than `limit` (checked without
    recursion, so the check itself cannot overflow)."""
    todo = [(value, 1)]
    while todo:
        item, depth = todo.pop()
        if isinstance(item, dict):
            items = item.values()
        elif isinstance(item, list):
            items = item
        else:
            continue
        if depth > limit:
            return True
        todo.extend((v, depth + 1) for v in items if isinstance(v, dict | list))
    return False


def parse_json(text: str | bytes, source: str, max_depth: int | None = MAX_DEPTH) -> Any:
    """json.loads, with nesting too deep refused in one line (FileRefused);
    json.JSONDecodeError for text that is not JSON. `max_depth` None skips the walk that
    checks the depth (big snapshots: only what would overflow the stack is refused)."""
    deep = f"{source}: JSON nested too deeply to be a netscope document"
    try:
        value = json.loads(text)
    except RecursionError:
        raise FileRefused(deep) from None
    if max_depth is not None and depth_exceeds(value, max_depth):
        raise FileRefused(f"{deep} (more than {max_depth} levels)")
    return value


def write_file(path: str, data: str | bytes, private: bool = True) -> None:
    """Write `data` to `path` atomically (a crash never leaves half a file under `path`).

    Host data (addresses, names, packets) is private: a new file is 0600. A redacted report
    (`private=False`) follows the umask, like any shared document. An existing file keeps
    the mode its owner gave it. Anything that is not a regular file (/dev/null, a pipe,
    /dev/stdout) is written to directly: renaming over it would replace the device.
    Raises OSError.
    """
    raw = data.encode() if isinstance(data, str) else data
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode):
        with open(path, "wb") as f:
            f.write(raw)
        return
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".netscope-", suffix=".tmp", dir=directory)
    try:
        if st is not None:
            os.fchmod(fd, stat.S_IMODE(st.st_mode))
        elif not private:
            umask = os.umask(0)
            os.umask(umask)
            os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def file_name_part(text: str) -> str:
    """`text` (a hostname from a snapshot) made fit for a file name: no '/', no '..', no
    control characters, at most 64 characters."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", text)[:64].strip(".")
    return cleaned or "host"
