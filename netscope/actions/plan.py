"""Apply a plan as a transaction: journal first, roll back on failure or Ctrl-C, undo later.

    journal = Journal(path, kind="repair", title="...", plan=ops)
    apply(journal)            # raises PlanFailed after rolling back what it had done
    undo(load(path))          # later, from any process: revert in reverse order

While a plan runs, SIGTERM is turned into KeyboardInterrupt so that both roll back; while
rolling back, SIGINT and SIGTERM are ignored (by children too) so the rollback completes.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterator

from netscope.actions import state
from netscope.actions.execute import ActionFailed, Done, apply_one, prepare, run_ops
from netscope.actions.journal import APPLIED, FAILED, Journal
from netscope.actions.ops import NetnsAdd, NetnsDel, Op

Progress = Callable[[str], None]


class PlanFailed(Exception):
    """A plan stopped; what it had done was rolled back (see `rollback_errors`)."""

    def __init__(self, message: str, rollback_errors: list[str]) -> None:
        self.rollback_errors = rollback_errors
        suffix = ("; rolled back" if not rollback_errors else
                  f"; rollback incomplete ({len(rollback_errors)} errors, first: "
                  f"{rollback_errors[0]})")
        super().__init__(message + suffix)


def preview(ops: list[Op]) -> list[str]:
    """The shell commands equivalent to a plan, one entry per operation."""
    return [op.shell() for op in ops]


def apply(journal: Journal, progress: Progress | None = None) -> None:
    """Run `journal.plan`, recording each applied operation; roll back on any failure.

    On success the journal is saved as applied. On failure (or KeyboardInterrupt) everything
    done is undone; the journal is removed if that worked, kept as failed otherwise, and
    PlanFailed (or the KeyboardInterrupt) is raised.
    """
    journal.save()
    saver = _Saver(journal)
    try:
        with sigterm_interrupts():
            run_ops(journal.plan, journal.done, after_group=saver, before_group=saver.before)
    except (ActionFailed, KeyboardInterrupt) as e:
        errors = _roll_back(journal, progress)
        if isinstance(e, KeyboardInterrupt):
            raise
        raise PlanFailed(str(e), errors) from None
    journal.state = APPLIED
    journal.save()


def apply_more(journal: Journal, ops: list[Op]) -> None:
    """Run `ops` as the next part of an applied journal (a lesson's next step): they are
    added to its plan and journaled as `apply` journals, but a failure rolls nothing back:
    what ran stays recorded (the journal tells the truth) and everything goes when the
    journal is undone. Raises ActionFailed or KeyboardInterrupt."""
    journal.plan.extend(ops)
    journal.save()
    saver = _Saver(journal)
    try:
        with sigterm_interrupts():
            run_ops(ops, journal.done, after_group=saver, before_group=saver.before)
    finally:
        # an operation interrupted while running stays pending: undo checks the host for it
        journal.save()


class _Saver:
    """Journal before and after operations that deleting the plan's namespaces would not
    undo (a change elsewhere, a started process): before, as pending with their undo; after,
    as done. Other operations are saved at most every SAVE_EVERY_S: saving (with fsync)
    after each of 200 namespaces' batches would cost seconds, and deleting the namespaces
    undoes them anyway."""

    SAVE_EVERY_S = 0.5

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.created = {op.name for op in journal.plan if isinstance(op, NetnsAdd)}
        self.saved_count = len(journal.done)
        self.saved_at = time.monotonic()

    def outside(self, op: Op) -> bool:
        """Does `op` change something that deleting the plan's namespaces would not undo?"""
        return not (op.contained and op.where in self.created) and not isinstance(op, NetnsAdd)

    def before(self, group: list[Op]) -> None:
        if any(self.outside(op) for op in group):
            self.journal.pending = [Done(op, prepare(op)) for op in group]
            self.journal.save()

    def __call__(self) -> None:
        fresh = self.journal.done[self.saved_count:]
        must = bool(self.journal.pending) or any(self.outside(d.op) for d in fresh)
        self.journal.pending = []
        if must or time.monotonic() - self.saved_at >= self.SAVE_EVERY_S:
            self.journal.save()
            self.saved_count, self.saved_at = len(self.journal.done), time.monotonic()


def _roll_back(journal: Journal, progress: Progress | None) -> list[str]:
    if progress:
        progress(f"rolling back {len(journal.done)} applied operations")
    return undo(journal)


def undo(journal: Journal, progress: Progress | None = None,
         reverted: list[str] | None = None) -> list[str]:
    """Revert a journal's operations in reverse order, checking the host; returns the
    errors, if any ("partly applied: ..." for an effect still there after its undo).

    The journal file is removed only when every operation is confirmed reverted (or never
    applied); otherwise it is kept, marked failed, and running undo again retries: what is
    already reverted is skipped, so undo is idempotent.
    """
    with _signals_ignored():
        errors = undo_done(journal.done, journal.plan, progress, journal.pending, reverted)
        if errors:
            journal.state, journal.message = FAILED, errors[0]
            journal.save()
        else:
            journal.remove()
    return errors


def undo_done(done: list[Done], plan: list[Op], progress: Progress | None = None,
              pending: list[Done] = (), reverted: list[str] | None = None) -> list[str]:
    """Undo applied operations in reverse order, tolerating what is already gone, and
    check on the host that each effect is gone.

    `pending` are operations journaled as about to run when the process stopped: each is
    undone only if the host shows its effect (it ran before the crash). Changes inside a
    namespace the plan created are not undone one by one: deleting the namespace removes
    them. Namespaces the plan meant to create are deleted even when the journal does not
    record their creation (a crash between running and recording). `reverted` receives the
    undo commands that ran.
    """
    created = {op.name for op in plan if isinstance(op, NetnsAdd)}
    recorded = {d.op.name for d in done if isinstance(d.op, NetnsAdd)}
    progress = _noting(progress, reverted)
    entries = [(d, True) for d in reversed(pending)] + [(d, False) for d in reversed(done)]
    errors: list[str] = []
    for d, maybe in entries:
        if d.undo is None or (d.undo.contained and d.undo.where in created):
            continue
        if maybe and state.effect_present(d.op) is False:
            continue  # it never ran (or failed): nothing to undo
        _revert(d, progress, errors)
    for name in sorted(created - recorded):
        _revert(Done(NetnsAdd(name), NetnsDel(name)), progress, errors)
    return errors


def _noting(progress: Progress | None, reverted: list[str] | None) -> Progress | None:
    if reverted is None:
        return progress

    def note(line: str) -> None:
        reverted.append(line)
        if progress:
            progress(line)
    return note


def _revert(d: Done, progress: Progress | None, errors: list[str]) -> None:
    """Run `d`'s undo; an error unless it worked (or found its target gone) and the host no
    longer shows `d`'s effect, where netscope can tell."""
    assert d.undo is not None
    if progress:
        progress(d.undo.shell())
    try:
        apply_one(d.undo)
    except ActionFailed as e:
        if not e.already_gone:
            errors.append(str(e))
            return
    if state.effect_present(d.op):
        errors.append(f"partly applied: `{d.op.shell()}` is still in effect after "
                      f"`{d.undo.shell()}`")


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt (main thread only), so both reach the `finally`s."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _signals_ignored() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
