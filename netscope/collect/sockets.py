"""The TCP and UDP sockets of each namespace, with the processes that hold them.

Every namespace: TCP listeners and every UDP socket (one TCP and two UDP dumps, ~60 us);
TCP connections only when the read asks for them (`NsContext.connections`): listing them
makes the kernel walk its whole established hash once per namespace (~1.5 ms here).

The processes are found by one walk of /proc/<pid>/fd per read of the host, not one per
namespace. It starts in `begin` on a thread of its own, so that its syscalls (~7 us per
descriptor on these VMs) overlap the namespace visits, and `finish` hands each socket its
processes. A socket made between that walk and its namespace's dump is listed without them.
"""

from __future__ import annotations

import dataclasses
import threading

from netscope.collect.base import NsContext
from netscope.host import sockdiag
from netscope.model.sockets import Socket, SocketProcess, SocketTable

# at most this many sockets per namespace go into a snapshot (receiving ones first)
SOCKET_CAP = 10_000


class _OwnerScan(threading.Thread):
    """The /proc walk, on its own thread: socket inode -> the processes holding it (None
    when /proc could not be walked)."""

    def __init__(self) -> None:
        super().__init__(name="netscope-socket-owners", daemon=True)
        self.processes: dict[int, tuple[SocketProcess, ...]] | None = None

    def run(self) -> None:
        try:
            owners = sockdiag.socket_owners()
        except OSError:
            return
        names = {pid: sockdiag.process_name(pid)
                 for pid in {pid for held in owners.values() for pid, _ in held}}
        self.processes = {inode: tuple(SocketProcess(pid, names[pid][0], fd, names[pid][1])
                                       for pid, fd in held) for inode, held in owners.items()}


def _held_by(sock: Socket, processes: tuple[SocketProcess, ...]) -> Socket:
    """`sock` with its processes: a new frozen Socket made without dataclasses.replace,
    which costs ~5 us where this costs ~1 (thousands of sockets per snapshot)."""
    new = object.__new__(Socket)
    new.__dict__.update(sock.__dict__)
    object.__setattr__(new, "processes", processes)
    return new


class SocketsCollector:
    name = "sockets"
    field = "sockets"

    def __init__(self, cap: int = SOCKET_CAP) -> None:
        self.cap = cap
        self.scan: _OwnerScan | None = None
        self.from_proc: tuple[str, ...] = ()

    def can_run(self) -> str | None:
        return None

    def begin(self) -> None:
        """A new read of the host starts: look up which process holds which socket (in the
        background) and which protocols lack a diag module (asked once, not per namespace)."""
        self.from_proc = tuple(p for p in ("tcp", "udp") if sockdiag.missing_diag_modules(p))
        self.scan = _OwnerScan()
        self.scan.start()

    def collect(self, ctx: NsContext) -> list[SocketTable]:
        records, sources = sockdiag.read_sockets(ctx.connections, self.from_proc)
        count = len(records)
        if count > self.cap:
            records.sort(key=lambda r: r["state"] not in ("LISTEN", "UNCONN"))
        sockets = []
        for r in records[:self.cap]:
            ifindex = r.pop("ifindex")
            cookie = r.pop("cookie")
            ident = f"sock:{ctx.inode}/{cookie}" if cookie else (
                f"sock:{ctx.inode}/i{r['inode']}/{r['proto']}/{r['local']}/{r['local_port']}")
            sockets.append(Socket(id=ident, netns=ctx.netns, link=ctx.link(ifindex), **r))
        return [SocketTable(id=f"sockets:{ctx.inode}", netns=ctx.netns,
                            sockets=tuple(sockets), count=count, truncated=count > self.cap,
                            sources=sources, connections=ctx.connections)]

    def finish(self, tables: list[SocketTable]) -> list[SocketTable]:
        """Every namespace was read: give each socket the processes that hold it."""
        scan, self.scan = self.scan, None
        held = None
        if scan is not None:
            scan.join()
            held = scan.processes
        if held is None:
            return [dataclasses.replace(t, owners=False) for t in tables]
        return [dataclasses.replace(t, sockets=tuple(
            _held_by(s, held[s.inode]) if s.inode in held else s for s in t.sockets))
            if any(s.inode in held for s in t.sockets) else t for t in tables]
