"""CNI: the network configurations container runtimes hand to their plugins, and the addresses
those plugins' IPAM handed out (host-local's state), each tied to the namespace that holds it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field


@dataclass(frozen=True)
class CniPlugin:
    """One plugin of a network configuration's chain, in the order the runtime calls them.

    `type` names the plugin binary (`bridge`, `host-local`, `portmap` ...); `details` holds
    the settings that decide where packets go (`bridge`, `isGateway`, `ipMasq`, `hairpinMode`,
    `master`, `mode`, `mtu`, `capabilities` ...), as text; `ipam_type` the IPAM plugin it calls.
    """

    type: str
    ipam_type: str | None = None
    details: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CniRange:
    """An IPAM address range: `subnet` (CIDR), the first/last address it hands out and the
    gateway, when the configuration says."""

    subnet: str
    range_start: str | None = None
    range_end: str | None = None
    gateway: str | None = None


@dataclass(frozen=True)
class CniNetwork:
    """A CNI network configuration file (`.conflist`, `.conf` or `.json`) in a configuration
    directory.

    `in_use` marks the file a CRI runtime (containerd, CRI-O) loads from its directory: the
    first valid one in file-name order. `plugins` is the chain in call order, `ranges` the
    IPAM ranges of its plugins, `data_dir` where host-local keeps its allocations for it.
    `error` says why a file could not be used (it is listed anyway: a broken file in the
    directory is worth seeing).
    """

    id: str
    name: str
    path: str
    cni_version: str = ""
    in_use: bool = False
    plugins: tuple[CniPlugin, ...] = ()
    ranges: tuple[CniRange, ...] = ()
    data_dir: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class CniAllocation:
    """An address host-local allocated: the file `<data_dir>/<network>/<ip>` names the
    container id the runtime passed to CNI (a pod sandbox's id for CRI runtimes) and the
    interface inside its namespace.

    `netns` is the namespace holding it: the one of the container or pod with that id, else
    the one whose `ifname` interface holds the address; None when no namespace does (a leak:
    the namespace is gone and the address was never released).
    """

    id: str
    network: str
    address: str
    container_id: str
    ifname: str | None = None
    netns: str | None = None
    path: str = ""


def in_range(address: str, ranges: tuple[CniRange, ...]) -> bool | None:
    """Whether `address` lies in one of the ranges (their subnet, and start/end when set);
    None when no range is of its family (nothing to compare with)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    compared = False
    for r in ranges:
        try:
            subnet = ipaddress.ip_network(r.subnet, strict=False)
        except ValueError:
            continue
        if subnet.version != ip.version:
            continue
        compared = True
        if ip not in subnet:
            continue
        try:
            if r.range_start and ip < ipaddress.ip_address(r.range_start):
                continue
            if r.range_end and ip > ipaddress.ip_address(r.range_end):
                continue
        except ValueError:
            pass
        return True
    return False if compared else None
