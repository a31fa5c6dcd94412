"""TCP and UDP sockets of one namespace over NETLINK_SOCK_DIAG, and who holds them.

- `read_sockets()` dumps the sockets of the calling thread's namespace with inet_diag (TCP
  and UDP, IPv4 and IPv6): TCP listeners and every UDP socket always, TCP connections on
  request (listing them costs a walk of the kernel's whole established hash per namespace).
  The kernel loads a missing diag module on request; collection never loads a module, so a
  protocol whose diag module is not there is read from /proc/thread-self/net/{tcp,udp}{,6}
  instead (slower, fewer details).
- `find_owners()` finds the processes holding given sockets from /proc/<pid>/fd, reading as
  few descriptors as it can (see there). Sockets belong to the namespace they were created
  in, whatever namespace their process is in now (dockerd holds the embedded DNS sockets of
  containers), so the processes of netscope's own namespace are searched too.
"""

from __future__ import annotations

import os
import socket
import struct
from collections.abc import Iterable

from netscope.host.netlink import NLM_F_DUMP, RtnlSocket, parse_attrs

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
# the original inet_diag request: it dumps TCP sockets of both families in one walk of the
# kernel's tables (SOCK_DIAG_BY_FAMILY takes one family per request: two walks)
TCPDIAG_GETSOCK = 18
# inet_diag_req: family, src_len, dst_len, ext, an inet_diag_sockid (zeroed: no filter on
# ports, addresses, interface or cookie), states, dbs
INET_DIAG_REQ = struct.Struct("=BBBB48xII")
# inet_diag_req_v2: family, protocol, ext, pad, states, then a zeroed inet_diag_sockid
INET_DIAG_REQ_V2 = struct.Struct("=BBBBI48x")
# inet_diag_msg: family, state, timer, retrans; sockid: sport, dport (big-endian), src[16],
# dst[16], interface, cookie; then expires, rqueue, wqueue, uid, inode
INET_DIAG_MSG_HEAD = struct.Struct("=BB2x")
INET_DIAG_PORTS = struct.Struct(">HH")
INET_DIAG_TAIL = struct.Struct("=IQIIIII")
INET_DIAG_MSG_LEN = 72
# response attributes (linux/inet_diag.h) netscope reads
INET_DIAG_SKV6ONLY = 11

# linux/tcp_states.h, named as ss names them; UDP uses ESTABLISHED (connected) and CLOSE
TCP_STATES = {1: "ESTAB", 2: "SYN-SENT", 3: "SYN-RECV", 4: "FIN-WAIT-1", 5: "FIN-WAIT-2",
              6: "TIME-WAIT", 7: "UNCONN", 8: "CLOSE-WAIT", 9: "LAST-ACK", 10: "LISTEN",
              11: "CLOSING", 12: "SYN-RECV"}
TCP_LISTEN = 10
ALL_STATES = 0xFFFFFFFF
PROTOCOLS = {"tcp": socket.IPPROTO_TCP, "udp": socket.IPPROTO_UDP}
FAMILIES = {socket.AF_INET: "inet", socket.AF_INET6: "inet6"}
# the kernel module that answers inet_diag for each protocol (built in, or loaded)
DIAG_MODULES = {"tcp": ("inet_diag", "tcp_diag"), "udp": ("inet_diag", "udp_diag")}

Record = dict[str, object]


def missing_diag_modules(proto: str) -> list[str]:
    """The diag modules `proto` needs that are neither built in nor loaded (empty: ask the
    kernel over sock_diag). A kernel without module support has everything built in."""
    try:
        with open("/proc/modules") as f:
            loaded = {line.split(" ", 1)[0] for line in f}
    except OSError:
        return []
    builtin: set[str] = set()
    try:
        with open(f"/lib/modules/{os.uname().release}/modules.builtin") as f:
            builtin = {os.path.basename(line.strip()).removesuffix(".ko") for line in f}
    except OSError:
        pass
    return [m for m in DIAG_MODULES[proto]
            if m not in loaded and m not in builtin and not os.path.isdir(f"/sys/module/{m}")]


def _address(family: int, raw: bytes) -> str:
    if family == socket.AF_INET:
        return socket.inet_ntop(family, raw[:4])
    return socket.inet_ntop(family, raw)


