"""Names the kernel gives to numbers in probe events: drop reasons and code addresses.

Both come from the running kernel (tracefs or BTF, /proc/kallsyms), never from a table here.
"""

from __future__ import annotations

import bisect
import re
from pathlib import Path

from netscope.trace.btf import Btf, BtfError

TRACEFS_DIRS = (Path("/sys/kernel/tracing"), Path("/sys/kernel/debug/tracing"))
KFREE_SKB_FORMAT = "events/skb/kfree_skb/format"
KALLSYMS = Path("/proc/kallsyms")
_SYMBOLIC = re.compile(r'\{\s*(\d+)\s*,\s*"([A-Za-z0-9_]+)"\s*\}')
_SUBSYS_SHIFT = 16  # SKB_DROP_REASON_SUBSYS_SHIFT: reasons above it belong to a subsystem


def tracefs_dir() -> Path | None:
    """The mounted tracefs, if any (netscope never mounts it)."""
    for d in TRACEFS_DIRS:
        if (d / "events").is_dir():
            return d
    return None


def parse_kfree_skb_format(text: str) -> dict[int, str]:
    """Drop-reason names from the `__print_symbolic(REC->reason, ...)` of the format file."""
    at = text.find("__print_symbolic(REC->reason")
    if at == -1:
        return {}
    return {int(n): name for n, name in _SYMBOLIC.findall(text[at:])}


def reasons_from_btf(btf: Btf) -> dict[int, str]:
    """Drop-reason names from `enum skb_drop_reason`, without the SKB_DROP_REASON_ prefix."""
    out = {}
    for value, name in btf.enum("skb_drop_reason").items():
        for prefix in ("SKB_DROP_REASON_", "SKB_"):
            if name.startswith(prefix):
                name = name[len(prefix):]
                break
        out[value] = name
    return out


def drop_reason_names(btf: Btf | None = None) -> dict[int, str]:
    """value -> name (e.g. 3 -> "NO_SOCKET"): tracefs when mounted, else BTF, else empty."""
    tracefs = tracefs_dir()
    if tracefs:
        try:
            names = parse_kfree_skb_format((tracefs / KFREE_SKB_FORMAT).read_text())
        except OSError:
            names = {}
        if names:
            return names
    try:
        return reasons_from_btf(btf or Btf.from_file())
    except BtfError:
        return {}


def reason_name(names: dict[int, str], reason: int) -> str:
    """Name of a drop reason; subsystem reasons (mac80211, ovs ...) as subsys<N>:<code>."""
    if reason in names:
        return names[reason]
    if reason >> _SUBSYS_SHIFT:
        return f"subsys{reason >> _SUBSYS_SHIFT}:{reason & 0xFFFF}"
    return f"reason {reason}"


class KernelSymbols:
    """Address -> "function+0xoff" from /proc/kallsyms (text symbols only)."""

    def __init__(self, lines) -> None:
        pairs = []
        for line in lines:
            parts = line.split()
            if len(parts) >= 3 and parts[1] in "tTwW":
                addr = int(parts[0], 16)
                if addr:
                    pairs.append((addr, parts[2]))
        pairs.sort()
        self._addrs = [a for a, _ in pairs]
        self._names = [n for _, n in pairs]

    @classmethod
    def load(cls, path: Path = KALLSYMS) -> KernelSymbols:
        try:
            with path.open() as f:
                return cls(f)
        except OSError:
            return cls([])

    @property
    def usable(self) -> bool:
        """False when kallsyms hid the addresses (not root, or kptr_restrict)."""
        return bool(self._addrs)

    def name(self, addr: int) -> str:
        i = bisect.bisect_right(self._addrs, addr) - 1
        if i < 0 or not addr:
            return hex(addr)
        off = addr - self._addrs[i]
        return f"{self._names[i]}+{off:#x}" if off else self._names[i]

    def symbol_at(self, addr: int) -> tuple[int, str] | None:
        """(start address, name) of the function holding addr."""
        i = bisect.bisect_right(self._addrs, addr) - 1
        return (self._addrs[i], self._names[i]) if i >= 0 and addr else None

    def function(self, addr: int) -> str:
        """Just the function name (for grouping)."""
        return self.name(addr).split("+", 1)[0]
