"""The short-lived pod that takes one node's snapshot, as Kubernetes reads it.

The pod runs on the node it is pinned to (`nodeName`), in the node's network and process
namespaces (hostNetwork, hostPID), privileged (entering other namespaces needs
CAP_SYS_ADMIN), tolerating every taint (control-plane and NoExecute nodes included), and
sees the host's file system read-only at /host. It only sleeps: netscope runs in it through
`kubectl exec` (`netscope snapshot --host-root /host`, which binds the host's namespace files,
runtime state and CNI state into the container's own mount namespace first), writing the
snapshot to standard output, and the pod is deleted right after. `activeDeadlineSeconds` ends
it even if netscope's client dies before deleting it.
"""

from __future__ import annotations

import hashlib

MANAGED_BY = "netscope"
RUN_LABEL = "netscope.io/run"
NODE_LABEL = "netscope.io/node"
CONTAINER = "netscope"
DEFAULT_IMAGE = "netscope:latest"
# a pod never outlives this, even when nothing deletes it (seconds)
POD_DEADLINE_S = 900

HOST_ROOT = "/host"


def pod_name(run: str, node: str) -> str:
    """A pod name unique per run and node, valid in Kubernetes (<= 63 chars, DNS label)."""
    digest = hashlib.sha256(node.encode()).hexdigest()[:8]
    return f"netscope-snap-{run}-{digest}"


def snapshot_pod(node: str, run: str, namespace: str, image: str) -> dict:
    """The Pod manifest (a dict, written as JSON) that collects `node`'s snapshot."""
    # HostToContainer: namespace files mounted on the host later still show up in the pod
    mounts = [{"name": "host", "mountPath": HOST_ROOT, "readOnly": True,
               "mountPropagation": "HostToContainer"}]
    volumes = [{"name": "host", "hostPath": {"path": "/", "type": "Directory"}}]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": pod_name(run, node),
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": MANAGED_BY, RUN_LABEL: run,
                       NODE_LABEL: hashlib.sha256(node.encode()).hexdigest()[:16]},
            "annotations": {"netscope.io/node-name": node},
        },
        "spec": {
            "nodeName": node,
            "hostNetwork": True,
            "hostPID": True,
            "restartPolicy": "Never",
            "activeDeadlineSeconds": POD_DEADLINE_S,
            "terminationGracePeriodSeconds": 0,
            "automountServiceAccountToken": False,
            "tolerations": [{"operator": "Exists"}],
            "containers": [{
                "name": CONTAINER,
                "image": image,
                "imagePullPolicy": "IfNotPresent",
                "command": ["sleep", str(POD_DEADLINE_S)],
                "securityContext": {"privileged": True},
                "volumeMounts": mounts,
                "resources": {"requests": {"cpu": "50m", "memory": "64Mi"},
                              "limits": {"memory": "512Mi"}},
            }],
            "volumes": volumes,
        },
    }


def snapshot_command(node: str) -> list[str]:
    """What `kubectl exec` runs in the pod: a snapshot to standard output, no progress."""
    return ["netscope", "snapshot", "--host-root", HOST_ROOT, "--note",
            f"collected by `netscope cluster snapshot` in a privileged pod on node {node}"]
