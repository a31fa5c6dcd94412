"""BPF programs attached to an interface's datapath: XDP, tc (cls_bpf) and tcx.

Where such a program is attached it decides a packet's fate before (XDP, tc ingress) or
after (tc egress) the IP stack, and can redirect it past netfilter and routing altogether:
what Cilium and other eBPF datapaths do. netscope reads where they are and what they are
called; what they do is code it cannot evaluate.
"""

from __future__ import annotations

from dataclasses import dataclass

# where on a device a program runs, in packet order (receive side first)
HOOKS = ("xdp", "tc-ingress", "tcx-ingress", "tc-egress", "tcx-egress")
INGRESS_HOOKS = frozenset({"xdp", "tc-ingress", "tcx-ingress"})


@dataclass(frozen=True)
class BpfAttachment:
    """One BPF program attached to one interface (`bpf:<inode>/<ifindex>/<hook>/<prog id>`).

    `hook`: "xdp" (with `mode` "drv", "skb", "hw" or several), "tc-ingress" / "tc-egress" (a
    cls_bpf filter on a clsact or ingress qdisc, with its `priority` and `handle`), or
    "tcx-ingress" / "tcx-egress" (a bpf_link attachment, kernel 6.6 and later).
    `prog_id` is the kernel's program id (global, as bpftool shows it); `name` the kernel's
    program name (up to 15 characters), or tc's filter name when the program could not be
    asked (no CAP_SYS_ADMIN/CAP_BPF). `prog_type` ("sched_cls", "xdp" ...) and `tag` (hex)
    come from the kernel too. `direct_action` (tc only): the program's return code is the
    verdict (`da`), as every eBPF datapath uses it: it decides, no action follows.
    """

    id: str
    netns: str
    link: str
    hook: str
    prog_id: int
    name: str | None = None
    prog_type: str | None = None
    tag: str | None = None
    direct_action: bool | None = None
    mode: str | None = None
    priority: int | None = None
    handle: int | None = None

    @property
    def ingress(self) -> bool:
        """Runs on packets the interface receives (else on those it sends)."""
        return self.hook in INGRESS_HOOKS

    @property
    def label(self) -> str:
        """"NAME (id N)" as a person reads it."""
        return f"{self.name or '?'} (id {self.prog_id})"
