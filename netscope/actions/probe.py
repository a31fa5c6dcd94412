"""Real traffic between lab namespaces: run a topology's [checks] and say what happened.

Changes nothing. Each check runs in a thread that enters the source namespace (setns), so
its sockets belong there; checks run in parallel, each bounded by `timeout`. Outcomes:
ok, timeout, refused, unreachable, duplicate (ARP: more than one MAC answered), or
wrong-reply (traffic got through, but not to the server or with the source address expected).
"""

from __future__ import annotations

import errno
import os
import socket
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from netscope.actions import rawprobe
from netscope.actions.lab_plan import ns_name
from netscope.actions.ops import netns_path
from netscope.host import netns as host_netns
from netscope.labs.topology import Check, Topology

BIG_BYTES = 64 * 1024
UNREACHABLE = (errno.ENETUNREACH, errno.EHOSTUNREACH)


@dataclass(frozen=True)
class CheckResult:
    """What one check observed, against what the topology expects."""

    key: str
    expect: str
    outcome: str
    detail: str

    @property
    def passed(self) -> bool:
        return self.outcome == self.expect


def run_checks(topo: Topology, instance: str, timeout: float = 1.0,
               workers: int = 8) -> list[CheckResult]:
    """Run every check of `topo` in lab instance `instance`; results in declaration order."""
    names = {link.key: link.name for link in topo.links}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(run_check, check, ns_name(instance, check.src),
                               names.get(check.dev or ""), timeout) for check in topo.checks]
        return [f.result() for f in futures]


def run_check(check: Check, netns: str, dev_name: str | None = None,
              timeout: float = 1.0) -> CheckResult:
    """Run one check from inside `netns` (a name under /run/netns)."""
    try:
        fd = os.open(netns_path(netns), os.O_RDONLY | os.O_CLOEXEC)
    except OSError as e:
        return CheckResult(check.key, check.expect, "error", f"{netns}: {e.strerror}")
    home = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        with host_netns.entered(fd, home):
            outcome, detail = _probe(check, dev_name, timeout)
    finally:
        os.close(fd)
        os.close(home)
    return CheckResult(check.key, check.expect, outcome, detail)


def _probe(check: Check, dev_name: str | None, timeout: float) -> tuple[str, str]:
    if check.proto == "icmp":
        return rawprobe.ping(check.dst, timeout, full_size=check.payload == "mtu")
    if check.proto == "arp":
        return rawprobe.arp_who_has(str(dev_name), check.dst, timeout)
    # reply_all: until every server answered. kube-proxy picks endpoints at random (-m
    # statistic, numgen random): 12 tries per server leave a 2-server check unfinished by
    # chance once in ~8 million runs (2 * 0.5**24); round-robin labs stop after 2
    attempts = 12 * len(check.reply) if check.reply_all else 1
    seen: list[tuple[str, str]] = []
    for _ in range(attempts):
        outcome, answer = (_tcp(check, timeout) if check.proto == "tcp"
                           else _udp(check, timeout))
        if outcome != "ok":
            return outcome, answer
        words = answer.split()
        seen.append((words[0] if words else "", words[1] if len(words) > 1 else ""))
        if check.reply_all and set(check.reply) <= {name for name, _ in seen}:
            break
    return _judge(check, seen)


def _judge(check: Check, seen: list[tuple[str, str]]) -> tuple[str, str]:
    answered = ", ".join(f"{name} (saw {peer})" for name, peer in seen)
    names = {name for name, _ in seen}
    if check.reply and not (set(check.reply) <= names if check.reply_all
                            else names <= set(check.reply)):
        return "wrong-reply", f"answered by {answered}; expected {' and '.join(check.reply)}"
    if check.peer and any(peer != check.peer for _, peer in seen):
        return "wrong-reply", f"answered by {answered}; expected the server to see {check.peer}"
    return "ok", f"answered by {answered}"


def _socket(check: Check, kind: int, timeout: float) -> socket.socket:
    """An IPv4 socket with the timeout, bound to the check's source address if it names one."""
    s = socket.socket(socket.AF_INET, kind)
    s.settimeout(timeout)
    if check.source:
        try:
            s.bind((check.source, 0))
        except OSError:
            s.close()
            raise
    return s


def _tcp(check: Check, timeout: float) -> tuple[str, str]:
    s = _socket(check, socket.SOCK_STREAM, timeout)
    try:
        try:
            s.connect((check.dst, int(check.port or 0)))
        except TimeoutError:
            return _soft_error(s) or ("timeout", f"no answer to SYN within {timeout:g} s")
        except ConnectionRefusedError:
            return "refused", "connection refused (RST)"
        except OSError as e:
            return _os_outcome(e)
        big = check.payload == "big"
        s.sendall(b"big\n" if big else b"hello\n")
        data = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        except TimeoutError:
            got = f"{len(data)} bytes" if data else "nothing"
            return "timeout", f"connected, but got {got} within {timeout:g} s"
        except OSError as e:
            return _os_outcome(e)
        line = data.split(b"\n", 1)[0].decode(errors="replace")
        if big and len(data) < BIG_BYTES:
            return "timeout", f"connected, but only {len(data)} of {BIG_BYTES} bytes arrived"
        return "ok", line
    finally:
        s.close()


def _udp(check: Check, timeout: float) -> tuple[str, str]:
    s = _socket(check, socket.SOCK_DGRAM, timeout)
    try:
        try:
            s.connect((check.dst, int(check.port or 0)))
            s.send(b"hello\n")
            data = s.recv(2048)
        except TimeoutError:
            return "timeout", f"no answer within {timeout:g} s"
        except ConnectionRefusedError:
            return "refused", "ICMP port unreachable"
        except OSError as e:
            return _os_outcome(e)
        return "ok", data.split(b"\n", 1)[0].decode(errors="replace")
    finally:
        s.close()


def _soft_error(s: socket.socket) -> tuple[str, str] | None:
    """The ICMP error a connecting socket kept as a soft error, if one came back.

    An ICMP error that arrives while the process holds the socket's lock (inside its own
    connect call) is not fatal in SYN_SENT: the kernel only records it (sk_err_soft, counted
    as TcpExtLockDroppedIcmps) and waits for the SYN's retransmission, 1 s later, to be
    refused again. SO_ERROR reports that record, so the answer is not taken for silence.
    """
    code = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if code == errno.ECONNREFUSED:
        return "refused", ("connection refused (ICMP port unreachable, kept by the kernel as"
                           " a soft error until the SYN's retransmission)")
    if code:
        outcome, why = _os_outcome(OSError(code, os.strerror(code)))
        return outcome, f"{why} (an ICMP error, kept by the kernel as a soft error)"
    return None


def _os_outcome(e: OSError) -> tuple[str, str]:
    if e.errno in UNREACHABLE:
        return "unreachable", e.strerror or str(e)
    return "error", e.strerror or str(e)
