"""Is a kernel facility there without loading anything? (Reading must never load a module.)

Asking a netfilter netlink subsystem that is not registered makes the kernel load its module
(nfnetlink's request_module): a reader checks first, once per process, that the facility is
built in or already loaded, and otherwise uses a file in /proc/sys instead.
"""

from __future__ import annotations

import functools
import gzip
import os


@functools.cache
def _builtin_modules() -> frozenset[str]:
    try:
        with open(f"/lib/modules/{os.uname().release}/modules.builtin", "rb") as f:
            return frozenset(os.path.basename(line.strip()).decode().removesuffix(".ko")
                             for line in f)
    except OSError:
        return frozenset()


@functools.cache
def _config_builtin() -> frozenset[str]:
    try:
        with gzip.open("/proc/config.gz", "rt") as f:
            return frozenset(line.split("=", 1)[0] for line in f if line.rstrip().endswith("=y"))
    except OSError:
        return frozenset()


def available(module: str, config: str) -> bool:
    """True when `module` is loaded or built into the running kernel (CONFIG_<config>=y).

    False when it may be a module that is not loaded (asking it would load it), or nothing
    says either way."""
    if os.path.isdir(f"/sys/module/{module}"):
        return True
    return module in _builtin_modules() or f"CONFIG_{config}" in _config_builtin()
