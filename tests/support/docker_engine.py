"""A real Docker engine for the docker test tier, with a local busybox image.

If /var/run/docker.sock does not answer, `dockerd --storage-driver=vfs` is started in the
background (and stopped afterwards). No registry is reachable: the image is `docker import`ed
from a rootfs holding only /bin/busybox (busybox-static) and one symlink per applet.
Everything the tests create is named with NAME_PREFIX.
"""

from __future__ import annotations

import secrets
import subprocess
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

from netscope.host.docker import (
    DOCKER_SOCKET,
    DockerUnavailable,
    docker_socket_present,
    list_containers,
)

IMAGE = "netscope-test/busybox:latest"
NAME_PREFIX = "nstest-"
BUSYBOX = "/bin/busybox"
START_TIMEOUT = 60.0


class EngineFailed(Exception):
    """dockerd could not be started, or the test image could not be built."""


def engine_answers(socket_path: str = DOCKER_SOCKET) -> bool:
    if not docker_socket_present(socket_path):
        return False
    try:
        list_containers(socket_path, timeout=1.0)
    except DockerUnavailable:
        return False
    return True


@dataclass
class DockerEngine:
    """The docker CLI bound to an engine that answers; `stop()` ends dockerd if we started it."""

    docker: str
    socket_path: str = DOCKER_SOCKET
    dockerd: subprocess.Popen | None = None

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [self.docker, "-H", f"unix://{self.socket_path}", *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if check and proc.returncode != 0:
            raise EngineFailed(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()}")
        return proc

    def stop(self) -> None:
        if self.dockerd is None or self.dockerd.poll() is not None:
            return
        self.dockerd.terminate()
        try:
            self.dockerd.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.dockerd.kill()
            self.dockerd.wait()


def log_tail(path: Path, lines: int = 20) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def start_engine(docker: str, workdir: Path) -> DockerEngine:
    """An engine that answers: the running one, or a dockerd started here (log in workdir)."""
    if engine_answers():
        return DockerEngine(docker=docker)
    log_path = workdir / "dockerd.log"
    with log_path.open("wb") as log:
        dockerd = subprocess.Popen(
            ["dockerd", "--storage-driver=vfs"], stdin=subprocess.DEVNULL,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    engine = DockerEngine(docker=docker, dockerd=dockerd)
    deadline = time.monotonic() + START_TIMEOUT
    while not engine_answers():
        if dockerd.poll() is not None or time.monotonic() > deadline:
            engine.stop()
            why = f"exited with {dockerd.returncode}" if dockerd.returncode is not None \
                else f"did not answer within {START_TIMEOUT:.0f} s"
            raise EngineFailed(f"dockerd {why}; last lines of {log_path}:\n{log_tail(log_path)}")
        time.sleep(0.2)
    return engine


def busybox_rootfs_tar(workdir: Path) -> Path:
    """A tarball of a root filesystem with /bin/busybox and a /bin link per applet."""
    applets = subprocess.run(
        [BUSYBOX, "--list"], capture_output=True, text=True, check=True,
    ).stdout.split()
    tar_path = workdir / "busybox-rootfs.tar"
    with tarfile.open(tar_path, "w") as tar:
        for directory in ("bin", "etc", "tmp", "proc", "sys", "dev", "root"):
            info = tarfile.TarInfo(directory)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if directory == "tmp" else 0o755
            tar.addfile(info)
        tar.add(BUSYBOX, arcname="bin/busybox")
        for applet in applets:
            if applet != "busybox":
                info = tarfile.TarInfo(f"bin/{applet}")
                info.type, info.linkname, info.mode = tarfile.SYMTYPE, "busybox", 0o777
                tar.addfile(info)
    return tar_path


def ensure_image(engine: DockerEngine, workdir: Path) -> None:
    if engine.cli("image", "inspect", IMAGE, check=False).returncode == 0:
        return
    if not Path(BUSYBOX).exists():
        raise EngineFailed(f"{BUSYBOX} is missing: install busybox-static (./setup.sh does)")
    tar_path = busybox_rootfs_tar(workdir)
    engine.cli("import", "--change", 'CMD ["/bin/sh"]', str(tar_path), IMAGE)


@dataclass(frozen=True)
class RunningContainer:
    name: str
    container_id: str


def container_name(name_suffix: str) -> str:
    return f"{NAME_PREFIX}{secrets.token_hex(3)}-{name_suffix}"


def run_container(
    engine: DockerEngine, name: str, *docker_args: str, cmd: tuple[str, ...],
) -> RunningContainer:
    """`docker run -d --name NAME ARGS IMAGE CMD` with the test image."""
    proc = engine.cli("run", "-d", "--name", name, *docker_args, IMAGE, *cmd)
    return RunningContainer(name=name, container_id=proc.stdout.strip())


def remove_containers(engine: DockerEngine, names: list[str]) -> None:
    if names:
        engine.cli("rm", "-f", *names, check=False)
