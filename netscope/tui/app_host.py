"""The app's keys that look at or change the host: `d` doctor (in a worker), `r` repair the
finding highlighted there (its commands shown first), `u` undo, `l` labs; refused with
--read-only, and answered in one line when their backend cannot load.

A mixin of NetscopeApp (kept apart so app.py stays small); changes run in a thread worker,
then ask the live feed for a collection (iptables and sysctl changes send no netlink notice).
"""

from __future__ import annotations

from collections.abc import Callable

from netscope.tui.screens.doctor import DoctorScreen
from netscope.tui.screens.labs import LabsScreen
from netscope.tui.screens.message import ConfirmScreen


class HostKeys:
    """Needs from the app: notice, snapshot, _backends, _feed, _read_only; Textual's
    run_worker, push_screen, call_from_thread."""

    def _mutation_refused(self, what: str) -> bool:
        if self._read_only:
            self.notice(f"read-only ({self._read_only}): {what} is disabled")
            return True
        if self._backends.get(what) is None:
            self.notice(self._backends.unavailable(what))
            return True
        return False

    def action_doctor(self) -> None:
        doctor = self._backends.get("doctor")
        if doctor is None:
            self.notice(self._backends.unavailable("doctor"))
            return
        if not self.whole_host(self.action_doctor, "the doctor runs"):
            return
        snapshot = self.snapshot

        def run() -> None:
            findings = list(doctor.run_checks(snapshot))
            self.call_from_thread(lambda: self.push_screen(DoctorScreen(findings)))
        self.run_worker(run, thread=True, exclusive=True, exit_on_error=False, group="doctor",
                        name="doctor")

    def action_repair(self) -> None:
        if not self._mutation_refused("repair"):
            self.notice("open the doctor (d), highlight a finding, then press r")

    def on_doctor_screen_repair_requested(self, message: DoctorScreen.RepairRequested) -> None:
        if self._mutation_refused("repair"):
            return
        repair = self._backends.get("repair")
        try:
            commands, apply = repair.plan(message.finding)
        except repair.error as e:
            self.notice(str(e))
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.run_host_change(apply, f"repaired {message.finding.id}")
        self.push_screen(ConfirmScreen(f"repair {message.finding.title}", "\n".join(commands)),
                         confirmed)

    def action_undo(self) -> None:
        if not self._mutation_refused("undo"):
            self.run_host_change(self._backends.get("undo").undo_last, "undid the last repair")

    def action_labs(self) -> None:
        if self._mutation_refused("labs"):
            return
        labs = self._backends.get("labs")

        def chosen(choice: tuple[str, str] | None) -> None:
            if choice:
                verb, name = choice
                change = labs.lab_up if verb == "up" else labs.lab_down
                self.run_host_change(lambda: change(name), f"lab {name} {verb}")
        self.push_screen(LabsScreen(list(labs.list_labs()), set(labs.lab_status())), chosen)

    def run_host_change(self, change: Callable[[], object], done: str) -> None:
        """Run `change` in a worker, say `done`, then have the live feed collect."""
        def run() -> None:
            change()
            self.call_from_thread(self.notice, done)
            if self._feed is not None:  # iptables and sysctl changes send no netlink notice
                self._feed.refresh_now()
        self.run_worker(run, thread=True, exclusive=True, exit_on_error=False,
                        group="host-change", name="host change")
