"""netscope installed like any command-line tool: the sdist and the wheel built from it, the
wheel installed (not editable) into a fresh venv of Debian's python without system
site-packages, as pip and pipx do, then run from another directory with no checkout on its
path: every lab listed, a lab brought up, checked with real traffic and taken down, drops
counted with eBPF (Debian's bcc found from the venv), the TUI opened on a snapshot in tmux.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.support.netns import require_root
from tests.support.tmux import Tmux

REPO = Path(__file__).resolve().parents[2]
DEBIAN_PYTHON = "/usr/bin/python3"
INSTANCE = f"nspkg{os.getpid() % 100000}"
FIXTURE = REPO / "fixtures" / "tui-docker-bridge.json"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(netscope executable, a directory outside the repository, the dist directory)."""
    reason = require_root() or (None if importlib.util.find_spec("build") else
                                "the build package is missing (the test extra installs it)")
    if reason:
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("installed")
    dist = root / "dist"
    # the sdist first, then the wheel built from the sdist: what the sdist lacks, the wheel lacks
    subprocess.run([sys.executable, "-m", "build", "-o", str(dist), str(REPO)], check=True,
                   capture_output=True, timeout=600)
    venv = root / "venv"
    subprocess.run([DEBIAN_PYTHON, "-m", "venv", str(venv)], check=True, timeout=120)
    cfg = (venv / "pyvenv.cfg").read_text()
    assert "include-system-site-packages = false" in cfg
    wheel = next(dist.glob("netscope-*.whl"))
    # not PYTHONPATH: pip would take the checkout on it for netscope already installed
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(wheel)], check=True,
                   capture_output=True, timeout=600, env=clean_env())
    assert (venv / "bin" / "netscope").is_file()
    elsewhere = root / "elsewhere"
    elsewhere.mkdir()
    return venv / "bin" / "netscope", elsewhere, dist


def clean_env() -> dict[str, str]:
    """This environment without what would point Python at the checkout."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}


def netscope(installed, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    exe, elsewhere, _ = installed
    env = clean_env()
    env["NETSCOPE_STATE_DIR"] = str(elsewhere / "state")
    return subprocess.run([str(exe), *args], cwd=elsewhere, env=env, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def test_the_sdist_carries_tests_fixtures_and_licences(installed):
    _, _, dist = installed
    with tarfile.open(next(dist.glob("netscope-*.tar.gz"))) as sdist:
        names = {n.split("/", 1)[1] for n in sdist.getnames() if "/" in n}
    for wanted in ("LICENSE", "NOTICE", "LICENSES/GPL-2.0-only.txt", "setup.py", "setup.sh",
                   "probes/drops.bpf.c", "topology/docker-bridge.toml",
                   "fixtures/tui-docker-bridge.json", "tests/unit/test_cli_convention.py",
                   "tests/tui/__snapshots__/test_screens/test_help.svg", "docs/cli.md"):
        assert wanted in names, wanted


def test_the_wheel_carries_probes_labs_servers_docs_and_styles(installed):
    _, _, dist = installed
    with zipfile.ZipFile(next(dist.glob("netscope-*.whl"))) as wheel:
        names = set(wheel.namelist())
    repo_probes = {p.name for p in (REPO / "probes").iterdir()}
    assert {n.rsplit("/", 1)[1] for n in names if n.startswith("netscope/probes/")} == \
        repo_probes
    labs = {p.name for p in (REPO / "topology").glob("*.toml")}
    assert {n.rsplit("/", 1)[1] for n in names if n.startswith("netscope/topology/")} >= labs
    for wanted in ("netscope/labs/serve.py", "netscope/tui/app.tcss",
                   "netscope/docs/snapshot.schema.json", "netscope/docs/cli.md"):
        assert wanted in names, wanted
    assert any(n.endswith("dist-info/licenses/NOTICE") for n in names)


def test_lab_list_shows_every_lab(installed):
    done = netscope(installed, "lab", "list", "--json")
    assert done.returncode == 0, done.stderr
    shown = {lab["name"] for lab in json.loads(done.stdout)}
    assert shown == {p.stem for p in (REPO / "topology").glob("*.toml")}


def test_a_lab_comes_up_passes_its_checks_and_goes_down(installed):
    try:
        up = netscope(installed, "lab", "up", "docker-bridge", "--instance", INSTANCE, "--json")
        assert up.returncode == 0, up.stderr
        assert json.loads(up.stdout)["instance"] == INSTANCE
        checked = netscope(installed, "lab", "check", INSTANCE)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "checks as the lab predicts" in checked.stdout
    finally:
        down = netscope(installed, "lab", "down", INSTANCE, "--json")
    assert down.returncode == 0, down.stderr
    assert json.loads(down.stdout)["was_up"] is True
    assert not [n for n in os.listdir("/run/netns") if n.startswith(f"nsl-{INSTANCE}-")]


def test_drops_loads_its_probe_with_debians_bcc_from_the_venv(installed):
    done = netscope(installed, "drops", "--duration", "1", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["duration_s"] >= 1 and report["attach_s"] > 0
    probes = json.loads(netscope(installed, "probes", "--no-test-load", "--json").stdout)
    sources = next(c for c in probes["capabilities"] if c["name"] == "probe sources")
    assert sources["available"] and "site-packages/netscope/probes" in sources["detail"]


def test_the_tui_opens_a_snapshot(installed):
    if not shutil.which("tmux"):
        pytest.skip("tmux is not installed (setup.sh installs it)")
    exe, elsewhere, _ = installed
    tmux = Tmux(INSTANCE)
    try:
        tmux.start(f"cd {elsewhere} && env -u PYTHONPATH {exe} --snapshot {FIXTURE}")
        tmux.wait_for("nsl-nstui-c1", timeout=30)
        # q once the whole screen is up (the footer is drawn last): a key pressed while the
        # app still mounts is not a person's use of it
        screen = tmux.wait_for("palette", timeout=30)
        kernel = json.loads(FIXTURE.read_text())["header"]["kernel"]
        assert f"kernel {kernel}" in screen  # the snapshot's header, read offline
        ended = tmux.quit("q")
        assert ended == ["0"], f"exit status and signal: {ended}; screen:\n{tmux.screen()}"
    finally:
        tmux.kill()


def test_the_global_snapshot_and_the_manual_work_installed(installed):
    doctor = netscope(installed, "--snapshot", str(FIXTURE), "doctor", "--json")
    assert doctor.returncode in (0, 1) and isinstance(json.loads(doctor.stdout), list)
    page = netscope(installed, "manpage")
    assert page.returncode == 0 and page.stdout.startswith(".TH NETSCOPE 1")
