"""`netscope lab list | up NAME | down NAME | status | check NAME`: labs from topology/*.toml.

`up` prints the commands it is about to run (`--dry-run` only prints them), is safe to
re-run, and rolls back on failure or Ctrl-C; `down` removes everything the lab created,
from any process, even when parts are already gone.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
import time

from netscope.cli.errors import UserError

PREVIEW_LINES = 60


def add_parser(sub) -> None:
    p = sub.add_parser(
        "lab", help="create and remove example networks (every container networking mode)",
        description="Labs are declarative networks (topology/*.toml) built from network "
                    "namespaces named nsl-<instance>-<node>; they never touch the host's own "
                    "interfaces. Broken variants plant one fault each: NAME/VARIANT.")
    lab_sub = p.add_subparsers(dest="lab_command", metavar="ACTION", required=True)

    ls = lab_sub.add_parser("list", help="labs, their broken variants, and what they teach")
    ls.add_argument("name", nargs="?", help="explain this lab in full")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=run_list)

    up = lab_sub.add_parser("up", help="create a lab (root)")
    up.add_argument("ref", metavar="NAME[/VARIANT]")
    up.add_argument("--instance", help="name of this copy (default: the lab name); its "
                    "namespaces are nsl-INSTANCE-<node>")
    up.add_argument("--containers", type=int, metavar="N",
                    help="replace the lab's containers with N generated ones (labs with "
                         "[scale], e.g. docker-bridge; 200 take about two seconds)")
    up.add_argument("--dry-run", action="store_true", help="print the commands, change nothing")
    up.add_argument("-q", "--quiet", action="store_true", help="do not print the commands")
    up.add_argument("--check", action="store_true", help="run the lab's checks once it is up")
    up.set_defaults(func=run_up)

    down = lab_sub.add_parser("down", help="remove a lab and everything it created (root)")
    down.add_argument("instance", metavar="NAME", help="the instance (default: lab name)")
    down.set_defaults(func=run_down)

    st = lab_sub.add_parser("status", help="labs that are up, and leftovers")
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=run_status)

    ck = lab_sub.add_parser("check", help="send the lab's test traffic and compare with what "
                            "the lab (or its broken variant) predicts (root)")
    ck.add_argument("instance", metavar="NAME")
    ck.add_argument("--timeout", type=float, default=1.0, help="seconds per check (1)")
    ck.add_argument("--json", action="store_true")
    ck.set_defaults(func=run_check)


def _require_root(what: str) -> None:
    from netscope.collect.privileges import CAP_NET_ADMIN, CAP_SYS_ADMIN, effective_caps

    caps = effective_caps()
    if os.geteuid() != 0 or not (caps >> CAP_SYS_ADMIN & 1 and caps >> CAP_NET_ADMIN & 1):
        raise UserError(f"netscope lab {what} changes network namespaces (CAP_SYS_ADMIN, "
                        "CAP_NET_ADMIN): run it as root (sudo)")


def _labs():
    from netscope.actions import labs

    return labs


def run_list(args) -> int:
    from netscope.labs import catalog

    try:
        files = [catalog.find_lab(args.name)] if args.name else catalog.load_all()
    except (LookupError, catalog.TopologyError) as e:
        raise UserError(str(e)) from None
    if args.json:
        json.dump([_lab_json(f.base) for f in files], sys.stdout, indent=1)
        print()
        return 0
    if not files:
        raise UserError(f"no lab files in {catalog.topology_dir()}")
    for lab_file in files:
        topo = lab_file.base
        print(f"{topo.name:<16} {topo.summary}")
        if args.name:
            print()
            print(textwrap.indent(topo.explain, "  "))
            print()
            for check in topo.checks:
                print(f"  check {check.key}: {check.src} -> {check.dst} {check.proto}"
                      f"{f'/{check.port}' if check.port else ''} expect {check.expect}"
                      f"{f'  ({check.explain})' if check.explain else ''}")
        for v in topo.variants:
            print(f"  {topo.name}/{v.key:<22} {v.summary}")
            if args.name:
                print(f"    fault {v.fault} at {v.target}")
                print(textwrap.indent(textwrap.fill(" ".join(v.symptom.split()), 88), "    "))
    if not args.name:
        print("\n`netscope lab list NAME` explains a lab; `sudo netscope lab up NAME[/VARIANT]`.")
    return 0


def _lab_json(topo) -> dict:
    return {
        "name": topo.name, "summary": topo.summary, "explain": topo.explain, "path": topo.path,
        "nodes": {n.key: n.role for n in topo.nodes},
        "scalable": topo.scale is not None,
        "variants": [{"ref": f"{topo.name}/{v.key}", "key": v.key, "fault": v.fault,
                      "summary": v.summary, "symptom": " ".join(v.symptom.split()),
                      "target": v.target} for v in topo.variants],
        "checks": [{"key": c.key, "from": c.src, "to": c.dst, "proto": c.proto,
                    "port": c.port, "expect": c.expect} for c in topo.checks],
    }


def run_up(args) -> int:
    labs = _labs()
    from netscope.actions.plan import PlanFailed, preview

    try:
        topo = labs.resolve(args.ref, args.containers)
        instance = args.instance or topo.name
        ops = labs.plan_up(topo, instance)
    except labs.LabError as e:
        raise UserError(str(e)) from None
    if not args.dry_run:
        _require_root("up")
    if args.dry_run or not args.quiet:
        lines = preview(ops)
        shown = lines if args.dry_run or len(lines) <= PREVIEW_LINES else lines[:PREVIEW_LINES]
        print(f"# {topo.ref} as instance {instance}: {len(ops)} operations")
        print("\n".join(shown))
        if len(shown) < len(lines):
            print(f"# ... {len(lines) - len(shown)} more (--dry-run lists them all)")
    if args.dry_run:
        return 0
    started = time.monotonic()
    try:
        result = labs.up(topo, instance, progress=lambda line: print(f"# {line}",
                                                                      file=sys.stderr))
    except labs.LabError as e:
        raise UserError(str(e)) from None
    except PlanFailed as e:
        raise UserError(f"lab {topo.ref} did not come up: {e}") from None
    nodes = ", ".join(f"{n.key}=nsl-{instance}-{n.key}" for n in topo.nodes[:6])
    more = f" (+{len(topo.nodes) - 6} more)" if len(topo.nodes) > 6 else ""
    if result.already_up:
        print(f"{topo.ref} is already up as instance {instance}: nothing to do")
    else:
        print(f"{topo.ref} is up as instance {instance} in "
              f"{time.monotonic() - started:.1f} s: {nodes}{more}")
    for late in result.no_carrier:
        print(f"warning: {late} has no carrier yet", file=sys.stderr)
    if topo.variant:
        print(f"fault planted: {topo.variant.fault} at {topo.variant.target}")
    print(f"remove it with: sudo netscope lab down {instance}")
    if args.check:
        return _print_checks(topo, instance, 1.0, as_json=False)
    return 0


def run_down(args) -> int:
    _require_root("down")
    labs = _labs()
    instance = args.instance.split("/", 1)[0]
    try:
        removed = labs.down(instance)
    except labs.LabError as e:
        raise UserError(str(e)) from None
    for line in removed:
        print(line)
    if removed:
        print(f"{instance} is down")
        return 0
    print(f"{instance} is not up: nothing to remove")
    strays = [n for n in labs.status()[1] if n.startswith(f"nsl-{instance}-")]
    if strays:
        print(f"leftover namespaces that no journal owns: {', '.join(strays)} "
              "(remove with `ip netns del NAME`)")
    return 0


def run_status(args) -> int:
    labs = _labs()
    try:
        states, strays = labs.status()
    except labs.LabError as e:
        raise UserError(str(e)) from None
    if args.json:
        json.dump({"labs": [{"instance": s.instance, "ref": s.ref, "state": s.state,
                             "healthy": s.healthy, "created": s.created,
                             "namespaces": s.namespaces, "servers": s.servers}
                            for s in states], "stray_namespaces": strays}, sys.stdout, indent=1)
        print()
        return 0
    if not states and not strays:
        print("no lab is up (`netscope lab list` shows the labs)")
    for s in states:
        ns_up = sum(s.namespaces.values())
        srv_up = sum(s.servers.values())
        verdict = "up" if s.healthy else f"{s.state}, DAMAGED" if s.state == "applied" \
            else s.state
        print(f"{s.instance:<20} {s.ref:<36} {verdict:<10} namespaces {ns_up}/"
              f"{len(s.namespaces)}  servers {srv_up}/{len(s.servers)}  since {s.created}")
    for name in strays:
        print(f"leftover namespace {name} (no journal): remove with `ip netns del {name}`")
    return 0


def run_check(args) -> int:
    _require_root("check")
    labs = _labs()
    instance = args.instance.split("/", 1)[0]
    try:
        topo = labs.topology_of(instance)
    except labs.LabError as e:
        raise UserError(str(e)) from None
    return _print_checks(topo, instance, args.timeout, args.json)


def _print_checks(topo, instance: str, timeout: float, as_json: bool) -> int:
    from netscope.actions.probe import run_checks

    results = run_checks(topo, instance, timeout)
    if as_json:
        json.dump([{"key": r.key, "expect": r.expect, "outcome": r.outcome,
                    "passed": r.passed, "detail": r.detail} for r in results],
                  sys.stdout, indent=1)
        print()
    else:
        for r in results:
            mark = "as expected" if r.passed else f"EXPECTED {r.expect}"
            print(f"{r.key:<22} {r.outcome:<12} {mark:<20} {r.detail}")
        failed = sum(not r.passed for r in results)
        print(f"{topo.ref}: {len(results) - failed}/{len(results)} checks as the lab predicts")
    return 0 if all(r.passed for r in results) else 1
