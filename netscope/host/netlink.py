"""A lean rtnetlink client: one raw socket per namespace, dumps, and an attribute parser.

pyroute2's `netns=` helpers fork a process per namespace (3 s for 200 namespaces here); a raw
socket opened inside each namespace plus this parser reads the same in tens of milliseconds.
Messages are decoded in `netscope.host.rtnl`; this module only frames them.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
import threading
from collections.abc import Iterator
from queue import SimpleQueue

NETLINK_ROUTE = 0
NLM_F_REQUEST = 0x1
NLM_F_MULTI = 0x2
NLM_F_ACK = 0x4
NLM_F_DUMP = 0x300
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLMSG_HDR = struct.Struct("=IHHII")
NLA_HDR = struct.Struct("=HH")
NLA_TYPE_MASK = 0x3FFF
RECV_SIZE = 1 << 20

Attrs = dict[int, bytes]


class NlaSpace:
    """The attributes of one netlink attribute space, declared as a table (pyroute2's nla_map).

    `IFLA = NlaSpace("IFLA", ((3, "IFLA_IFNAME", "asciiz"), ...))` gives `IFLA.IFNAME == 3`,
    `IFLA.name(3) == "IFLA_IFNAME"` and `IFLA.kind(3) == "asciiz"`, so parsers index
    attributes by number at run time while their source reads the kernel's names. The kind
    says how the payload is encoded (u8, u16, u32, s32, be16, be32, u64, asciiz, l2addr,
    ipaddr, nested, flag, binary) for readers and for tests that decode by the table.
    """

    def __init__(self, prefix: str, table: tuple[tuple[int, str, str], ...]) -> None:
        self.prefix = prefix
        self._names: dict[int, str] = {}
        self._kinds: dict[int, str] = {}
        for number, name, kind in table:
            if not name.startswith(prefix + "_"):
                raise ValueError(f"{name} is not in the {prefix} attribute space")
            if number in self._names or hasattr(self, name[len(prefix) + 1:]):
                raise ValueError(f"{prefix}: {number} {name} is declared twice")
            self._names[number] = name
            self._kinds[number] = kind
            setattr(self, name[len(prefix) + 1:], number)

    def name(self, number: int) -> str:
        """The kernel's name of attribute `number` ("IFLA_LINK_NETNSID"), or PREFIX_<n>."""
        return self._names.get(number & NLA_TYPE_MASK, f"{self.prefix}_{number}")

    def kind(self, number: int) -> str | None:
        return self._kinds.get(number & NLA_TYPE_MASK)

    def numbers(self) -> dict[str, int]:
        """{kernel name: number} of every declared attribute."""
        return {name: number for number, name in self._names.items()}

    def __getattr__(self, item: str) -> int:  # for type checkers; declared names are set above
        raise AttributeError(f"{self.prefix}_{item} is not declared")

# One receive buffer per thread, shared by all its sockets: a collection keeps a socket open
# per namespace (hundreds), and a buffer each would cost hundreds of MB.
_local = threading.local()


def _recv_buffer() -> bytearray:
    buf = getattr(_local, "buf", None)
    if buf is None:
        buf = _local.buf = bytearray(RECV_SIZE)
    return buf


class NetlinkError(OSError):
    """The kernel answered a netlink request with an error."""


def parse_attrs(buf: bytes, off: int = 0, end: int | None = None) -> Attrs:
    """The netlink attributes in buf[off:end], as {type: payload}; the last one of a type wins."""
    if end is None:
        end = len(buf)
    attrs: Attrs = {}
    unpack = NLA_HDR.unpack_from
    while off + 4 <= end:
        alen, atype = unpack(buf, off)
        if alen < 4:
            break
        attrs[atype & NLA_TYPE_MASK] = buf[off + 4 : off + alen]
        off += (alen + 3) & ~3
    return attrs


def wanted_attrs(buf: bytes, off: int, end: int, wanted: frozenset[int]) -> Attrs:
    """Like parse_attrs, but only the attribute types in `wanted` are copied out.

    Most attributes of a link message (40 and more) are counters and limits nobody reads:
    skipping their copies and dict entries saves about a third of the parse.
    """
    attrs: Attrs = {}
    unpack = NLA_HDR.unpack_from
    while off + 4 <= end:
        alen, atype = unpack(buf, off)
        if alen < 4:
            break
        atype &= NLA_TYPE_MASK
        if atype in wanted:
            attrs[atype] = buf[off + 4 : off + alen]
        off += (alen + 3) & ~3
    return attrs


def iter_attrs(buf: bytes) -> Iterator[tuple[int, bytes]]:
    """Every attribute in buf in order, repeats kept (for lists such as multipath)."""
    off, end = 0, len(buf)
    while off + 4 <= end:
        alen, atype = NLA_HDR.unpack_from(buf, off)
        if alen < 4:
            break
        yield atype & NLA_TYPE_MASK, buf[off + 4 : off + alen]
        off += (alen + 3) & ~3


def attr_payloads(buf: bytes) -> list[bytes]:
    """The payloads of every attribute in buf, in order (a nest's list, such as a rule's
    expressions): a list, without iter_attrs' generator step per attribute."""
    out, off, end = [], 0, len(buf)
    unpack = NLA_HDR.unpack_from
    while off + 4 <= end:
        alen = unpack(buf, off)[0]
        if alen < 4:
            break
        out.append(buf[off + 4 : off + alen])
        off += (alen + 3) & ~3
    return out


def attr(atype: int, payload: bytes) -> bytes:
    """Encode one attribute, padded to 4 bytes."""
    raw = NLA_HDR.pack(4 + len(payload), atype) + payload
    return raw + b"\0" * (-len(raw) % 4)


class RtnlSocket:
    """A NETLINK_ROUTE socket bound to the namespace the calling thread is in when created.

    `protocol` opens another netlink family with the same framing (NETLINK_NETFILTER).
    """

    def __init__(self, protocol: int = NETLINK_ROUTE) -> None:
        # not bound: the first send binds it (an explicit bind is one more system call in
        # each of a thousand namespaces)
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC,
                                  protocol)
        self.seq = 0

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RtnlSocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, msg_type: int, header: bytes, attrs: bytes = b"",
                flags: int = NLM_F_DUMP) -> Iterator[tuple[int, bytes]]:
        """Send one request and yield (msg_type, body) for every answer until it is complete.

        `body` is the message after the netlink header (family header + attributes).
        """
        self.seq += 1
        seq = self.seq
        payload = header + attrs
        self.sock.send(NLMSG_HDR.pack(16 + len(payload), msg_type, NLM_F_REQUEST | flags, seq, 0)
                       + payload)
        dump = flags & NLM_F_DUMP == NLM_F_DUMP
        buf = _recv_buffer()
        view = memoryview(buf)
        unpack = NLMSG_HDR.unpack_from
        while True:
            n = self.sock.recv_into(buf)
            data = bytes(view[:n])
            off = 0
            while off + 16 <= n:
                mlen, mtype, mflags, mseq, _ = unpack(data, off)
                if mlen < 16:
                    return
                if mseq == seq:
                    if mtype == NLMSG_DONE:
                        return
                    if mtype == NLMSG_ERROR:
                        code = -struct.unpack_from("=i", data, off + 16)[0]
                        if code:
                            raise NetlinkError(code, os.strerror(code))
                        return
                    yield mtype, data[off + 16 : off + mlen]
                    if not dump and not mflags & NLM_F_MULTI:
                        return
                off += (mlen + 3) & ~3

    def dump(self, msg_type: int, header: bytes, attrs: bytes = b"") -> list[bytes]:
        """Every message of a dump, as bodies. EINTR-style interrupted dumps are retried once."""
        for attempt in range(2):
            try:
                return self._dump_once(msg_type, header, attrs)
            except NetlinkError as e:
                if e.errno != errno.EINTR or attempt:
                    raise
        return []

    def _dump_once(self, msg_type: int, header: bytes, attrs: bytes) -> list[bytes]:
        # request()'s loop without a generator step per message (a few hundred thousand
        # messages at 1,000 namespaces)
        self.seq += 1
        seq = self.seq
        payload = header + attrs
        self.sock.send(NLMSG_HDR.pack(16 + len(payload), msg_type, NLM_F_REQUEST | NLM_F_DUMP,
                                      seq, 0) + payload)
        buf = _recv_buffer()
        view = memoryview(buf)
        unpack = NLMSG_HDR.unpack_from
        recv_into = self.sock.recv_into
        bodies: list[bytes] = []
        append = bodies.append
        while True:
            n = recv_into(buf)
            data = bytes(view[:n])
            off = 0
            while off + 16 <= n:
                mlen, mtype, _, mseq, _ = unpack(data, off)
                if mlen < 16:
                    return bodies
                if mseq == seq:
                    if mtype == NLMSG_DONE:
                        return bodies
                    if mtype == NLMSG_ERROR:
                        code = -struct.unpack_from("=i", data, off + 16)[0]
                        if code:
                            raise NetlinkError(code, os.strerror(code))
                        return bodies
                    append(data[off + 16 : off + mlen])
                off += (mlen + 3) & ~3


