"""Namespace-wide sysctls that decide forwarding and filtering.

Per-interface values come with the links (IFLA_AF_SPEC). The namespace-wide forwarding and
rp_filter switches come over netlink (RTM_GETNETCONF, `all` and `default`). The rest are read
from /proc/sys with the thread inside the namespace (/proc/sys/net follows the reader's
namespace); those lookups cost ~25 us each per namespace, so they are read only where they
can decide something: in namespaces that can pass traffic between interfaces (a bridge, or
two or more non-loopback interfaces). A plain "container" namespace (lo + eth0) has nothing
to route between, and new namespaces here inherit ip_forward=1 from the host, so the
forwarding switch alone does not tell. A key that does not exist there
(bridge-nf-call-* without br_netfilter) is left out rather than invented.
"""

from __future__ import annotations

from netscope.collect.base import NsContext
from netscope.host import rtnl
from netscope.host.netlink import RtnlSocket
from netscope.host.rtnl_attrs import NETCONFA_IFINDEX_ALL, NETCONFA_IFINDEX_DEFAULT

ROUTER_SYSCTLS = (
    "net.ipv4.conf.all.route_localnet",
    "net.ipv4.conf.all.send_redirects",
    "net.ipv4.conf.all.accept_local",
    "net.bridge.bridge-nf-call-iptables",
    "net.bridge.bridge-nf-call-ip6tables",
)
NETCONF_SYSCTLS = (
    ("net.ipv4.ip_forward", "inet", NETCONFA_IFINDEX_ALL, "forwarding"),
    ("net.ipv4.conf.all.rp_filter", "inet", NETCONFA_IFINDEX_ALL, "rp_filter"),
    ("net.ipv4.conf.default.rp_filter", "inet", NETCONFA_IFINDEX_DEFAULT, "rp_filter"),
    ("net.ipv6.conf.all.forwarding", "inet6", NETCONFA_IFINDEX_ALL, "forwarding"),
)


def _read_proc_sys(key: str) -> str | None:
    try:
        with open("/proc/sys/" + key.replace(".", "/"), "rb") as f:
            return f.read().decode().strip()
    except OSError:
        return None


def read_namespace_sysctls(sock: RtnlSocket, can_route: bool) -> dict[str, str]:
    """The namespace-wide sysctls of the namespace the calling thread is in.

    `can_route`: it has a bridge or several non-loopback interfaces (see the module doc).
    """
    netconf = rtnl.dump_netconf(sock)
    out = {}
    for key, family, ifindex, attr in NETCONF_SYSCTLS:
        value = netconf.get((family, ifindex), {}).get(attr)
        if value is not None:
            out[key] = str(value)
    if can_route:
        for key in ROUTER_SYSCTLS:
            value = _read_proc_sys(key)
            if value is not None:
                out[key] = value
    return out


def can_route(links: list) -> bool:
    """A bridge, or two interfaces besides lo: traffic can pass through this namespace."""
    return (any(link.kind == "bridge" for link in links)
            or sum(link.kind != "loopback" for link in links) >= 2)


class SysctlCollector:
    """The namespace-wide sysctls of a namespace; they go to its Namespace's `sysctls` (one
    dict in a list, as every collector returns a list). Runs after links: which keys are
    read depends on the interfaces."""

    name = "sysctls"
    field = "sysctls"  # a Namespace field, not a Snapshot one: the runner puts it there

    def can_run(self) -> str | None:
        return None

    def collect(self, ctx: NsContext) -> list[dict[str, str]]:
        return [read_namespace_sysctls(ctx.sock, can_route(ctx.results.get("links", [])))]
