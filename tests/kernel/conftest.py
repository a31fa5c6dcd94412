"""Kernel tier: root, real namespaces with a unique prefix, removed even when a test fails."""

import pytest

from tests.support.netns import Namespaces, require_root


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/kernel/" in str(item.fspath):
            item.add_marker(pytest.mark.kernel)


def _throwaway(prefix: str):
    reason = require_root()
    if reason:
        pytest.skip(reason)
    made = Namespaces(prefix)
    try:
        yield made
    finally:
        made.cleanup()


@pytest.fixture
def namespaces():
    """A factory of throw-away namespaces: `namespaces.add("a")` -> "nsk1a2b-a"."""
    yield from _throwaway("nsk")


@pytest.fixture
def spaces():
    """The same, with the netfilter and conntrack tests' prefix (nsnf)."""
    yield from _throwaway("nsnf")
