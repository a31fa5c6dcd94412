"""Read what a namespace's processes use to resolve names, and who could answer there.

- resolv.conf and /etc/hosts through `/proc/<pid>/root`, so a container's own files (Docker
  bind-mounts them; `ip netns exec` mounts /etc/netns/<name>/ over them). Symlinks are
  followed inside that root, never into ours.
- processes are grouped by mount namespace and root: one read per group, not per process.
- which of a namespace's sockets (netscope.host.sockdiag) can answer DNS.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import struct
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from netscope.host import sockdiag
from netscope.model.dns import DOCKER_EMBEDDED_DNS, DnsListener, HostsEntry
from netscope.model.sockets import RECEIVING_STATES

NAMED_DIR = "/run/netns"
NETNS_ETC = "/etc/netns"
MAX_FILE = 64 * 1024
MAX_HOSTS = 200
MAX_SYMLINKS = 16
INDEX_TTL_S = 2.0
DNS_PORT = 53


@dataclass
class ProcessGroup:
    """Processes of one namespace that share a mount namespace and root: the same files."""

    root_pid: int
    pids: list[int] = field(default_factory=list)
    comms: list[str] = field(default_factory=list)


@dataclass
class ProcessIndex:
    """Namespace inode -> groups of its processes, and -> its ip-netns names."""

    groups: dict[int, list[ProcessGroup]]
    named: dict[int, list[str]]
    taken_at: float
    # /etc/netns/<name>/ files `ip netns exec` mounts over /etc/<file>: name -> file names
    netns_etc: dict[str, set[str]] = field(default_factory=dict)


def _link_inode(path: str) -> int | None:
    try:
        target = os.readlink(path)
    except OSError:
        return None
    return int(target[target.index("[") + 1:-1]) if "[" in target else None


def _comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm", "rb") as f:
            return f.read().decode(errors="replace").strip()
    except OSError:
        return "?"


def process_index() -> ProcessIndex:
    """Every process (but this one) by network namespace, grouped by mount ns and root."""
    me = os.getpid()
    by_key: dict[tuple[int, int, str], ProcessGroup] = {}
    groups: dict[int, list[ProcessGroup]] = defaultdict(list)
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        pid = int(entry)
        net = _link_inode(f"/proc/{pid}/ns/net")
        if net is None:
            continue
        try:
            root = os.readlink(f"/proc/{pid}/root")
            os.readlink(f"/proc/{pid}/exe")  # kernel threads have none: they resolve nothing
        except OSError:
            continue
        key = (net, _link_inode(f"/proc/{pid}/ns/mnt") or 0, root)
        group = by_key.get(key)
        if group is None:
            group = by_key[key] = ProcessGroup(pid)
            groups[net].append(group)
        group.pids.append(pid)
        if len(group.comms) < 20:
            group.comms.append(_comm(pid))
    named: dict[int, list[str]] = defaultdict(list)
    try:
        names = sorted(os.listdir(NAMED_DIR))
    except OSError:
        names = []
    for name in names:
        try:
            named[os.stat(os.path.join(NAMED_DIR, name)).st_ino].append(name)
        except OSError:
            continue
    etc: dict[str, set[str]] = {}
    try:
        dirs = os.listdir(NETNS_ETC)
    except OSError:
        dirs = []
    for name in dirs:
        try:
            etc[name] = set(os.listdir(os.path.join(NETNS_ETC, name)))
        except OSError:
            continue
    return ProcessIndex(dict(groups), dict(named), time.monotonic(), etc)


class CachedIndex:
    """The process index, re-read when older than INDEX_TTL_S: one /proc walk serves every
    namespace of a snapshot instead of one walk each."""

    def __init__(self, ttl: float = INDEX_TTL_S) -> None:
        self.ttl = ttl
        self.index: ProcessIndex | None = None

    def get(self, fresh: bool = False) -> ProcessIndex:
        """The index; re-read when `fresh` (a new snapshot starts) or older than the TTL."""
        if fresh or self.index is None or time.monotonic() - self.index.taken_at > self.ttl:
            self.index = process_index()
        return self.index


def resolve_in_root(root: str, path: str) -> str:
    """`path` as a process whose root is `root` sees it, as a path under `root`: absolute
    symlinks resolve inside `root`, never in ours. Raises OSError (ELOOP)."""
    todo = [p for p in path.split("/") if p]
    done: list[str] = []
    hops = 0
    while todo:
        part = todo.pop(0)
        if part == ".":
            continue
        if part == "..":
            if done:
                done.pop()
            continue
        here = os.path.join(root, *done, part)
        if os.path.islink(here):
            hops += 1
            if hops > MAX_SYMLINKS:
                raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), path)
            target = os.readlink(here)
            if target.startswith("/"):
                done = []
            todo = [p for p in target.split("/") if p] + todo
            continue
        done.append(part)
    return os.path.join(root, *done)


def read_in_root(root: str, path: str) -> tuple[bytes, tuple[int, int]]:
    """The contents of `path` seen from `root` (see resolve_in_root), and the file's
    (device, inode) to tell whether two processes read the very same file. Raises OSError."""
    with open(resolve_in_root(root, path), "rb") as f:
        st = os.fstat(f.fileno())
        return f.read(MAX_FILE), (st.st_dev, st.st_ino)


def file_identity(path: str) -> tuple[int, int] | None:
    """(device, inode) of `path` in netscope's own tree, None when it does not exist."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


