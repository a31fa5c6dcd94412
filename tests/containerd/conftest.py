"""containerd tier: root, a containerd of the test's own (started here, stopped after) and
the real CNI plugins; kubelet is simulated (see tests/support/containerd_engine.py)."""

from __future__ import annotations

import os
import random
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.containerd_engine import Containerd, ContainerdFailed

CNI_PLUGINS = "/usr/lib/cni"


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/containerd/" in str(item.fspath):
            item.add_marker(pytest.mark.containerd)


@pytest.fixture
def containerd() -> Iterator[Containerd]:
    """A started containerd with the test image and a CNI network (bridge + host-local +
    portmap); every pod, namespace, rule, bridge and directory is removed afterwards."""
    if os.geteuid() != 0:
        pytest.skip("the containerd tier needs root: run sudo ./setup.sh test")
    for tool in ("containerd", "ctr", "containerd-shim-runc-v2"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is missing: run sudo ./setup.sh test (installs containerd)")
    if not os.path.exists(f"{CNI_PLUGINS}/bridge"):
        pytest.skip("the CNI plugins are missing: run sudo ./setup.sh test "
                    "(installs containernetworking-plugins)")
    prefix = f"nst{secrets.token_hex(3)}"
    engine = Containerd(workdir=Path(f"/tmp/{prefix}-containerd"), prefix=prefix,
                        subnet=f"10.188.{random.randrange(1, 250)}.0/24")
    failure = None
    try:
        engine.start()
    except ContainerdFailed as e:
        failure = str(e)
    try:
        if failure is not None:
            pytest.fail(failure, pytrace=False)
        yield engine
    finally:
        leftovers = engine.close()
        assert not leftovers, f"containerd cleanup failed: {leftovers}"
