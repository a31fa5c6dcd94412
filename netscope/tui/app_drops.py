"""The app's `D` key: count drops with the eBPF drop monitor while the user wants it.

A mixin of NetscopeApp (kept apart so app.py stays small). The counting runs in a thread
worker (`netscope.tui.drop_feed.DropFeed`); its updates come back through call_from_thread.
Counts go to the topology (per device), the Drops tab and the event log (drops with a reason
one by one, unspecified ones as one line now and then), all following the filter.
"""

from __future__ import annotations

from netscope.tui.drop_feed import DropFeed, DropState, DropUpdate, log_lines
from netscope.tui.view_state import visible_namespaces
from netscope.tui.widgets.event_log import EventLog

# unspecified drops are said in one line at most this often
UNSPECIFIED_SAY_S = 10.0


class DropKeys:
    """Needs from the app: notice, _backends, _clock, the reactives graph, filter_text and
    extras, update_marks; Textual's run_worker, call_from_thread, set_timer, query_one."""

    def _init_drops(self, live: bool, read_only: str | None) -> None:
        refused = None
        if not live:
            refused = "they need the live host: this is a saved snapshot"
        elif read_only:
            refused = f"read-only ({read_only}): the drop monitor is not attached"
        self._drops = DropState(refused=refused)
        self._drop_feed: DropFeed | None = None
        self._unspecified = 0
        self._unspecified_timer = None

    def stop_drops(self, wait_s: float = 5.0) -> None:
        """Detach the drop monitor if it is attached (waits up to wait_s for it)."""
        if self._drop_feed is not None:
            self._drop_feed.stop(wait_s)

    def action_count_drops(self) -> None:
        if self._drops.refused:
            self.notice(f"no drop counting: {self._drops.refused}")
            return
        if self._drop_feed is not None and self._drop_feed.running:
            self._drop_feed.stop(wait_s=0)  # the worker detaches and says so
            return
        drops = self._backends.get("drops")
        if drops is None:
            self.notice(self._backends.unavailable("drops"))
            return
        why = drops.unavailable()
        if why:
            self.notice(f"cannot count drops: {why}")
            return
        self.notice("attaching the drop monitor (eBPF on skb:kfree_skb) ...")
        feed = self._drop_feed = DropFeed(drops.open)

        def count() -> None:
            try:
                feed.follow(lambda update: self.call_from_thread(self._drops_counted, update))
            except drops.error as e:
                self.call_from_thread(self.notice, f"cannot count drops: {e}")
            finally:
                self.call_from_thread(self._drops_stopped)

        self.run_worker(count, thread=True, exclusive=True, exit_on_error=False,
                        group="drops", name="drop monitor")

    def _drops_counted(self, update: DropUpdate) -> None:
        if not self._drops.counting:
            self._drops.counting, self._drops.started_at = True, self._clock()
            self.notice(f"counting drops (probe attached in {update.attach_s:.2f} s): per "
                        "device on the topology, in the Drops tab and here; D stops")
        self._drops.take(update)
        if self.graph is not None:
            lines, unspecified = log_lines(self.graph, update.new,
                                           visible_namespaces(self.graph, self.filter_text))
            log = self.query_one(EventLog)
            for line in lines:
                log.add("drop", line)
            self._unspecified += unspecified
            if self._unspecified and self._unspecified_timer is None:
                self._unspecified_timer = self.set_timer(UNSPECIFIED_SAY_S,
                                                         self._say_unspecified)
        self._drops_changed()

    def _say_unspecified(self) -> None:
        self._unspecified_timer = None
        if self._unspecified:
            self.query_one(EventLog).add(
                "drop", f"{self._unspecified} drops without a reason (NOT_SPECIFIED) in the "
                        f"last {UNSPECIFIED_SAY_S:g} s: the Drops tab lists them")
            self._unspecified = 0

    def _drops_stopped(self) -> None:
        if self._drops.counting:
            self.notice("drop counting stopped: the probe is detached")
        self._drops.counting = False
        self._drops_changed()

    def _drops_changed(self) -> None:
        """The counters changed: the topology's marks and the Drops tab show them again."""
        self.extras = {**self.extras, "drops": self._drops}
        self.update_marks()
