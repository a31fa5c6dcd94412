"""Real Podman containers, a pod and their published ports, named in `show`, `show
--netfilter`, `path` and the TUI, read from Podman's state on disk and from its REST API."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

from netscope.collect.runner import collect_snapshot
from netscope.snapshot import load, save
from netscope.tui.app import NetscopeApp
from netscope.tui.backends import Backends
from tests.support.podman_engine import unique
from tests.tui.conftest import SIZE, sync
from tests.tui.test_app import shown, tree_lines


def netscope(*args: str, env: dict | None = None) -> str:
    proc = subprocess.run([sys.executable, "-m", "netscope", *args], capture_output=True,
                          text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_workloads(podman, app_cmd: tuple[str, ...] = ("sleep", "3600")):
    """A container publishing a port, and a pod (infra + one container running `app_cmd`)
    publishing another."""
    web, pod, app = unique("web"), unique("pod"), unique("app")
    web_port, pod_port = free_port(), free_port()
    web_id = podman.run(web, "-p", f"{web_port}:80")
    pod_id = podman.pod(pod, "-p", f"{pod_port}:80")
    podman.run(app, "--pod", pod, cmd=app_cmd)
    infra_id = podman.cli("pod", "inspect", "--format", "{{.InfraContainerID}}",
                          pod).stdout.strip()
    return dict(web=web, web_id=web_id, web_port=web_port, pod=pod, pod_id=pod_id, app=app,
                pod_port=pod_port, infra_id=infra_id)


def check_show(out: str, w: dict) -> None:
    # the container's namespace is named after it, with what Podman says about it
    assert re.search(rf"^{w['web']}  \[podman container {w['web']} {w['web_id'][:12]} "
                     rf"publishes 0\.0\.0\.0:{w['web_port']}->80/tcp\]", out, re.M), out
    # the pod's namespace is named after the pod: its ports, its container and its infra
    assert re.search(rf"^{w['pod']}  \[podman pod {w['pod']} {w['pod_id'][:12]} publishes "
                     rf"0\.0\.0\.0:{w['pod_port']}->80/tcp; containers {w['app']}; "
                     rf"infra {w['pod_id'][:12]}-infra {w['infra_id'][:12]}\]", out, re.M), out


def test_containers_pods_and_ports_named_from_podmans_state(podman):
    w = start_workloads(podman)
    out = netscope("show")
    check_show(out, w)
    # no API socket answered here: the names came from Podman's state database
    snap = collect_snapshot()
    assert "podman" in snap.header.collectors
    assert not [e for e in snap.errors if e.collector == "podman"]
    pod = next(p for p in snap.pods if p.name == w["pod"])
    web = next(c for c in snap.containers if c.name == w["web"])
    app = next(c for c in snap.containers if c.name == w["app"])
    assert app.netns == pod.netns and app.shares_netns_with == pod.infra_container
    assert web.networks == ("podman",) and web.runtime == "podman"
    netns = {ns.id: ns for ns in snap.namespaces}
    assert netns[pod.netns].name == w["pod"]
    assert any(o.path.startswith("/run/netns/netns-") for o in netns[web.netns].origins)


def test_published_ports_labelled_in_the_netfilter_view(podman):
    w = start_workloads(podman)
    out = netscope("show", "--netfilter")
    assert "chain NETAVARK-HOSTPORT-DNAT  -- Podman (netavark): published ports" in out
    # the DNAT rules name the container and the pod they publish
    assert re.search(rf"--dport {w['web_port']} -j DNAT --to-destination [\d.]+:80  "
                     rf"<publishes tcp/{w['web_port']} -> {w['web']}:80>", out), out
    assert re.search(rf"--dport {w['pod_port']} -j DNAT --to-destination [\d.]+:80  "
                     rf"<publishes tcp/{w['pod_port']} -> {w['pod']}:80>", out), out
    # netavark's per-container jump names it by id in its comment
    assert f"<published port of {w['web']} (network podman)>" in out
    assert f"<published port of {w['pod']} (network podman)>" in out


def test_path_accepts_pod_and_container_names(podman):
    w = start_workloads(podman, app_cmd=("httpd", "-f", "-p", "80"))
    out = netscope("path", w["web"], w["pod"], "--proto", "tcp", "--port", "80")
    assert re.search(rf"^  1  {w['web']}  eth0 ", out, re.M), out
    assert "podman0" in out  # the walk crosses Podman's bridge
    assert re.search(rf"=> \[OK\] delivered: .*httpd.* in {w['pod']}", out), out
    # and the kernel agrees: a real connection from the container to the pod
    pid = podman.inspect(w["web"], "{{.State.Pid}}")
    target = re.search(r"^path: tcp [\d.]+ -> ([\d.]+) ", out, re.M).group(1)
    connect = subprocess.run(
        ["nsenter", f"--net=/proc/{pid}/ns/net", sys.executable, "-c",
         f"import socket; socket.create_connection(({target!r}, 80), 3).close()"],
        capture_output=True, text=True, timeout=30)
    assert connect.returncode == 0, connect.stderr


def test_the_same_names_through_podmans_api(podman, tmp_path):
    w = start_workloads(podman)
    sock = tmp_path / "podman.sock"
    service = subprocess.Popen(["podman", "system", "service", "--time=0", f"unix://{sock}"],
                               env=podman.env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while not sock.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert sock.exists(), "podman system service did not open its socket"
        env = {**os.environ, "CONTAINER_HOST": f"unix://{sock}"}
        check_show(netscope("show", env=env), w)
        snap = netscope("show", "--json", env=env)
        assert f'"name":"{w["pod"]}"' in snap
    finally:
        service.terminate()
        service.wait(timeout=30)


def test_a_misconfigured_podman_does_not_break_netscope(podman, tmp_path):
    w = start_workloads(podman)
    broken = tmp_path / "broken.conf"
    broken.write_text("[engine\nstatic_dir = ")  # not TOML
    env = {**os.environ, "CONTAINERS_CONF": str(broken), "CONTAINER_HOST": "unix:///nonexistent"}
    check_show(netscope("show", env=env), w)


@sync
async def test_the_tui_names_the_pod_and_its_ports(podman, tmp_path):
    w = start_workloads(podman)
    path = tmp_path / "host.json"
    save(collect_snapshot(), str(path))
    snap = load(str(path))
    app = NetscopeApp(snap, read_only="podman test", backends=Backends.none(),
                      save_dir=str(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        lines = tree_lines(app)
        assert any(w["pod"] in line and "podman pod" in line for line in lines), lines
        assert any(w["web"] in line and "podman container" in line for line in lines), lines
        app.selected = next(p.netns for p in snap.pods if p.name == w["pod"])
        await pilot.pause()
        # the panel wraps long lines: compare words
        overview = " ".join(shown(app.query_one("#detail-overview")).split())
        assert f"podman pod {w['pod']}" in overview
        assert f"publishes 0.0.0.0:{w['pod_port']}->80/tcp" in overview
        assert f"containers {w['app']}" in overview
