"""Read what a namespace's processes use to resolve names, and who could answer there.

- resolv.conf and /etc/hosts through `/proc/<pid>/root`, so a container's own files (Docker
  bind-mounts them; `ip netns exec` mounts /etc/netns/<name>/ over them). Symlinks are
  followed inside that root, never into ours.
- processes are grouped by mount namespace and root: one read per group, not per process.
- sockets that can answer DNS, from /proc/thread-self/net/{udp,tcp}{,6}: they belong to the
  namespace of the calling thread (the collector's, inside the namespace being read).
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import struct
import time
from collections import defaultdict
from dataclasses import dataclass, field

from netscope.model.dns import DOCKER_EMBEDDED_DNS, DnsListener, HostsEntry

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


def _hex_address(text: str) -> str:
    raw = bytes.fromhex(text)
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, struct.pack("<I", int(text, 16)))
    words = struct.unpack("<4I", raw)
    addr = socket.inet_ntop(socket.AF_INET6, struct.pack(">4I", *words))
    mapped = ipaddress.IPv6Address(addr).ipv4_mapped
    return str(mapped) if mapped else addr


TCP_LISTEN = "0A"


def parse_proc_net(text: str, proto: str) -> list[DnsListener]:
    """Sockets of a /proc/net/{udp,tcp}{,6} table that can take DNS queries (port 53, or
    bound to Docker's embedded DNS address); TCP only when listening."""
    out = []
    for line in text.splitlines()[1:]:
        cols = line.split()
        if len(cols) < 4 or ":" not in cols[1]:
            continue
        if proto == "tcp" and cols[3] != TCP_LISTEN:
            continue
        hexaddr, hexport = cols[1].rsplit(":", 1)
        address, port = _hex_address(hexaddr), int(hexport, 16)
        if port == DNS_PORT or address == DOCKER_EMBEDDED_DNS:
            out.append(DnsListener(proto, address, port))
    return out


NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
TCP_LISTEN_STATE = 10
_NLMSG = struct.Struct("=IHHII")
# inet_diag_req_v2: family, protocol, ext, pad, states, then a zeroed inet_diag_sockid
_DIAG_REQ = struct.Struct("=BBBBI48x")


def tcp_listeners() -> list[tuple[str, int]]:
    """(address, port) of every listening TCP socket of the calling thread's namespace, over
    sock_diag: /proc/net/tcp walks the whole established hash (~4 ms a namespace here),
    a LISTEN-only dump walks only the listeners."""
    out = []
    with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG) as sock:
        for family in (socket.AF_INET, socket.AF_INET6):
            body = _DIAG_REQ.pack(family, socket.IPPROTO_TCP, 0, 0, 1 << TCP_LISTEN_STATE)
            sock.send(_NLMSG.pack(_NLMSG.size + len(body), SOCK_DIAG_BY_FAMILY,
                                  NLM_F_REQUEST | NLM_F_DUMP, 1, 0) + body)
            out += _read_diag(sock)
    return out


def _read_diag(sock: socket.socket) -> list[tuple[str, int]]:
    out = []
    while True:
        data = sock.recv(1 << 16)
        off = 0
        while off + _NLMSG.size <= len(data):
            length, kind, _, _, _ = _NLMSG.unpack_from(data, off)
            if kind == NLMSG_DONE:
                return out
            if kind == NLMSG_ERROR:
                (code,) = struct.unpack_from("=i", data, off + _NLMSG.size)
                if code:
                    raise OSError(-code, os.strerror(-code), "sock_diag")
                return out
            msg = off + _NLMSG.size
            family = data[msg]
            (port,) = struct.unpack_from("!H", data, msg + 4)
            raw = data[msg + 8: msg + 8 + (4 if family == socket.AF_INET else 16)]
            out.append((socket.inet_ntop(family, raw), port))
            off += (length + 3) & ~3
        if not data:
            return out


def dns_listeners() -> list[DnsListener]:
    """The DNS-capable sockets of the calling thread's network namespace. Raises OSError
    (also for a table this parser does not understand)."""
    try:
        return _dns_listeners()
    except (ValueError, IndexError, struct.error) as e:
        raise OSError(f"cannot parse the socket tables: {e}") from None


def _dns_listeners() -> list[DnsListener]:
    out: list[DnsListener] = []
    for name in ("udp", "udp6"):
        try:
            with open(f"/proc/thread-self/net/{name}") as f:
                out += parse_proc_net(f.read(), "udp")
        except OSError:
            continue
    for address, port in tcp_listeners():
        mapped = ipaddress.ip_address(address)
        if isinstance(mapped, ipaddress.IPv6Address) and mapped.ipv4_mapped:
            address = str(mapped.ipv4_mapped)
        if port == DNS_PORT or address == DOCKER_EMBEDDED_DNS:
            out.append(DnsListener("tcp", address, port))
    return sorted(set(out), key=lambda x: (x.proto, x.address, x.port))