def parse_inet_diag(body: bytes, proto: str) -> Record:
    """One inet_diag_msg (the netlink payload) as a record of the socket's fields."""
    family, state = INET_DIAG_MSG_HEAD.unpack_from(body)
    sport, dport = INET_DIAG_PORTS.unpack_from(body, 4)
    ifindex, cookie, _expires, rqueue, wqueue, uid, inode = INET_DIAG_TAIL.unpack_from(body, 40)
    connected = (proto == "tcp" and state != TCP_LISTEN) or (proto == "udp" and state == 1)
    v6only = None
    if family == socket.AF_INET6:
        attrs = parse_attrs(body, INET_DIAG_MSG_LEN)
        flag = attrs.get(INET_DIAG_SKV6ONLY)
        v6only = bool(flag[0]) if flag else None
    return {
        "proto": proto, "family": FAMILIES.get(family, str(family)),
        "state": TCP_STATES.get(state, str(state)),
        "local": _address(family, body[8:24]), "local_port": sport,
        "remote": _address(family, body[24:40]) if connected else None,
        "remote_port": dport if connected else None,
        "ifindex": ifindex, "cookie": cookie, "v6only": v6only,
        "recv_q": rqueue, "send_q": wqueue, "uid": uid, "inode": inode,
    }


def dump_tcp(sock: RtnlSocket, states: int) -> list[Record]:
    """Every TCP socket, IPv4 and IPv6, in the states of the bit mask `states` (bit N is TCP
    state N) of the namespace `sock` was opened in. Asking for more than LISTEN makes the
    kernel walk its whole established hash, shared by all namespaces (262,144 buckets here:
    ~1.5 ms, against ~20 us for the listeners alone)."""
    req = INET_DIAG_REQ.pack(0, 0, 0, 0, states, 0)
    return [parse_inet_diag(body, "tcp")
            for _, body in sock.request(TCPDIAG_GETSOCK, req, flags=NLM_F_DUMP)]


def dump_udp(sock: RtnlSocket) -> list[Record]:
    """Every UDP socket, IPv4 and IPv6 (bound or connected), of `sock`'s namespace."""
    out = []
    for family in (socket.AF_INET, socket.AF_INET6):
        req = INET_DIAG_REQ_V2.pack(family, socket.IPPROTO_UDP, 0, 0, ALL_STATES)
        out += [parse_inet_diag(body, "udp")
                for _, body in sock.request(SOCK_DIAG_BY_FAMILY, req, flags=NLM_F_DUMP)]
    return out


# /proc/net/tcp's "st" column is the same kernel state number, in hex
def parse_proc_net(text: str, proto: str, family: str) -> list[Record]:
    """The sockets of one /proc/net/{tcp,udp}{,6} table as records (no cookie, interface or
    v6only: the table does not say them)."""
    out: list[Record] = []
    for line in text.splitlines()[1:]:
        cols = line.split()
        if len(cols) < 10:
            continue
        local, remote = cols[1].rsplit(":", 1), cols[2].rsplit(":", 1)
        state = int(cols[3], 16)
        tx, rx = (int(x, 16) for x in cols[4].split(":"))
        connected = (proto == "tcp" and state != TCP_LISTEN) or (proto == "udp" and state == 1)
        out.append({
            "proto": proto, "family": family, "state": TCP_STATES.get(state, str(state)),
            "local": _hex_address(local[0]), "local_port": int(local[1], 16),
            "remote": _hex_address(remote[0]) if connected else None,
            "remote_port": int(remote[1], 16) if connected else None,
            "ifindex": 0, "cookie": 0, "v6only": None, "recv_q": rx, "send_q": tx,
            "uid": int(cols[7]), "inode": int(cols[9]),
        })
    return out


def _hex_address(text: str) -> str:
    raw = bytes.fromhex(text)
    # the kernel prints each 32-bit word in host order (little-endian here)
    words = struct.unpack(f"<{len(raw) // 4}I", raw)
    packed = struct.pack(f">{len(words)}I", *words)
    return socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, packed)


def read_proc_net(proto: str) -> list[Record]:
    """The calling thread's namespace's `proto` sockets from /proc/thread-self/net."""
    out: list[Record] = []
    for name, family in ((proto, "inet"), (proto + "6", "inet6")):
        try:
            with open(f"/proc/thread-self/net/{name}") as f:
                out += parse_proc_net(f.read(), proto, family)
        except FileNotFoundError:  # IPv6 disabled
            continue
    return out


