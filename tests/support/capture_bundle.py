"""Capture the bug-report fixtures: one lab before and after a planted fault.

    sudo .venv/bin/python -m tests.support.capture_bundle

Brings up `netscope lab up docker-bridge --check` as a throw-away instance (nsr7<hex>), adds
what redaction must handle (IPv6 ULA and global addresses, a rule comment holding an address
and a hostname, an interface alias), snapshots it to fixtures/bundle-before.json, deletes the
MASQUERADE rule (the docker-bridge/missing_masquerade fault), snapshots again to
fixtures/bundle-after.json, and takes the lab down even on failure.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
from pathlib import Path

from netscope.collect.runner import collect_snapshot
from netscope.snapshot import save
from tests.support.capture import _ns_ids, keep_only

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
COMMENT = "ticket 4711: monitoring from 203.0.113.7 (ops-vm.example.com)"
MASQUERADE = ("-s", "10.217.0.0/16", "!", "-o", "docker0", "-j", "MASQUERADE")


def netscope(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "netscope", *args], check=True, capture_output=True,
                   text=True, timeout=60)


def in_ns(ns: str, *argv: str) -> None:
    subprocess.run(["ip", "netns", "exec", ns, *argv], check=True, capture_output=True,
                   text=True, timeout=20)


def plant_extras(prefix: str) -> None:
    """What the lab lacks and redaction must cover."""
    host, c1, inet = f"{prefix}-host", f"{prefix}-c1", f"{prefix}-inet"
    in_ns(host, "ip", "addr", "add", "fd42:217::1/64", "dev", "docker0", "nodad")
    in_ns(c1, "ip", "addr", "add", "fd42:217::2/64", "dev", "eth0", "nodad")
    in_ns(host, "ip", "addr", "add", "2001:db8:17::2/64", "dev", "eth0", "nodad")
    in_ns(inet, "ip", "addr", "add", "2001:db8:17::1/64", "dev", "eth0", "nodad")
    in_ns(host, "ip", "link", "set", "docker0", "alias", "bridge of rack 12, ACME corp")
    in_ns(host, "iptables", "-I", "DOCKER-USER", "-s", "203.0.113.7/32", "-m", "comment",
          "--comment", COMMENT, "-j", "RETURN")
    in_ns(c1, "busybox", "ping", "-c1", "-W2", "fd42:217::1")


def capture(instance: str) -> None:
    prefix = f"nsl-{instance}"
    names = [f"{prefix}-{n}" for n in ("host", "c1", "c2", "inet")]
    netscope("lab", "up", "docker-bridge", "--instance", instance, "-q", "--check")
    plant_extras(prefix)
    how = ("captured by `python -m tests.support.capture_bundle`: lab docker-bridge "
           f"(instance {instance}) after its checks, with fd42:217::/64 on docker0 and c1, "
           "2001:db8:17::/64 on the uplink, an alias on docker0 and a commented RETURN rule "
           "in DOCKER-USER")
    before = collect_snapshot(note=f"fixture bundle-before: {how}")
    save(keep_only(before, _ns_ids(before, names), set()), str(FIXTURES / "bundle-before.json"),
         pretty=True)
    in_ns(f"{prefix}-host", "iptables", "-t", "nat", "-D", "POSTROUTING", *MASQUERADE)
    after = collect_snapshot(note=f"fixture bundle-after: {how}; then the planted fault: the "
                             "MASQUERADE rule for 10.217.0.0/16 deleted")
    save(keep_only(after, _ns_ids(after, names), set()), str(FIXTURES / "bundle-after.json"),
         pretty=True)


if __name__ == "__main__":
    instance = f"nsr7{secrets.token_hex(2)}"
    try:
        capture(instance)
    finally:
        subprocess.run([sys.executable, "-m", "netscope", "lab", "down", instance],
                       capture_output=True, timeout=60)
