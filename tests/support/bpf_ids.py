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

from netscope.host import bpf_syscall


def prog_ids() -> set[int]:
    """Ids of every loaded BPF program (no reference taken)."""
    return set(bpf_syscall.next_ids(bpf_syscall.BPF_PROG_GET_NEXT_ID))


def map_ids() -> set[int]:
    """Ids of every BPF map (no reference taken)."""
    return set(bpf_syscall.next_ids(bpf_syscall.BPF_MAP_GET_NEXT_ID))