def read_sockets(connections: bool = False, from_proc: Iterable[str] = ()
                 ) -> tuple[list[Record], dict[str, str]]:
    """The sockets of the calling thread's namespace: TCP listeners (with `connections`, TCP
    sockets in every state) and every UDP socket; and how each protocol was read:
    "sock_diag", or "proc" for the protocols in `from_proc` (those whose diag module is
    missing: `missing_diag_modules`). Raises OSError."""
    records: list[Record] = []
    sources: dict[str, str] = {}
    diag = None
    try:
        for proto in ("tcp", "udp"):
            if proto in from_proc:
                found = read_proc_net(proto)
                if proto == "tcp" and not connections:
                    found = [r for r in found if r["state"] == "LISTEN"]
                records += found
                sources[proto] = "proc"
                continue
            if diag is None:
                diag = RtnlSocket(NETLINK_SOCK_DIAG)
            records += (dump_tcp(diag, ALL_STATES if connections else 1 << TCP_LISTEN)
                        if proto == "tcp" else dump_udp(diag))
            sources[proto] = "sock_diag"
    finally:
        if diag is not None:
            diag.close()
    return records, sources


def processes_by_netns() -> dict[int, list[int]]:
    """Network namespace inode -> pids of its processes (this one and kernel threads left
    out: they hold no sockets), in pid order."""
    me = os.getpid()
    out: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            target = os.readlink(f"/proc/{entry}/ns/net")
        except OSError:
            continue
        out.setdefault(int(target[5:-1]), []).append(int(entry))
    for pids in out.values():
        pids.sort()
    return out


def find_owners(wanted: dict[int, set[int]], home: int, budget: int | None = None
                ) -> tuple[dict[int, list[tuple[int, int]]], bool]:
    """(socket inode -> [(pid, fd)] holding it, whether the search was complete), for the
    `wanted` socket inodes of each namespace (by inode). Reading /proc/<pid>/fd costs a
    syscall per descriptor (~7 us on these VMs), so the search stops as soon as each wanted
    socket has a holder: first the processes of the socket's own namespace, in pid order (a
    server's master before its workers), each read only until the namespace's sockets are
    all found; then, for what is left, the processes of `home` (the namespace netscope runs
    in: daemons such as dockerd hold sockets made in containers' namespaces). Sockets no
    process holds (the kernel's) cost a search of all of those. With `budget`, at most that
    many descriptors are read: the search is then incomplete when it ran out."""
    owners: dict[int, list[tuple[int, int]]] = {}
    reads = [0]
    every = set().union(*wanted.values()) if wanted else set()
    by_ns = processes_by_netns()
    scanned: set[int] = set()

    def scan(pid: int, todo: set[int]) -> None:
        """Record `pid`'s wanted sockets; stop reading its descriptors once `todo` (what
        the caller still looks for) is empty."""
        scanned.add(pid)
        base = f"/proc/{pid}/fd/"
        try:
            fds = os.listdir(base)
        except OSError:
            return
        for fd in fds:
            if budget is not None and reads[0] >= budget:
                return
            reads[0] += 1
            try:
                target = os.readlink(base + fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inode = int(target[8:-1])
                if inode in every:
                    owners.setdefault(inode, []).append((pid, int(fd)))
                    todo.discard(inode)
                    if not todo:
                        return

    for netns, inodes in wanted.items():
        todo = inodes - owners.keys()
        for pid in by_ns.get(netns, ()):
            if not todo:
                break
            if pid not in scanned:
                scan(pid, todo)
    left = every - owners.keys()
    for pid in by_ns.get(home, ()):
        if not left:
            break
        if pid not in scanned:
            scan(pid, left)
    return owners, budget is None or reads[0] < budget


def process_name(pid: int) -> tuple[str, int]:
    """(comm, parent pid) of `pid` from /proc/<pid>/stat; ("?", 0) when it exited."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode(errors="replace")
    except OSError:
        return "?", 0
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses itself
    head, _, tail = stat.rpartition(")")
    fields = tail.split()
    return head.partition("(")[2], int(fields[1]) if len(fields) > 1 else 0
