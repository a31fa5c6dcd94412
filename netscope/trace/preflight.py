"""What this kernel and host let netscope attach, checked before loading anything.

`require_ebpf()` is the quick gate used by `drops` and `trace`: it raises ProbeError with one
line naming the missing piece (bcc, BTF, kernel headers, privileges). `netscope probes` builds
the fuller report in netscope.trace.capabilities.
"""

from __future__ import annotations

import os
from pathlib import Path

from netscope.trace.bcc_module import bcc_available, missing_reason
from netscope.trace.btf import VMLINUX_BTF
from netscope.trace.errors import ProbeError

CAP_NET_ADMIN, CAP_SYS_ADMIN, CAP_PERFMON, CAP_BPF = 12, 21, 38, 39


def effective_caps() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("CapEff:"):
                return int(line.split()[1], 16)
    except OSError:
        pass
    return 0


def has_bpf_privileges() -> bool:
    """Loading tracing programs needs CAP_BPF + CAP_PERFMON (or CAP_SYS_ADMIN on old kernels);
    naming namespaces needs CAP_SYS_ADMIN to enter them."""
    caps = effective_caps()
    return bool(caps >> CAP_SYS_ADMIN & 1) or (
        bool(caps >> CAP_BPF & 1) and bool(caps >> CAP_PERFMON & 1))


def bcc_importable() -> bool:
    """bcc can be loaded: on sys.path, or Debian's beside this Debian interpreter."""
    return bcc_available()


def headers_dir() -> Path:
    return Path("/lib/modules") / os.uname().release / "build"


def headers_release(build: Path | None = None) -> str | None:
    """The kernel release the headers under /lib/modules/$(uname -r)/build belong to."""
    build = build or headers_dir()
    release = build / "include/config/kernel.release"
    try:
        return release.read_text().strip()
    except OSError:
        pass
    if build.is_dir():
        name = build.resolve().name
        return name.removeprefix("linux-headers-")
    return None


def require_ebpf() -> None:
    """Raise ProbeError unless bcc, BTF, headers and privileges are all there."""
    if not bcc_importable():
        raise ProbeError(f"{missing_reason()}; see `netscope probes`")
    if not has_bpf_privileges():
        raise ProbeError("loading eBPF probes needs root (CAP_BPF + CAP_PERFMON, and "
                         "CAP_SYS_ADMIN to name namespaces): run with sudo")
    if not os.access(VMLINUX_BTF, os.R_OK):
        raise ProbeError(f"{VMLINUX_BTF} is missing or unreadable: netscope needs a kernel "
                         "built with CONFIG_DEBUG_INFO_BTF for struct offsets")
    if not headers_dir().is_dir():
        raise ProbeError(f"no kernel headers at {headers_dir()}: bcc compiles against them; "
                         "install linux-headers-$(uname -r) or run setup.sh to link some")
