"""`netscope cluster snapshot` against a stand-in for kubectl.

No Kubernetes API server, kubelet or node can run here: tests/support/fake_kubectl.py plays
kubectl, answering exactly the commands netscope runs (get nodes, create, wait, exec,
delete) from a scenario, and keeps the table of pods that exist, so these tests see what a
run creates and what it leaves behind. No claim of a real cluster run is made."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from netscope.actions.kube_manifest import snapshot_pod
from netscope.snapshot import load

ROOT = Path(__file__).resolve().parents[2]
FAKE = ROOT / "tests" / "support" / "fake_kubectl.py"
GOLDEN = Path(__file__).parent / "golden" / "cluster-snapshot-pod.json"


@pytest.fixture
def fake(tmp_path):
    """(scenario writer, env, paths): a fake kubectl and a private netscope state dir."""
    paths = {"log": tmp_path / "kubectl.log", "pods": tmp_path / "pods.json",
             "scenario": tmp_path / "scenario.json"}
    env = {**os.environ, "FAKE_KUBECTL_LOG": str(paths["log"]),
           "FAKE_KUBECTL_SCENARIO": str(paths["scenario"]),
           "NETSCOPE_STATE_DIR": str(tmp_path / "state")}

    def scenario(**kw):
        doc = {"snapshot": str(ROOT / "fixtures" / "docker-like-lab.json"),
               "pods": str(paths["pods"]), **kw}
        paths["scenario"].write_text(json.dumps(doc))
    return scenario, env, paths


def _cmd(*args):
    return [sys.executable, "-m", "netscope", "cluster", "snapshot", "--kubectl", str(FAKE),
            *args]


def _pods(paths) -> dict:
    return json.loads(paths["pods"].read_text()) if paths["pods"].exists() else {}


def _calls(paths) -> list[list[str]]:
    return [json.loads(x) for x in paths["log"].read_text().splitlines()]


def test_pod_manifest_is_the_golden_one():
    """The pod a node gets: pinned, host network and pids, privileged, every taint
    tolerated, the node's root read-only at /host, a deadline. Changing it is a decision:
    update the golden file with it."""
    manifest = snapshot_pod("worker-1", "0a1b2c3d", "netscope", "netscope:latest")
    assert manifest == json.loads(GOLDEN.read_text())


def test_every_node_collected_merged_and_pods_removed(fake, tmp_path):
    scenario, env, paths = fake
    scenario(nodes=["n1", "n2", "n3"])
    out = tmp_path / "cluster.json"
    p = subprocess.run(_cmd("--namespace", "netscope", "-o", str(out)), env=env,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    cluster = load(str(out))
    assert [n.name for n in cluster.header.nodes] == ["n1", "n2", "n3"]
    assert _pods(paths) == {}
    verbs = [c[0] for c in _calls(paths)]
    assert verbs.count("create") == 3 and verbs.count("exec") == 3
    assert "[3/3]" in p.stderr
    assert not list((tmp_path / "state" / "cluster").glob("*.json"))


def test_a_failing_node_is_named_and_the_rest_kept(fake, tmp_path):
    scenario, env, paths = fake
    scenario(nodes=["n1", "n2"], fail_exec={"n2": "error: unable to upgrade connection"})
    out = tmp_path / "cluster.json"
    p = subprocess.run(_cmd("-o", str(out)), env=env, capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 1, p.stderr
    assert "node n2: not collected: error: unable to upgrade connection" in p.stdout
    assert [n.name for n in load(str(out)).header.nodes] == ["n1"]
    assert _pods(paths) == {}


def test_nodes_are_collected_in_parallel(fake, tmp_path):
    """n1's and n2's snapshots can only finish once both have started (the fake waits for
    both): they do, with --parallel 2."""
    scenario, env, _paths = fake
    scenario(nodes=["n1", "n2"], meet=["n1", "n2"])
    p = subprocess.run(_cmd("--parallel", "2", "-o", str(tmp_path / "c.json")), env=env,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr


def _wait_for_exec(paths, node=None, timeout=30):
    """Until kubectl exec ran (on `node`'s pod, when given)."""
    suffix = "-" + snapshot_pod(node, "run", "ns", "image")["metadata"]["name"].rsplit("-")[-1] \
        if node else ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if paths["log"].exists() and any(
                c[0] == "exec" and any(a.endswith(suffix) for a in c)
                for c in _calls(paths)):
            return
        time.sleep(0.05)
    raise AssertionError("netscope never ran kubectl exec")


def test_ctrl_c_deletes_the_pods(fake, tmp_path):
    scenario, env, paths = fake
    scenario(nodes=["n1", "n2"], hang_exec=["n2"])
    # a run that does not end is made to dump its threads' stacks (SIGABRT with
    # faulthandler on): the failure then says where it waits
    proc = subprocess.Popen(_cmd("-o", str(tmp_path / "c.json")),
                            env={**env, "PYTHONFAULTHANDLER": "1"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_exec(paths, "n2")  # the exec that hangs has started
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        try:
            _out, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGABRT)
            _out, err = proc.communicate(timeout=30)
            raise AssertionError(f"Ctrl-C did not end the run; its threads:\n{err}") from None
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "pods were deleted" in err
    assert _pods(paths) == {}
    assert not (tmp_path / "c.json").exists()


def test_a_killed_run_is_cleaned_up_by_the_next(fake, tmp_path):
    scenario, env, paths = fake
    scenario(nodes=["n1"], hang_exec=["n1"])
    proc = subprocess.Popen(_cmd("-o", str(tmp_path / "c.json")), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_exec(paths)
        proc.kill()  # SIGKILL: nothing of netscope's runs after this
        proc.wait(timeout=30)
    finally:
        proc.kill()
    assert len(_pods(paths)) == 1  # left behind, but recorded
    scenario(nodes=["n1"])
    p = subprocess.run(_cmd("-o", str(tmp_path / "c.json")), env=env, capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "deleted the pods of 1 earlier interrupted run" in p.stderr
    assert _pods(paths) == {}


def test_dry_run_prints_manifests_and_runs_nothing_that_changes(fake):
    scenario, env, paths = fake
    scenario(nodes=["n1", "n2"])
    p = subprocess.run(_cmd("--dry-run", "--namespace", "ops"), env=env, capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.count('"kind": "Pod"') == 2 and '"privileged": true' in p.stdout
    assert "exec -n ops netscope-snap-dryrun-" in p.stdout and "--host-root /host" in p.stdout
    assert [c[0] for c in _calls(paths)] == ["get"]


@pytest.mark.parametrize("args,words", [
    (("--parallel", "0", "-o", "x.json"), "--parallel 0"),
    (("--timeout", "nan", "-o", "x.json"), "--timeout nan"),
    ((), "needs -o FILE"),
])
def test_bad_arguments_are_one_line(fake, args, words):
    scenario, env, _paths = fake
    scenario(nodes=["n1"])
    p = subprocess.run(_cmd(*args), env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and words in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


def test_missing_kubectl_is_one_line(tmp_path):
    p = subprocess.run([sys.executable, "-m", "netscope", "cluster", "snapshot", "--kubectl",
                        str(tmp_path / "no-kubectl"), "-o", str(tmp_path / "c.json")],
                       capture_output=True, text=True, timeout=60,
                       env={**os.environ, "NETSCOPE_STATE_DIR": str(tmp_path / "state")})
    assert p.returncode == 2 and "not found: install kubectl" in p.stderr
