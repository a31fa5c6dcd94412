"""netlink.ReadAhead: a dump's chunks received by a second thread while the caller decodes.

A SOCK_SEQPACKET pair stands for the kernel's netlink socket: it keeps each chunk's bounds
(one recv, one chunk) as a netlink socket does, and takes the same receive timeout.
"""

import socket
import struct
import threading
import time

import pytest

from netscope.host import netlink
from netscope.host.netlink import NLMSG_DONE, NLMSG_HDR, ReadAhead

SEQ = 7


def _msg(body: bytes, mtype: int = 0x101, seq: int = SEQ) -> bytes:
    return NLMSG_HDR.pack(16 + len(body), mtype, 2, seq, 0) + body


DONE = _msg(b"\0" * 4, NLMSG_DONE)


@pytest.fixture
def pair():
    ours, kernel = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    yield ours, kernel
    ours.close()
    kernel.close()


def _consume(chunks) -> list[int]:
    """What a caller does: walk the messages until NLMSG_DONE; the message numbers seen."""
    seen = []
    for data in chunks:
        off = 0
        while off + 16 <= len(data):
            mlen, mtype, _, _, _ = NLMSG_HDR.unpack_from(data, off)
            if mtype == NLMSG_DONE:
                return seen
            seen.append(struct.unpack_from("=I", data, off + 16)[0])
            off += mlen
    raise AssertionError("no end")


def _threads() -> int:
    return sum(t.name == "netlink-read-ahead" for t in threading.enumerate())


def test_chunks_after_the_first_come_from_the_thread_in_order(pair):
    ours, kernel = pair
    for i in range(0, 50, 5):
        kernel.send(b"".join(_msg(struct.pack("=I", n)) for n in range(i, i + 5)) +
                    (DONE if i == 45 else b""))
    with ReadAhead(ours, SEQ) as chunks:
        seen = _consume(chunks)
        assert chunks._thread is not None
    assert seen == list(range(50))
    assert _threads() == 0
    # the receive timeout the thread needed is taken off again
    assert ours.getsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, 16) == bytes(16)


def test_a_dump_of_one_chunk_starts_no_thread(pair):
    ours, kernel = pair
    kernel.send(_msg(struct.pack("=I", 1)) + DONE)
    with ReadAhead(ours, SEQ) as chunks:
        assert _consume(chunks) == [1]
        assert chunks._thread is None


def test_an_end_the_thread_mistook_is_read_past_in_the_callers_thread(pair):
    ours, kernel = pair
    # message 1's last 20 bytes look like NLMSG_DONE of this dump: the thread stops there,
    # the caller's walk does not, and the rest is received without the thread
    lookalike = _msg(struct.pack("=I", 1) + DONE)
    kernel.send(_msg(struct.pack("=I", 0)))
    kernel.send(lookalike)
    kernel.send(_msg(struct.pack("=I", 2)) + DONE)
    with ReadAhead(ours, SEQ) as chunks:
        assert _consume(chunks) == [0, 1, 2]
    assert _threads() == 0


def test_a_caller_that_stops_early_stops_the_thread(pair):
    ours, kernel = pair
    done = threading.Event()

    def endless_dump() -> None:
        # as the kernel in the middle of a dump: always a next chunk to receive
        n = 0
        kernel.settimeout(0.05)
        while not done.is_set():
            try:
                kernel.send(_msg(struct.pack("=I", n)))
            except TimeoutError:
                continue
            n += 1

    feeder = threading.Thread(target=endless_dump)
    feeder.start()
    try:
        chunks = ReadAhead(ours, SEQ)
        got = iter(chunks)
        assert [next(got), next(got)] == [_msg(struct.pack("=I", n)) for n in (0, 1)]
        start = time.monotonic()
        chunks.close()
        assert time.monotonic() - start < 1 and _threads() == 0
    finally:
        done.set()
        feeder.join()


def test_a_dump_that_stops_without_its_end_raises_instead_of_hanging(pair, monkeypatch):
    monkeypatch.setattr(netlink, "SO_RCVTIMEO_SET", struct.pack("@ll", 0, 200_000))
    ours, kernel = pair
    kernel.send(_msg(struct.pack("=I", 0)))
    kernel.send(_msg(struct.pack("=I", 1)))
    with pytest.raises(OSError), ReadAhead(ours, SEQ) as chunks:
        _consume(chunks)
    assert _threads() == 0
