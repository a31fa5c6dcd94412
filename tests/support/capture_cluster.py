"""Capture fixtures/cluster-flannel.json: a cluster document of two simulated flannel nodes.

    sudo .venv/bin/python -m tests.support.capture_cluster

Two nodes (tests/support/cluster_nodes.py: each node a namespace with cni0, two pods and
flannel.1 VXLAN over a veth underlay, flanneld's entries written as it writes them), each
snapshotted by netscope confined as its node pod would be, merged by `netscope merge`'s code.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from netscope.snapshot.cluster import merge_documents
from netscope.snapshot.io import read_document
from tests.support.cluster_nodes import build_nodes, snapshot_as_node
from tests.support.netns import Namespaces

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "cluster-flannel.json"


def main() -> None:
    spaces = Namespaces("nsfx")
    try:
        nodes = build_nodes(spaces, 2, "vxlan")
        with tempfile.TemporaryDirectory() as tmp:
            parts = []
            for node in nodes:
                out = Path(tmp) / f"{node.name}.json"
                done = snapshot_as_node(node, out)
                if done.returncode != 0:
                    raise SystemExit(done.stderr)
                parts.append((node.name, *read_document(str(out))))
            text, _header, _count = merge_documents(parts, note=(
                "fixture cluster-flannel: `python -m tests.support.capture_cluster`: two "
                "simulated flannel nodes (node-a, node-b: cni0 with two pods each, flannel.1 "
                "VXLAN 1 dstport 8472 over a veth underlay 10.99.0.0/24), each snapshotted "
                "confined as its node pod would be, merged"))
        FIXTURE.write_text(json.dumps(json.loads(text), indent=1) + "\n")
        print(f"wrote {FIXTURE}")
    finally:
        spaces.cleanup()


if __name__ == "__main__":
    main()
