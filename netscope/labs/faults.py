"""The faults broken lab variants plant, by stable id (the doctor reports findings by these ids)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Fault:
    """A kind of breakage: its stable id and a one-line title."""

    id: str
    title: str


FAULTS: dict[str, Fault] = {f.id: f for f in (
    Fault("ip_forward_off", "IPv4 forwarding is off where a namespace must route"),
    Fault("missing_masquerade", "no MASQUERADE/SNAT for a bridge subnet that needs egress"),
    Fault("forward_policy_drop", "FORWARD policy DROP with no ACCEPT for a bridge"),
    Fault("host_veth_down", "the host end of a container's veth is down"),
    Fault("veth_not_in_bridge", "the host end of a container's veth is not attached to the bridge"),
    Fault("no_default_route", "a container has no default route"),
    Fault("wrong_gateway", "a container's default gateway is an address nobody answers for"),
    Fault("overlay_mtu_mismatch", "container MTU larger than the overlay can carry"),
    Fault("duplicate_ip", "two interfaces on one L2 segment hold the same IP address"),
    Fault("rp_filter_asymmetric", "strict rp_filter drops traffic that arrives asymmetrically"),
    Fault("dnat_missing_backend", "a published port DNATs to an address where no container lives"),
    Fault("docker_user_drop", "a DROP rule in DOCKER-USER hits a container's traffic"),
    Fault("published_port_no_listener",
          "a published port leads to a container where nothing listens on that port"),
    Fault("published_port_loopback_only",
          "a published port leads to a service that listens on the container's loopback only"),
    Fault("reuseport_conflict",
          "two programs sharing a namespace listen on one port (SO_REUSEPORT) and split its "
          "connections"),
    Fault("br_netfilter_off", "bridge-nf-call-iptables is off where a bridge carries Service "
                              "traffic: bridged replies skip conntrack's un-DNAT"),
    Fault("service_no_endpoints", "a Service that clients use has no ready endpoint: kube-proxy "
                                  "rejects its connections"),
    Fault("policy_drop", "a NetworkPolicy chain rejects traffic to some of a Service's "
                         "endpoints"),
)}
