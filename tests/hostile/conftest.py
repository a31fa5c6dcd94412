"""Hostile tier: hostile input, crashes at random points and a full disk.

Every test here is marked `hostile`; those that change the host need root and build
everything under a unique prefix, removed even when they fail (as the kernel tier does)."""

import pytest


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/hostile/" in str(item.fspath):
            item.add_marker(pytest.mark.hostile)
