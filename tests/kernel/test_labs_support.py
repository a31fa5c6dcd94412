"""Helpers for the lab kernel tests (no tests here): unique instances removed even on failure,
and a comparison of host state that ignores what changes by itself (counters, neighbours)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import secrets
import subprocess
from collections import defaultdict
from collections.abc import Iterator

import pytest

from netscope.actions import labs
from netscope.actions.ops import NAMED_NETNS

# Fields that change without anyone changing the configuration.
VOLATILE = {"packets", "bytes", "nf_conntrack_count"}
COMPARED = ("links", "addresses", "routes", "rules", "tables")


class Instances:
    """Lab instances named t<random><tag>, brought down (and their namespaces removed) at the
    end whatever happened."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def new(self, tag: str = "") -> str:
        name = f"t{secrets.token_hex(3)}{tag}"
        self.names.append(name)
        return name

    def cleanup(self) -> None:
        for name in self.names:
            with contextlib.suppress(Exception):
                labs.down(name)
            for leftover in lab_namespaces(name):
                subprocess.run(["ip", "netns", "del", leftover], capture_output=True)


def lab_namespaces(instance: str) -> list[str]:
    try:
        return sorted(n for n in os.listdir(NAMED_NETNS) if n.startswith(f"nsl-{instance}-"))
    except FileNotFoundError:
        return []


@contextlib.contextmanager
def instances_in(state_dir: str) -> Iterator[Instances]:
    if os.geteuid() != 0:
        pytest.skip("lab tests need root (they create network namespaces)")
    old = os.environ.get("NETSCOPE_STATE_DIR")
    os.environ["NETSCOPE_STATE_DIR"] = state_dir
    made = Instances()
    try:
        yield made
    finally:
        made.cleanup()
        if old is None:
            os.environ.pop("NETSCOPE_STATE_DIR", None)
        else:
            os.environ["NETSCOPE_STATE_DIR"] = old


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def _plain(obj):
    if dataclasses.is_dataclass(obj):
        return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)
                if f.name not in VOLATILE}
    if isinstance(obj, tuple | list):
        return [_plain(x) for x in obj]
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items() if k not in VOLATILE}
    return obj


_DOCKER_MADE = re.compile(r"^(br-[0-9a-f]{12}|veth[0-9a-f]{7})$")


def _others_test_device(name: str) -> bool:
    """Root devices that other test suites running at the same time on a shared machine make:
    ns<tag>... (nsk, nsb, ...), and Docker's br-<id>/veth<id>. A lab never creates any root
    device at all (and none of its device names look like these)."""
    return (name.startswith("ns") and not name.startswith("nsl")) or bool(
        _DOCKER_MADE.match(name))


def _mentions(obj, link_ids: set[str]) -> bool:
    found = json.dumps(_plain(obj))
    return any(f'"{lid}"' in found for lid in link_ids)


def host_state(snapshot) -> dict[str, dict[str, list[str]]]:
    """Per namespace name: its origins (without processes) and sysctls, and every link,
    address, route, policy rule and netfilter table, as sorted canonical JSON."""
    names = {ns.id: ns.name for ns in snapshot.namespaces}
    foreign = {lk.id for lk in snapshot.links if _others_test_device(lk.name)}
    out: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for ns in snapshot.namespaces:
        origins = [f"{o.kind}:{o.path}" for o in ns.origins if o.kind != "proc"]
        sysctls = json.dumps(_plain(ns.sysctls), sort_keys=True)
        out[ns.name]["namespace"] = [*sorted(origins), sysctls]
    for field in COMPARED:
        for obj in getattr(snapshot, field, ()):
            if field != "tables" and (getattr(obj, "id", None) in foreign
                                      or _mentions(obj, foreign)):
                continue
            out[names.get(obj.netns, obj.netns)][field].append(
                json.dumps(_plain(obj), sort_keys=True))
    return {ns: {k: sorted(v) for k, v in fields.items()} for ns, fields in out.items()}


def proc_pids(snapshot) -> dict[str, set[int]]:
    return {ns.name: {o.pid for o in ns.origins if o.pid} for ns in snapshot.namespaces}
