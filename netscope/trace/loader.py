"""Compile and attach netscope's probes with bcc, and make sure they come off again.

The only module that imports bcc (lazily, inside `Program`), so commands that need no eBPF
never pay for it. A program is the concatenation of one or more `probes/*.bpf.c` hook
families, configured only by -D flags (struct offsets from BTF plus the caller's settings)
and by maps user space writes. It can be compiled ahead and attached when asked.
"""

from __future__ import annotations

import contextlib
import ctypes as ct
import re
import signal
import sys
import time
from collections.abc import Iterator

from netscope.resources import shipped
from netscope.trace.bcc_module import import_bcc
from netscope.trace.btf import Btf, BtfError
from netscope.trace.errors import ProbeError
from netscope.trace.offsets import define_flags, probe_offsets
from netscope.trace.preflight import require_ebpf

PROBES_DIR = shipped("probes")
INCLUDE = re.compile(r'^#include "([^"/]+)"', re.M)


def probe_files(files: list[str]) -> list[str]:
    """The hook-family files and the headers they include, in order (the headers' names come
    from the files themselves, so a new header needs no list kept here)."""
    out = list(files)
    for name in files:
        try:
            text = (PROBES_DIR / name).read_text()
        except OSError:
            continue
        out += [h for h in INCLUDE.findall(text) if h not in out]
    return out


def missing_probe_files(files: list[str]) -> list[str]:
    """Those of `probe_files(files)` that are not in PROBES_DIR."""
    return [name for name in probe_files(files) if not (PROBES_DIR / name).is_file()]


def program_source(files: list[str]) -> str:
    """The program text: the hook-family files in order (maps and helpers come first)."""
    missing = missing_probe_files(files)
    if missing:
        raise ProbeError(f"probe source {', '.join(missing)} missing from {PROBES_DIR}: this "
                         "netscope was installed without its probes; install it from a "
                         "complete wheel or sdist (pip install netscope) or run it from the "
                         "repository")
    return "\n".join(f"/* ---- {name} ---- */\n{(PROBES_DIR / name).read_text()}"
                     for name in files)


def program_cflags(settings: dict[str, int | str], btf: Btf | None = None) -> list[str]:
    """-I and -D flags: BTF offsets for this kernel plus the program's own settings."""
    try:
        offsets = probe_offsets(btf or Btf.from_file())
    except BtfError as e:
        raise ProbeError(str(e)) from None
    return [f"-I{PROBES_DIR}", *define_flags({**offsets, **settings})]


def render(files: list[str], settings: dict[str, int | str]) -> str:
    """What would be compiled, as text (the `--ebpf` view): flags, then the source."""
    flags = " ".join(program_cflags(settings))
    return f"/* bcc cflags: {flags} */\n{program_source(files)}"


HOOK = re.compile(r"^NS_RAW_TP\((\w+)\)", re.MULTILINE)


def hooks_of(text: str) -> list[str]:
    """The raw tracepoints a program's NS_RAW_TP(event) functions attach to, in order."""
    return HOOK.findall(text)


