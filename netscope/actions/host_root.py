"""Inside the netscope node pod: make the node's own files visible where netscope reads them.

A pod sees its image's file system; the node's namespace files (ip netns, Docker, CNI),
container runtime state and CNI state are on the node. The pod mounts the node's root
read-only at /host (netscope.actions.kube_manifest); `bind_host_root("/host")` binds each of
those paths over the container's own, in the container's mount namespace only: the node is
not changed. Refused where the mount namespace is the host's own (outside a pod the same
binds would cover the host's directories).
"""

from __future__ import annotations

import os
import subprocess

# what the snapshot reads from the node's file system, besides /proc (the pod has hostPID)
NODE_PATHS = (
    "/run/netns", "/var/run/docker/netns", "/run/docker/netns", "/run/containerd",
    "/run/crio", "/run/containers", "/run/podman", "/var/lib/containers/storage",
    "/var/lib/cni", "/etc/cni/net.d",
)


class HostRootError(RuntimeError):
    """The binds cannot be made; the message says why."""


def _own_mount_namespace() -> bool:
    try:
        return os.readlink("/proc/self/ns/mnt") != os.readlink("/proc/1/ns/mnt")
    except OSError:
        return False


def bind_host_root(root: str, paths: tuple[str, ...] = NODE_PATHS) -> list[str]:
    """Bind `root`+path over path for each of `paths` that exists under `root`; return the
    paths bound. Raises HostRootError outside a container's own mount namespace."""
    if not os.path.isdir(root):
        raise HostRootError(f"--host-root {root}: no such directory (the pod mounts the node's "
                            "root there)")
    if not _own_mount_namespace():
        raise HostRootError("--host-root is for the netscope node pod (hostPID, its own mount "
                            "namespace): here it would cover this host's own directories")
    bound = []
    for path in paths:
        source = os.path.join(root, path.lstrip("/"))
        if not os.path.isdir(source) or os.path.realpath(source) == os.path.realpath(path):
            continue
        os.makedirs(path, exist_ok=True)
        p = subprocess.run(["mount", "--rbind", source, path], capture_output=True, text=True,
                           timeout=10)
        if p.returncode != 0:
            raise HostRootError(f"cannot bind {source} on {path}: {p.stderr.strip()}")
        bound.append(path)
    return bound
