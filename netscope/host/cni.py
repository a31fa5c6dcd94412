"""CNI network configurations and host-local's address allocations, read from disk.

A configuration directory (`/etc/cni/net.d`, or the one a runtime's config names) holds
`.conflist` files (a `plugins` chain), and `.conf`/`.json` files (one plugin), loaded in file
name order as libcni does; containerd's CRI plugin and CRI-O use the first valid one.
host-local keeps one file per allocated address in `<dataDir>/<network name>/<ip>` (dataDir
defaults to /var/lib/cni/networks) holding the container id the runtime passed to CNI and,
since CNI 0.4, a line with the interface name.
"""

from __future__ import annotations

import ipaddress
import json
import os
from dataclasses import replace
from typing import Any

from netscope.host import oci
from netscope.model import CniAllocation, CniNetwork, CniPlugin, CniRange

DEFAULT_CONF_DIR = "/etc/cni/net.d"
DEFAULT_DATA_DIR = "/var/lib/cni/networks"
CONF_EXTENSIONS = (".conf", ".conflist", ".json")
MAX_FILES = 256
MAX_ALLOCATIONS = 65536
# plugin settings that decide where packets go (shown); the rest is left out
SHOWN_SETTINGS = ("bridge", "isGateway", "isDefaultGateway", "ipMasq", "hairpinMode",
                  "promiscMode", "master", "mode", "mtu", "vlan", "capabilities", "snat",
                  "externalSetMarkChain", "markMasqBit", "backend", "delegate")


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"))[:200]


def _ranges(ipam: dict) -> list[CniRange]:
    """host-local's `ranges` (range sets of ranges), or the older flat `subnet` form."""
    out = []
    raw = ipam.get("ranges")
    if isinstance(raw, list):
        for range_set in raw:
            for r in range_set if isinstance(range_set, list) else []:
                if isinstance(r, dict) and isinstance(r.get("subnet"), str):
                    out.append(_range(r))
    elif isinstance(ipam.get("subnet"), str):
        out.append(_range(ipam))
    return out


def _range(r: dict) -> CniRange:
    def opt(key: str) -> str | None:
        value = r.get(key)
        return value if isinstance(value, str) and value else None
    return CniRange(subnet=r["subnet"], range_start=opt("rangeStart"),
                    range_end=opt("rangeEnd"), gateway=opt("gateway"))


def _plugin(conf: dict) -> tuple[CniPlugin, list[CniRange], str | None]:
    ipam = conf.get("ipam") if isinstance(conf.get("ipam"), dict) else {}
    ipam_type = ipam.get("type") if isinstance(ipam.get("type"), str) else None
    details = {k: _text(conf[k]) for k in SHOWN_SETTINGS if k in conf}
    data_dir = None
    if ipam_type == "host-local":
        data_dir = ipam.get("dataDir") if isinstance(ipam.get("dataDir"), str) else \
            DEFAULT_DATA_DIR
    plugin = CniPlugin(type=str(conf.get("type", "?")), ipam_type=ipam_type, details=details)
    return plugin, _ranges(ipam), data_dir


def parse_config(path: str, data: Any) -> CniNetwork:
    """A CniNetwork from the decoded file at `path` (`error` set when it cannot be used)."""
    if not isinstance(data, dict):
        return CniNetwork(id=f"cni:{path}", name="?", path=path,
                          error="not a JSON object (unreadable, invalid or too large)")
    name = data.get("name") if isinstance(data.get("name"), str) else ""
    if path.endswith(".conflist"):
        plugin_confs = data.get("plugins")
        if not isinstance(plugin_confs, list) or not plugin_confs:
            return CniNetwork(id=f"cni:{path}", name=name or "?", path=path,
                              error="a .conflist without a \"plugins\" list")
    else:
        plugin_confs = [data]
    plugins, ranges, data_dir = [], [], None
    for conf in plugin_confs:
        if not isinstance(conf, dict) or not isinstance(conf.get("type"), str):
            return CniNetwork(id=f"cni:{path}", name=name or "?", path=path,
                              error="a plugin without a \"type\"")
        plugin, plugin_ranges, plugin_dir = _plugin(conf)
        plugins.append(plugin)
        ranges += plugin_ranges
        data_dir = data_dir or plugin_dir
    return CniNetwork(
        id=f"cni:{path}", name=name or "?", path=path,
        cni_version=str(data.get("cniVersion", "")), plugins=tuple(plugins),
        ranges=tuple(ranges), data_dir=data_dir,
        error=None if name else "no network \"name\"")


def read_conf_dir(directory: str) -> list[CniNetwork]:
    """The configurations in `directory`, in load order; the first usable one is `in_use`."""
    try:
        names = sorted(n for n in os.listdir(directory) if n.endswith(CONF_EXTENSIONS))
    except OSError:
        return []
    out, chosen = [], False
    for name in names[:MAX_FILES]:
        path = os.path.join(directory, name)
        network = parse_config(path, oci.read_json(path, 1 << 20))
        if network.error is None and not chosen:
            network, chosen = replace(network, in_use=True), True
        out.append(network)
    return out


def read_allocations(networks: list[CniNetwork]) -> list[CniAllocation]:
    """host-local's allocations for the networks that use it (netns resolved later)."""
    out: list[CniAllocation] = []
    seen: set[str] = set()
    for network in networks:
        if network.data_dir is None or network.error:
            continue
        directory = os.path.join(network.data_dir, network.name)
        if directory in seen:
            continue
        seen.add(directory)
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            continue
        for name in names:
            if len(out) >= MAX_ALLOCATIONS:
                return out
            allocation = _allocation(directory, network.name, name)
            if allocation:
                out.append(allocation)
    return out


def _allocation(directory: str, network: str, name: str) -> CniAllocation | None:
    try:
        address = str(ipaddress.ip_address(name))  # not lock, last_reserved_ip.0 ...
    except ValueError:
        return None
    path = os.path.join(directory, name)
    text = oci.read_text(path, 1024)
    if text is None:
        return None
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return None
    return CniAllocation(id=f"cniip:{network}/{address}", network=network, address=address,
                         container_id=lines[0], ifname=lines[1] if len(lines) > 1 else None,
                         path=path)
