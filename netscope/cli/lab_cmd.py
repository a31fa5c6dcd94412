"""`netscope lab list | up NAME | down NAME | status | check NAME`: labs from topology/*.toml.

`up` prints the commands it is about to run (`--dry-run` only prints them), is safe to
re-run, and rolls back on failure or Ctrl-C; `down` removes everything the lab created,
from any process, even when parts are already gone. Every action has --json (docs/cli.md).
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
import time

from netscope.cli import values
from netscope.cli.convention import add_command, completes, refuse_read_only
from netscope.cli.errors import UserError

PREVIEW_LINES = 60
UP_FORMAT, DOWN_FORMAT, JSON_VERSION = "netscope-lab-up", "netscope-lab-down", 1
LIVE_ONLY = "labs are built on the live host"


def add_parser(sub) -> None:
    p = sub.add_parser(
        "lab", help="create and remove example networks (every container networking mode)",
        description="Labs are declarative networks (topology/*.toml) built from network "
                    "namespaces named nsl-<instance>-<node>; they never touch the host's own "
                    "interfaces. Broken variants plant one fault each: NAME/VARIANT.")
    lab_sub = p.add_subparsers(dest="lab_command", metavar="ACTION", required=True)

    ls = add_command(lab_sub, "list", parent="lab",
                     help="labs, their broken variants, and what they teach",
                     description="The labs in topology/*.toml and their broken variants; "
                                 "with NAME, that lab explained in full.",
                     run=run_list, live_only="it lists the lab files",
                     json_doc="docs/cli.md#lab-list")
    completes(ls.add_argument("name", nargs="?", help="explain this lab in full"), "lab")

    up = add_command(lab_sub, "up", parent="lab", help="create a lab (root)",
                     description="Create a lab's namespaces, links, addresses, routes, rules "
                                 "and servers as one journaled plan (rolled back on failure "
                                 "or Ctrl-C); safe to re-run.",
                     run=run_up, live_only=LIVE_ONLY, json_doc="docs/cli.md#lab-up",
                     exits=((0, "up (and with --check: every check as predicted)"),
                            (1, "with --check: a check not as predicted")))
    completes(up.add_argument(
        "ref", metavar="NAME[/VARIANT]",
        help="a lab of `netscope lab list`, or the path of your own lab file PATH.toml "
             "(format: topology/README.md), each optionally /VARIANT"), "lab_variant")
    up.add_argument("--instance", help="name of this copy (default: the lab name); its "
                    "namespaces are nsl-INSTANCE-<node>")
    up.add_argument("--containers", type=values.positive_int, metavar="N",
                    help="replace the lab's containers with N generated ones (labs with "
                         "[scale], e.g. docker-bridge; 200 take about two seconds)")
    up.add_argument("--dry-run", action="store_true", help="print the commands, change nothing")
    up.add_argument("-q", "--quiet", action="store_true", help="do not print the commands")
    up.add_argument("--check", action="store_true", help="run the lab's checks once it is up")

    down = add_command(lab_sub, "down", parent="lab",
                       help="remove a lab and everything it created (root)",
                       description="Remove everything the lab instance created, from its "
                                   "journal, even after a crash or when parts are gone.",
                       run=run_down, live_only=LIVE_ONLY, changes_host="removes a lab",
                       json_doc="docs/cli.md#lab-down", exits=((0, "down, or was not up"),))
    completes(down.add_argument("instance", metavar="NAME",
                                help="the instance (default: lab name)"), "lab_instance")

    add_command(lab_sub, "status", parent="lab", help="labs that are up, and leftovers",
                description="Every lab instance's journal and whether its namespaces and "
                            "servers are still there; namespaces no journal owns.",
                run=run_status, live_only=LIVE_ONLY, json_doc="docs/cli.md#lab-status")

    ck = add_command(lab_sub, "check", parent="lab",
                     help="send the lab's test traffic and compare with what the lab (or its "
                          "broken variant) predicts (root)",
                     description="Send each of the lab's test connections between its "
                                 "namespaces and compare the outcome with the prediction.",
                     run=run_check, live_only=LIVE_ONLY, json_doc="docs/cli.md#lab-check",
                     exits=((0, "every check as predicted"), (1, "a check not as predicted")))
    completes(ck.add_argument("instance", metavar="NAME"), "lab_instance")
    ck.add_argument("--timeout", type=values.seconds, default=1.0, metavar="S",
                    help="seconds to wait for each check's answer (default 1)")


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
        refuse_read_only(args, "lab up creates a lab", "add --dry-run to only see the commands")
        _require_root("up")
    lines = preview(ops)
    doc = {"format": UP_FORMAT, "version": JSON_VERSION, "ref": topo.ref, "instance": instance,
           "dry_run": args.dry_run, "commands": lines, "already_up": None, "seconds": None,
           "namespaces": {n.key: f"nsl-{instance}-{n.key}" for n in topo.nodes},
           "no_carrier": [], "fault": None, "checks": None}
    if topo.variant:
        doc["fault"] = {"fault": topo.variant.fault, "target": topo.variant.target}
    if (args.dry_run or not args.quiet) and not args.json:
        shown = lines if args.dry_run or len(lines) <= PREVIEW_LINES else lines[:PREVIEW_LINES]
        print(f"# {topo.ref} as instance {instance}: {len(ops)} operations")
        print("\n".join(shown))
        if len(shown) < len(lines):
            print(f"# ... {len(lines) - len(shown)} more (--dry-run lists them all)")
    if args.dry_run:
        return _dump(doc, 0) if args.json else 0
    started = time.monotonic()
    try:
        result = labs.up(topo, instance, progress=lambda line: print(f"# {line}",
                                                                      file=sys.stderr))
    except labs.LabError as e:
        raise UserError(str(e)) from None
    except PlanFailed as e:
        raise UserError(f"lab {topo.ref} did not come up: {e}") from None
    doc.update(already_up=result.already_up, seconds=round(time.monotonic() - started, 3),
               no_carrier=list(result.no_carrier))
    for late in result.no_carrier:
        print(f"warning: {late} has no carrier yet", file=sys.stderr)
    if args.json:
        code = 0
        if args.check:
            results = _checks(topo, instance, 1.0)
            doc["checks"] = [_check_json(r) for r in results]
            code = 0 if all(r.passed for r in results) else 1
        return _dump(doc, code)
    nodes = ", ".join(f"{n.key}=nsl-{instance}-{n.key}" for n in topo.nodes[:6])
    more = f" (+{len(topo.nodes) - 6} more)" if len(topo.nodes) > 6 else ""
    if result.already_up:
        print(f"{topo.ref} is already up as instance {instance}: nothing to do")
    else:
        print(f"{topo.ref} is up as instance {instance} in {doc['seconds']:.1f} s: "
              f"{nodes}{more}")
    if topo.variant:
        print(f"fault planted: {topo.variant.fault} at {topo.variant.target}")
    print(f"remove it with: sudo netscope lab down {instance}")
    if args.check:
        return _print_checks(topo, instance, 1.0, as_json=False)
    return 0


def _dump(doc, code: int) -> int:
    json.dump(doc, sys.stdout, indent=1)
    print()
    return code


def run_down(args) -> int:
    _require_root("down")
    labs = _labs()
    instance = args.instance.split("/", 1)[0]
    try:
        removed = labs.down(instance)
    except labs.LabError as e:
        raise UserError(str(e)) from None
    strays = [] if removed else [n for n in labs.status()[1]
                                 if n.startswith(f"nsl-{instance}-")]
    if args.json:
        return _dump({"format": DOWN_FORMAT, "version": JSON_VERSION, "instance": instance,
                      "was_up": bool(removed), "removed": removed,
                      "stray_namespaces": strays}, 0)
    for line in removed:
        print(line)
    if removed:
        print(f"{instance} is down")
        return 0
    print(f"{instance} is not up: nothing to remove")
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


def _checks(topo, instance: str, timeout: float):
    from netscope.actions.probe import run_checks

    return run_checks(topo, instance, timeout)


def _check_json(r) -> dict:
    return {"key": r.key, "expect": r.expect, "outcome": r.outcome, "passed": r.passed,
            "detail": r.detail}


def _print_checks(topo, instance: str, timeout: float, as_json: bool) -> int:
    results = _checks(topo, instance, timeout)
    if as_json:
        json.dump([_check_json(r) for r in results], sys.stdout, indent=1)
        print()
    else:
        for r in results:
            mark = "as expected" if r.passed else f"EXPECTED {r.expect}"
            print(f"{r.key:<22} {r.outcome:<12} {mark:<20} {r.detail}")
        failed = sum(not r.passed for r in results)
        print(f"{topo.ref}: {len(results) - failed}/{len(results)} checks as the lab predicts")
    return 0 if all(r.passed for r in results) else 1
