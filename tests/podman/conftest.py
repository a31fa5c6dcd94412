"""Podman tier: root, real rootful Podman (netavark) with the tier's containers.conf and a
local busybox image; every container and pod is named nstest-* and removed even on failure."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from tests.support.podman_engine import Podman, PodmanFailed, make_podman


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/podman/" in str(item.fspath):
            item.add_marker(pytest.mark.podman)


@pytest.fixture(scope="session")
def podman_image(tmp_path_factory: pytest.TempPathFactory) -> Podman:
    if os.geteuid() != 0:
        pytest.skip("the podman tier needs root: run sudo ./setup.sh test")
    if shutil.which("podman") is None:
        pytest.skip("podman is missing: run sudo ./setup.sh test (installs podman)")
    try:
        return make_podman(tmp_path_factory.mktemp("podman"))
    except PodmanFailed as e:
        message = str(e)
    pytest.fail(message, pytrace=False)


@pytest.fixture
def podman(podman_image: Podman) -> Iterator[Podman]:
    """The podman CLI; every container and pod made through it is removed afterwards."""
    engine = Podman(conf=podman_image.conf)
    try:
        yield engine
    finally:
        failures = engine.remove_all()
        assert not failures, f"podman left something behind: {failures}"
