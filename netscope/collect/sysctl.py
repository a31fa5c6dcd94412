"""Namespace-wide sysctls that decide forwarding and filtering.

Per-interface values come with the links (IFLA_AF_SPEC); these are the `all`/namespace-wide
ones, read from /proc/sys while the thread is inside the namespace (/proc/sys/net follows
the reader's namespace). A key that does not exist here (bridge-nf-call-* without
br_netfilter) is left out rather than invented.
"""

from __future__ import annotations

NAMESPACE_SYSCTLS = (
    "net.ipv4.ip_forward",
    "net.ipv4.conf.all.rp_filter",
    "net.ipv4.conf.default.rp_filter",
    "net.ipv4.conf.all.route_localnet",
    "net.ipv4.conf.all.send_redirects",
    "net.ipv4.conf.all.accept_local",
    "net.ipv6.conf.all.forwarding",
    "net.bridge.bridge-nf-call-iptables",
    "net.bridge.bridge-nf-call-ip6tables",
    "net.netfilter.nf_conntrack_count",
    "net.netfilter.nf_conntrack_max",
)


def read_namespace_sysctls() -> dict[str, str]:
    """The NAMESPACE_SYSCTLS that exist in the current thread's namespace."""
    out = {}
    for key in NAMESPACE_SYSCTLS:
        try:
            with open("/proc/sys/" + key.replace(".", "/"), "rb") as f:
                out[key] = f.read().decode().strip()
        except OSError:
            continue
    return out
