"""Check, before touching anything, that this process may read every namespace."""

from __future__ import annotations

from netscope.host.errors import HostError

CAP_NET_ADMIN = 12
CAP_SYS_ADMIN = 21


def effective_caps() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("CapEff:"):
                return int(line.split()[1], 16)
    return 0


def require_capabilities() -> None:
    """Raise HostError naming the missing capability (entering namespaces needs both)."""
    caps = effective_caps()
    missing = [name for bit, name in ((CAP_SYS_ADMIN, "CAP_SYS_ADMIN"),
                                      (CAP_NET_ADMIN, "CAP_NET_ADMIN")) if not caps >> bit & 1]
    if missing:
        raise HostError(
            f"reading every network namespace needs {' and '.join(missing)}: "
            "run netscope as root (sudo netscope ...)"
        )
