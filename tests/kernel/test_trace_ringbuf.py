"""The ring buffer reader (netscope/trace/ringbuf.py) on a real BPF ring buffer: records
written by a real program, around the ring many times, some discarded, the
ring filled past its end: every committed record read once, in order, byte for byte, and
what the kernel refused is what it counted.

The program fires on this thread's getppid() calls alone (the syscall number and the
thread id are checked in the kernel), and writes the record each call asks for through a
one-slot array this test fills before the call.
"""

from __future__ import annotations

import ctypes as ct
import os
import struct
import threading

import pytest

from netscope.trace import ringbuf
from netscope.trace.preflight import bcc_importable
from tests.support.netns import require_root

PROGRAM = r"""
struct ask { u32 tid; u32 seq; u32 discard; };
BPF_RINGBUF_OUTPUT(rb, 1);
BPF_ARRAY(asked, struct ask, 1);
BPF_ARRAY(refused, u64, 1);

RAW_TRACEPOINT_PROBE(sys_enter)
{
    if (ctx->args[1] != 110)  /* getppid on x86-64 (the reader's only architecture) */
        return 0;
    u32 zero = 0;
    struct ask *a = asked.lookup(&zero);
    if (!a || a->tid != (u32)bpf_get_current_pid_tgid())
        return 0;
    u32 *rec = rb.ringbuf_reserve(64);
    if (!rec) {
        u64 *n = refused.lookup(&zero);
        if (n)
            (*n)++;
        return 0;
    }
    /* what the reader should see: seq, seq + 1, ... */
    #pragma unroll
    for (int i = 0; i < 16; i++)
        rec[i] = a->seq + i;
    if (a->discard)
        rb.ringbuf_discard(rec, 0);
    else
        rb.ringbuf_submit(rec, BPF_RB_NO_WAKEUP);
    return 0;
}
"""


@pytest.fixture
def ring():
    reason = require_root() or (None if bcc_importable() else "bcc is not importable")
    if reason:
        pytest.skip(reason)
    if not ringbuf.usable():
        pytest.skip("the mapped reader is used on x86-64 only")
    from netscope.trace.bcc_module import import_bcc

    bpf = import_bcc().BPF(text=PROGRAM.encode())
    try:
        table = bpf[b"rb"]
        reader = ringbuf.RingReader(table.map_fd, table.max_entries)
        try:
            yield bpf, reader, table.max_entries
        finally:
            reader.close()
    finally:
        bpf.cleanup()


def _write(bpf, seq: int, discard: bool = False) -> None:
    asked = bpf[b"asked"]
    leaf = asked.Leaf()
    leaf.tid, leaf.seq, leaf.discard = threading.get_native_id(), seq, discard
    asked[ct.c_int(0)] = leaf
    os.getppid()


def _record(buf, offset: int, size: int) -> tuple[int, ...]:
    return struct.unpack_from(f"={size // 4}I", buf, offset)


def test_every_record_is_read_once_in_order_across_wraps_and_discards(ring):
    bpf, reader, size = ring
    assert size == 4096
    written, seen = [], []
    seq = 0
    for batch in range(12):  # 12 x 40 records of 72 bytes: about eight times round the ring
        for i in range(40):
            seq += 1
            discard = (batch * 40 + i) % 7 == 3
            _write(bpf, seq * 100, discard)
            if not discard:
                written.append(tuple(seq * 100 + j for j in range(16)))
        seen += reader.read(_record)
    assert seen == written
    assert reader.read(_record) == []
    assert not reader.pending()


def test_a_full_ring_refuses_what_does_not_fit_and_the_reader_frees_it(ring):
    bpf, reader, size = ring
    for seq in range(1, 101):  # 100 x 72 bytes > 4,096
        _write(bpf, seq)
    fits = size // 72
    refused = bpf[b"refused"][ct.c_int(0)].value
    assert refused == 100 - fits
    got = reader.read(_record)
    assert [r[0] for r in got] == list(range(1, fits + 1))
    _write(bpf, 1000)  # room again
    assert [r[0] for r in reader.read(_record)] == [1000]


def test_skip_gives_back_what_a_previous_use_left(ring):
    bpf, reader, _ = ring
    for seq in range(1, 6):
        _write(bpf, seq)
    assert reader.pending()
    reader.skip()
    assert not reader.pending() and reader.read(_record) == []
    _write(bpf, 7)
    assert [r[0] for r in reader.read(_record)] == [7]
