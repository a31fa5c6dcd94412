"""Collect node snapshots through Kubernetes: one short-lived privileged pod per node.

Kubernetes is the engine: `kubectl` (the user's kubeconfig and context) lists the nodes,
creates a pod pinned to each (netscope.actions.kube_manifest), waits for it, runs
`netscope snapshot` in it with `kubectl exec` (the snapshot comes back on standard output),
and deletes it. Nodes are worked on in parallel; a node that fails is reported with its
reason and the others are kept. The pods are deleted on success, failure, Ctrl-C and
SIGTERM; a record of the run is written before the first pod is created, so a run killed
with SIGKILL is found by the next one, whose start deletes that run's pods.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass
from pathlib import Path

from netscope.actions.journal import pid_alive, state_dir
from netscope.actions.kube_manifest import RUN_LABEL, snapshot_command, snapshot_pod
from netscope.model import Snapshot
from netscope.snapshot.files import write_file


class KubeError(RuntimeError):
    """kubectl cannot do what was asked; the message says what it answered."""


class Cancelled(Exception):
    """The run was interrupted (Ctrl-C, SIGTERM): its pods were deleted."""


@dataclass(frozen=True)
class NodeResult:
    """What one node gave: its snapshot, or why not, and how long it took."""

    node: str
    snapshot: Snapshot | None
    error: str | None
    seconds: float


def _last_line(text: str) -> str:
    lines = [x.strip() for x in text.strip().splitlines() if x.strip()]
    return lines[-1] if lines else "no output"


class Kubectl:
    """kubectl with the user's --context/--kubeconfig, run as argv (never through a shell).

    Running processes are tracked so that `cancel()` can stop them from another thread."""

    def __init__(self, binary: str = "kubectl", context: str | None = None,
                 kubeconfig: str | None = None) -> None:
        self.base = [binary]
        if kubeconfig:
            self.base += ["--kubeconfig", kubeconfig]
        if context:
            self.base += ["--context", context]
        self._running: set[subprocess.Popen] = set()
        self._lock = threading.Lock()
        self.cancelled = threading.Event()

    def argv(self, *args: str) -> list[str]:
        return [*self.base, *args]

    def run(self, *args: str, stdin: str | None = None, timeout: float = 60) -> str:
        """kubectl's standard output; KubeError with its last line of stderr on failure."""
        # started and recorded under the lock cancel() takes: a kubectl started while the run
        # is being cancelled would otherwise be missed by it, and wait out its whole timeout
        with self._lock:
            if self.cancelled.is_set():
                raise Cancelled()
            try:
                proc = subprocess.Popen(self.argv(*args), stdin=subprocess.PIPE if stdin else
                                        subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
            except FileNotFoundError:
                raise KubeError(f"{self.base[0]} not found: install kubectl (or give its path "
                                "with --kubectl) and a kubeconfig for the cluster") from None
            self._running.add(proc)
        try:
            out, err = proc.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise KubeError(f"kubectl {args[0]} took longer than {timeout:.0f} s") from None
        finally:
            with self._lock:
                self._running.discard(proc)
        if self.cancelled.is_set():
            raise Cancelled()
        if proc.returncode != 0:
            raise KubeError(_last_line(err))
        return out

    def cancel(self, kill: bool = False) -> None:
        """Stop every kubectl this object runs now (SIGTERM, or SIGKILL with `kill`), and
        refuse new ones."""
        with self._lock:
            self.cancelled.set()
            for proc in self._running:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill() if kill else proc.terminate()


def list_nodes(kubectl: Kubectl, selector: str | None) -> list[str]:
    """Names of the nodes `selector` (a label selector) picks, all nodes without one."""
    args = ["get", "nodes", "-o", "json"] + (["-l", selector] if selector else [])
    try:
        doc = json.loads(kubectl.run(*args))
        return [item["metadata"]["name"] for item in doc["items"]]
    except KubeError as e:
        raise KubeError(f"cannot list nodes: {e}") from None
    except (ValueError, KeyError, TypeError):
        raise KubeError("cannot list nodes: kubectl's answer is not a node list") from None


# ---------------------------------------------------------------------- run records

def _records_dir() -> Path:
    return state_dir() / "cluster"


def write_record(run: str, namespace: str, kubectl: Kubectl, nodes: list[str]) -> Path:
    """Record the run before its first pod exists (atomic, fsynced, 0600)."""
    path = _records_dir() / f"{run}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_file(str(path), json.dumps({
        "format": "netscope-cluster-run", "version": 1, "run": run, "pid": os.getpid(),
        "namespace": namespace, "kubectl": kubectl.base, "nodes": nodes}), private=True)
    return path