class Program:
    """A bcc program: compiled and loaded (verified) on creation, its NS_RAW_TP hooks
    attached at once or later (`attach=False`, then attach()/detach() as often as needed:
    what is compiled ahead costs nothing until attached, and attaching is milliseconds).

    Use as a context manager: leaving it (normally, by exception, Ctrl-C or SIGTERM inside
    `detach_on_signals`) detaches every probe and closes every map. `prepare_seconds` is
    the BTF read + compile + load, `attach_seconds` the last attach alone, plus the
    preparation when it was part of it (the time from asking to live probes).
    """

    def __init__(self, files: list[str], settings: dict[str, int | str],
                 tail_calls: dict[str, str] | None = None, attach: bool = True) -> None:
        """tail_calls: prog-array table -> the function loaded into its slot 0."""
        started = time.perf_counter()
        cpu_started = time.process_time()
        # readers of its maps (a ring buffer's own mapping), closed with it
        self.readers: list = []
        require_ebpf()
        text = program_source(files)
        cflags = program_cflags(settings)
        self.hooks = hooks_of(text)
        try:
            BPF = import_bcc().BPF
        except ImportError as e:
            raise ProbeError(f"cannot import bcc: {e}") from None
        try:
            self.bpf = BPF(text=text.encode(), cflags=cflags)
            for table, func in (tail_calls or {}).items():
                fn = self.bpf.load_func(func.encode(), BPF.RAW_TRACEPOINT)
                self.bpf[table.encode()][ct.c_int(0)] = ct.c_int(fn.fd)
            for hook in self.hooks:
                self.bpf.load_func(f"ns_tp__{hook}".encode(), BPF.RAW_TRACEPOINT)
        except Exception as e:  # bcc raises bare Exception for compile and attach failures
            self.close()
            raise ProbeError(f"loading {', '.join(files)} failed: {e} "
                             "(see the compiler output above; `netscope probes` lists what "
                             "this kernel offers)") from None
        self.prepare_seconds = time.perf_counter() - started
        # CPU time of the same (clang runs in-process): what preparing costs on an idle host
        self.prepare_cpu_seconds = time.process_time() - cpu_started
        self.attach_seconds = self.prepare_seconds
        self.attach_cpu_seconds = self.prepare_cpu_seconds
        self.attached = False
        if attach:
            self.attach()
            self.attach_seconds += self.prepare_seconds
            self.attach_cpu_seconds += self.prepare_cpu_seconds

    def attach(self) -> None:
        """Attach every hook (a no-op when attached); attach_seconds is this step alone."""
        started, cpu_started = time.perf_counter(), time.process_time()
        if not self.attached:
            try:
                for hook in self.hooks:
                    self.bpf.attach_raw_tracepoint(tp=hook.encode(),
                                                   fn_name=f"ns_tp__{hook}".encode())
            except Exception as e:  # bcc raises bare Exception
                self.detach()
                raise ProbeError(f"attaching {', '.join(self.hooks)} failed: {e}") from None
            self.attached = True
        self.attach_seconds = time.perf_counter() - started
        self.attach_cpu_seconds = time.process_time() - cpu_started

    def detach(self) -> None:
        """Detach every hook; the program stays loaded for the next attach()."""
        bpf = getattr(self, "bpf", None)
        if bpf is not None:
            for hook in self.hooks:
                if hook.encode() in bpf.raw_tracepoint_fds:
                    bpf.detach_raw_tracepoint(tp=hook.encode())
        self.attached = False

    def clear(self, tables: list[str]) -> None:
        """Empty these maps (hash maps emptied, array slots zeroed) before a new use."""
        for name in tables:
            self.bpf[name.encode()].clear()

    def __getitem__(self, name: str):
        return self.bpf[name.encode()]

    def counters(self, table: str = "counters") -> list[int]:
        """Per-CPU counter slots summed across CPUs."""
        return [sum(v) for v in self.bpf[table.encode()].values()]

    def close(self) -> None:
        bpf, self.bpf = getattr(self, "bpf", None), None
        self.attached = False
        readers, self.readers = getattr(self, "readers", []), []
        for reader in readers:
            reader.close()  # before the maps: a mapping keeps its map alive
        if bpf is not None:
            bpf.cleanup()

    def __enter__(self) -> Program:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived: unwind like Ctrl-C so every `finally` detaches."""


def _raise_terminated(signum, _frame) -> None:
    raise Terminated(signal.Signals(signum).name)


@contextlib.contextmanager
def detach_on_signals() -> Iterator[None]:
    """Turn SIGTERM/SIGHUP into an exception for the duration, so cleanup code runs."""
    previous = {}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        try:
            previous[sig] = signal.signal(sig, _raise_terminated)
        except ValueError:  # not the main thread: the caller handles signals
            break
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def warn(message: str) -> None:
    print(f"netscope: {message}", file=sys.stderr)
