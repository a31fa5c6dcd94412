"""Labs come and go safely: down restores the host exactly, up is idempotent and rolls back on
failure, Ctrl-C and crashes; down works from a new process even when parts are gone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from netscope.actions import journal as jr
from netscope.actions import labs, plan
from netscope.actions.lab_plan import lab_plan, ns_name
from netscope.actions.ops import NAMED_NETNS, Ip, Stop
from netscope.collect.runner import collect_snapshot
from netscope.labs import catalog
from tests.kernel.test_labs_support import (
    alive,
    host_state,
    instances_in,
    lab_namespaces,
    proc_pids,
)


@pytest.fixture
def instances(tmp_path):
    with instances_in(str(tmp_path / "state")) as made:
        yield made


def netscope(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "netscope", *args], capture_output=True,
                          text=True, timeout=timeout, env=os.environ.copy())


def others_namespace(name: str, instance: str) -> bool:
    """Namespaces that other suites running at the same time own and change themselves
    (other lab instances, test namespaces ns<tag>-..., Docker's): compared by existence only.
    The root namespace and everything else are compared in full."""
    if name.startswith(f"nsl-{instance}-"):
        return False
    return name.startswith("ns") or name.startswith("docker/")


def diff(old: dict[str, list[str]], new: dict[str, list[str]]) -> str:
    lines = []
    for field in sorted(old.keys() | new.keys()):
        gone = set(old.get(field, ())) - set(new.get(field, ()))
        came = set(new.get(field, ())) - set(old.get(field, ()))
        lines += [f"{field} -{item}" for item in sorted(gone)]
        lines += [f"{field} +{item}" for item in sorted(came)]
    return "\n".join(lines)


def host_changes(before, after, instance: str) -> list[str]:
    """What differs on the host between two snapshots, as the labs' lifecycle test judges
    it (other suites' namespaces compared by existence only)."""
    old, new = host_state(before), host_state(after)
    changes = [f"namespace {name} changed: {diff(old[name], new[name])}"
               for name in sorted(old.keys() & new.keys())
               if old[name] != new[name] and not others_namespace(name, instance)]
    # Namespaces held only by a process ("comm[pid]") come and go with their processes.
    vanished = [n for n in old.keys() - new.keys()
                if not others_namespace(n, instance) and not n.endswith("]")]
    changes += [f"namespace {n} disappeared" for n in sorted(vanished)]
    changes += [f"{n} is left over" for n in new.keys() - old.keys()
                if n.startswith(f"nsl-{instance}-")]
    return changes


def server_pids(instance: str) -> list[int]:
    journal = jr.load(labs.journal_path(instance))
    assert journal is not None
    return [d.undo.pid for d in journal.done if isinstance(d.undo, Stop)]


@pytest.mark.parametrize("ref", ["docker-bridge/rp_filter_asymmetric", "pod-network",
                                 "overlay-vxlan", "macvlan"])
def test_down_leaves_the_host_exactly_as_before(instances, ref):
    # Other suites may change the root namespace meanwhile on a shared machine: one retry.
    # A change the lab made would show up both times.

    changes = _up_down_changes(instances, ref)
    if changes:
        changes = _up_down_changes(instances, ref)
    assert not changes, "\n".join(changes)


def _up_down_changes(instances, ref: str) -> list[str]:
    instance = instances.new()
    before = collect_snapshot()
    labs.up(labs.resolve(ref), instance)
    during = collect_snapshot()
    pids = server_pids(instance)
    labs.down(instance)
    after = collect_snapshot()

    seen = host_state(during)
    lab_ns = {ns.id for ns in during.namespaces if ns.name.startswith(f"nsl-{instance}-")}
    assert all(seen[ns_name(instance, n.key)]["links"] for n in labs.resolve(ref).nodes), \
        "the comparison sees the lab while it is up"
    if ref not in ("macvlan", "overlay-vxlan"):
        assert any(t.netns in lab_ns for t in during.tables), "and its rules"
    host = next(ns.name for ns in after.namespaces if ns.is_self)
    assert host in host_state(before) and host in host_state(after)
    changes = host_changes(before, after, instance)
    held = {n for n, p in proc_pids(after).items() if p & set(pids)}
    changes += [f"lab servers still hold namespace {n}" for n in held]
    return changes


def test_up_is_idempotent_and_refuses_another_lab_on_the_same_instance(instances):
    instance = instances.new()
    topo = labs.resolve("container-mode")
    first = labs.up(topo, instance)
    pids = server_pids(instance)
    again = labs.up(topo, instance)
    assert again.already_up and not first.already_up
    assert server_pids(instance) == pids, "nothing was started twice"
    with pytest.raises(labs.LabError, match="already up as container-mode"):
        labs.up(labs.resolve("none-mode"), instance)
    os.kill(pids[0], signal.SIGKILL)
    time.sleep(0.1)
    with pytest.raises(labs.LabError, match=r"partly up.*missing: app"):
        labs.up(topo, instance)


def test_up_refuses_namespaces_it_did_not_create(instances):
    instance = instances.new()
    squatter = ns_name(instance, "host")
    subprocess.run(["ip", "netns", "add", squatter], check=True)
    with pytest.raises(labs.LabError, match=f"{squatter} already exists"):
        labs.up(labs.resolve("host-mode"), instance)
    assert os.path.exists(os.path.join(NAMED_NETNS, squatter)), "not ours: left alone"
    assert not os.path.exists(os.path.join(NAMED_NETNS, ns_name(instance, "inet")))
    subprocess.run(["ip", "netns", "del", squatter], check=True)


def test_a_failing_operation_rolls_everything_back(instances):
    instance = instances.new()
    topo = labs.resolve("docker-bridge")
    ops = lab_plan(topo, instance)
    ops.append(Ip(ns_name(instance, "host"), ("link", "set", "nosuchdev", "up")))
    path = labs.journal_path(instance)
    journal = jr.Journal(path, kind="lab", title=topo.ref, plan=ops, meta={})
    started = []
    with pytest.raises(plan.PlanFailed, match=r"nosuchdev.*rolled back") as failed:
        plan.apply(journal, progress=started.append)
    assert failed.value.rollback_errors == []
    assert started and "rolling back" in started[0]
    assert lab_namespaces(instance) == []
    assert not path.exists()
    pids = [d.undo.pid for d in journal.done if isinstance(d.undo, Stop)]
    assert len(pids) == 3 and not any(alive(p) for p in pids)


def _start_up_then(instance: str, sig: int) -> subprocess.CompletedProcess | None:
    proc = subprocess.Popen([sys.executable, "-m", "netscope", "lab", "up", "docker-bridge",
                             "--containers", "200", "--instance", instance, "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=os.environ.copy())
    marker = os.path.join(NAMED_NETNS, ns_name(instance, "c200"))
    deadline = time.monotonic() + 20
    while not os.path.exists(marker) and time.monotonic() < deadline:
        time.sleep(0.005)
    assert os.path.exists(marker), "up never got going"
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_ctrl_c_during_up_rolls_back(instances):
    instance = instances.new("i")
    done = _start_up_then(instance, signal.SIGINT)
    assert done.returncode == 130, done.stderr
    assert "interrupted" in done.stderr and "Traceback" not in done.stderr
    assert lab_namespaces(instance) == []
    assert not labs.journal_path(instance).exists()


def test_down_after_a_crash_during_up_removes_everything(instances):
    instance = instances.new("k")
    done = _start_up_then(instance, signal.SIGKILL)
    assert done.returncode == -signal.SIGKILL
    assert lab_namespaces(instance), "the crash left a half-built lab behind"
    down = netscope("lab", "down", instance)
    assert down.returncode == 0, down.stderr
    assert lab_namespaces(instance) == []
    assert not labs.journal_path(instance).exists()


def test_down_from_a_new_process_when_parts_are_already_gone(instances):
    instance = instances.new()
    up = netscope("lab", "up", "docker-bridge/dnat_missing_backend", "--instance", instance)
    assert up.returncode == 0, up.stderr
    assert "ip netns add " + ns_name(instance, "host") in up.stdout, "the preview is printed"
    assert "fault planted: dnat_missing_backend" in up.stdout
    pids = server_pids(instance)
    os.kill(pids[0], signal.SIGKILL)
    subprocess.run(["ip", "netns", "del", ns_name(instance, "c2")], check=True)
    down = netscope("lab", "down", instance)
    assert down.returncode == 0, down.stderr
    assert f"{instance} is down" in down.stdout
    assert lab_namespaces(instance) == []
    assert not any(alive(p) for p in pids)
    again = netscope("lab", "down", instance)
    assert again.returncode == 0 and "nothing to remove" in again.stdout


def test_down_without_a_journal_removes_only_the_labs_namespaces(instances, tmp_path,
                                                                 monkeypatch):
    # The instance is named like a lab: the lab's file tells which namespaces it owns. A copy
    # of docker-bridge under a unique name keeps this away from a real docker-bridge lab.
    instance = instances.new("j")
    source = Path(catalog.find_lab("docker-bridge").path)
    text = source.read_text().replace('name = "docker-bridge"', f'name = "{instance}"')
    (tmp_path / f"{instance}.toml").write_text(text)
    monkeypatch.setenv(catalog.ENV_DIR, str(tmp_path))
    labs.up(labs.resolve(instance), instance)
    pids = server_pids(instance)
    labs.journal_path(instance).unlink()
    bystander = f"nsl-{instance}x-c1"
    subprocess.run(["ip", "netns", "add", bystander], check=True)
    try:
        removed = labs.down(instance)
        assert len(removed) == 4
        assert lab_namespaces(instance) == []
        assert os.path.exists(os.path.join(NAMED_NETNS, bystander))
        assert not any(alive(p) for p in pids), "processes inside are stopped"
    finally:
        subprocess.run(["ip", "netns", "del", bystander], check=False)


def test_status_and_check_from_the_cli(instances):
    instance = instances.new()
    assert netscope("lab", "up", "none-mode", "--instance", instance, "-q").returncode == 0
    status = netscope("lab", "status")
    assert f"{instance}" in status.stdout and "namespaces 3/3  servers 1/1" in status.stdout
    check = netscope("lab", "check", instance)
    assert check.returncode == 0, check.stdout
    assert "none-to-gateway        unreachable  as expected" in check.stdout
    assert "3/3 checks as the lab predicts" in check.stdout
