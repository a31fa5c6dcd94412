"""An OCI image archive of the busybox rootfs, for `ctr image import` (no registry here).

The archive is an OCI image layout (oci-layout, index.json, blobs/sha256/...) with one
uncompressed layer: the rootfs tar tests/support/docker_engine.py builds for `docker import`.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

from tests.support.docker_engine import busybox_rootfs_tar

MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar"


def _descriptor(media_type: str, blob: bytes) -> dict:
    return {"mediaType": media_type, "digest": "sha256:" + hashlib.sha256(blob).hexdigest(),
            "size": len(blob)}


def _add(tar: tarfile.TarFile, name: str, blob: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(blob), 0o644
    tar.addfile(info, io.BytesIO(blob))


def busybox_oci_archive(workdir: Path, image_name: str) -> Path:
    """`workdir/busybox-oci.tar`, an image named `image_name` whose command is /bin/sh."""
    layer = busybox_rootfs_tar(workdir).read_bytes()
    layer_digest = "sha256:" + hashlib.sha256(layer).hexdigest()
    config = json.dumps({
        "architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
    }).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": MANIFEST_TYPE,
        "config": _descriptor(CONFIG_TYPE, config),
        "layers": [_descriptor(LAYER_TYPE, layer)],
    }).encode()
    index = json.dumps({"schemaVersion": 2, "manifests": [{
        **_descriptor(MANIFEST_TYPE, manifest),
        "annotations": {"io.containerd.image.name": image_name,
                        "org.opencontainers.image.ref.name": image_name.rsplit(":", 1)[-1]},
    }]}).encode()
    path = workdir / "busybox-oci.tar"
    with tarfile.open(path, "w") as tar:
        _add(tar, "oci-layout", b'{"imageLayoutVersion": "1.0.0"}')
        _add(tar, "index.json", index)
        for blob in (layer, config, manifest):
            _add(tar, "blobs/sha256/" + hashlib.sha256(blob).hexdigest(), blob)
    return path
