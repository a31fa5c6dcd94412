"""Wake up when the host's network changes: rtnetlink notifications from every namespace, and
namespaces appearing or disappearing.

One `NetworkWatcher` holds, per namespace, a NETLINK_ROUTE socket opened inside it and
subscribed to the link, address, route and neighbour multicast groups, plus an inotify
descriptor on /run/netns and Docker's netns directory; `wait()` polls all of them in the
calling thread. Nothing is read periodically while nothing changes, except a once-a-second
check for a watched directory that does not exist yet (Docker's, before dockerd runs).
Namespaces only a process holds (no file in those directories) are noticed at the next
`sync()`, which the caller runs after each collection.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import select
import socket
import struct
import threading
import time
from dataclasses import dataclass, field

from netscope.host import netns
from netscope.host.errors import NamespaceGone
from netscope.host.netlink import NETLINK_ROUTE, NLMSG_HDR
from netscope.host.rtnl_attrs import NDMSG, NUD_NOARP

RTMGRP_LINK = 0x1
RTMGRP_NEIGH = 0x4
RTMGRP_IPV4_IFADDR = 0x10
RTMGRP_IPV4_ROUTE = 0x40
RTMGRP_IPV6_IFADDR = 0x100
RTMGRP_IPV6_ROUTE = 0x400
WATCHED_GROUPS = (RTMGRP_LINK | RTMGRP_NEIGH | RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE
                  | RTMGRP_IPV6_IFADDR | RTMGRP_IPV6_ROUTE)
# rtnetlink message type -> what changed ("link", "address", "route", "neighbour")
LINK_MESSAGES = (16, 17)  # RTM_NEWLINK, RTM_DELLINK
IFI_INDEX = struct.Struct("=i")  # after ifi_family, pad, ifi_type: 4 bytes into ifinfomsg
MESSAGE_KINDS = {16: "link", 17: "link", 20: "address", 21: "address", 24: "route",
                 25: "route", 28: "neighbour", 29: "neighbour"}
# a neighbour message of the bridge family is a forwarding (FDB) entry, not an ARP/NDP one
NEIGH_MESSAGES = (28, 29)  # RTM_NEWNEIGH, RTM_DELNEIGH
AF_BRIDGE = 7
ALL_KINDS = frozenset(MESSAGE_KINDS.values()) | {"fdb"}  # what WATCHED_GROUPS can tell

IN_NONBLOCK = os.O_NONBLOCK
IN_CLOEXEC = os.O_CLOEXEC
IN_DIR_EVENTS = 0x100 | 0x200 | 0x40 | 0x80  # IN_CREATE | IN_DELETE | IN_MOVED_FROM | _TO
WATCHED_DIRS = (netns.NAMED_DIR, netns.DOCKER_DIR)
# a new /run/netns file is bind-mounted just after it is created: look again for this long
SETTLE_S = 1.0
# A socket that overflowed gets a bigger receive queue: the default (net.core.rmem_default,
# 208 KiB here) holds ~250 notifications, and a bridge of 1,000 ports learns or ages its
# ~5,000 forwarding entries together (a 1,000-namespace lab overflowed its root namespace
# three times in its first two minutes, each a read of that whole namespace, 80-150 ms,
# and a settling one after). 4 MiB (the kernel books twice that) held a burst of 2,000
# with room; each further overflow quadruples it, up to RCVBUF_MAX. Memory is only used
# while notifications wait.
RCVBUF_GROWN = 4 << 20
RCVBUF_MAX = 64 << 20
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)  # past rmem_max: CAP_NET_ADMIN

_libc = ctypes.CDLL(None, use_errno=True)


@dataclass
class HostChanges:
    """What `wait()` saw: namespaces (by inode) with notifications, and of which kinds."""

    namespaces: set[int] = field(default_factory=set)
    kinds: set[str] = field(default_factory=set)
    # namespaces appeared or disappeared (the caller should collect and `sync()`)
    namespaces_changed: bool = False
    # the whole host must be read again (the live feed asks this of itself)
    overflow: bool = False
    # the kinds each namespace had, where known (a namespace not here had `kinds`)
    kinds_by_ns: dict[int, set[str]] = field(default_factory=dict)
    # the interfaces (ifindexes) link notifications were about, by namespace, where known
    links_by_ns: dict[int, set[int]] = field(default_factory=dict)
    # namespaces whose socket overflowed (ENOBUFS): notifications there were lost, so all
    # that it subscribes to may have changed there (every kind, no interface named); the
    # others' sockets lost nothing, so one full queue is no reason to read the whole host
    lost: set[int] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.namespaces or self.namespaces_changed or self.overflow)

    def kinds_in(self, inode: int) -> set[str]:
        """The kinds of notification namespace `inode` had."""
        return self.kinds_by_ns.get(inode, self.kinds)


def subscribe_here(groups: int = WATCHED_GROUPS) -> socket.socket:
    """A non-blocking NETLINK_ROUTE socket in the calling thread's namespace, in `groups`."""
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC
                         | socket.SOCK_NONBLOCK, NETLINK_ROUTE)
    try:
        sock.bind((0, groups))
    except OSError:
        sock.close()
        raise
    return sock


