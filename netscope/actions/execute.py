"""Apply operations to the host, each returning the operation that undoes it.

Consecutive `ip` operations for one namespace run as a single `ip [-n NS] -batch -` process
(200 namespaces in about a second instead of thousands of processes); the batch stops at the
first failing line, whose number says exactly which operations were applied. Everything
else runs one command at a time, argv lists only, never through a shell.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from netscope.actions import procs, state
from netscope.actions.ops import (
    Cni,
    Ip,
    Iptables,
    IptablesPolicy,
    NetnsAdd,
    NetnsDel,
    Nft,
    Op,
    Spawn,
    Stop,
    Sysctl,
    ip_argv,
    netns_path,
)
from netscope.host import netns as host_netns

COMMAND_TIMEOUT_S = 60
BATCH_MAX = 4000
_BATCH_SAFE = re.compile(r"^[A-Za-z0-9_.:/@+=,-]+$")
# where CNI plugins are installed (Debian's containernetworking-plugins; the upstream tarball)
CNI_DIRS = ("/usr/lib/cni", "/opt/cni/bin")
_BATCH_FAILED = re.compile(r"Command failed \S*:(\d+)")
# Messages that mean "what the undo removes is already gone".
_GONE = ("Cannot find device", "does not exist", "No such file or directory",
         "No such process", "Cannot open network namespace", "Bad rule",
         "No chain/target/match by that name", "Cannot delete", "No such device",
         "RTNETLINK answers: No such")


class ActionFailed(Exception):
    """An operation failed; `op` is the one that failed, the message says why."""

    def __init__(self, op: Op, message: str) -> None:
        self.op = op
        super().__init__(f"{op.shell().splitlines()[-1]}: {message}")

    @property
    def already_gone(self) -> bool:
        return any(text in str(self) for text in _GONE)


@dataclass(frozen=True)
class Done:
    """An applied operation and the operation that undoes it (None: nothing to undo)."""

    op: Op
    undo: Op | None


def run_ops(ops: Sequence[Op], done: list[Done],
            after_group: Callable[[], None] | None = None,
            before_group: Callable[[list[Op]], None] | None = None) -> None:
    """Apply `ops` in order, appending to `done` as they succeed. Raises ActionFailed.

    `done` is the caller's list so that it is complete even when this is interrupted
    (KeyboardInterrupt); `before_group` runs before each batch or single operation runs (to
    journal it as pending), `after_group` after it.
    """
    for group in _groups(ops):
        if before_group:
            before_group(group)
        if len(group) > 1 or _batch_key(group[0]) is not None:
            _run_batch(group, done)
        else:
            done.append(Done(group[0], apply_one(group[0])))
        if after_group:
            after_group()


def _batch_key(op: Op) -> tuple[str, str | None] | None:
    if isinstance(op, NetnsAdd):
        args = op.argv()[1:]
        netns = None
    elif isinstance(op, Ip):
        args, netns = list(op.args), op.netns
    else:
        return None
    if not all(_BATCH_SAFE.match(a) for a in args):
        return None
    return ("ip", netns)


def _groups(ops: Sequence[Op]) -> Iterator[list[Op]]:
    group: list[Op] = []
    for op in ops:
        key = _batch_key(op)
        if group and (key is None or key != _batch_key(group[0]) or len(group) >= BATCH_MAX):
            yield group
            group = []
        group.append(op)
        if key is None:
            yield group
            group = []
    if group:
        yield group


def _run_batch(group: list[Op], done: list[Done]) -> None:
    netns = _batch_key(group[0])[1]  # type: ignore[index]
    lines = [" ".join(op.args if isinstance(op, Ip) else op.argv()[1:]) for op in group]
    argv = ip_argv(netns, ["-batch", "-"])
    result = _run(argv, "\n".join(lines) + "\n", group[0])
    if result.returncode == 0:
        done.extend(Done(op, undo_of(op)) for op in group)
        return
    match = _BATCH_FAILED.search(result.stderr)
    failed_at = int(match.group(1)) - 1 if match else 0
    done.extend(Done(op, undo_of(op)) for op in group[:failed_at])
    raise ActionFailed(group[min(failed_at, len(group) - 1)], _first_error(result.stderr))


def undo_of(op: Op) -> Op | None:
    """The undo of an operation whose undo is known before it runs."""
    if isinstance(op, NetnsAdd):
        return NetnsDel(op.name)
    if isinstance(op, Ip) and op.undo is not None:
        return Ip(op.netns, op.undo)
    if isinstance(op, Iptables) and op.undo is not None:
        return Iptables(op.netns, op.table, op.undo)
    if isinstance(op, Nft) and op.undo is not None:
        return Nft(op.netns, op.undo)
    if isinstance(op, Cni) and op.command == "ADD":
        return op.with_command("DEL")
    return None


def prepare(op: Op) -> Op | None:
    """The undo of `op` as far as it can be known before `op` runs: for a sysctl or a chain
    policy, the value the host has now. None when only running it tells (a started
    process's pid) or when nothing undoes it. Raises ActionFailed when the host cannot be
    read."""
    if isinstance(op, Sysctl):
        try:
            return Sysctl(op.netns, op.key, state.read_sysctl(op.netns, op.key))
        except OSError as e:
            raise ActionFailed(op, f"{e.strerror or e}") from None
    if isinstance(op, IptablesPolicy):
        before = state.current_policy(op.netns, op.table, op.chain)
        return IptablesPolicy(op.netns, op.table, op.chain, before) if before else None
    return undo_of(op)


def apply_one(op: Op) -> Op | None:
    """Apply a single operation; returns its undo. Raises ActionFailed."""
    if isinstance(op, Sysctl):
        return _apply_sysctl(op)
    if isinstance(op, IptablesPolicy):
        before = state.current_policy(op.netns, op.table, op.chain)
        _check(op, _run(op.argv(), None, op))
        return IptablesPolicy(op.netns, op.table, op.chain, before) if before else None
    if isinstance(op, NetnsDel):
        _delete_netns(op)
        return None
    if isinstance(op, Spawn):
        try:
            pid, started = procs.spawn_ready(op.argv(), op.log)
        except OSError as e:
            raise ActionFailed(op, str(e)) from None
        return Stop(pid, started, op.label, op.netns)
    if isinstance(op, Stop):
        procs.stop(op.pid, op.start_time)
        return None
    if isinstance(op, Cni):
        _run_cni(op)
        return undo_of(op)
    stdin = op.script if isinstance(op, Nft) else None
    _check(op, _run(op.argv(), stdin, op))
    return undo_of(op)


def _run(argv: list[str], stdin: str | None, op: Op) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(argv, input=stdin, capture_output=True, text=True,
                              timeout=COMMAND_TIMEOUT_S, check=False)
    except FileNotFoundError:
        raise ActionFailed(op, f"{argv[0]} is not installed (apt-get install "
                           f"{'iproute2' if argv[0] == 'ip' else argv[0]})") from None
    except subprocess.TimeoutExpired:
        raise ActionFailed(op, f"no answer after {COMMAND_TIMEOUT_S} s") from None


def _check(op: Op, result: subprocess.CompletedProcess) -> None:
    if result.returncode != 0:
        raise ActionFailed(op, _first_error(result.stderr) or f"exit status {result.returncode}")


def _first_error(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    useful = [line for line in lines if not line.startswith("Command failed")]
    return "; ".join(useful[:2]) or (lines[0] if lines else "")


def _run_cni(op: Cni) -> None:
    """Run a CNI plugin; its error (a JSON object on standard output, CNI's contract) is
    the message of ActionFailed."""
    plugin = os.path.realpath(op.plugin)
    if os.path.dirname(plugin) not in CNI_DIRS or not os.path.isfile(plugin):
        raise ActionFailed(op, f"{op.plugin} is not a CNI plugin in {' or '.join(CNI_DIRS)} "
                           "(apt-get install containernetworking-plugins)")
    result = _run(op.argv(), op.config, op)
    if result.returncode != 0:
        raise ActionFailed(op, _cni_error(result.stdout) or _first_error(result.stderr)
                           or f"exit status {result.returncode}")


def _cni_error(stdout: str) -> str:
    try:
        error = json.loads(stdout)
    except ValueError:
        return ""
    if not isinstance(error, dict):
        return ""
    words = [str(error.get(k)) for k in ("msg", "details") if error.get(k)]
    return "; ".join(words) + (f" (CNI error {error['code']})" if "code" in error else "")

def _apply_sysctl(op: Sysctl) -> Sysctl:
    fd = home = None
    try:
        if op.netns is not None:
            fd = os.open(netns_path(op.netns), os.O_RDONLY | os.O_CLOEXEC)
            home = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
            host_netns.setns(fd)
        try:
            with open(state.sysctl_path(op.key)) as f:
                before = f.read().strip()
            with open(state.sysctl_path(op.key), "w") as f:
                f.write(op.value)
        finally:
            if home is not None:
                host_netns.setns(home)
    except OSError as e:
        raise ActionFailed(op, f"{e.strerror or e}") from None
    finally:
        for opened in (fd, home):
            if opened is not None:
                os.close(opened)
    return Sysctl(op.netns, op.key, before)


def _delete_netns(op: NetnsDel) -> None:
    path = netns_path(op.name)
    try:
        inode = os.stat(path).st_ino
    except FileNotFoundError:
        return
    except OSError as e:
        raise ActionFailed(op, e.strerror or str(e)) from None
    procs.stop_all_in_netns(inode)
    result = _run(op.argv(), None, op)
    if result.returncode != 0 and os.path.exists(path):
        raise ActionFailed(op, _first_error(result.stderr))
