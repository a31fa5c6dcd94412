"""`netscope show` from captured snapshots: the tree a user reads, and the --json document."""

from __future__ import annotations

import subprocess
import sys

from netscope.snapshot import loads
from tests.unit.conftest import FIXTURES


def show(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "netscope", "show", *args],
                          capture_output=True, text=True, check=True)


def test_tree_names_containers_their_veth_peers_and_bridge_ports(docker_engine_snapshot):
    out = show("--snapshot", str(FIXTURES / "docker-engine.json")).stdout
    for c in docker_engine_snapshot.containers:
        assert f"container {c.name} {c.container_id[:12]}" in out
    web = next(c for c in docker_engine_snapshot.containers if c.ports)
    assert "publishes 0.0.0.0:8080->80/tcp" in out
    # every container's eth0 points at a host veth that is a docker0 port pointing back
    host_veths = [line.split()[1] for line in out.splitlines()
                  if line.strip().startswith("port veth")]
    assert len(host_veths) == 2
    assert f"<-> {web.name}:eth0" in out
    for veth in host_veths:
        assert f"<-> host:{veth}" in out


def test_tree_shows_routes_and_addresses(docker_like_lab):
    out = show("--snapshot", str(FIXTURES / "docker-like-lab.json")).stdout
    assert "default via 172.18.0.1 dev eth0" in out
    assert "172.18.0.1/16" in out and "198.51.100.2/24" in out


def test_json_is_the_snapshot_document(docker_like_lab):
    out = show("--snapshot", str(FIXTURES / "docker-like-lab.json"), "--json").stdout
    assert loads(out) == docker_like_lab


def test_show_does_not_import_textual_bcc_or_scapy():
    code = ("import sys, io, contextlib\n"
            "from netscope.cli.main import main\n"
            f"with contextlib.redirect_stdout(io.StringIO()):\n"
            f"    main(['show', '--snapshot', {str(FIXTURES / 'docker-like-lab.json')!r}])\n"
            "heavy = [m for m in ('textual', 'bcc', 'scapy') if m in sys.modules]\n"
            "print(','.join(heavy))\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert p.stdout.strip() == ""


def test_version_and_help():
    v = subprocess.run([sys.executable, "-m", "netscope", "--version"], capture_output=True,
                       text=True, check=True)
    assert v.stdout.startswith("netscope 0.")
    h = subprocess.run([sys.executable, "-m", "netscope", "--help"], capture_output=True,
                       text=True, check=True)
    assert "snapshot" in h.stdout and "show" in h.stdout


def test_building_the_command_line_imports_no_heavy_package():
    code = ("import sys\nfrom netscope.cli.main import build_parser\nbuild_parser()\n"
            "print(','.join(m for m in ('textual', 'bcc', 'scapy', 'networkx') "
            "if m in sys.modules))\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert p.stdout.strip() == ""