def grow_receive_queue(sock: socket.socket) -> None:
    """Make `sock`'s receive queue bigger after it overflowed (see RCVBUF_GROWN), unless it
    is at the most already."""
    now = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) // 2  # the kernel doubles it
    want = min(max(4 * now, RCVBUF_GROWN), RCVBUF_MAX)
    if want <= now:
        return
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, want)
    except PermissionError:  # without CAP_NET_ADMIN: as much as net.core.rmem_max allows
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, want)


def message_kinds(data: bytes) -> set[str]:
    """The kinds of change the notifications in one datagram are about."""
    return read_notifications(data)[0]


def read_notifications(data: bytes) -> tuple[set[str], set[int]]:
    """(the kinds of change the notifications in one datagram are about, the ifindexes of
    the interfaces its link notifications name: struct ifinfomsg's ifi_index)."""
    kinds, links, off = set(), set(), 0
    while off + 16 <= len(data):
        mlen, mtype = NLMSG_HDR.unpack_from(data, off)[:2]
        if mlen < 16:
            break
        if mtype in NEIGH_MESSAGES:
            family = state = 0  # a message too short to tell: read again
            if off + 16 + NDMSG.size <= len(data):
                family, _index, state, _flags, _type = NDMSG.unpack_from(data, off + 16)
            if family == AF_BRIDGE:
                kinds.add("fdb")
            elif not state & NUD_NOARP:
                kinds.add("neighbour")
            # NOARP entries (multicast and loopback bookkeeping: every interface's router
            # solicitations and MLD reports make and age some) are not collected, as `ip
            # neigh` hides them: nothing to read again. A fresh 1,000-namespace lab made
            # ~40 a second of them, in 20-250 namespaces at a time.
        elif mtype in MESSAGE_KINDS:
            kinds.add(MESSAGE_KINDS[mtype])
            if mtype in LINK_MESSAGES and mlen >= 16 + 8 and off + 24 <= len(data):
                links.add(IFI_INDEX.unpack_from(data, off + 16 + 4)[0])
        off += (mlen + 3) & ~3
    return kinds, links


class _DirWatch:
    """inotify on the namespace directories; a directory missing now is looked for each second."""

    def __init__(self, dirs: tuple[str, ...]) -> None:
        self.fd = _libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if self.fd < 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), "inotify_init1")
        self.missing = list(dirs)
        self.add_present()

    def add_present(self) -> bool:
        """Watch every missing directory that exists now; True when one was added."""
        added = False
        for path in list(self.missing):
            if _libc.inotify_add_watch(self.fd, os.fsencode(path), IN_DIR_EVENTS) >= 0:
                self.missing.remove(path)
                added = True
        return added

    def drain(self) -> None:
        with contextlib.suppress(BlockingIOError):
            while os.read(self.fd, 65536):
                pass

    def close(self) -> None:
        os.close(self.fd)


