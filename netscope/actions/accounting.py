"""Conntrack accounting (net.netfilter.nf_conntrack_acct) on, with consent, and back off.

The switch is per namespace and only counts connections created after it is on. `enable`
turns it on where it is off, as a journaled plan under <state dir>/accounting/ (the journal
records the previous value, "0", as each sysctl's undo); `restore` puts the previous values
back and removes the journal. A journal whose owner process is gone (netscope was killed)
is restored by `restore_orphans`, which `enable` runs first.
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path

from netscope.actions import journal as jr
from netscope.actions import locks, plan, procs
from netscope.actions.ops import Sysctl

SYSCTL = "net.netfilter.nf_conntrack_acct"
KIND = "accounting"

Progress = plan.Progress


class AccountingError(Exception):
    """Accounting could not be switched; the message says where and what to do."""


def accounting_dir() -> Path:
    return jr.state_dir() / "accounting"


def plan_enable(namespaces: list[str | None]) -> list[Sysctl]:
    """The operations: one sysctl per namespace (None: the one netscope runs in; else an
    ip-netns name or a /proc/<pid>/ns/net or Docker netns path)."""
    return [Sysctl(ns, SYSCTL, "1") for ns in dict.fromkeys(namespaces)]


def enable(namespaces: list[str | None], progress: Progress | None = None
           ) -> jr.Journal | None:
    """Turn accounting on in `namespaces`; the journal to hand to `restore`, None if there
    was nothing to do. Raises AccountingError (after rolling back) or KeyboardInterrupt."""
    restore_orphans(progress)
    ops = plan_enable(namespaces)
    if not ops:
        return None
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%S%f")
    pid = os.getpid()
    journal = jr.Journal(accounting_dir() / f"{stamp}-{pid}.json", kind=KIND,
                         title="conntrack accounting on", plan=list(ops),
                         meta={"pid": pid, "start_time": procs.start_time(pid)})
    try:
        with locks.held(locks.namespace_locks({op.where for op in ops}),
                        "turning conntrack accounting on"):
            plan.apply(journal, progress)
    except jr.JournalError as e:
        raise AccountingError(str(e)) from None
    except plan.PlanFailed as e:
        raise AccountingError(f"could not turn conntrack accounting on: {e}") from None
    return journal


def restore(journal: jr.Journal, progress: Progress | None = None) -> list[str]:
    """Put back the values `enable` found; returns the errors (the journal stays if any).
    Raises AccountingError when another process holds the journal."""
    try:
        with locks.held([locks.journal_lock(journal.path),
                         *locks.namespace_locks({op.where for op in journal.plan})],
                        "restoring conntrack accounting"):
            errors = plan.undo(journal, progress)
    except jr.JournalError as e:
        raise AccountingError(str(e)) from None
    return errors


def _owner_alive(journal: jr.Journal) -> bool:
    pid, started = journal.meta.get("pid"), journal.meta.get("start_time")
    return isinstance(pid, int) and started is not None and procs.start_time(pid) == started


def restore_orphans(progress: Progress | None = None) -> int:
    """Restore what netscope processes that died before restoring turned on; how many."""
    restored = 0
    directory = accounting_dir()
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
        try:
            journal = jr.load(path)
        except jr.JournalError as e:
            raise AccountingError(f"{e}; move it aside to continue") from None
        if journal is None or journal.kind != KIND or _owner_alive(journal):
            continue
        errors = restore(journal, progress)
        if errors:
            raise AccountingError(f"could not restore conntrack accounting from {path}: "
                                  f"{errors[0]}")
        restored += 1
    return restored
