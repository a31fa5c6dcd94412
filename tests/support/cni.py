"""Run the real CNI plugins (containernetworking-plugins, /usr/lib/cni) on a network
configuration list, as libcni does for a runtime: each plugin of the chain in turn, with the
previous plugin's result as `prevResult` (ADD in order, DEL in reverse order), capabilities
passed as `runtimeConfig` (portmap's `portMappings`).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

CNI_PATH = "/usr/lib/cni"


class CniFailed(Exception):
    """A plugin failed; the message holds its CNI error."""


def _plugin_conf(conflist: dict, plugin: dict, prev: dict | None, runtime: dict) -> bytes:
    conf = {**plugin, "name": conflist["name"], "cniVersion": conflist["cniVersion"]}
    if prev is not None:
        conf["prevResult"] = prev
    caps = {k: v for k, v in runtime.items() if plugin.get("capabilities", {}).get(k)}
    if caps:
        conf["runtimeConfig"] = caps
    return json.dumps(conf).encode()


def _call(command: str, plugin: dict, conf: bytes, container_id: str, netns: str,
          ifname: str) -> dict | None:
    env = {"CNI_COMMAND": command, "CNI_CONTAINERID": container_id, "CNI_NETNS": netns,
           "CNI_IFNAME": ifname, "CNI_PATH": CNI_PATH, "PATH": os.environ.get("PATH", "")}
    proc = subprocess.run([f"{CNI_PATH}/{plugin['type']}"], input=conf, env=env,
                          capture_output=True, timeout=60)
    if proc.returncode != 0:
        raise CniFailed(f"CNI {command} {plugin['type']} failed ({proc.returncode}): "
                        f"{proc.stdout.decode(errors='replace')} "
                        f"{proc.stderr.decode(errors='replace')}".strip())
    return json.loads(proc.stdout) if proc.stdout.strip() else None


def cni_add(conflist_path: Path, container_id: str, netns: str, ifname: str = "eth0",
            runtime: dict | None = None) -> dict:
    """ADD the container's namespace `netns` (a path) to the network: the final result."""
    conflist = json.loads(conflist_path.read_text())
    result = None
    for plugin in conflist["plugins"]:
        conf = _plugin_conf(conflist, plugin, result, runtime or {})
        result = _call("ADD", plugin, conf, container_id, netns, ifname) or result
    return result or {}


def cni_del(conflist_path: Path, container_id: str, netns: str, ifname: str = "eth0",
            runtime: dict | None = None, prev: dict | None = None) -> list[str]:
    """DEL in reverse order; every plugin is called even when one fails. Failures listed."""
    conflist = json.loads(conflist_path.read_text())
    failures = []
    for plugin in reversed(conflist["plugins"]):
        conf = _plugin_conf(conflist, plugin, prev, runtime or {})
        try:
            _call("DEL", plugin, conf, container_id, netns, ifname)
        except (CniFailed, subprocess.TimeoutExpired, OSError) as e:
            failures.append(str(e))
    return failures
