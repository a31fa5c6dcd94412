"""A BPF ring buffer read through its own mapping, records decoded in place, in batches.

bcc reads a ring buffer through libbpf, which calls back into Python once per record (a
ctypes callback, then a copy of the record): at the journey tracer's ~200,000 events a
second that alone was a quarter of a core, before any decoding. Here the reader maps the
ring as libbpf does (kernel/bpf/ringbuf.c: one read-write page with the consumer position,
then a read-only page with the producer position and the data, mapped twice in a row so a
record that wraps is contiguous) and walks the records itself.

Each record starts with an 8-byte header: its length, with BUSY (still being written) and
DISCARD bits, and a page offset. The kernel commits a record by clearing BUSY with a store
release; the reader must load the header before the record with acquire ordering. x86-64
keeps loads in order, so plain loads do; elsewhere `usable()` says no and the caller keeps
libbpf's reader.
"""

from __future__ import annotations

import mmap
import platform
import select
from collections.abc import Callable
from typing import TypeVar

BUSY_BIT = 1 << 31
DISCARD_BIT = 1 << 30
HEADER = 8
# The positions are read and written through memoryviews of 8-byte items: one aligned load
# or store each. Not struct: its pack_into zero-fills the target before writing it, and the
# kernel, reading the consumer position in between, saw 0, thought the ring full and
# refused the record (about one in 15,000 "lost" on a busy flow with the ring near empty).
_SIZE_MASK = ~(BUSY_BIT | DISCARD_BIT)

T = TypeVar("T")


def usable() -> bool:
    """Whether this reader's plain loads are ordered as the ring needs (see the module)."""
    return platform.machine() in ("x86_64", "AMD64")


class RingReader:
    """The ring buffer map `map_fd` of `data_size` bytes (a power of two, whole pages)."""

    def __init__(self, map_fd: int, data_size: int) -> None:
        page = mmap.PAGESIZE
        if data_size <= 0 or data_size & (data_size - 1) or data_size % page:
            raise ValueError(f"a ring buffer's size is a power of two of whole pages, "
                             f"not {data_size}")
        self._base, self._mask = page, data_size - 1
        self._consumer = mmap.mmap(map_fd, page, mmap.MAP_SHARED,
                                   mmap.PROT_READ | mmap.PROT_WRITE)
        try:
            self._producer = mmap.mmap(map_fd, page + 2 * data_size, mmap.MAP_SHARED,
                                       mmap.PROT_READ, offset=page)
            try:
                self._epoll = select.epoll()
                self._epoll.register(map_fd, select.EPOLLIN | select.EPOLLET)
            except BaseException:
                self._producer.close()
                raise
        except BaseException:
            self._consumer.close()
            raise
        self._consumer_pos = memoryview(self._consumer)[:8].cast("Q")
        self._producer_pos = memoryview(self._producer)[:8].cast("Q")
        # the data as 4-byte words: a record's header (its length) is the word at its start
        self._words = memoryview(self._producer).cast("I")

    def wait(self, timeout_s: float) -> None:
        """Until the producer wakes the reader or `timeout_s` passes (records may be there
        either way: the probes wake the reader once a batch waits, not at every record).
        Edge-triggered: records already there do not end the wait at once (level-triggered,
        a reader behind a busy flow went round for a handful of records at a time)."""
        self._epoll.poll(timeout_s)

    def pending(self) -> bool:
        return self._producer_pos[0] != self._consumer_pos[0]

    def read(self, decode: Callable[[mmap.mmap, int, int], T]) -> list[T]:
        """Every committed record, as decode(buffer, offset, size) returns it, in order;
        their space is given back to the producer after (decode must copy what it keeps)."""
        data, words, base, mask = self._producer, self._words, self._base, self._mask
        consumer, producer = self._consumer_pos[0], self._producer_pos[0]
        out = []
        append = out.append
        while consumer < producer:
            at = base + (consumer & mask)
            length = words[at >> 2]  # records start 8-byte aligned
            if length & BUSY_BIT:
                break  # the next record is still being written: the rest waits for it
            size = length & _SIZE_MASK
            if not length & DISCARD_BIT:
                append(decode(data, at + HEADER, size))
            consumer += (size + HEADER + 7) & ~7
        self._consumer_pos[0] = consumer
        return out

    def skip(self) -> None:
        """Give back everything committed so far, unread (what a previous use left)."""
        self.read(_nothing)

    def close(self) -> None:
        self._consumer_pos.release()  # a mapping with views on it cannot be closed
        self._producer_pos.release()
        self._words.release()
        self._epoll.close()
        self._producer.close()
        self._consumer.close()


def _nothing(_data: mmap.mmap, _offset: int, _size: int) -> None:
    return None
