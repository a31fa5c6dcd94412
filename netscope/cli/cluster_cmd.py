"""`netscope cluster snapshot -o cluster.json`: every node's snapshot, through Kubernetes."""

from __future__ import annotations

import json
import sys

from netscope.cli.convention import Formatter, add_command, completes
from netscope.cli.errors import UserError

EPILOG = """\
For each node (all, or those --nodes selects), netscope creates a short-lived privileged pod
pinned to it (hostNetwork, hostPID, tolerating every taint, the node's file system read-only
at /host), runs `netscope snapshot` in it with `kubectl exec`, and deletes the pod; the
snapshots are merged into one cluster document (see `netscope merge`). It uses kubectl with
your kubeconfig and context. The nodes need no bcc: the pod's image is netscope's
(Containerfile in the repository; --image). Requirements: a namespace (--namespace) that
admits privileged pods (Pod Security "privileged"), and RBAC to create, exec into and delete
pods there and to list nodes.
Pods are deleted even on Ctrl-C; a run killed outright is cleaned up by the next one.
--dry-run prints the pod manifests and kubectl commands without running any.
"""


def add_parser(sub) -> None:
    p = sub.add_parser(
        "cluster", help="collect every node's snapshot through Kubernetes",
        description="Work on a Kubernetes cluster's nodes through kubectl.", epilog=EPILOG,
        formatter_class=Formatter)
    csub = p.add_subparsers(dest="cluster_command", metavar="ACTION", required=True)
    s = add_command(
        csub, "snapshot", parent="cluster",
        help="one snapshot per node, merged into a cluster document",
        description="Collect a snapshot of each node in a short-lived pod and merge them.",
        epilog=EPILOG, run=run, live_only="it collects from the cluster's nodes",
        changes_host="creates (and deletes) a pod on each node",
        json_doc="docs/cli.md#cluster-snapshot",
        exits=((0, "every node collected"), (1, "some nodes failed; the others are written")))
    completes(s.add_argument("-o", "--output", metavar="FILE",
                             help="where to write the cluster document (required unless "
                                  "--dry-run)"), "file")
    s.add_argument("--nodes", metavar="SELECTOR", help="a label selector for the nodes "
                   "(e.g. node-role.kubernetes.io/worker=); default: every node")
    s.add_argument("--namespace", default="default",
                   help="the Kubernetes namespace for the pods (default: default)")
    s.add_argument("--image", default=None,
                   help="the netscope image the pods run (default: netscope:latest)")
    s.add_argument("--context", help="the kubeconfig context (default: the current one)")
    s.add_argument("--kubeconfig", metavar="FILE", help="the kubeconfig file")
    s.add_argument("--kubectl", default="kubectl", metavar="PATH", help="the kubectl to run")
    s.add_argument("--parallel", type=int, default=8, metavar="N",
                   help="nodes collected at once (default: 8)")
    s.add_argument("--timeout", type=float, default=180, metavar="S",
                   help="seconds a node may take (pod start + snapshot; default: 180)")
    s.add_argument("--dry-run", action="store_true",
                   help="print the pod manifests and commands, run nothing")



def _check(args) -> None:
    if not args.dry_run and not args.output:
        raise UserError("cluster snapshot needs -o FILE for the cluster document (or "
                        "--dry-run)")
    if args.parallel < 1 or args.parallel > 256:
        raise UserError(f"--parallel {args.parallel}: give between 1 and 256 nodes at once")
    if not (args.timeout == args.timeout and 0 < args.timeout <= 3600):
        raise UserError(f"--timeout {args.timeout}: give seconds between 1 and 3600")


def _dry_run(kubectl, nodes: list[str], args, image: str) -> int:
    import shlex

    from netscope.actions.kube_manifest import snapshot_command, snapshot_pod

    def show(*argv: str) -> None:
        print("# " + shlex.join(kubectl.argv(*argv)))

    show("get", "nodes", "-o", "json", *(["-l", args.nodes] if args.nodes else []))
    for node in nodes:
        manifest = snapshot_pod(node, "dryrun", args.namespace, image)
        name = manifest["metadata"]["name"]
        print(f"# node {node}: kubectl create -f - with this manifest")
        show("create", "-f", "-")
        print(json.dumps(manifest, indent=2))
        show("wait", "-n", args.namespace, "--for=condition=Ready", f"pod/{name}",
             f"--timeout={int(args.timeout)}s")
        show("exec", "-n", args.namespace, name, "-c", "netscope", "--",
             *snapshot_command(node))
        show("delete", "pod", "-n", args.namespace, name, "--ignore-not-found", "--wait=false")
    return 0


def run(args) -> int:
    from netscope.actions.kube_collect import (
        Cancelled,
        Kubectl,
        KubeError,
        collect_nodes,
        list_nodes,
        sweep_dead_runs,
    )
    from netscope.actions.kube_manifest import DEFAULT_IMAGE
    from netscope.actions.plan import sigterm_interrupts
    from netscope.model.safe_text import safe

    _check(args)
    image = args.image or DEFAULT_IMAGE
    kubectl = Kubectl(args.kubectl, args.context, args.kubeconfig)
    try:
        if args.dry_run:
            try:
                nodes = list_nodes(kubectl, args.nodes)
            except KubeError:
                nodes = ["NODE"]  # no cluster reachable: show the manifest of one node
            return _dry_run(kubectl, nodes, args, image)
        swept = sweep_dead_runs(args.kubectl)
        if swept:
            print(f"netscope: deleted the pods of {len(swept)} earlier interrupted run(s)",
                  file=sys.stderr)
        nodes = list_nodes(kubectl, args.nodes)
    except KubeError as e:
        raise UserError(str(e)) from None
    if not nodes:
        raise UserError("no node matches" + (f" --nodes {args.nodes}" if args.nodes else "")
                        + ": check the selector with `kubectl get nodes -l ...`")

    def progress(result, done: int, total: int) -> None:
        state = "ok" if result.snapshot else f"FAILED: {safe(result.error or '')}"
        print(f"netscope: [{done}/{total}] node {safe(result.node)}: {state} "
              f"({result.seconds:.1f} s)", file=sys.stderr)

    try:
        with sigterm_interrupts():
            results = collect_nodes(kubectl, nodes, args.namespace, image, args.parallel,
                                    args.timeout, progress)
    except Cancelled:
        print("netscope: interrupted: the run's pods were deleted", file=sys.stderr)
        return 130
    return _write(results, args)


def _write(results, args) -> int:
    from netscope.model.safe_text import safe
    from netscope.snapshot import save
    from netscope.snapshot.cluster import MergeError, merge

    good = [(r.node, r.snapshot) for r in results if r.snapshot is not None]
    failed = [r for r in results if r.snapshot is None]
    if good:
        try:
            cluster = merge(good, note="collected by `netscope cluster snapshot`")
            save(cluster, args.output)
        except MergeError as e:
            raise UserError(str(e)) from None
        except OSError as e:
            raise UserError(f"cannot write {args.output}: {e.strerror or e}") from None
    if args.json:
        json.dump({"output": args.output if good else None,
                   "nodes": [{"node": r.node, "ok": r.snapshot is not None, "error": r.error,
                              "seconds": round(r.seconds, 3)} for r in results]},
                  sys.stdout, indent=1)
        print()
    else:
        for r in failed:
            print(f"node {safe(r.node)}: not collected: {safe(r.error or '')}")
        if good:
            print(f"{len(good)} of {len(results)} nodes -> {args.output}")
    if not good:
        raise UserError(f"no node could be collected ({len(failed)} failed); see above")
    return 1 if failed else 0
