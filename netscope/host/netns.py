"""Find every network namespace on the host and enter them one at a time.

Namespaces are keyed by their nsfs inode. They are found in the namespace netscope runs in,
`/run/netns/*` (ip netns), Docker's `/var/run/docker/netns/*`, and every readable
`/proc/<pid>/ns/net`. `/proc/1/ns/net` may be unreadable (it is on these VMs): the namespace
netscope runs in is found through `/proc/self/ns/net`.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
from collections.abc import Iterator
from dataclasses import dataclass, field

from netscope.host.errors import HostError, NamespaceGone

CLONE_NEWNET = 0x40000000
NAMED_DIR = "/run/netns"
DOCKER_DIR = "/var/run/docker/netns"

_libc = ctypes.CDLL(None, use_errno=True)
_libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]


@dataclass
class FoundNamespace:
    """A namespace found on the host: its inode and every place it was seen."""

    inode: int
    is_self: bool = False
    named: list[str] = field(default_factory=list)
    docker: list[str] = field(default_factory=list)
    pids: list[tuple[int, str]] = field(default_factory=list)

    def paths(self) -> Iterator[str]:
        """Paths to open to enter this namespace, most stable first."""
        if self.is_self:
            yield "/proc/self/ns/net"
        yield from (os.path.join(NAMED_DIR, n) for n in self.named)
        yield from (os.path.join(DOCKER_DIR, n) for n in self.docker)
        yield from (f"/proc/{pid}/ns/net" for pid, _ in self.pids)


def setns(fd: int) -> None:
    """Move the calling thread into the network namespace `fd` refers to."""
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        if err == errno.EPERM:
            raise HostError(
                "entering network namespaces needs CAP_SYS_ADMIN: run netscope as root (sudo)"
            )
        raise OSError(err, os.strerror(err))


def _ns_inode_of_link(path: str) -> int | None:
    try:
        target = os.readlink(path)
    except OSError:
        return None
    # "net:[4026531840]"
    if target.startswith("net:["):
        return int(target[5:-1])
    return None


def _ns_inode_of_file(path: str) -> int | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    # A plain file left behind by a deleted namespace is on tmpfs, not nsfs: not a namespace.
    return st.st_ino if _is_nsfs(path) else None


def _is_nsfs(path: str) -> bool:
    NSFS_MAGIC = 0x6E736673
    try:
        return _statfs_type(path) == NSFS_MAGIC
    except OSError:
        return False


class _Statfs(ctypes.Structure):
    _fields_ = [("f_type", ctypes.c_long), ("_rest", ctypes.c_byte * 112)]


_libc.statfs.argtypes = [ctypes.c_char_p, ctypes.POINTER(_Statfs)]


def _statfs_type(path: str) -> int:
    buf = _Statfs()
    if _libc.statfs(os.fsencode(path), ctypes.byref(buf)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), path)
    return buf.f_type & 0xFFFFFFFF


def _list_dir(path: str) -> list[str]:
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []


def _comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm", "rb") as f:
            return f.read().decode(errors="replace").strip()
    except OSError:
        return "?"


def discover() -> dict[int, FoundNamespace]:
    """Every network namespace this process can see, keyed by nsfs inode."""
    found: dict[int, FoundNamespace] = {}
    self_ino = _ns_inode_of_link("/proc/self/ns/net")
    if self_ino is None:
        raise HostError("cannot read /proc/self/ns/net: is /proc mounted?")
    found[self_ino] = FoundNamespace(self_ino, is_self=True)

    for directory, attr in ((NAMED_DIR, "named"), (DOCKER_DIR, "docker")):
        for name in _list_dir(directory):
            ino = _ns_inode_of_file(os.path.join(directory, name))
            if ino is None:
                continue
            getattr(found.setdefault(ino, FoundNamespace(ino)), attr).append(name)

    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        ino = _ns_inode_of_link(f"/proc/{entry}/ns/net")
        if ino is None or ino == self_ino:
            continue
        pid = int(entry)
        found.setdefault(ino, FoundNamespace(ino)).pids.append((pid, _comm(pid)))
    return found


def pid_ns_inode(pid: int) -> int | None:
    """The network namespace inode of process `pid`, or None when it cannot be read."""
    return _ns_inode_of_link(f"/proc/{pid}/ns/net")


def open_ns(ns: FoundNamespace) -> int:
    """An O_RDONLY fd on the namespace, from the first of its paths that still works."""
    for path in ns.paths():
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            continue
        if os.fstat(fd).st_ino == ns.inode:
            return fd
        os.close(fd)
    raise NamespaceGone(f"namespace {ns.inode} disappeared before it could be read")


@contextlib.contextmanager
def entered(fd: int, home_fd: int) -> Iterator[None]:
    """Run the body with the calling thread inside namespace `fd`; always come back home."""
    setns(fd)
    try:
        yield
    finally:
        setns(home_fd)
