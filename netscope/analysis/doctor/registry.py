"""Every doctor check, registered in one place (checked by one conformance test)."""

from __future__ import annotations

from netscope.analysis.doctor.checks import (
    bridge_port,
    cluster_overlay,
    cluster_routes,
    conntrack_checks,
    default_route,
    dns,
    duplicate_ip,
    ip_forward,
    mtu,
    neighbours,
    netfilter_checks,
    overlap,
    published_listener,
    reuseport,
    rp_filter,
    stale_netns,
    veth,
)
from netscope.analysis.doctor.finding import Check

CHECKS: tuple[Check, ...] = (
    ip_forward.CHECK,
    netfilter_checks.MISSING_MASQUERADE,
    netfilter_checks.FORWARD_POLICY_DROP,
    netfilter_checks.DOCKER_USER_DROP,
    netfilter_checks.DNAT_MISSING_BACKEND,
    published_listener.NO_LISTENER,
    published_listener.LOOPBACK_ONLY,
    reuseport.CHECK,
    veth.HOST_VETH_DOWN,
    veth.VETH_ORPHAN,
    bridge_port.CHECK,
    default_route.NO_DEFAULT_ROUTE,
    default_route.WRONG_GATEWAY,
    mtu.VETH_MTU,
    mtu.OVERLAY_MTU,
    duplicate_ip.CHECK,
    neighbours.CHECK,
    rp_filter.CHECK,
    conntrack_checks.NEAR_FULL_CHECK,
    conntrack_checks.INVALID_CHECK,
    stale_netns.CHECK,
    overlap.CHECK,
    dns.CHECK,
    # between the nodes of a cluster document
    cluster_overlay.FDB_MISSING,
    cluster_overlay.FDB_STALE,
    cluster_overlay.NEIGH_MISSING,
    cluster_overlay.NEIGH_STALE,
    cluster_routes.ROUTE_MISSING,
    cluster_routes.ASYMMETRIC,
    cluster_routes.OVERLAP,
    cluster_routes.ENDPOINT_UNREACHABLE,
)
