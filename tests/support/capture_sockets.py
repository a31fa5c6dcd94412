"""Capture the socket fixtures in fixtures/ with netscope itself, from real labs.

    sudo .venv/bin/python -m tests.support.capture_sockets [FIXTURE...]

- sockets-loopback.json: docker-bridge/published_port_loopback_only (c1's web server on
  127.0.0.1:80, the published port 8080 DNATed to c1:80), with a client in c1 holding a
  connection to 127.0.0.1:80; taken with TCP connections (`--connections`).
- sockets-no-listener.json: docker-bridge/published_port_no_listener (web on port 8000).
- sockets-reuseport.json: container-mode/reuseport_conflict (app and sidecar both on port 80
  of one namespace, SO_REUSEPORT).
- mtu-overlay.json: overlay-vxlan/overlay_mtu_mismatch (containers at MTU 1500 on an overlay
  that carries 1450).

Only the namespace netscope runs in and the lab's namespaces are kept (tests.support.capture).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time

from netscope.actions import labs
from netscope.actions.lab_plan import ns_name
from netscope.collect.runner import collect_snapshot
from netscope.snapshot import save
from tests.support.capture import FIXTURES, keep_only

INSTANCE = "sockfix"
HOLD = ("import socket, time; s = socket.create_connection(('127.0.0.1', 80)); "
        "print('ready', flush=True); time.sleep(60)")


def capture(ref: str, fixture: str, client: bool = False) -> None:
    note = (f"fixture {fixture}: captured by `python -m tests.support.capture_sockets` "
            f"(lab {ref} as instance {INSTANCE}"
            + ("; a client in c1 holds a connection to 127.0.0.1:80; with TCP connections"
               if client else "") + ")")
    labs.up(labs.resolve(ref), INSTANCE)
    holder = None
    try:
        if client:
            holder = subprocess.Popen(["ip", "netns", "exec", ns_name(INSTANCE, "c1"),
                                       sys.executable, "-c", HOLD], stdout=subprocess.PIPE,
                                      text=True)
            assert holder.stdout.readline().strip() == "ready"
        time.sleep(0.5)
        snapshot = collect_snapshot(note=note, connections=client)
        lab = {ns.id for ns in snapshot.namespaces
               if ns.name.startswith(ns_name(INSTANCE, ""))}
        save(keep_only(snapshot, lab, set()), str(FIXTURES / f"{fixture}.json"), pretty=True)
        print(f"wrote fixtures/{fixture}.json")
    finally:
        if holder is not None:
            holder.kill()
            holder.wait()
        labs.down(INSTANCE)


CAPTURES = {
    "sockets-loopback": ("docker-bridge/published_port_loopback_only", True),
    "sockets-no-listener": ("docker-bridge/published_port_no_listener", False),
    "sockets-reuseport": ("container-mode/reuseport_conflict", False),
    "mtu-overlay": ("overlay-vxlan/overlay_mtu_mismatch", False),
}


def main(only: list[str]) -> int:
    """Capture every fixture, or only those named on the command line."""
    import os

    os.environ.setdefault("NETSCOPE_STATE_DIR", tempfile.mkdtemp(prefix="netscope-capture-"))
    for fixture, (ref, client) in CAPTURES.items():
        if not only or fixture in only:
            capture(ref, fixture, client=client)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