def delete_run_pods(kubectl: Kubectl, namespace: str, run: str) -> None:
    """Delete every pod of run `run` (by its label), not waiting for them to stop."""
    kubectl.run("delete", "pods", "-n", namespace, "-l", f"{RUN_LABEL}={run}",
                "--ignore-not-found", "--wait=false", timeout=60)


def sweep_dead_runs(binary: str = "kubectl") -> list[str]:
    """Delete the pods of earlier runs whose process is gone; return the runs swept.

    A record that cannot be read is left for a person to look at (and named)."""
    swept = []
    for path in sorted(_records_dir().glob("*.json")):
        try:
            rec = json.loads(path.read_text())
            run, pid, namespace, base = rec["run"], rec["pid"], rec["namespace"], rec["kubectl"]
            if not (isinstance(base, list) and all(isinstance(x, str) for x in base)
                    and isinstance(pid, int) and isinstance(run, str)):
                raise TypeError
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if pid_alive(pid):
            continue
        kubectl = Kubectl(binary)
        kubectl.base = [binary, *base[1:]]
        try:
            delete_run_pods(kubectl, namespace, run)
        except KubeError:
            continue
        path.unlink(missing_ok=True)
        swept.append(run)
    return swept


# ---------------------------------------------------------------------- collection

def _one_node(kubectl: Kubectl, node: str, run: str, namespace: str, image: str,
              timeout: float) -> Snapshot:
    from netscope.snapshot import SnapshotError, loads

    manifest = snapshot_pod(node, run, namespace, image)
    name = manifest["metadata"]["name"]
    kubectl.run("create", "-f", "-", stdin=json.dumps(manifest), timeout=60)
    try:
        try:
            kubectl.run("wait", "-n", namespace, "--for=condition=Ready", f"pod/{name}",
                        f"--timeout={int(timeout)}s", timeout=timeout + 10)
        except KubeError as e:
            raise KubeError(f"pod {name} did not start: {e}") from None
        out = kubectl.run("exec", "-n", namespace, name, "-c", "netscope", "--",
                          *snapshot_command(node), timeout=timeout)
        try:
            return loads(out, f"the snapshot of node {node}")
        except SnapshotError as e:
            raise KubeError(str(e)) from None
    finally:
        if not kubectl.cancelled.is_set():
            with contextlib.suppress(KubeError, Cancelled):
                kubectl.run("delete", "pod", "-n", namespace, name, "--ignore-not-found",
                            "--wait=false", timeout=60)


def collect_nodes(kubectl: Kubectl, nodes: list[str], namespace: str, image: str,
                  parallel: int = 8, timeout: float = 180,
                  progress: Callable[[NodeResult, int, int], None] | None = None
                  ) -> list[NodeResult]:
    """Snapshots of `nodes`, `parallel` at a time, in the order given.

    Interrupted (KeyboardInterrupt in the calling thread), it stops the kubectl processes,
    deletes every pod of the run and raises Cancelled."""
    run = secrets.token_hex(4)
    record = write_record(run, namespace, kubectl, nodes)
    results: dict[str, NodeResult] = {}
    lock = threading.Lock()

    def work(node: str) -> None:
        start = time.monotonic()
        try:
            snap, err = _one_node(kubectl, node, run, namespace, image, timeout), None
        except KubeError as e:
            snap, err = None, str(e)
        except Cancelled:
            return
        result = NodeResult(node, snap, err, time.monotonic() - start)
        with lock:
            results[node] = result
            if progress:
                progress(result, len(results), len(nodes))

    pool = ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="kube-node")
    futures = []
    try:
        futures += [pool.submit(work, node) for node in nodes]
        for f in futures:
            while not f.done():  # a timed wait keeps Ctrl-C deliverable to this thread
                with contextlib.suppress(TimeoutError):
                    f.result(timeout=0.2)
    except BaseException as e:
        kubectl.cancel()
        pool.shutdown(wait=False, cancel_futures=True)
        # a kubectl that outlives SIGTERM (its own children hold the pipes) is killed
        if futures_wait(futures, timeout=5).not_done:
            kubectl.cancel(kill=True)
        pool.shutdown(wait=True)
        cleaner = Kubectl()
        cleaner.base = kubectl.base
        _remove_run(cleaner, namespace, run, record)
        if isinstance(e, KeyboardInterrupt):
            raise Cancelled() from None
        raise
    pool.shutdown(wait=True)
    _remove_run(kubectl, namespace, run, record)
    return [results[n] for n in nodes if n in results]


def _remove_run(kubectl: Kubectl, namespace: str, run: str, record: Path) -> None:
    """Delete whatever pod of the run is left, then its record; when kubectl cannot, the
    record stays and the next run deletes them."""
    with contextlib.suppress(KubeError):
        delete_run_pods(kubectl, namespace, run)
        record.unlink(missing_ok=True)
