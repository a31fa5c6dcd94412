"""Repairs: a doctor finding's plan applied as a journaled transaction, and undone later.

Each repair is one journal under <state dir>/repairs/, named by time and check, so `undo`
reverts the most recent one even from a new process or after a crash.
"""

from __future__ import annotations

import datetime
from pathlib import Path

from netscope.actions import journal as jr
from netscope.actions import plan
from netscope.actions.ops import Op, op_from_dict

Progress = plan.Progress


class RepairError(Exception):
    """A repair cannot be planned or applied; the message says why and what to do."""


def repairs_dir() -> Path:
    return jr.state_dir() / "repairs"


def plan_of(finding) -> list[Op]:
    """The operations that repair `finding` (a doctor Finding). Raises RepairError."""
    if not finding.repair:
        raise RepairError(f"{finding.id} has no automatic repair: {finding.explain}")
    try:
        return [op_from_dict(dict(step)) for step in finding.repair]
    except (TypeError, ValueError) as e:
        raise RepairError(f"{finding.id}: its repair plan is not valid ({e}); "
                          "this is a bug in netscope") from None


def apply_repair(finding, progress: Progress | None = None) -> jr.Journal:
    """Apply the finding's plan; on failure everything is rolled back and RepairError raised."""
    ops = plan_of(finding)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%S%f")
    journal = jr.Journal(path=repairs_dir() / f"{stamp}-{finding.check}.json", kind="repair",
                         title=finding.summary, plan=ops,
                         meta={"finding": finding.id, "check": finding.check})
    try:
        plan.apply(journal, progress)
    except plan.PlanFailed as e:
        raise RepairError(f"repair of {finding.id} failed: {e}") from None
    return journal


def applied_repairs() -> list[jr.Journal]:
    """Every repair journal on disk, oldest first (names sort by time)."""
    out = []
    for path in sorted(repairs_dir().glob("*.json")):
        try:
            loaded = jr.load(path)
        except jr.JournalError as e:
            raise RepairError(f"{e}; move it aside to continue") from None
        if loaded is not None and loaded.kind == "repair":
            out.append(loaded)
    return out


def undo_last(progress: Progress | None = None) -> tuple[jr.Journal, list[str]]:
    """Revert the most recent repair. Raises RepairError when there is none."""
    repairs = applied_repairs()
    if not repairs:
        raise RepairError("there is no repair to undo (netscope repair records them in "
                          f"{repairs_dir()})")
    last = repairs[-1]
    with jr.locked(last.path):
        errors = plan.undo(last, progress)
    return last, errors
