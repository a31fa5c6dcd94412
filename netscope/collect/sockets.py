"""The TCP and UDP sockets of each namespace, with the processes that hold them.

Every namespace: TCP listeners and every UDP socket (one TCP and two UDP dumps, ~60 us);
TCP connections only when the read asks for them (`NsContext.connections`): listing them
makes the kernel walk its whole established hash once per namespace (~1.5 ms here).

The processes holding them are looked up once per read of the host, in `finish`, after every
namespace was read, so that /proc is searched only for what was found: the processes of each
namespace, until each of its listening and bound sockets (every socket, with connections)
has a holder (host/sockdiag.find_owners; a descriptor costs ~7 us to read on these VMs).
"""

from __future__ import annotations

import dataclasses
import os

from netscope.collect.base import NsContext
from netscope.host import sockdiag
from netscope.model.sockets import Socket, SocketProcess, SocketTable

# at most this many sockets per namespace go into a snapshot (receiving ones first)
SOCKET_CAP = 10_000
# at most this many /proc/<pid>/fd entries are read to find sockets' processes (about 20 ms
# on these VMs) unless the read lists TCP connections, as `netscope sockets` asks for
OWNER_READS = 3_000
# UDP ports of kernel tunnel sockets (no process holds them): not searched for
TUNNEL_KINDS = ("vxlan", "geneve")


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
        self.from_proc: tuple[str, ...] = ()
        # socket inodes the kernel holds itself (tunnels' UDP ports), by namespace read
        self.kernel: set[int] = set()

    def can_run(self) -> str | None:
        return None

    def begin(self) -> None:
        """A new read of the host starts: which protocols lack a diag module is asked once,
        not per namespace."""
        self.from_proc = tuple(p for p in ("tcp", "udp") if sockdiag.missing_diag_modules(p))
        self.kernel = set()

    def collect(self, ctx: NsContext) -> list[SocketTable]:
        records, sources = sockdiag.read_sockets(ctx.connections, self.from_proc)
        tunnels = {int(lk.details.get("dstport") or 4789) for lk in ctx.results.get("links", ())
                   if lk.kind in TUNNEL_KINDS}
        self.kernel |= {r["inode"] for r in records if r["proto"] == "udp"
                        and r["local_port"] in tunnels and r["state"] == "UNCONN"}
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
        """Every namespace was read: give each socket the processes that hold it (receiving
        sockets only, unless the table has connections)."""
        wanted = {int(t.netns.partition(":")[2]): {
            s.inode for s in t.sockets if s.inode and s.inode not in self.kernel
            and (t.connections or s.receiving)} for t in tables}
        everything = any(t.connections for t in tables)
        try:
            home = os.stat("/proc/self/ns/net").st_ino
            owners, complete = sockdiag.find_owners({ns: i for ns, i in wanted.items() if i},
                                                    home, None if everything else OWNER_READS)
        except OSError:
            return [dataclasses.replace(t, owners=False) for t in tables]
        if not complete:  # the tables whose sockets were not all found may miss some
            tables = [t if wanted[int(t.netns.partition(":")[2])] <= owners.keys()
                      else dataclasses.replace(t, owners=False) for t in tables]
        names = {pid: sockdiag.process_name(pid)
                 for pid in {pid for held in owners.values() for pid, _ in held}}
        held = {inode: tuple(SocketProcess(pid, names[pid][0], fd, names[pid][1])
                             for pid, fd in pairs) for inode, pairs in owners.items()}
        return [dataclasses.replace(t, sockets=tuple(
            _held_by(s, held[s.inode]) if s.inode in held else s for s in t.sockets))
            if any(s.inode in held for s in t.sockets) else t for t in tables]
