"""tc as eBPF datapaths use it: which interfaces have a clsact (or ingress) qdisc, and the
cls_bpf filters on them, read over rtnetlink as `tc qdisc show` / `tc filter show dev D
ingress` ask (RTM_GETQDISC, RTM_GETTFILTER). Numbers are the kernel's uapi
(linux/rtnetlink.h, pkt_sched.h, pkt_cls.h).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from netscope.host.netlink import NetlinkError, NlaSpace, RtnlSocket, parse_attrs

RTM_GETQDISC, RTM_GETTFILTER = 38, 46
TCMSG = struct.Struct("=BxxxiIII")  # family, ifindex, handle, parent, info
TC_H_CLSACT = 0xFFFFFFF1  # also TC_H_INGRESS: the parent of clsact and ingress qdiscs
TC_H_MIN_INGRESS, TC_H_MIN_EGRESS = 0xFFF2, 0xFFF3
INGRESS_QDISC_HANDLE = 0xFFFF0000
TCA_BPF_FLAG_ACT_DIRECT = 1

TCA = NlaSpace("TCA", ((1, "TCA_KIND", "asciiz"), (2, "TCA_OPTIONS", "nested"),
                       (11, "TCA_CHAIN", "u32")))
TCA_BPF = NlaSpace("TCA_BPF", (
    (1, "TCA_BPF_ACT", "nested"), (3, "TCA_BPF_CLASSID", "u32"), (6, "TCA_BPF_FD", "u32"),
    (7, "TCA_BPF_NAME", "asciiz"), (8, "TCA_BPF_FLAGS", "u32"),
    (9, "TCA_BPF_FLAGS_GEN", "u32"), (10, "TCA_BPF_TAG", "binary"),
    (11, "TCA_BPF_ID", "u32")))
_U32 = struct.Struct("=I")


@dataclass(frozen=True)
class BpfFilter:
    """A cls_bpf filter: on `ifindex`, `direction` "ingress" or "egress"."""

    ifindex: int
    direction: str
    prog_id: int
    name: str | None
    tag: str | None
    direct_action: bool
    priority: int
    handle: int


def _cstr(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


def hook_points(sock: RtnlSocket) -> list[tuple[int, list[tuple[str, int]]]]:
    """(ifindex, [(direction, parent)]) of every interface with a clsact or ingress qdisc:
    the only places a tc filter can run on received (and, with clsact, sent) packets."""
    out = []
    for body in sock.dump(RTM_GETQDISC, TCMSG.pack(0, 0, 0, 0, 0)):
        _family, ifindex, handle, parent, _info = TCMSG.unpack_from(body)
        attrs = parse_attrs(body[TCMSG.size:])
        kind = _cstr(attrs.get(TCA.KIND, b""))
        if parent != TC_H_CLSACT or handle != INGRESS_QDISC_HANDLE:
            continue
        if kind == "clsact":
            out.append((ifindex, [("ingress", INGRESS_QDISC_HANDLE | TC_H_MIN_INGRESS),
                                  ("egress", INGRESS_QDISC_HANDLE | TC_H_MIN_EGRESS)]))
        elif kind == "ingress":
            out.append((ifindex, [("ingress", INGRESS_QDISC_HANDLE)]))
    return out


def bpf_filters(sock: RtnlSocket, ifindex: int, direction: str, parent: int) -> list[BpfFilter]:
    """The cls_bpf filters of one hook point (other filter kinds are left out)."""
    out = []
    try:
        bodies = sock.dump(RTM_GETTFILTER, TCMSG.pack(0, ifindex, 0, parent, 0))
    except NetlinkError:
        return out  # the device went away between the two dumps
    for body in bodies:
        _family, _ifindex, handle, _parent, info = TCMSG.unpack_from(body)
        attrs = parse_attrs(body[TCMSG.size:])
        if _cstr(attrs.get(TCA.KIND, b"")) != "bpf" or TCA.OPTIONS not in attrs:
            continue  # a filter's head message (no options) or another classifier
        opts = parse_attrs(attrs[TCA.OPTIONS])
        if TCA_BPF.ID not in opts:
            continue
        flags = _U32.unpack(opts[TCA_BPF.FLAGS])[0] if TCA_BPF.FLAGS in opts else 0
        out.append(BpfFilter(
            ifindex, direction, _U32.unpack(opts[TCA_BPF.ID])[0],
            _cstr(opts[TCA_BPF.NAME]) if TCA_BPF.NAME in opts else None,
            opts[TCA_BPF.TAG].hex() if TCA_BPF.TAG in opts else None,
            bool(flags & TCA_BPF_FLAG_ACT_DIRECT), info >> 16, handle))
    return out
