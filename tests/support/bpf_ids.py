"""Which BPF programs and maps exist, by id, without opening any of them.

`bpftool prog/map list` opens every object by id (BPF_*_GET_FD_BY_ID). Opening a
prog_array that way right after its owner closed it makes this kernel (6.18) leak it: the
map's deferred clear runs a second time while the first is still queued, and the reference
the second one took is never dropped (measured: 5 of 5 tracer exits with `bpftool map list`
running in a loop leave an `skb_workers` map held by nothing; 0 of 5 without). Tests that
wait for a killed tracer's objects to go therefore walk the ids with BPF_*_GET_NEXT_ID, which
takes no reference.
"""

from __future__ import annotations

import ctypes
import os

SYS_BPF = 321  # x86_64
BPF_PROG_GET_NEXT_ID, BPF_MAP_GET_NEXT_ID = 11, 12


class _NextId(ctypes.Structure):
    _fields_ = [("start_id", ctypes.c_uint32), ("next_id", ctypes.c_uint32),
                ("open_flags", ctypes.c_uint32), ("pad", ctypes.c_uint8 * 116)]


_libc = ctypes.CDLL(None, use_errno=True)


def _ids(cmd: int) -> set[int]:
    out, attr = set(), _NextId()
    while True:
        if _libc.syscall(SYS_BPF, cmd, ctypes.byref(attr), ctypes.sizeof(attr)) != 0:
            err = ctypes.get_errno()
            if err == 2:  # ENOENT: no more
                return out
            raise OSError(err, os.strerror(err))
        out.add(attr.next_id)
        attr.start_id = attr.next_id


def prog_ids() -> set[int]:
    """Ids of every loaded BPF program (no reference taken)."""
    return _ids(BPF_PROG_GET_NEXT_ID)


def map_ids() -> set[int]:
    """Ids of every BPF map (no reference taken)."""
    return _ids(BPF_MAP_GET_NEXT_ID)
