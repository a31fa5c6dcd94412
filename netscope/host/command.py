"""The one runner of the commands netscope reads the host with (iptables-save, nft, and nft
under nsenter for the tracer's tables): started with argv (never a shell: names are data),
waited for with a timeout, and every way it can fail said once, in one line.

`start` + `finish` let a caller overlap several commands (the netfilter collector starts
iptables-save and nft, then asks netlink while they run); `run` is both; `run_status` is for
callers that judge the exit status themselves. The child inherits the calling thread's
network namespace. The writing side has its own runner (netscope.actions.execute).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

TIMEOUT_S = 20.0


class CommandFailed(OSError):
    """A command could not run, did not finish in time, or failed; the message says which."""


@dataclass(frozen=True)
class Finished:
    """A command that ran to its end: its exit status and what it printed."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


def _missing(argv, package: str, error: type[CommandFailed]) -> CommandFailed:
    return error(f"{argv[0]} is not installed: install the {package} package")


def start(argv, package: str, error: type[CommandFailed] = CommandFailed,
          stdin: bool = False) -> subprocess.Popen:
    """Start `argv` (its output read by `finish`). `package` names what installs it;
    `error` is the CommandFailed subclass raised (iptables.SaveFailed, nft.NftFailed ...)."""
    try:
        return subprocess.Popen(list(argv), stdin=subprocess.PIPE if stdin else
                                subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    except FileNotFoundError:
        raise _missing(argv, package, error) from None


def wait(proc: subprocess.Popen, timeout: float = TIMEOUT_S,
         error: type[CommandFailed] = CommandFailed, stdin: str | None = None) -> Finished:
    """Wait for a started command; killed (and CommandFailed) when it takes longer."""
    try:
        out, err = proc.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise error(f"{proc.args[0]} did not answer within {timeout:.0f} s") from None
    return Finished(tuple(proc.args), proc.returncode, out, err)


def finish(proc: subprocess.Popen, timeout: float = TIMEOUT_S,
           error: type[CommandFailed] = CommandFailed) -> str:
    """The standard output of a started command, or `error` saying why there is none."""
    done = wait(proc, timeout, error)
    if done.returncode != 0:
        raise error(f"{' '.join(done.argv)} failed ({done.returncode}): "
                    f"{done.stderr.strip()[:200]}")
    return done.stdout


def run(argv, package: str, timeout: float = TIMEOUT_S,
        error: type[CommandFailed] = CommandFailed) -> str:
    """Run `argv` to its end: its standard output, or `error` saying why not."""
    return finish(start(argv, package, error), timeout, error)


def run_status(argv, package: str, stdin: str | None = None, timeout: float = TIMEOUT_S,
               error: type[CommandFailed] = CommandFailed) -> Finished:
    """Run `argv` to its end whatever its exit status (the caller judges it); `error` only
    when it cannot run or does not finish in time."""
    return wait(start(argv, package, error, stdin=stdin is not None), timeout, error, stdin)
