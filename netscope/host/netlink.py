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


def iter_attrs(buf: bytes) -> Iterator[tuple[int, bytes]]:
    """Every attribute in buf in order, repeats kept (for lists such as multipath)."""
    off, end = 0, len(buf)
    while off + 4 <= end:
        alen, atype = NLA_HDR.unpack_from(buf, off)
        if alen < 4:
            break
        yield atype & NLA_TYPE_MASK, buf[off + 4 : off + alen]
        off += (alen + 3) & ~3


def attr(atype: int, payload: bytes) -> bytes:
    """Encode one attribute, padded to 4 bytes."""
    raw = NLA_HDR.pack(4 + len(payload), atype) + payload
    return raw + b"\0" * (-len(raw) % 4)


class RtnlSocket:
    """A NETLINK_ROUTE socket bound to the namespace the calling thread is in when created.

    `protocol` opens another netlink family with the same framing (NETLINK_NETFILTER).
    """

    def __init__(self, protocol: int = NETLINK_ROUTE) -> None:
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC,
                                  protocol)
        self.sock.bind((0, 0))
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
                return [body for _, body in self.request(msg_type, header, attrs)]
            except NetlinkError as e:
                if e.errno != errno.EINTR or attempt:
                    raise
        return []
