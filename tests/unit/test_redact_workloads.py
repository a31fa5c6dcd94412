"""Redaction of pods, runtime labels and CNI: addresses always, names with --redact-names,
consistently (a pod's namespace keeps its pod's token)."""

from __future__ import annotations

from netscope.graph.host import HostGraph
from netscope.model.cni import in_range
from netscope.report.redact import redact
from tests.support.workloads import SANDBOX, with_a_pod

KEY = b"netscope-test-key".ljust(32, b".")


def test_addresses_of_cni_are_redacted_names_kept_by_default():
    snap, address = with_a_pod()
    red = redact(snap, key=KEY)
    assert address not in red.text
    assert "payments-api-7d9f" in red.text and "corpnet" in red.text
    (allocation,) = red.snapshot.cni_allocations
    assert allocation.address != address
    # still inside its network's range: the doctor's range check reads the same on both
    assert in_range(allocation.address, red.snapshot.cni_networks[0].ranges) is True


def test_pod_names_uids_labels_and_cni_names_with_redact_names():
    snap, _address = with_a_pod()
    red = redact(snap, names=True, key=KEY)
    for secret in ("payments-api-7d9f", "billing", "0e6a3c2d-1111-4c3e-9b1e-2a2f7c7e0a11",
                   "payments-squad", "ledger", "corpnet", SANDBOX, "6a" * 32):
        assert secret not in red.text, secret
    out = red.snapshot
    (pod,) = out.pods
    graph = HostGraph.of(out)
    # the namespace still carries its pod's name, redacted the same way
    assert graph.ns_name(pod.netns) == pod.display_name
    assert pod.labels["io.cri-containerd.kind"] == "sandbox"
    (allocation,) = out.cni_allocations
    assert allocation.container_id == pod.pod_id  # the allocation still names its sandbox
    assert allocation.network == out.cni_networks[0].name
