"""Layer 4: the TCP and UDP sockets of each namespace, and the processes that hold them."""

from __future__ import annotations

from dataclasses import dataclass, field

# the states a socket can take new connections or datagrams in: a TCP listener, or a UDP
# socket that is bound but not connected ("UNCONN", as ss says)
RECEIVING_STATES = ("LISTEN", "UNCONN")
PROCESSES_SHOWN = 3


@dataclass(frozen=True)
class SocketProcess:
    """A process that holds the socket open: its pid, its command name (comm, at most 15
    characters as the kernel keeps it), the descriptor number, and its parent's pid (tells
    one program's workers from two programs sharing a port)."""

    pid: int
    comm: str
    fd: int
    ppid: int = 0


@dataclass(frozen=True)
class Socket:
    """One TCP or UDP socket (`sock:<ns inode>/<socket cookie>`), as `ss -tanup` lists it.

    `state` uses ss's words: `LISTEN`, `ESTAB`, `SYN-SENT`, `SYN-RECV`, `FIN-WAIT-1`,
    `FIN-WAIT-2`, `TIME-WAIT`, `CLOSE-WAIT`, `LAST-ACK`, `CLOSING`, and `UNCONN` for a UDP
    socket that is not connected. `local` is the bound address (`0.0.0.0` or `::` for a
    wildcard bind), `remote`/`remote_port` the peer of a connected socket (None otherwise).
    `v6only` (IPv6 sockets only): False when a socket bound to `::` also takes IPv4 (as
    v4-mapped addresses). `link` is the interface a socket is bound to (SO_BINDTODEVICE).
    `recv_q`/`send_q`: for a listener, the connections waiting to be accepted and the
    backlog; otherwise the bytes queued each way. `processes`: who holds it, looked up for
    listening and bound sockets (for every socket in a table with connections): the
    processes of its namespace in pid order until one holding it is found (a server's
    master, not each of its workers), else of netscope's own namespace; empty when none
    does (a kernel socket, a TIME-WAIT remnant) or it was not looked up.
    """

    id: str
    netns: str
    proto: str
    family: str
    state: str
    local: str
    local_port: int
    remote: str | None = None
    remote_port: int | None = None
    link: str | None = None
    v6only: bool | None = None
    recv_q: int = 0
    send_q: int = 0
    uid: int = 0
    inode: int = 0
    processes: tuple[SocketProcess, ...] = ()

    @property
    def receiving(self) -> bool:
        """Whether it takes new connections (TCP LISTEN) or datagrams from anyone (UDP
        bound, not connected)."""
        return self.state in RECEIVING_STATES

    @property
    def wildcard(self) -> bool:
        """Bound to every address of its namespace (0.0.0.0 or ::)."""
        return self.local in ("0.0.0.0", "::")

    @property
    def endpoint(self) -> str:
        """`addr:port` as ss prints it (`[::1]:53` for IPv6, `*:80` for a wildcard)."""
        host = "*" if self.wildcard else (f"[{self.local}]" if ":" in self.local
                                          else self.local)
        return f"{host}:{self.local_port}"


@dataclass(frozen=True)
class SocketTable:
    """The sockets of one namespace (`sockets:<ns inode>`).

    A namespace that was read has a table, empty or not; a namespace without one was not
    read (its sockets are unknown, not absent). At most a cap of sockets is kept, receiving
    ones first; `truncated` says when some were left out, `count` is how many there were.
    `sources` says how each protocol was read: `sock_diag` (netlink, the normal way) or
    `proc` (/proc/net/{tcp,udp}{,6}, when the kernel's diag module for it is not loaded:
    collection never loads one). `owners` is False when the processes holding the sockets
    could not all be looked up: /proc could not be read, or the search stopped (a snapshot
    without connections reads at most 3,000 /proc/<pid>/fd entries) before all of this
    table's were found (missing `processes` are then unknown, not absent). `connections` is
    True when TCP sockets in every state were read; otherwise only TCP listeners were (TCP
    connections are read on request: `netscope sockets`, `netscope snapshot --connections`),
    and UDP sockets are always all there.
    """

    id: str
    netns: str
    sockets: tuple[Socket, ...] = ()
    count: int = 0
    truncated: bool = False
    sources: dict[str, str] = field(default_factory=dict)
    owners: bool = True
    connections: bool = False


def local_text(sock: Socket, device: str | None = None) -> str:
    """The local end as ss writes it ("*:80", "127.0.0.1:5432", "[::1]:53"), with
    "%dev" when bound to a device and "(v4 too)" for a dual-stack wildcard."""
    text = sock.endpoint
    if device:
        host, _, port = text.rpartition(":")
        text = f"{host}%{device}:{port}"
    if sock.family == "inet6" and sock.wildcard and sock.v6only is False:
        text += " (v4 too)"
    return text


def peer_text(sock: Socket) -> str:
    """The remote end of a connected socket ("10.0.0.9:51234"), "*" for the others."""
    if sock.remote is None:
        return "*"
    host = f"[{sock.remote}]" if ":" in sock.remote else sock.remote
    return f"{host}:{sock.remote_port}"


def processes_text(sock: Socket) -> str:
    """comm[pid] of the processes that hold `sock`, the first few, then +N."""
    shown = [f"{p.comm}[{p.pid}]" for p in sock.processes[:PROCESSES_SHOWN]]
    more = len(sock.processes) - PROCESSES_SHOWN
    return ",".join(shown) + (f" +{more}" if more > 0 else "")


def socket_order(sock: Socket) -> tuple:
    """Receiving sockets first, then by protocol, port and addresses."""
    return (not sock.receiving, sock.proto, sock.local_port, sock.local, sock.remote or "",
            sock.remote_port or 0)
