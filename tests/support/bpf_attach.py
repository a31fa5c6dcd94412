"""Attach a real BPF program to a device of the namespace this runs in, as an eBPF datapath
would: `ip netns exec NS python -m tests.support.bpf_attach DEV tc-ingress|xdp`.

The programs pass every packet (TC_ACT_OK, XDP_PASS): the point is that a program is there,
decides, and real traffic still flows. tc: a clsact qdisc and a direct-action cls_bpf filter
added over rtnetlink with the program's fd (what `tc filter add dev DEV ingress bpf da`
does); XDP: bcc's attach_xdp in generic (skb) mode. The process exits once attached: the
kernel keeps the program while the filter or the device holds it, so deleting the device or
its namespace frees it (the tests delete their namespaces).
"""

from __future__ import annotations

import socket
import struct
import sys

from netscope.host.netlink import NLM_F_ACK, RtnlSocket, attr
from netscope.host.tc import TC_H_CLSACT, TCA, TCA_BPF, TCMSG

RTM_NEWQDISC, RTM_NEWTFILTER = 36, 44
NLM_F_CREATE, NLM_F_EXCL = 0x400, 0x200
ETH_P_ALL = 0x0003
TC_NAME, XDP_NAME = "ns_kube_tc", "ns_kube_xdp"
SOURCE = b"""
#include <uapi/linux/bpf.h>
int ns_kube_tc(struct __sk_buff *skb) { return 0; }   /* TC_ACT_OK */
int ns_kube_xdp(struct xdp_md *ctx) { return 2; }     /* XDP_PASS */
"""


def _ask(sock: RtnlSocket, msg_type: int, body: bytes) -> None:
    for _ in sock.request(msg_type, body, flags=NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL):
        pass


def attach_tc(bpf, dev: str) -> int:
    fn = bpf.load_func(TC_NAME.encode(), bpf.SCHED_CLS)
    ifindex = socket.if_nametoindex(dev)
    sock = RtnlSocket()
    try:
        _ask(sock, RTM_NEWQDISC, TCMSG.pack(0, ifindex, 0xFFFF0000, TC_H_CLSACT, 0)
             + attr(TCA.KIND, b"clsact\0"))
        options = (attr(TCA_BPF.FD, struct.pack("=I", fn.fd))
                   + attr(TCA_BPF.NAME, TC_NAME.encode() + b"\0")
                   + attr(TCA_BPF.FLAGS, struct.pack("=I", 1)))  # TCA_BPF_FLAG_ACT_DIRECT
        prio_proto = (1 << 16) | socket.htons(ETH_P_ALL)
        _ask(sock, RTM_NEWTFILTER, TCMSG.pack(0, ifindex, 1, 0xFFFFFFF2, prio_proto)
             + attr(TCA.KIND, b"bpf\0") + attr(TCA.OPTIONS, options))
    finally:
        sock.close()
    return fn.fd


def main() -> None:
    from bcc import BPF  # noqa: TID251 (test tooling: loads what a datapath would, not netscope)

    dev, hook = sys.argv[1], sys.argv[2]
    bpf = BPF(text=SOURCE)
    if hook == "tc-ingress":
        attach_tc(bpf, dev)
    elif hook == "xdp":
        bpf.attach_xdp(dev, bpf.load_func(XDP_NAME.encode(), BPF.XDP), BPF.XDP_FLAGS_SKB_MODE)
    else:
        raise SystemExit(f"unknown hook {hook!r}: tc-ingress or xdp")


if __name__ == "__main__":
    main()
