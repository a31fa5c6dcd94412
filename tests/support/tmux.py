"""The real TUI in a tmux pane, driven and read as a person would (send-keys, capture-pane)."""

from __future__ import annotations

import contextlib
import os
import time

from tests.support.netns import sh


class Tmux:
    """One tmux server of our own (-L), so nothing else's sessions are touched."""

    def __init__(self, tag: str) -> None:
        self.socket = f"{tag}-tui"

    def tmux(self, *args: str) -> str:
        return sh("tmux", "-L", self.socket, *args).stdout

    def start(self, command: str) -> None:
        # remain-on-exit keeps the pane (and what the app printed last) after the app exits
        self.tmux("new-session", "-d", "-s", "tui", "-x", "160", "-y", "50", command,
                  ";", "set-option", "-w", "remain-on-exit", "on")

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "tui", *keys)

    def type(self, text: str) -> None:
        """Literal text (so "-a" is not taken for an option of send-keys)."""
        self.tmux("send-keys", "-t", "tui", "-l", text)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-t", "tui", "-p")

    def wait_for(self, text: str, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not on screen after {timeout} s:\n{screen}")
            time.sleep(0.1)

    def ended(self) -> bool:
        """The app in the pane has ended (the pane stays: remain-on-exit)."""
        return self.tmux("display", "-p", "-t", "tui", "#{pane_dead}").strip() == "1"

    def quit(self, key: str = "q", timeout: float = 15.0) -> list[str]:
        """Press `key` and wait for the app's exit: ["0"] for a clean exit, [status] or
        [status, signal] otherwise. tmux marks the pane dead when its terminal closes and
        learns the status a moment later, when it reaps the process: this waits for that."""
        self.keys(key)
        deadline = time.monotonic() + timeout
        while not (ended := self.tmux("display", "-p", "-t", "tui",
                                      "#{pane_dead_status} #{pane_dead_signal}").split()):
            if time.monotonic() > deadline:
                raise AssertionError(f"{key} did not end the app after {timeout} s:\n"
                                     f"{self.screen()}")
            time.sleep(0.1)
        return ended

    def alive(self) -> bool:
        return sh("tmux", "-L", self.socket, "has-session", "-t", "tui", check=False
                  ).returncode == 0

    def kill(self) -> None:
        sh("tmux", "-L", self.socket, "kill-server", check=False)
        # the server leaves its socket file behind (572 were in /tmp/tmux-0 on a machine
        # that ran the suite often): ours, so removed
        with contextlib.suppress(FileNotFoundError):
            os.unlink(socket_path(self.socket))


def socket_path(name: str) -> str:
    """Where `tmux -L name` puts its server's socket."""
    return os.path.join(os.environ.get("TMUX_TMPDIR", "/tmp"), f"tmux-{os.getuid()}", name)