_DONE_TAIL = struct.Struct("=IH2xI")  # NLMSG_DONE's length, type and sequence number
SO_RCVTIMEO_SET = struct.pack("@ll", 2, 0)
SO_RCVTIMEO_OFF = struct.pack("@ll", 0, 0)


def _ends(chunk: bytes, seq: int) -> bool:
    """Does this chunk end the dump `seq`? The kernel appends NLMSG_DONE (20 bytes: header
    and an errno) to the last chunk of every dump, failed ones included."""
    return len(chunk) >= 20 and _DONE_TAIL.unpack_from(chunk, len(chunk) - 20) == \
        (20, NLMSG_DONE, seq)


class ReadAhead:
    """The chunks of one netlink dump, the next ones received by a second thread while the
    caller decodes the last: iterate, and close() when done (or use as a context manager).

    The kernel makes a dump's next chunk (up to 32 KB) inside the recv() that takes the
    previous one, so a reader that receives and decodes in turn waits for the kernel at
    every chunk; here the kernel's work runs on the other core, outside the GIL. The thread
    starts only when the first chunk does not end the dump, so a small dump costs one recv
    as before. It stops after the chunk that ends with the dump's NLMSG_DONE; should the
    caller find no end in what it got, the rest is received in the caller's thread. While
    it runs the socket times out after 2 s, so that a thread waiting for a chunk that will
    not come cannot hang the caller's close(). The iterator only yields chunks: the caller
    checks the messages (sequence numbers, NLMSG_DONE, NLMSG_ERROR) as before.
    """

    def __init__(self, sock: socket.socket, seq: int) -> None:
        self.sock, self.seq = sock, seq  # sock: anything with recv_into is read in turn
        self._queue: SimpleQueue = SimpleQueue()
        self._stop = False
        self._thread: threading.Thread | None = None

    def __enter__(self) -> ReadAhead:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _recv(self, buf: bytearray) -> bytes:
        n = self.sock.recv_into(buf)
        return bytes(memoryview(buf)[:n])

    def __iter__(self) -> Iterator[bytes]:
        buf = bytearray(RECV_SIZE)
        first = self._recv(buf)
        # only a socket can be given the receive timeout (tests hand in other readers)
        if isinstance(self.sock, socket.socket) and not _ends(first, self.seq):
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, SO_RCVTIMEO_SET)
            self._thread = threading.Thread(target=self._read, name="netlink-read-ahead",
                                            daemon=True)
            self._thread.start()
        yield first
        if self._thread is not None:
            get = self._queue.get
            while True:
                chunk = get()
                if chunk is None:
                    break
                if isinstance(chunk, OSError):
                    raise chunk
                yield chunk
        while True:  # the dump goes on past what the thread took for its end
            yield self._recv(buf)

    def _read(self) -> None:
        put, seq = self._queue.put, self.seq
        buf = bytearray(RECV_SIZE)
        try:
            while not self._stop:
                chunk = self._recv(buf)
                put(chunk)
                if _ends(chunk, seq):
                    break
        except OSError as e:
            if not self._stop:
                put(e)
        finally:
            put(None)

    def close(self) -> None:
        """Stop the thread (it ends at the next chunk, or at the dump's end) and wait for it."""
        self._stop = True
        if self._thread is not None:
            self._thread.join()
            self._thread = None
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, SO_RCVTIMEO_OFF)
