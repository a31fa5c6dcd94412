"""The lab probe's TCP verdict when connect() times out: an ICMP error the kernel kept as a
soft error is an answer, not silence.

In SYN_SENT, an ICMP error that arrives while the connecting process holds its socket is only
recorded (sk_err_soft; TcpExtLockDroppedIcmps counts it) and the SYN's retransmission, 1 s
later, is what fails the connect: a 1 s probe can then see a timeout where the lab predicts
"refused" (once in CI, k8s-node/policy_drop; not reproduced here in 98 runs of that lab and
960 more probes, where the counter rises with every refused probe and the socket still fails
at once). SO_ERROR hands the soft error out; these tests give the probe a socket whose
connect() times out with SO_ERROR saying what the kernel kept.
"""

from __future__ import annotations

import errno
import socket

import pytest

from netscope.actions import probe
from netscope.labs.topology import Check


class TimedOut:
    """A socket whose connect() times out, with `soft` as SO_ERROR."""

    def __init__(self, soft: int) -> None:
        self.soft, self.closed = soft, False

    def connect(self, address) -> None:
        raise TimeoutError("timed out")

    def getsockopt(self, level: int, option: int) -> int:
        assert (level, option) == (socket.SOL_SOCKET, socket.SO_ERROR)
        soft, self.soft = self.soft, 0  # the kernel hands a soft error out once
        return soft

    def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize("soft,outcome", [
    (errno.ECONNREFUSED, "refused"),
    (errno.EHOSTUNREACH, "unreachable"),
    (0, "timeout"),
])
def test_a_timed_out_connect_reports_the_icmp_error_the_kernel_kept(monkeypatch, soft, outcome):
    sock = TimedOut(soft)
    monkeypatch.setattr(probe, "_socket", lambda check, kind, timeout: sock)
    check = Check("pod-to-pod", "client", "10.244.0.3", "tcp", "refused", port=8080)
    got, detail = probe._tcp(check, 1.0)
    assert got == outcome, detail
    assert sock.closed
    if soft:
        assert "soft error" in detail
    else:
        assert detail == "no answer to SYN within 1 s"