@dataclass(frozen=True)
class ResolvConf:
    nameservers: tuple[str, ...] = ()
    search: tuple[str, ...] = ()
    ndots: int | None = None
    options: tuple[str, ...] = ()


def parse_resolv_conf(text: str) -> ResolvConf:
    """nameserver / search / domain / options lines as glibc reads them: the last search or
    domain line wins, options accumulate, ndots is capped at 15."""
    servers: list[str] = []
    search: tuple[str, ...] = ()
    options: list[str] = []
    ndots = None
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].split(";", 1)[0].strip()
        words = line.split()
        if len(words) < 2:
            continue
        key, rest = words[0], words[1:]
        if key == "nameserver":
            servers.append(rest[0].split("%", 1)[0])
        elif key in ("search", "domain"):
            search = tuple(rest) if key == "search" else (rest[0],)
        elif key == "options":
            for opt in rest:
                options.append(opt)
                if opt.startswith("ndots:") and opt[6:].isdigit():
                    ndots = min(int(opt[6:]), 15)
    return ResolvConf(tuple(servers), search, ndots, tuple(options))


def parse_hosts(text: str, limit: int = MAX_HOSTS) -> tuple[HostsEntry, ...]:
    out = []
    for raw in text.splitlines():
        words = raw.split("#", 1)[0].split()
        if len(words) < 2:
            continue
        try:
            ipaddress.ip_address(words[0].split("%", 1)[0])
        except ValueError:
            continue
        out.append(HostsEntry(words[0], tuple(words[1:])))
        if len(out) >= limit:
            break
    return tuple(out)


def dns_listeners(sockets: Iterable[tuple[str, str, str, int]]) -> list[DnsListener]:
    """The sockets that can take DNS queries, from (proto, state, local address, port) of
    every socket of a namespace: UDP bound or TCP listening on port 53, or on Docker's
    embedded DNS address (v4-mapped IPv6 addresses count as their IPv4 address)."""
    out = set()
    for proto, state, address, port in sockets:
        if state not in RECEIVING_STATES:
            continue
        mapped = ipaddress.ip_address(address)
        if isinstance(mapped, ipaddress.IPv6Address) and mapped.ipv4_mapped:
            address = str(mapped.ipv4_mapped)
        if port == DNS_PORT or address == DOCKER_EMBEDDED_DNS:
            out.add(DnsListener(proto, address, port))
    return sorted(out, key=lambda x: (x.proto, x.address, x.port))


def read_dns_listeners() -> list[DnsListener]:
    """The DNS-capable sockets of the calling thread's network namespace, read on their own
    (the sockets collector's table serves when it ran). Raises OSError (also for a table
    this parser does not understand)."""
    try:
        from_proc = [p for p in ("tcp", "udp") if sockdiag.missing_diag_modules(p)]
        records, _ = sockdiag.read_sockets(from_proc=from_proc)
    except (ValueError, IndexError, struct.error) as e:
        raise OSError(f"cannot parse the socket tables: {e}") from None
    return dns_listeners((r["proto"], r["state"], r["local"], r["local_port"])
                         for r in records)
