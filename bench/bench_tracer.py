"""Benchmark: what the journey tracer costs a TCP flow, and how fast its probes attach.

Lab (prefix nstr): namespaces a and b joined through a bridge in a third namespace, like
containers on docker0. iperf3 runs from a to b, alternating three modes, --runs each:
  baseline   no probes attached
  empty      programs that do nothing on the same hooks: the floor any probe pays
  other      the tracer attached with a filter that matches another flow (budget: >= 90%)
  matching   the tracer attached with a filter that matches this flow; a thread reads and
             decodes every event, as `netscope trace` does, and events/s and lost events
             are counted
The probes' own CPU time comes from kernel.bpf_stats_enabled (turned on for the run and
restored after). Then the matching mode is repeated with iperf3 rate limits (--rates), to
find the highest event rate with zero lost events. Attach time: the journey program and the
drop monitor, each loaded --runs times (budget: <= 1 s), and attached from programs compiled
ahead as the TUI does (D and t: budget <= 0.3 s from the key).

    sudo .venv/bin/python bench/bench_tracer.py [--runs 5] [--seconds 4]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from netscope.host import bpf_syscall
from netscope.trace.drops import DROP_FILES, attach_drops, drop_settings, prepare_drops
from netscope.trace.loader import Program
from netscope.trace.tracer import TraceFilter, Tracer, prepare_journey


def sh(*argv: str) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


class Lab:
    def __init__(self) -> None:
        tag = f"nstr{random.randint(0, 0xffff):04x}"
        self.a, self.b, self.br = f"{tag}-a", f"{tag}-b", f"{tag}-br"
        self.net = f"10.{random.randint(160, 250)}.{random.randint(0, 255)}"
        self.server: subprocess.Popen | None = None

    def up(self) -> None:
        for ns in (self.a, self.b, self.br):
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "-n", self.br, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", self.br, "link", "set", "br0", "up")
        for ns, port, host in ((self.a, "va", 1), (self.b, "vb", 2)):
            sh("ip", "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", port,
               "netns", self.br)
            sh("ip", "-n", self.br, "link", "set", port, "master", "br0", "up")
            sh("ip", "-n", ns, "addr", "add", f"{self.net}.{host}/24", "dev", "eth0")
            sh("ip", "-n", ns, "link", "set", "eth0", "up")
        self.server = subprocess.Popen(["ip", "netns", "exec", self.b, "iperf3", "-s"],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)

    def down(self) -> None:
        if self.server:
            self.server.kill()
            self.server.wait()
        for ns in (self.a, self.b, self.br):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)

    def iperf(self, seconds: float, rate: str | None = None) -> float:
        """Gbit/s received."""
        argv = ["ip", "netns", "exec", self.a, "iperf3", "-c", f"{self.net}.2", "-t",
                str(seconds), "-J", *(["-b", rate] if rate else [])]
        out = json.loads(sh(*argv))
        return out["end"]["sum_received"]["bits_per_second"] / 1e9


class Reader(threading.Thread):
    """Reads and decodes every event while iperf3 runs, as `netscope trace` does."""

    def __init__(self, tracer: Tracer) -> None:
        super().__init__(daemon=True)
        self.tracer, self.events, self.stop = tracer, 0, threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.events += len(self.tracer.poll(50))
        self.events += len(self.tracer.drain())


def bpf_prog_stats() -> dict[int, tuple[int, int]]:
    """prog id -> (run count, run time ns); counted while kernel.bpf_stats_enabled=1.

    Not `bpftool prog list`: it opens every map a program uses by id (looking for its
    metadata), and opening a prog_array by id just after its owner closed it makes this
    kernel leak the map (tests/support/bpf_ids.py); each run of this bench left two
    `skb_workers` maps behind that way, held by nothing until reboot."""
    stats = {}
    for prog_id in bpf_syscall.next_ids(bpf_syscall.BPF_PROG_GET_NEXT_ID):
        try:
            info = bpf_syscall.prog_info(prog_id)
        except bpf_syscall.BpfUnavailable:  # unloaded between the two calls
            continue
        stats[prog_id] = (info.run_cnt, info.run_time_ns)
    return stats


def run_mode(lab: Lab, mode: str, seconds: float, rate: str | None = None) -> dict:
    if mode == "baseline":
        return {"gbps": lab.iperf(seconds, rate)}
    if mode == "empty":
        return empty_probe_floor(lab, seconds)
    before = set(bpf_prog_stats())
    flt = (TraceFilter(src=f"{lab.net}.1", dst=f"{lab.net}.2", proto="tcp", port=5201)
           if mode == "matching" else
           TraceFilter(src=f"{lab.net}.1", dst=f"{lab.net}.99", proto="tcp", port=5201))
    with Tracer(flt) as tracer:
        reader = Reader(tracer)
        reader.start()
        started = time.monotonic()
        gbps = lab.iperf(seconds, rate)
        elapsed = time.monotonic() - started
        stats = [v for k, v in bpf_prog_stats().items() if k not in before]
        reader.stop.set()
        reader.join()
        counters = tracer.counters()
        runs, run_ns = sum(c for c, _ in stats), sum(t for _, t in stats)
        return {"gbps": gbps, "attach_s": tracer.attach_seconds, "events": reader.events,
                "events_per_s": reader.events / elapsed, "lost": counters["lost"],
                "probe_runs_per_s": runs / elapsed, "ns_per_run": run_ns / max(runs, 1),
                "probe_cpu_share": run_ns / 1e9 / elapsed}


EMPTY_PROBES = "".join(f"RAW_TRACEPOINT_PROBE({tp}) {{ return 0; }}\n" for tp in (
    "netif_receive_skb", "net_dev_queue", "net_dev_xmit", "kfree_skb", "consume_skb",
    "fib_table_lookup", "inet_sock_set_state"))


def empty_probe_floor(lab: Lab, seconds: float) -> dict:
    """The same hooks with programs that do nothing: the cost no probe can go below."""
    from bcc import BPF  # noqa: TID251 - the benchmark measures bcc itself here

    before = set(bpf_prog_stats())
    bpf = BPF(text=EMPTY_PROBES.encode())
    try:
        started = time.monotonic()
        gbps = lab.iperf(seconds)
        elapsed = time.monotonic() - started
        stats = [v for k, v in bpf_prog_stats().items() if k not in before]
    finally:
        bpf.cleanup()
    runs, run_ns = sum(c for c, _ in stats), sum(t for _, t in stats)
    return {"gbps": gbps, "probe_runs_per_s": runs / elapsed, "ns_per_run": run_ns / max(runs, 1),
            "probe_cpu_share": run_ns / 1e9 / elapsed}


def attach_times(runs: int) -> dict[str, list[tuple[float, float]]]:
    """(wall, CPU) seconds from asking to live probes: the CPU time is what it costs on an
    idle host. "journey"/"drops": compiled, loaded and attached, as `netscope trace`/`drops`
    do; "... compiled ahead": attached from a program compiled before (the TUI's D and t)."""
    out: dict[str, list[tuple[float, float]]] = {
        "journey": [], "drops": [], "journey compiled ahead": [], "drops compiled ahead": []}
    for _ in range(runs):
        with Tracer(TraceFilter(dst="10.254.254.254")) as t:
            p = t.program
            out["journey"].append((t.attach_seconds,
                                   p.prepare_cpu_seconds + p.attach_cpu_seconds))
        with Program(DROP_FILES, drop_settings()) as p:
            out["drops"].append((p.attach_seconds, p.attach_cpu_seconds))
    journey, drops = prepare_journey(), prepare_drops()
    try:
        for _ in range(runs):
            with Tracer(TraceFilter(dst="10.254.254.254"), journey) as t:
                out["journey compiled ahead"].append((t.attach_seconds,
                                                      journey.attach_cpu_seconds))
            started = time.perf_counter()
            attach_drops(drops)
            out["drops compiled ahead"].append((time.perf_counter() - started,
                                                drops.attach_cpu_seconds))
            drops.detach()
    finally:
        journey.close()
        drops.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=4)
    ap.add_argument("--rates", default="1G,2G,4G,8G",
                    help="iperf3 -b limits for the zero-loss search (comma separated)")
    args = ap.parse_args()
    lab = Lab()
    stats_was = Path("/proc/sys/kernel/bpf_stats_enabled").read_text().strip()
    try:
        # per-program run counts and times, to report the probes' own CPU cost
        Path("/proc/sys/kernel/bpf_stats_enabled").write_text("1")
        lab.up()
        lab.iperf(1)  # warm up
        results: dict[str, list[dict]] = {"baseline": [], "empty": [], "other": [],
                                          "matching": []}
        modes = list(results)
        for i in range(args.runs):
            k = i % len(modes)
            for mode in modes[k:] + modes[:k]:  # rotate the order each round
                results[mode].append(run_mode(lab, mode, args.seconds))
                print(f"run {i + 1} {mode:8} {results[mode][-1]}", file=sys.stderr)
        by_rate = []
        for rate in args.rates.split(","):
            r = run_mode(lab, "matching", args.seconds, rate)
            by_rate.append((rate, r))
            print(f"rate {rate}: {r}", file=sys.stderr)
        attach = attach_times(args.runs)
    finally:
        lab.down()
        Path("/proc/sys/kernel/bpf_stats_enabled").write_text(stats_was)

    def med(mode: str, key: str = "gbps") -> float:
        return statistics.median(r[key] for r in results[mode])

    base = med("baseline")
    print(f"TCP over veth+bridge, {args.runs} alternating runs of {args.seconds:g} s, medians")
    print(f"  baseline (no probes):           {base:6.2f} Gbit/s")
    print(f"  tracer, filter on another flow: {med('other'):6.2f} Gbit/s  "
          f"= {med('other') / base:.1%} of baseline (budget >= 90%)")
    print(f"  tracer, filter on this flow:    {med('matching'):6.2f} Gbit/s  "
          f"= {med('matching') / base:.1%} of baseline; "
          f"{med('matching', 'events_per_s'):,.0f} events/s, "
          f"lost {sum(r['lost'] for r in results['matching'])} of "
          f"{sum(r['events'] + r['lost'] for r in results['matching'])}")
    for mode in ("other", "matching"):
        print(f"  probe cost, {mode:8}: {med(mode, 'probe_runs_per_s'):9,.0f} probe runs/s x "
              f"{med(mode, 'ns_per_run'):4.0f} ns = {med(mode, 'probe_cpu_share'):.1%} of one "
              "CPU (kernel.bpf_stats_enabled)")
    print(f"  floor, empty programs on the same hooks: {med('empty'):6.2f} Gbit/s = "
          f"{med('empty') / base:.1%} of baseline; {med('empty', 'probe_runs_per_s'):9,.0f} "
          f"runs/s x {med('empty', 'ns_per_run'):4.0f} ns = "
          f"{med('empty', 'probe_cpu_share'):.1%} of one CPU")
    print("  matching flow at capped rates (iperf3 -b):")
    for rate, r in by_rate:
        print(f"    {rate:>4}: {r['gbps']:5.2f} Gbit/s, {r['events_per_s']:9,.0f} events/s, "
              f"lost {r['lost']}")
    for name, times in attach.items():
        wall = [w for w, _ in times]
        cpu = [c for _, c in times]
        print(f"  attach, {name} program: median {statistics.median(wall):.3f} s, "
              f"max {max(wall):.3f} s wall; CPU median {statistics.median(cpu):.3f} s "
              "(budget <= 1 s; the TUI's key -> counting <= 0.3 s)")
    print(f"  load average during the run: {Path('/proc/loadavg').read_text().split()[:3]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