class NetworkWatcher:
    """Subscriptions to every namespace's rtnetlink groups and to namespace directories."""

    def __init__(self, dirs: tuple[str, ...] = WATCHED_DIRS) -> None:
        self._poll = select.poll()
        self._socks: dict[int, socket.socket] = {}
        self._inode_of_fd: dict[int, int] = {}
        self._dirs = _DirWatch(dirs)
        self._poll.register(self._dirs.fd, select.POLLIN)
        self._settle_until = 0.0
        # wake() writes here so another thread can end a wait() at once
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._poll.register(self._wake_r, select.POLLIN)
        self._home = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        self._closed = False
        self._closing = threading.Lock()  # wake() from another thread vs close()

    @property
    def watched(self) -> set[int]:
        """Inodes of the namespaces whose notifications arrive."""
        return set(self._socks)

    def sync(self) -> set[int]:
        """Subscribe in namespaces that appeared, drop those that went; returns the new ones."""
        found = netns.discover()
        for inode in set(self._socks) - set(found):
            self._drop(inode)
        new = set()
        for inode, ns in found.items():
            if inode in self._socks:
                continue
            try:
                fd = netns.open_ns(ns)
            except NamespaceGone:
                continue
            try:
                with netns.entered(fd, self._home):
                    sock = subscribe_here()
            finally:
                os.close(fd)
            self._socks[inode] = sock
            self._inode_of_fd[sock.fileno()] = inode
            self._poll.register(sock, select.POLLIN)
            new.add(inode)
        return new

    def _drop(self, inode: int) -> None:
        sock = self._socks.pop(inode)
        self._inode_of_fd.pop(sock.fileno(), None)
        self._poll.unregister(sock)
        sock.close()

    def wait(self, timeout: float | None) -> HostChanges:
        """Block until something changes or `timeout` seconds pass; drain what arrived."""
        changes = HostChanges()
        now = time.monotonic()
        limit = timeout
        if self._dirs.missing:
            limit = 1.0 if limit is None else min(limit, 1.0)
        if self._settle_until > now:
            limit = 0.2 if limit is None else min(limit, 0.2)
        ready = self._poll.poll(None if limit is None else int(limit * 1000))
        for fd, _ in ready:
            if fd == self._wake_r:
                with contextlib.suppress(BlockingIOError):
                    os.read(self._wake_r, 4096)
            elif fd == self._dirs.fd:
                self._dirs.drain()
                changes.namespaces_changed = True
                self._settle_until = time.monotonic() + SETTLE_S
            else:
                self._drain(fd, changes)
        if self._dirs.missing and self._dirs.add_present():
            changes.namespaces_changed = True
        if not ready and self._settle_until > time.monotonic():
            # a namespace file that was not yet mounted when its event came may be now
            known = set(self._socks)
            if set(netns.discover()) != known:
                changes.namespaces_changed = True
        return changes

    def _drain(self, fd: int, changes: HostChanges) -> None:
        inode = self._inode_of_fd.get(fd)
        sock = self._socks.get(inode) if inode is not None else None
        if sock is None:
            return
        while True:
            try:
                data = sock.recv(65536)
            except BlockingIOError:
                return
            except OSError as e:
                if e.errno == errno.ENOBUFS:
                    grow_receive_queue(sock)
                    changes.lost.add(inode)
                    changes.namespaces.add(inode)
                    changes.kinds |= ALL_KINDS
                    changes.kinds_by_ns.setdefault(inode, set()).update(ALL_KINDS)
                    changes.links_by_ns.pop(inode, None)
                    continue
                raise
            kinds, links = read_notifications(data)
            if kinds:
                changes.namespaces.add(inode)
                changes.kinds |= kinds
                changes.kinds_by_ns.setdefault(inode, set()).update(kinds)
            if links and inode not in changes.lost:
                changes.links_by_ns.setdefault(inode, set()).update(links)

    def wake(self) -> None:
        """End the current (or next) wait() now; safe from any thread, and a no-op once
        closed (its descriptor's number may be another's by then)."""
        with self._closing, contextlib.suppress(BlockingIOError):
            if not self._closed:
                os.write(self._wake_w, b"!")

    def close(self) -> None:
        with self._closing:
            if self._closed:
                return
            self._closed = True
        for inode in list(self._socks):
            self._drop(inode)
        self._dirs.close()
        os.close(self._wake_r)
        os.close(self._wake_w)
        os.close(self._home)

    def __enter__(self) -> NetworkWatcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def describe_kinds(kinds: set[str]) -> str:
    """"link, route" in a fixed order, for the event log."""
    order = ("link", "address", "route", "neighbour")
    return ", ".join(k for k in order if k in kinds)


# A notification datagram header, for tests that feed message_kinds() without a kernel.
def notification(msg_type: int, body: bytes = b"") -> bytes:
    return NLMSG_HDR.pack(16 + len(body), msg_type, 0, 0, 0) + body

