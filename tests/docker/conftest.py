"""Fixtures of the docker tier: a real dockerd (started if needed) and containers removed after."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator

import pytest

from tests.support.docker_engine import (
    DockerEngine,
    EngineFailed,
    RunningContainer,
    container_name,
    ensure_image,
    remove_containers,
    run_container,
    start_engine,
)

LONG_SLEEP = ("sleep", "3600")


@pytest.fixture(scope="session")
def docker_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockerEngine]:
    """A Docker engine that answers on /var/run/docker.sock, with the test busybox image."""
    if os.geteuid() != 0:
        pytest.skip("the docker tier needs root (it may start dockerd): run sudo ./setup.sh test")
    docker = shutil.which("docker")
    if shutil.which("dockerd") is None or docker is None:
        pytest.skip("dockerd or docker is missing: run sudo ./setup.sh test (installs docker.io)")
    engine, failure = None, None
    try:
        engine = start_engine(docker, tmp_path_factory.mktemp("dockerd"))
        ensure_image(engine, tmp_path_factory.mktemp("image"))
    except EngineFailed as e:
        failure = str(e)
    if failure is not None:
        if engine is not None:
            engine.stop()
        pytest.fail(failure, pytrace=False)
    try:
        yield engine
        left = [n for n in engine.cli("network", "ls", "--format", "{{.Name}}").stdout.split()
                if n.startswith(TEST_NETWORK_PREFIXES)]
        # a network left behind outlives the engine: dockerd makes its bridge again at
        # every start (23 were found on a machine that ran the suite 23 times)
        assert not left, f"the docker tests left networks behind: {left}"
    finally:
        engine.stop()


# the user-defined networks the docker tests create (test_dns.py, test_docker_netfilter.py)
TEST_NETWORK_PREFIXES = ("nsdx", "nsnf-")


@pytest.fixture
def docker_run(docker_engine: DockerEngine) -> Iterator[Callable[..., RunningContainer]]:
    """Factory: docker_run(name_suffix, *docker_run_args, cmd=("sleep", "3600")) runs a
    container named nstest-<random>-<suffix>; every one it ran is removed at teardown."""
    names: list[str] = []

    def run(name_suffix: str, *docker_args: str, cmd: tuple[str, ...] = LONG_SLEEP):
        name = container_name(name_suffix)
        names.append(name)  # before running: a container created but not started goes too
        try:
            return run_container(docker_engine, name, *docker_args, cmd=cmd)
        except EngineFailed as e:
            failure = str(e)
        pytest.fail(failure, pytrace=False)

    yield run
    remove_containers(docker_engine, names)
