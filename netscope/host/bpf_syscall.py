"""What the kernel says about BPF programs: bpf(2) for a program's name, type and tag
(BPF_PROG_GET_FD_BY_ID + BPF_OBJ_GET_INFO_BY_FD, as `bpftool prog show id N` asks) and for the
programs attached to an interface with tcx or netkit (BPF_PROG_QUERY), and for the ids of
every loaded program (BPF_PROG_GET_NEXT_ID, which opens nothing). Numbers and struct
layouts are the kernel's uapi (include/uapi/linux/bpf.h): union bpf_attr, struct
bpf_prog_info. Read-only: nothing is loaded or attached here.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import struct
from dataclasses import dataclass

SYS_BPF = {"x86_64": 321, "aarch64": 280}.get(platform.machine())
BPF_PROG_GET_NEXT_ID, BPF_MAP_GET_NEXT_ID = 11, 12
BPF_PROG_GET_FD_BY_ID, BPF_OBJ_GET_INFO_BY_FD, BPF_PROG_QUERY = 13, 15, 16
BPF_TCX_INGRESS, BPF_TCX_EGRESS = 46, 47
PROG_TYPES = {1: "socket_filter", 2: "kprobe", 3: "sched_cls", 4: "sched_act",
              5: "tracepoint", 6: "xdp", 7: "perf_event", 8: "cgroup_skb",
              9: "cgroup_sock", 10: "lwt_in", 11: "lwt_out", 12: "lwt_xmit",
              13: "sock_ops", 14: "sk_skb", 26: "tracing", 32: "netfilter"}
# struct bpf_prog_info: type, id, tag[8] ... name[16] at offset 64 (a zeroed buffer longer
# than the kernel's struct is accepted: the tail must be zero, and is)
PROG_INFO_SIZE = 256
_INFO_HEAD = struct.Struct("=II8s")
_NAME_AT = 64
# run_time_ns, run_cnt: counted only while kernel.bpf_stats_enabled=1 (0 otherwise)
_RUN_STATS = struct.Struct("=QQ")
_RUN_STATS_AT = 192
_QUERY = struct.Struct("=IIIIQI")  # target_ifindex, attach_type, query_flags, attach_flags,
#                                   prog_ids pointer, prog_cnt
MAX_QUERY = 64

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


class BpfUnavailable(OSError):
    """bpf(2) refused (no CAP_SYS_ADMIN/CAP_BPF, or not this architecture)."""


@dataclass(frozen=True)
class ProgInfo:
    """What BPF_OBJ_GET_INFO_BY_FD says about a program."""

    prog_id: int
    name: str
    prog_type: str
    tag: str
    run_time_ns: int = 0
    run_cnt: int = 0


def _bpf(cmd: int, attr: ctypes.Array) -> int:
    if SYS_BPF is None:
        raise BpfUnavailable(errno.ENOSYS, f"bpf(2) not known on {platform.machine()}")
    ret = _libc.syscall(SYS_BPF, cmd, ctypes.byref(attr), ctypes.sizeof(attr))
    if ret < 0:
        err = ctypes.get_errno()
        raise BpfUnavailable(err, os.strerror(err))
    return ret


def next_ids(cmd: int) -> list[int]:
    """Ids of every loaded program (BPF_PROG_GET_NEXT_ID) or map (BPF_MAP_GET_NEXT_ID), in
    order. Takes no reference on any of them."""
    out: list[int] = []
    attr = ctypes.create_string_buffer(16)  # start_id, next_id, open_flags
    while True:
        try:
            _bpf(cmd, attr)
        except BpfUnavailable as e:
            if e.errno == errno.ENOENT:  # no id after start_id
                return out
            raise
        next_id = struct.unpack_from("=I", attr.raw, 4)[0]
        out.append(next_id)
        struct.pack_into("=I", attr, 0, next_id)


def prog_info(prog_id: int) -> ProgInfo:
    """Name, type, tag and run statistics of the loaded program `prog_id` (BpfUnavailable
    if not asked). Opens the program by id, none of its maps."""
    attr = ctypes.create_string_buffer(struct.pack("=III", prog_id, 0, 0), 16)
    fd = _bpf(BPF_PROG_GET_FD_BY_ID, attr)
    try:
        info = ctypes.create_string_buffer(PROG_INFO_SIZE)
        req = ctypes.create_string_buffer(struct.pack("=IIQ", fd, PROG_INFO_SIZE,
                                                      ctypes.addressof(info)), 16)
        _bpf(BPF_OBJ_GET_INFO_BY_FD, req)
    finally:
        os.close(fd)
    kind, got_id, tag = _INFO_HEAD.unpack_from(info.raw)
    name = info.raw[_NAME_AT:_NAME_AT + 16].split(b"\0", 1)[0].decode("ascii", "replace")
    run_time_ns, run_cnt = _RUN_STATS.unpack_from(info.raw, _RUN_STATS_AT)
    return ProgInfo(got_id, name, PROG_TYPES.get(kind, str(kind)), tag.hex(), run_time_ns,
                    run_cnt)


def attached(ifindex: int, attach_type: int) -> list[int]:
    """Ids of the programs attached to `ifindex` (in the calling thread's namespace) with
    `attach_type` (BPF_TCX_INGRESS ...); BpfUnavailable where the kernel has no such hook."""
    ids = (ctypes.c_uint32 * MAX_QUERY)()
    attr = ctypes.create_string_buffer(_QUERY.pack(ifindex, attach_type, 0, 0,
                                                   ctypes.addressof(ids), MAX_QUERY), 64)
    _bpf(BPF_PROG_QUERY, attr)
    count = struct.unpack_from("=I", attr.raw, 24)[0]
    return [ids[i] for i in range(min(count, MAX_QUERY))]
