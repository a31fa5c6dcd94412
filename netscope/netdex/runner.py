"""Run netdex: one lab at a time, up, measured, down, whatever happens.

Labs are brought up as instances `<prefix>-<mode>` (namespaces `nsl-<prefix>-<mode>-<node>`)
through `netscope.actions.labs`, so a lab the user has up under its own name is never
touched. The lab of the mode being measured is taken down in a `finally`: after an error,
after Ctrl-C, and after SIGTERM (turned into KeyboardInterrupt while netdex runs).
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import os
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass

from netscope.actions import labs
from netscope.actions.lab_plan import ns_name
from netscope.actions.plan import PlanFailed, sigterm_interrupts
from netscope.netdex import measure
from netscope.netdex.modes import Mode, ModeError, server_address

Progress = Callable[[str], None]
DEFAULT_PREFIX = "netdex"


@dataclass(frozen=True)
class ModeResult:
    """What one mode measured, or why it could not (`error`)."""

    mode: Mode
    address: str | None = None
    client_ns: str | None = None
    server_ns: str | None = None
    throughput: measure.Throughput | None = None
    latency: measure.Latency | None = None
    setup: measure.SetupRate | None = None
    error: str | None = None
    seconds: float = 0.0
    gbps_runs: tuple[float, ...] = ()   # each run's throughput when measured more than once
    load: float | None = None           # 1-minute load average after measuring (the worst)


@dataclass(frozen=True)
class NetdexRun:
    """A whole run: the results in mode order, and where and how they were measured."""

    results: tuple[ModeResult, ...]
    duration_s: float
    kernel: str
    cpus: int
    started_at: str
    iperf3: str
    repeat: int = 1


def iperf3_version() -> str:
    try:
        out = subprocess.run(["iperf3", "--version"], capture_output=True, text=True,
                             timeout=5, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return out.split("\n", 1)[0].strip() or "?"


def instance_for(prefix: str, mode: Mode) -> str:
    return labs.check_instance(f"{prefix}-{mode.key}")


def _say(progress: Progress | None, text: str) -> None:
    if progress:
        progress(text)


def run_mode(mode: Mode, duration: float, prefix: str = DEFAULT_PREFIX,
             progress: Progress | None = None) -> ModeResult:
    """Bring the mode's lab up, measure, take it down (always). KeyboardInterrupt passes."""
    started = time.monotonic()
    try:
        topo = labs.resolve(mode.lab)
        address = server_address(mode, topo)
        instance = instance_for(prefix, mode)
    except (labs.LabError, ModeError) as e:
        return ModeResult(mode, error=str(e))
    client, server = ns_name(instance, mode.client), ns_name(instance, mode.server)
    result = ModeResult(mode, address, client, server)
    try:
        labs.down(instance)  # the leftovers of an earlier run that was killed, if any
        _say(progress, f"lab {mode.lab} up as {instance}")
        labs.up(topo, instance)
        _say(progress, f"throughput {mode.client} -> {mode.server} ({address}), "
                       f"{max(1, math.ceil(duration))} s")
        tput = measure.throughput(client, server, address, duration)
        _say(progress, "round trips and connection setup")
        lat, setup = measure.latency_and_setup(client, server, address, duration)
        result = ModeResult(mode, address, client, server, tput, lat, setup,
                            gbps_runs=(tput.gbps,), load=round(os.getloadavg()[0], 2))
    except (labs.LabError, PlanFailed, measure.MeasureError) as e:
        result = ModeResult(mode, address, client, server, error=str(e))
    finally:
        _say(progress, f"lab {instance} down")
        try:
            labs.down(instance)
        except labs.LabError as e:
            _say(progress, f"could not remove lab {instance}: {e}")
            result = ModeResult(mode, address, client, server, error=str(e))
    return _timed(result, started)


def _timed(result: ModeResult, started: float) -> ModeResult:
    return dataclasses.replace(result, seconds=round(time.monotonic() - started, 2))


def _median(values: list[float]) -> float:
    return statistics.median(values)


def combine(results: list[ModeResult]) -> ModeResult:
    """One mode measured several times: the median of each figure over the runs that
    worked (the last error when none did)."""
    ok = [r for r in results if r.error is None and r.throughput and r.latency and r.setup]
    if not ok:
        return results[-1]
    if len(ok) == 1 and len(results) == 1:
        return ok[0]
    t = [r.throughput for r in ok if r.throughput]
    lat = [r.latency for r in ok if r.latency]
    setup = [r.setup for r in ok if r.setup]
    retrans = [x.retransmits for x in t if x.retransmits is not None]
    return dataclasses.replace(
        ok[0],
        throughput=measure.Throughput(_median([x.gbps for x in t]),
                                      _median([x.cpu_sender_pct for x in t]),
                                      _median([x.cpu_receiver_pct for x in t]),
                                      round(_median(retrans)) if retrans else None),
        latency=measure.Latency(sum(x.count for x in lat), lat[0].size,
                                _median([x.median_us for x in lat]),
                                _median([x.p99_us for x in lat])),
        setup=measure.SetupRate(sum(x.connections for x in setup),
                                sum(x.seconds for x in setup),
                                _median([x.per_second for x in setup])),
        seconds=round(sum(r.seconds for r in results), 2),
        gbps_runs=tuple(x.gbps for x in t),
        load=max((r.load for r in ok if r.load is not None), default=None))


def run(modes: list[Mode], duration: float, prefix: str = DEFAULT_PREFIX,
        progress: Progress | None = None, repeat: int = 1) -> NetdexRun:
    """Measure every mode in turn, `repeat` rounds (modes alternate, medians are kept). On
    Ctrl-C/SIGTERM the current lab is taken down and KeyboardInterrupt raised; no lab is
    left up either way."""
    started_at = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    runs: dict[str, list[ModeResult]] = {m.key: [] for m in modes}
    with sigterm_interrupts():
        for round_ in range(1, repeat + 1):
            for i, mode in enumerate(modes, 1):
                label = f"[{i}/{len(modes)}" + (f", round {round_}/{repeat}]" if repeat > 1
                                                 else "]")

                def step(text: str, label: str = label, mode: Mode = mode) -> None:
                    _say(progress, f"{label} {mode.key}: {text}")
                result = run_mode(mode, duration, prefix, step)
                runs[mode.key].append(result)
                if result.error:
                    step(f"failed: {result.error}")
    results = tuple(combine(runs[m.key]) for m in modes)
    return NetdexRun(results, duration, os.uname().release, os.cpu_count() or 0,
                     started_at, iperf3_version(), repeat)
