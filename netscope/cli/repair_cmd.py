"""`netscope repair FINDING [--dry-run] [--yes] [--json]` and `netscope undo [--list] [--json]`.

--json formats (docs/cli.md): repair prints {"format": "netscope-repair", "version": 1,
"finding", "summary", "commands": [shell lines], "dry_run", "applied", "journal",
"recheck": "gone" | "still reported" | null, "still": summary | null}; undo prints
{"format": "netscope-undo", "version": 1, "undone": {"finding", "title", "journal"}} and
undo --list {"format": "netscope-undo", "version": 1, "repairs": [{"created", "finding",
"state", "title", "journal"}]}.
"""

from __future__ import annotations

import json
import sys

from netscope.cli.convention import add_command, refuse_read_only
from netscope.cli.errors import UserError
from netscope.cli.source import collect_live

REPAIR_FORMAT = "netscope-repair"
UNDO_FORMAT = "netscope-undo"
JSON_VERSION = 1
LIVE_ONLY = "it repairs the live host, from what it reads there now"


def add_parser(sub) -> None:
    p = add_command(
        sub, "repair", help="repair a doctor finding (preview, confirm, journal, re-check)",
        description="Show the exact commands that repair FINDING (an id from `netscope "
                    "doctor`), ask for confirmation, apply them as one transaction (rolled "
                    "back if any step fails), record them for `netscope undo`, then run the "
                    "doctor again.", run=run_repair, live_only=LIVE_ONLY,
        json_doc="docs/cli.md#repair",
        exits=((0, "repaired (or --dry-run)"),
               (1, "not applied (declined) or still reported after the repair")))
    p.add_argument("finding", metavar="FINDING", help="finding id, e.g. ip_forward_off@host"
                   ).complete = "finding"
    p.add_argument("--dry-run", action="store_true", help="only print the commands")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    u = add_command(
        sub, "undo", help="revert the most recent repair",
        description="Revert the most recent `netscope repair`, in reverse order, even from a "
                    "new shell or after a crash.", run=run_undo, live_only=LIVE_ONLY,
        json_doc="docs/cli.md#undo", exits=((0, "undone (or --list)"),))
    u.add_argument("--list", action="store_true", help="list recorded repairs instead")


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


def _confirm(commands: list[str], as_json: bool) -> bool:
    """Ask on the terminal; the question goes to stderr so that --json's stdout stays JSON."""
    if not sys.stdin.isatty():
        raise UserError("not asking for confirmation without a terminal: add --yes")
    if as_json:  # the text view printed the commands already
        print("repair, as shell commands:\n" + "\n".join(f"  {c}" for c in commands),
              file=sys.stderr)
    sys.stderr.write("apply? [y/N] ")
    sys.stderr.flush()
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def run_repair(args) -> int:
    from netscope.actions.plan import preview
    from netscope.actions.repair import RepairError, apply_repair, plan_of
    from netscope.analysis.doctor import run_doctor

    if not args.dry_run:
        refuse_read_only(args, "repair changes the host",
                         "add --dry-run to only see the commands")
    findings = run_doctor(collect_live(quiet=args.json))
    finding = _find(findings, args.finding)
    try:
        ops = plan_of(finding)
    except RepairError as e:
        raise UserError(str(e)) from None
    commands = preview(ops)
    doc = {"format": REPAIR_FORMAT, "version": JSON_VERSION, "finding": finding.id,
           "summary": finding.summary, "commands": commands, "dry_run": args.dry_run,
           "applied": False, "journal": None, "recheck": None, "still": None}
    say = (lambda _text: None) if args.json else print
    say(f"{finding.id}: {finding.summary}")
    say("repair, as shell commands:")
    for line in commands:
        say(f"  {line}")
    if args.dry_run:
        return _done(args, doc, 0)
    if not args.yes and not _confirm(commands, args.json):
        say("nothing changed")
        return _done(args, doc, 1)
    try:
        journal = apply_repair(finding, _progress)
    except RepairError as e:
        raise UserError(str(e)) from None
    doc.update(applied=True, journal=str(journal.path))
    say(f"applied; recorded in {journal.path} (netscope undo reverts it)")
    still = [f for f in run_doctor(collect_live(quiet=args.json)) if f.id == finding.id]
    if still:
        doc.update(recheck="still reported", still=still[0].summary)
        say(f"re-check: {finding.id} is still reported: {still[0].summary}")
        return _done(args, doc, 1)
    doc["recheck"] = "gone"
    say(f"re-check: {finding.id} is gone")
    return _done(args, doc, 0)


def _done(args, doc: dict, code: int) -> int:
    if args.json:
        json.dump(doc, sys.stdout, indent=1)
        print()
    return code


def run_undo(args) -> int:
    from netscope.actions.repair import RepairError, applied_repairs, undo_last

    if not args.list:
        refuse_read_only(args, "undo changes the host", "--list only lists the repairs")
    try:
        if args.list:
            repairs = applied_repairs()
            if args.json:
                return _done(args, {"format": UNDO_FORMAT, "version": JSON_VERSION, "repairs": [
                    {"created": j.created, "finding": j.meta.get("finding"), "state": j.state,
                     "title": j.title, "journal": str(j.path)} for j in repairs]}, 0)
            for j in repairs:
                print(f"{j.created}  {j.meta.get('finding', '?')}  [{j.state}]  {j.title}")
            if not repairs:
                print("no recorded repairs")
            return 0
        reverted: list[str] = []
        journal, errors = undo_last(_progress, reverted)
    except RepairError as e:
        raise UserError(str(e)) from None
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise UserError(f"undo of {journal.meta.get('finding')} incomplete: {errors[0]}{more}; "
                        f"its journal {journal.path} is kept: `netscope undo` tries again")
    if args.json:
        return _done(args, {"format": UNDO_FORMAT, "version": JSON_VERSION, "undone": {
            "finding": journal.meta.get("finding"), "title": journal.title,
            "journal": str(journal.path)}}, 0)
    if not reverted:
        print(f"nothing to undo: {journal.meta.get('finding')} had not changed the host (it "
              "was stopped before its first change); its journal is removed")
        return 0
    print(f"undone: {journal.meta.get('finding')} ({journal.title})")
    return 0
