"""BPF programs on every interface's datapath (XDP, tc cls_bpf, tcx): what eBPF datapaths
such as Cilium attach, found as bpftool and tc find them (rtnetlink: IFLA_XDP, RTM_GETQDISC,
RTM_GETTFILTER; bpf(2): BPF_PROG_QUERY for tcx, BPF_OBJ_GET_INFO_BY_FD for names).

Read-only. Programs are named by the kernel where bpf(2) answers (root: CAP_SYS_ADMIN or
CAP_BPF); otherwise by tc's filter name, or by id alone.
"""

from __future__ import annotations

import errno

from netscope.collect.base import NsContext
from netscope.host import bpf_syscall, tc
from netscope.model.bpf import BpfAttachment

# the program types tc (cls_bpf, act_bpf) and tcx attach
CLASSIFIERS = ("sched_cls", "sched_act")


class BpfDatapathCollector:
    """Reads the BPF programs attached to each namespace's interfaces."""

    name = "bpf"
    field = "bpf_programs"

    def __init__(self) -> None:
        self._info: dict[int, bpf_syscall.ProgInfo | None] = {}
        self._tcx = True  # until the kernel says it has no tcx (before 6.6)
        self._classifiers = True  # whether a tc/tcx program may be attached anywhere

    def can_run(self) -> str | None:
        return None

    def begin(self) -> None:
        # program ids are global: asked once per snapshot. tc and tcx take sched_cls and
        # sched_act programs only: with none loaded on the host, no interface can have one
        # (2 BPF_PROG_QUERY per interface and a filter dump per hook point not asked: 48 ms
        # at 1,000 namespaces); one loaded later than this census is as if attached later
        self._info = {}
        try:
            for prog_id in bpf_syscall.next_ids(bpf_syscall.BPF_PROG_GET_NEXT_ID):
                try:
                    self._info[prog_id] = bpf_syscall.prog_info(prog_id)
                except bpf_syscall.BpfUnavailable as e:
                    if e.errno != errno.ENOENT:  # ENOENT: unloaded since its id was read
                        raise
        except bpf_syscall.BpfUnavailable:
            self._info, self._classifiers = {}, True  # not told: ask every interface
            return
        self._classifiers = any(info.prog_type in CLASSIFIERS
                                for info in self._info.values() if info)

    def collect(self, ctx: NsContext) -> list[BpfAttachment]:
        links = {lk.ifindex: lk for lk in ctx.results.get("links", ())}
        out: list[BpfAttachment] = []
        for lk in links.values():
            prog = lk.details.get("xdp_prog_id")
            if isinstance(prog, int) and prog:
                out.append(self._attachment(ctx, lk.ifindex, "xdp", prog,
                                            mode=str(lk.details.get("xdp"))))
        if not self._classifiers:
            return out
        for ifindex, points in tc.hook_points(ctx.sock):
            for direction, parent in points:
                for f in tc.bpf_filters(ctx.sock, ifindex, direction, parent):
                    out.append(self._attachment(
                        ctx, ifindex, f"tc-{direction}", f.prog_id, tc_name=f.name,
                        tag=f.tag, direct_action=f.direct_action, priority=f.priority,
                        handle=f.handle))
        if self._tcx:
            out += self._tcx_attachments(ctx, links)
        return out

    def _tcx_attachments(self, ctx: NsContext, links: dict) -> list[BpfAttachment]:
        out = []
        for ifindex in links:
            for hook, kind in (("tcx-ingress", bpf_syscall.BPF_TCX_INGRESS),
                               ("tcx-egress", bpf_syscall.BPF_TCX_EGRESS)):
                try:
                    ids = bpf_syscall.attached(ifindex, kind)
                except bpf_syscall.BpfUnavailable as e:
                    if e.errno in (22, 1, 38):  # EINVAL (no tcx), EPERM, ENOSYS
                        self._tcx = False
                        return out
                    continue
                out += [self._attachment(ctx, ifindex, hook, p, direct_action=True)
                        for p in ids]
        return out

    def _attachment(self, ctx: NsContext, ifindex: int, hook: str, prog_id: int,
                    tc_name: str | None = None, tag: str | None = None, **extra
                    ) -> BpfAttachment:
        if prog_id not in self._info:
            try:
                self._info[prog_id] = bpf_syscall.prog_info(prog_id)
            except bpf_syscall.BpfUnavailable:
                self._info[prog_id] = None
        info = self._info[prog_id]
        return BpfAttachment(
            id=f"bpf:{ctx.inode}/{ifindex}/{hook}/{prog_id}", netns=ctx.netns,
            link=ctx.link(ifindex) or f"link:{ctx.inode}/{ifindex}", hook=hook,
            prog_id=prog_id, name=info.name if info and info.name else tc_name,
            prog_type=info.prog_type if info else None, tag=info.tag if info else tag,
            **extra)
