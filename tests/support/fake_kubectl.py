#!/usr/bin/env python3
"""A stand-in for kubectl in tests of `netscope cluster snapshot` (no Kubernetes API server
can run here). It answers the exact commands netscope runs, as kubectl would, from a
scenario file ($FAKE_KUBECTL_SCENARIO, JSON), and appends every argv to $FAKE_KUBECTL_LOG:

  {"nodes": ["n1", "n2"], "snapshot": "PATH of a snapshot to answer exec with",
   "fail_exec": {"n2": "error: unable to upgrade connection"},
   "hang_exec": ["n3"], "pods": "PATH of a JSON file: the pods that exist now"}

`exec` answers the snapshot with its hostname set to the node's name. Pods are tracked in the
pods file (created by create, removed by delete) so a test can see what was left behind.
"""

import fcntl
import json
import os
import sys
import time
from pathlib import Path


def _read(path) -> dict:
    return json.loads(Path(path).read_text())


def _write(path, data) -> None:
    """Whole or not at all: a kubectl killed mid-write (Ctrl-C tests) leaves the old table."""
    tmp = Path(f"{path}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(path)


def main() -> int:
    argv = sys.argv[1:]
    with open(os.environ["FAKE_KUBECTL_LOG"], "a") as log:
        log.write(json.dumps(argv) + "\n")
    scen = _read(os.environ["FAKE_KUBECTL_SCENARIO"])
    pods_path = scen["pods"]
    # kubectl runs in parallel (one per node): the pod table is changed under a lock
    lock = os.open(pods_path + ".lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(lock, fcntl.LOCK_EX)
    pods = _read(pods_path) if os.path.exists(pods_path) else {}
    while argv and argv[0] in ("--context", "--kubeconfig"):
        argv = argv[2:]
    verb = argv[0]
    if verb == "get" and argv[1] == "nodes":
        names = scen["nodes"]
        if "-l" in argv:
            value = argv[argv.index("-l") + 1]
            names = [n for n in names if value in scen.get("labels", {}).get(n, [])]
        json.dump({"apiVersion": "v1", "kind": "List",
                   "items": [{"metadata": {"name": n}} for n in names]}, sys.stdout)
        return 0
    if verb == "create":
        manifest = json.loads(sys.stdin.read())
        meta = manifest["metadata"]
        pods[meta["name"]] = {"node": manifest["spec"]["nodeName"], "labels": meta["labels"]}
        _write(pods_path, pods)
        print(f"pod/{meta['name']} created")
        return 0
    if verb == "wait":
        name = next(a for a in argv if a.startswith("pod/"))[4:]
        if name not in pods:
            print(f'Error from server (NotFound): pods "{name}" not found', file=sys.stderr)
            return 1
        print(f"pod/{name} condition met")
        return 0
    if verb == "exec":
        name = argv[argv.index("-n") + 2]
        node = pods[name]["node"]
        fcntl.flock(lock, fcntl.LOCK_UN)
        # "meet": these nodes' snapshots finish only once all of them have started, which
        # happens only if netscope runs them at the same time
        meet = scen.get("meet", [])
        if node in meet:
            Path(f"{pods_path}.started.{node}").touch()
            deadline = time.monotonic() + 20
            while not all(os.path.exists(f"{pods_path}.started.{n}") for n in meet):
                if time.monotonic() > deadline:
                    print("error: timed out (not run in parallel)", file=sys.stderr)
                    return 1
                time.sleep(0.05)
        if node in scen.get("hang_exec", []):
            # as long as netscope runs (a test that SIGKILLs it must not leave this behind)
            parent, deadline = os.getppid(), time.monotonic() + 600
            while os.getppid() == parent and time.monotonic() < deadline:
                time.sleep(0.1)
            return 1
        if node in scen.get("fail_exec", {}):
            print(scen["fail_exec"][node], file=sys.stderr)
            return 1
        doc = _read(scen["snapshot"])
        doc["header"]["hostname"] = node
        json.dump(doc, sys.stdout)
        return 0
    if verb == "delete":
        if "-l" in argv:
            selector = argv[argv.index("-l") + 1]
            key, _, value = selector.partition("=")
            for name in [n for n, p in pods.items() if p["labels"].get(key) == value]:
                del pods[name]
        else:
            pods.pop(argv[argv.index("-n") + 2], None)
        _write(pods_path, pods)
        return 0
    print(f"fake kubectl: unexpected command {argv}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
