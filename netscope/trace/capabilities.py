"""`netscope probes`: what this kernel lets netscope attach, and what each missing piece costs.

Facts are measured, not assumed: files the kernel exposes (BTF, tracefs, kprobe PMU), and,
when bcc and privileges allow, tiny test programs that are loaded, attached and removed.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from netscope.trace.bcc_module import import_bcc, missing_reason
from netscope.trace.btf import Btf, BtfError
from netscope.trace.kernel_names import tracefs_dir
from netscope.trace.offsets import probe_offsets
from netscope.trace.preflight import (
    bcc_importable,
    has_bpf_privileges,
    headers_dir,
    headers_release,
)

# tracepoints the probes attach to (raw), and what each gives
TRACEPOINTS = {
    "netif_receive_skb": "receive hops", "net_dev_queue": "queue hops",
    "net_dev_xmit": "xmit hops and driver results", "kfree_skb": "drops with reasons",
    "consume_skb": "delivery", "fib_table_lookup": "routing decisions",
}
KPROBE_PMU = Path("/sys/bus/event_source/devices/kprobe")
_TEST_PROGRAM = b"int ns_test(void *ctx) { return 0; }"
_FENTRY_PROGRAM = b"KFUNC_PROBE(ip_forward) { return 0; }"
_WITHOUT = {
    "probe sources": "no probe can be compiled: `drops`, `trace` and `check` are unavailable",
    "bcc": "no eBPF at all: `drops`, `trace` and `check` are unavailable; snapshot, show, "
           "doctor and path still work",
    "privileges": "no probe can be loaded: run as root",
    "BTF": "no struct offsets: no probe can read packets (installed headers may be for "
           "another kernel)",
    "kernel headers": "bcc cannot compile any probe",
    "raw tracepoints": "no drops and no journeys: they are the base of every probe",
    "tracefs": "nothing: raw tracepoints do not need it, drop-reason names come from BTF",
    "kprobes": "per-packet netfilter hook verdicts and bridge forwarding decisions "
               "(nf_hook_slow, br_forward): the bridge hop is inferred from bridge ports and "
               "netfilter verdicts come from drop reasons and nftrace",
    "fentry": "the same functions as kprobes at a lower cost: nothing else",
    "tc": "nothing today: netscope's probes do not use tc programs",
}


@dataclass(frozen=True)
class Capability:
    name: str
    available: bool
    detail: str
    without: str


def _cap(name: str, available: bool, detail: str) -> Capability:
    return Capability(name, available, detail, "" if available else _WITHOUT[name])


@contextlib.contextmanager
def _quiet_stderr(said: list[str]) -> Iterator[None]:
    """bcc and libbpf print to fd 2: keep that out of the report, but keep the words."""
    with tempfile.TemporaryFile() as tmp:
        saved = os.dup(2)
        os.dup2(tmp.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            said += [line for line in tmp.read().decode(errors="replace").splitlines()
                     if line.strip()]


def _failure(e: Exception, said: list[str]) -> str:
    words = str(e).splitlines()[0] if str(e) else type(e).__name__
    kernel = [line for line in said if "Failed to load" in line or "error" in line.lower()]
    return f"{words} ({kernel[-1].strip()})" if kernel else words


def _test_load(kind: str) -> str | None:
    said: list[str] = []
    with _quiet_stderr(said):
        try:
            return _try_load(kind)
        except Exception as e:  # bcc raises bare Exception
            failure = e
    return _failure(failure, said)


def _try_load(kind: str) -> None:
    """Load (and for raw tracepoints attach) a trivial program; None when it worked."""
    """Load (and attach, for probes) a trivial program of one kind; raise when refused."""
    BPF = import_bcc().BPF

    if kind == "fentry":
        if not BPF.support_kfunc():
            raise RuntimeError("the kernel has no BPF trampolines (bpf_trampoline_link_prog)")
        with BPF(text=_FENTRY_PROGRAM):
            return
    with BPF(text=_TEST_PROGRAM) as bpf:
        if kind == "raw":
            fn = bpf.load_func(b"ns_test", BPF.RAW_TRACEPOINT)
            bpf.attach_raw_tracepoint(tp=b"netif_receive_skb", fn_name=fn.name)
        elif kind == "kprobe":
            fn = bpf.load_func(b"ns_test", BPF.KPROBE)
            bpf.attach_kprobe(event=b"ip_forward", fn_name=fn.name)
        elif kind == "tc":
            bpf.load_func(b"ns_test", BPF.SCHED_CLS)


def _probe_sources() -> Capability:
    from netscope.trace.drops import DROP_FILES
    from netscope.trace.loader import PROBES_DIR, missing_probe_files, probe_files
    from netscope.trace.tracer import JOURNEY_FILES

    wanted = [*DROP_FILES, *JOURNEY_FILES]
    missing = missing_probe_files(wanted)
    if missing:
        return _cap("probe sources", False, f"missing from {PROBES_DIR}: {', '.join(missing)} "
                    "(install netscope from a complete wheel or sdist)")
    return _cap("probe sources", True,
                f"{len(probe_files(wanted))} files in {PROBES_DIR}")


def probe_capabilities(test_load: bool = True) -> list[Capability]:
    """Every capability, in the order a reader needs them."""
    caps = [_probe_sources()]
    have_bcc = bcc_importable()
    caps.append(_cap("bcc", have_bcc, "python3-bpfcc importable" if have_bcc else
                     f"not importable: {missing_reason()}"))
    root = has_bpf_privileges()
    caps.append(_cap("privileges", root, "CAP_BPF/CAP_PERFMON or CAP_SYS_ADMIN" if root
                     else "not root: eBPF needs CAP_BPF + CAP_PERFMON, naming needs "
                          "CAP_SYS_ADMIN"))
    btf = None
    try:
        btf = Btf.from_file()
        offsets = probe_offsets(btf)
        caps.append(_cap("BTF", True, f"/sys/kernel/btf/vmlinux: {len(offsets)} struct "
                                       "offsets resolved for the probes"))
    except BtfError as e:
        caps.append(_cap("BTF", False, str(e)))
    release, running = headers_release(), os.uname().release
    if release is None:
        caps.append(_cap("kernel headers", False, f"none at {headers_dir()}"))
    elif release == running:
        caps.append(_cap("kernel headers", True, f"{release} (this kernel)"))
    else:
        caps.append(_cap("kernel headers", True,
                         f"{release} linked for {running}: another kernel's headers; bcc "
                         "compiles with them, every struct offset comes from BTF"))
    missing = [tp for tp in TRACEPOINTS if btf and not btf.has_typedef(f"btf_trace_{tp}")]
    can_load = test_load and have_bcc and root and release is not None
    raw_error = _test_load("raw") if can_load else None
    raw_ok = btf is not None and not missing and raw_error is None
    detail = ("test program attached to netif_receive_skb and removed; " if can_load and
              raw_ok else "")
    detail += (f"missing: {', '.join(missing)}" if missing else
               "present: " + ", ".join(TRACEPOINTS))
    if raw_error:
        detail = f"test load failed: {raw_error}"
    caps.append(_cap("raw tracepoints", raw_ok, detail))
    tracefs = tracefs_dir()
    caps.append(_cap("tracefs", tracefs is not None,
                     f"mounted at {tracefs}" if tracefs else
                     "not mounted (mount -t tracefs nodev /sys/kernel/tracing to get it)"))
    kprobe_files = KPROBE_PMU.exists() or (tracefs is not None and
                                           (tracefs / "kprobe_events").exists())
    if not kprobe_files:
        caps.append(_cap("kprobes", False, "no kprobe PMU or kprobe_events: the kernel "
                                           "was built without CONFIG_KPROBES"))
    else:
        err = _test_load("kprobe") if can_load else None
        caps.append(_cap("kprobes", err is None,
                         "kprobe on ip_forward attached and removed" if can_load and not err
                         else (f"test attach failed: {err}" if err else "present (not tested)")))
    if can_load:
        err = _test_load("fentry")
        caps.append(_cap("fentry", err is None, "fentry on ip_forward loaded and removed"
                         if err is None else f"test load failed: {err}"))
        err = _test_load("tc")
        caps.append(_cap("tc", err is None, "sched_cls test program loaded" if err is None
                         else f"test load failed: {err}"))
    else:
        reason = "not tested (needs bcc, root and headers)"
        caps += [Capability("fentry", False, reason, _WITHOUT["fentry"]),
                 Capability("tc", False, reason, _WITHOUT["tc"])]
    return caps


def command_readiness(caps: list[Capability]) -> dict[str, str]:
    """Which netscope commands work with these capabilities, in a sentence each."""
    have = {c.name for c in caps if c.available}
    base = {"probe sources", "bcc", "privileges", "BTF", "kernel headers", "raw tracepoints"}
    lacking = sorted(base - have)
    if lacking:
        no = f"unavailable (missing: {', '.join(lacking)})"
        return {"drops": no, "trace": no, "check": no}
    extra = ("" if "kprobes" in have or "fentry" in have else
             " (bridge hops inferred from ports; netfilter verdicts from drop reasons)")
    return {"drops": "available", "trace": "available" + extra, "check": "available" + extra}
