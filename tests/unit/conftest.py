from pathlib import Path

import pytest

from netscope.snapshot import load

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.fixture(scope="session")
def docker_like_lab():
    """Captured from a namespaces + bridge + NAT lab (see its header note)."""
    return load(str(FIXTURES / "docker-like-lab.json"))


@pytest.fixture(scope="session")
def docker_engine_snapshot():
    """Captured from a real dockerd with two containers, one publishing 8080->80."""
    return load(str(FIXTURES / "docker-engine.json"))
