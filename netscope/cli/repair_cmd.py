"""`netscope repair FINDING [--dry-run] [--yes]` and `netscope undo`."""

from __future__ import annotations

import sys

from netscope.cli.errors import UserError
from netscope.cli.source import collect_live


def add_parser(sub) -> None:
    p = sub.add_parser(
        "repair", help="repair a doctor finding (preview, confirm, journal, re-check)",
        description="Show the exact commands that repair FINDING (an id from `netscope "
                    "doctor`), ask for confirmation, apply them as one transaction (rolled "
                    "back if any step fails), record them for `netscope undo`, then run the "
                    "doctor again.")
    p.add_argument("finding", metavar="FINDING", help="finding id, e.g. ip_forward_off@host")
    p.add_argument("--dry-run", action="store_true", help="only print the commands")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    p.set_defaults(func=run_repair)
    u = sub.add_parser("undo", help="revert the most recent repair",
                       description="Revert the most recent `netscope repair`, in reverse "
                                   "order, even from a new shell or after a crash.")
    u.add_argument("--list", action="store_true", help="list recorded repairs instead")
    u.set_defaults(func=run_undo)


def _find(findings, wanted: str):
    exact = [f for f in findings if f.id == wanted]
    if exact:
        return exact[0]
    partial = [f for f in findings if f.id.startswith(wanted) or f.check == wanted]
    if len(partial) == 1:
        return partial[0]
    if not partial:
        ids = ", ".join(f.id for f in findings if f.repair) or "none is repairable"
        raise UserError(f"no finding {wanted!r} on this host now (repairable: {ids}); "
                        "run `netscope doctor`")
    raise UserError(f"{wanted!r} matches {len(partial)} findings: "
                    + ", ".join(f.id for f in partial))


def _progress(line: str) -> None:
    print(f"  {line}", file=sys.stderr)


def run_repair(args) -> int:
    from netscope.actions.plan import preview
    from netscope.actions.repair import RepairError, apply_repair, plan_of
    from netscope.analysis.doctor import run_doctor

    findings = run_doctor(collect_live())
    finding = _find(findings, args.finding)
    try:
        ops = plan_of(finding)
    except RepairError as e:
        raise UserError(str(e)) from None
    print(f"{finding.id}: {finding.summary}")
    print("repair, as shell commands:")
    for line in preview(ops):
        print(f"  {line}")
    if args.dry_run:
        return 0
    if not args.yes:
        if not sys.stdin.isatty():
            raise UserError("not asking for confirmation without a terminal: add --yes")
        if input("apply? [y/N] ").strip().lower() not in ("y", "yes"):
            print("nothing changed")
            return 1
    try:
        journal = apply_repair(finding, _progress)
    except RepairError as e:
        raise UserError(str(e)) from None
    print(f"applied; recorded in {journal.path} (netscope undo reverts it)")
    still = [f for f in run_doctor(collect_live()) if f.id == finding.id]
    if still:
        print(f"re-check: {finding.id} is still reported: {still[0].summary}")
        return 1
    print(f"re-check: {finding.id} is gone")
    return 0


def run_undo(args) -> int:
    from netscope.actions.repair import RepairError, applied_repairs, undo_last

    try:
        if args.list:
            repairs = applied_repairs()
            for j in repairs:
                print(f"{j.created}  {j.meta.get('finding', '?')}  [{j.state}]  {j.title}")
            if not repairs:
                print("no recorded repairs")
            return 0
        journal, errors = undo_last(_progress)
    except RepairError as e:
        raise UserError(str(e)) from None
    if errors:
        raise UserError(f"undo of {journal.meta.get('finding')} incomplete: {errors[0]}")
    print(f"undone: {journal.meta.get('finding')} ({journal.title})")
    return 0
