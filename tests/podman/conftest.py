"""Podman tier: root, real rootful Podman (netavark) with the tier's containers.conf and a
local busybox image; every container and pod is named nstest-* and removed even on failure."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from tests.support import runtime_chains
from tests.support.podman_engine import (
    NETAVARK_CHAINS,
    NETAVARK_JUMPS,
    Podman,
    PodmanFailed,
    make_podman,
)


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/podman/" in str(item.fspath):
            item.add_marker(pytest.mark.podman)


@pytest.fixture(scope="session")
def podman_image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Podman]:
    """Podman with the test image; netavark's lasting chains removed at the end of the
    session when they were not there before it and no container is left."""
    if os.geteuid() != 0:
        pytest.skip("the podman tier needs root: run sudo ./setup.sh test")
    if shutil.which("podman") is None:
        pytest.skip("podman is missing: run sudo ./setup.sh test (installs podman)")
    before = runtime_chains.chains("filter") | runtime_chains.chains("nat")
    try:
        podman = make_podman(tmp_path_factory.mktemp("podman"))
    except PodmanFailed as e:
        pytest.fail(str(e), pytrace=False)
    yield podman
    if not before & {c for _, c in NETAVARK_CHAINS} and not podman.cli(
            "ps", "-aq", check=False).stdout.strip():
        runtime_chains.remove(NETAVARK_JUMPS, NETAVARK_CHAINS)


@pytest.fixture
def podman(podman_image: Podman) -> Iterator[Podman]:
    """The podman CLI; every container and pod made through it is removed afterwards."""
    engine = Podman(conf=podman_image.conf)
    try:
        yield engine
    finally:
        failures = engine.remove_all()
        assert not failures, f"podman left something behind: {failures}"
