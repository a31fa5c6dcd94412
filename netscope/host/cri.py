"""Kubernetes pod identity from what CRI runtimes write beside a container, without a cluster.

containerd's CRI plugin writes OCI annotations (pkg/cri/annotations in containerd):
`io.kubernetes.cri.container-type` (`sandbox` or `container`), `io.kubernetes.cri.sandbox-id`,
`io.kubernetes.cri.sandbox-name`, `io.kubernetes.cri.sandbox-namespace`,
`io.kubernetes.cri.sandbox-uid`, and for containers `io.kubernetes.cri.container-name` and
`io.kubernetes.cri.image-name`; its container labels carry kubelet's labels and
`io.cri-containerd.kind`. CRI-O writes `io.kubernetes.cri-o.ContainerType`,
`io.kubernetes.cri-o.SandboxID`, `io.kubernetes.cri-o.ContainerName`, and copies kubelet's
labels (`io.kubernetes.pod.name`, `io.kubernetes.pod.namespace`, `io.kubernetes.pod.uid`,
`io.kubernetes.container.name`) into the annotations as well.
"""

from __future__ import annotations

from dataclasses import dataclass

# containerd (CRI plugin) annotations
CRI_CONTAINER_TYPE = "io.kubernetes.cri.container-type"
CRI_SANDBOX_ID = "io.kubernetes.cri.sandbox-id"
CRI_SANDBOX_NAME = "io.kubernetes.cri.sandbox-name"
CRI_SANDBOX_NAMESPACE = "io.kubernetes.cri.sandbox-namespace"
CRI_SANDBOX_UID = "io.kubernetes.cri.sandbox-uid"
CRI_CONTAINER_NAME = "io.kubernetes.cri.container-name"
CRI_IMAGE_NAME = "io.kubernetes.cri.image-name"
# containerd (CRI plugin) container label
CRI_CONTAINERD_KIND = "io.cri-containerd.kind"
# CRI-O annotations
CRIO_CONTAINER_TYPE = "io.kubernetes.cri-o.ContainerType"
CRIO_SANDBOX_ID = "io.kubernetes.cri-o.SandboxID"
CRIO_CONTAINER_NAME = "io.kubernetes.cri-o.ContainerName"
CRIO_IMAGE_NAME = "io.kubernetes.cri-o.ImageName"
# kubelet's labels on every CRI container (CRI-O also copies them into the annotations)
KUBE_POD_NAME = "io.kubernetes.pod.name"
KUBE_POD_NAMESPACE = "io.kubernetes.pod.namespace"
KUBE_POD_UID = "io.kubernetes.pod.uid"
KUBE_CONTAINER_NAME = "io.kubernetes.container.name"
# kubelet names the infra container of a pod this (leaky.PodInfraContainerName)
KUBE_INFRA_NAME = "POD"

SANDBOX, CONTAINER = "sandbox", "container"

# the keys worth keeping on a Container's labels: they say what it is
IDENTITY_KEYS = (
    CRI_CONTAINER_TYPE, CRI_SANDBOX_ID, CRI_SANDBOX_NAME, CRI_SANDBOX_NAMESPACE, CRI_SANDBOX_UID,
    CRI_CONTAINER_NAME, CRI_IMAGE_NAME, CRI_CONTAINERD_KIND, CRIO_CONTAINER_TYPE,
    CRIO_SANDBOX_ID, CRIO_CONTAINER_NAME, KUBE_POD_NAME, KUBE_POD_NAMESPACE, KUBE_POD_UID,
    KUBE_CONTAINER_NAME,
)
MAX_LABELS = 64
MAX_LABEL_TEXT = 1024


@dataclass(frozen=True)
class KubeIdentity:
    """Which pod a container belongs to, as the runtime recorded it.

    `kind` is "sandbox" (the pod's infra container, which holds its namespaces) or
    "container"; `sandbox_id` the pod sandbox's container id; `container_name` the name in the
    pod spec (None for the sandbox).
    """

    kind: str
    sandbox_id: str | None
    pod_name: str | None
    pod_namespace: str | None
    pod_uid: str | None
    container_name: str | None
    image: str | None


def kube_identity(annotations: dict[str, str], labels: dict[str, str] | None = None
                  ) -> KubeIdentity | None:
    """The pod identity in a container's annotations (and labels), or None for a container
    that no CRI runtime made. (Podman also writes CRI-O's ContainerType and SandboxID into
    its pod containers' specs, without pod names: callers that read CRI-O's storage skip
    Podman's containers first.)"""
    labels = labels or {}
    both = {**labels, **annotations}
    kind = (both.get(CRI_CONTAINER_TYPE) or both.get(CRIO_CONTAINER_TYPE)
            or labels.get(CRI_CONTAINERD_KIND))
    pod_name = both.get(CRI_SANDBOX_NAME) or both.get(KUBE_POD_NAME)
    sandbox_id = both.get(CRI_SANDBOX_ID) or both.get(CRIO_SANDBOX_ID)
    # a container says which sandbox it is in; a sandbox must name its pod
    if kind not in (SANDBOX, CONTAINER) or not (pod_name or (kind == CONTAINER and sandbox_id)):
        return None
    # CRI-O's ContainerName is its own "k8s_<container>_<pod>_<namespace>_<uid>_<attempt>":
    # kubelet's label names the container as the pod spec does
    name = (both.get(CRI_CONTAINER_NAME) or both.get(KUBE_CONTAINER_NAME)
            or both.get(CRIO_CONTAINER_NAME))
    return KubeIdentity(
        kind=kind,
        sandbox_id=sandbox_id,
        pod_name=pod_name,
        pod_namespace=both.get(CRI_SANDBOX_NAMESPACE) or both.get(KUBE_POD_NAMESPACE),
        pod_uid=both.get(CRI_SANDBOX_UID) or both.get(KUBE_POD_UID),
        container_name=None if kind == SANDBOX or name == KUBE_INFRA_NAME else name,
        image=both.get(CRI_IMAGE_NAME) or both.get(CRIO_IMAGE_NAME),
    )


def identity_labels(labels: dict[str, str], annotations: dict[str, str]) -> dict[str, str]:
    """The labels to keep on a container: all its labels (bounded), and the annotations that
    say what it is (CRI's; the rest of an OCI spec's annotations is runtime bookkeeping)."""
    out = {}
    for key, value in [*labels.items(), *((k, annotations[k]) for k in IDENTITY_KEYS
                                           if k in annotations)]:
        if len(out) >= MAX_LABELS:
            break
        out[key[:MAX_LABEL_TEXT]] = value[:MAX_LABEL_TEXT]
    return out
