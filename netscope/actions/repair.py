"""Repairs: a doctor finding's plan applied as a journaled transaction, and undone later.

Each repair is one journal under <state dir>/repairs/, named by time and check, so `undo`
reverts the most recent one even from a new process or after a crash.
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path

from netscope.actions import journal as jr
from netscope.actions import locks, plan, state
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
    """Apply the finding's plan; on failure everything is rolled back and RepairError raised.

    The namespaces the plan touches are locked first (LockBusy, a RepairError here, when
    another netscope is changing them), then the host is asked which operations are already
    in effect: those are left out, and when all are, nothing is applied ("already
    repaired"). Two repairs of one finding at once therefore never both apply it.
    """
    ops = plan_of(finding)
    try:
        with locks.held(locks.namespace_locks({op.where for op in ops}),
                        f"repair {finding.id}"):
            needed = [op for op in ops if state.effect_present(op) is not True]
            if not needed:
                raise RepairError(f"{finding.id} is already repaired: every change of its "
                                  "repair is in effect (another netscope, or someone, made "
                                  "it); run `netscope doctor` again")
            stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%S%f")
            journal = jr.Journal(path=repairs_dir() / f"{stamp}-{finding.check}.json",
                                 kind="repair", title=finding.summary, plan=needed,
                                 meta={"finding": finding.id, "check": finding.check,
                                       "pid": os.getpid()})
            plan.apply(journal, progress)
    except jr.JournalError as e:
        raise RepairError(str(e)) from None
    except plan.PlanFailed as e:
        raise RepairError(f"repair of {finding.id} failed: {e}") from None
    return journal


def applied_repairs() -> list[jr.Journal]:
    """Every repair journal on disk, oldest first (names sort by time)."""
    out = []
    jr.sweep_temporary(repairs_dir())
    for path in sorted(repairs_dir().glob("*.json")):
        try:
            loaded = jr.load(path)
        except jr.JournalError as e:
            raise RepairError(f"{e}; move it aside to continue") from None
        if loaded is not None and loaded.kind == "repair":
            out.append(loaded)
    return out


def undo_last(progress: Progress | None = None, reverted: list[str] | None = None
              ) -> tuple[jr.Journal, list[str]]:
    """Revert the most recent repair; (its journal, errors). The journal is removed only
    when the host shows every change reverted (errors empty). `reverted` receives the undo
    commands that ran (none: the repair had changed nothing). Raises RepairError when there
    is no repair to undo."""
    repairs = applied_repairs()
    if not repairs:
        raise RepairError("there is no repair to undo (netscope repair records them in "
                          f"{repairs_dir()})")
    last = repairs[-1]
    targets = {op.where for op in last.plan} | {d.op.where for d in last.done + last.pending}
    try:
        with locks.held([locks.journal_lock(last.path), *locks.namespace_locks(targets)],
                        f"undo of {last.meta.get('finding', last.path.name)}"):
            current = jr.load(last.path)  # another undo may have finished meanwhile
            if current is None:
                raise RepairError(f"{last.meta.get('finding')} was just undone by another "
                                  "netscope")
            errors = plan.undo(current, progress, reverted)
    except jr.JournalError as e:
        raise RepairError(str(e)) from None
    return current, errors
