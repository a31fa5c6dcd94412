"""Measurements between two namespaces: iperf3 throughput, TCP round trips, connection rate.

Every process runs as `ip netns exec NS ...` (argv, never a shell) in its own session and
is remembered by a `Processes` set, which kills whatever is still running when it closes:
a measurement interrupted by Ctrl-C or SIGTERM leaves no iperf3 behind.
"""

from __future__ import annotations

import json
import math
import os
import select
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ENDPOINT_SCRIPT = str(Path(__file__).resolve().with_name("endpoint.py"))
IPERF_PORT = 5201
ECHO_PORT = 7101          # the endpoint server's echo port; accept-and-close on 7102
READY_TIMEOUT_S = 5.0
RR_SIZE = 64
# iperf3 leaves the first second (slow start, a cold path) out of its result; 2 s runs that
# counted it varied by 30% here, host mode trailing bridged modes
OMIT_S = 1
CONNECT_MAX = 20000       # stays well inside one client's ephemeral port range


class MeasureError(Exception):
    """A measurement could not be made; the message says which and why."""


@dataclass(frozen=True)
class Throughput:
    gbps: float
    cpu_sender_pct: float    # iperf3 client process: user + system, % of one core
    cpu_receiver_pct: float  # iperf3 server process
    retransmits: int | None

    @property
    def cpu_pct_per_gbps(self) -> float | None:
        """Sender + receiver CPU (% of one core) spent per Gbit/s carried."""
        if self.gbps <= 0:
            return None
        return (self.cpu_sender_pct + self.cpu_receiver_pct) / self.gbps


@dataclass(frozen=True)
class Latency:
    count: int
    size: int
    median_us: float
    p99_us: float


@dataclass(frozen=True)
class SetupRate:
    connections: int
    seconds: float
    per_second: float


def in_ns(netns: str, argv: list[str]) -> list[str]:
    return ["ip", "netns", "exec", netns, *argv]


class Processes:
    """Processes started for one measurement; `close()` kills those still running."""

    def __init__(self) -> None:
        self.running: list[subprocess.Popen] = []

    def start(self, argv: list[str], ready: str, what: str) -> subprocess.Popen:
        """Start `argv` and wait until its stdout says `ready`. Raises MeasureError."""
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
        self.running.append(proc)
        assert proc.stdout is not None
        seen = b""
        deadline = time.monotonic() + READY_TIMEOUT_S
        while ready.encode() not in seen:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([proc.stdout], [], [], left)[0]:
                raise MeasureError(f"{what} did not start within {READY_TIMEOUT_S:.0f} s")
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                err = proc.stderr.read().decode(errors="replace").strip() if proc.stderr else ""
                raise MeasureError(f"{what} exited: {err or 'no output'}")
            seen += chunk
        return proc

    def close(self) -> None:
        for proc in self.running:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            for stream in (proc.stdout, proc.stderr):
                if stream:
                    stream.close()
        self.running.clear()

    def __enter__(self) -> Processes:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _run_json(argv: list[str], timeout: float, what: str) -> dict:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                             start_new_session=True, check=False)
    except subprocess.TimeoutExpired:
        raise MeasureError(f"{what}: no result after {timeout:.0f} s") from None
    try:
        data = json.loads(out.stdout) if out.stdout.strip() else {}
    except json.JSONDecodeError:
        data = {}
    if out.returncode != 0 or not data or "error" in data:
        why = data.get("error") or out.stderr.strip() or f"exit status {out.returncode}"
        raise MeasureError(f"{what}: {why}")
    return data


def iperf3_missing() -> str | None:
    """None when iperf3 is installed, else what to do."""
    return None if shutil.which("iperf3") else "iperf3 is not installed: apt-get install iperf3"


def throughput(client_ns: str, server_ns: str, address: str, seconds: float) -> Throughput:
    """One iperf3 TCP stream from the client namespace to `address` in the server's, for
    `seconds` (whole, at least 1) after one second of warm-up that is not counted."""
    whole = max(1, math.ceil(seconds))  # iperf3 takes whole seconds
    with Processes() as procs:
        procs.start(in_ns(server_ns, ["iperf3", "-s", "-1", "-p", str(IPERF_PORT),
                                      "--forceflush"]), "listening", "iperf3 server")
        data = _run_json(in_ns(client_ns, [
            "iperf3", "-c", address, "-p", str(IPERF_PORT), "-t", str(whole), "-J",
            "-O", str(OMIT_S), "--connect-timeout", "3000"]), whole + OMIT_S + 20, "iperf3")
    end = data.get("end", {})
    cpu = end.get("cpu_utilization_percent", {})
    received = end.get("sum_received", {})
    sent = end.get("sum_sent", {})
    return Throughput(gbps=float(received.get("bits_per_second", 0.0)) / 1e9,
                      cpu_sender_pct=float(cpu.get("host_total", 0.0)),
                      cpu_receiver_pct=float(cpu.get("remote_total", 0.0)),
                      retransmits=sent.get("retransmits"))


def _endpoint(netns: str, *args: str) -> list[str]:
    return in_ns(netns, [sys.executable, ENDPOINT_SCRIPT, *args])


def latency_and_setup(client_ns: str, server_ns: str, address: str,
                      seconds: float) -> tuple[Latency, SetupRate]:
    """Round trips of RR_SIZE bytes for half of `seconds`, then connections for the other."""
    half = max(0.2, seconds / 2)
    with Processes() as procs:
        procs.start(_endpoint(server_ns, "serve", "--port", str(ECHO_PORT)), "ready",
                    "echo server")
        rr = _run_json(_endpoint(client_ns, "rr", "--host", address, "--port", str(ECHO_PORT),
                                 "--seconds", str(half), "--size", str(RR_SIZE),
                                 "--max", "10000000"),
                       half + 20, "round trips")
        conn = _run_json(_endpoint(client_ns, "connect", "--host", address, "--port",
                                   str(ECHO_PORT + 1), "--seconds", str(half), "--max",
                                   str(CONNECT_MAX)), half + 20, "connections")
    if not rr.get("count"):
        raise MeasureError("round trips: none completed")
    return (Latency(int(rr["count"]), int(rr["size"]), float(rr["median_us"]),
                    float(rr["p99_us"])),
            SetupRate(int(conn["connections"]), float(conn["seconds"]),
                      float(conn["per_second"])))
