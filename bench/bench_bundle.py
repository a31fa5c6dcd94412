"""Benchmark: a bug-report bundle of a 200-namespace host, netscope against sos.

netscope's bundle is what a user runs for a report, as a whole process:
    netscope export --live --redact -o host.json -o host.html -o host.md
(the two-command form, `netscope snapshot --redact -o host.json` then `netscope export
host.json -o host.html -o host.md`, is timed too: it pays a second start-up and a strict
load of the file).
The baseline is `sos report --only-plugins networking --batch` (Debian's sosreport), which
walks every namespace with ip/ethtool/tc commands. When sos is not installed or cannot run,
the baseline is the `ip -j` loop of bench_snapshot.py instead, and the output says so.
The host is `netscope lab up docker-bridge --containers N` (instance nsr7bench: a host
namespace with a bridge, NAT and published-port rules, N container namespaces and an
"internet" one), not bench/scale_lab.py: its fixed names (nsb-*) collide when another
benchmark uses them at the same time. Other namespaces on the machine are read by both tools
and counted in the output.
Runs alternate; medians of --runs each. An in-process breakdown of netscope's bundle
(collect, redact, encode, HTML, Markdown) is printed too.

    sudo .venv/bin/python bench/bench_bundle.py [--containers 200] [--runs 5] [--sos-runs N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import as_installed
from bench_snapshot import ip_loop

from netscope.collect.runner import collect_snapshot
from netscope.report.export_html import to_html
from netscope.report.export_md import to_markdown
from netscope.report.redact import redact
from netscope.report.sections import build_report

NETSCOPE = (sys.executable, "-m", "netscope")
INSTANCE = "nsr7bench"


def lab_up(containers: int) -> list[str]:
    """Bring the lab up; its namespace names."""
    subprocess.run([*NETSCOPE, "lab", "down", INSTANCE], capture_output=True)
    subprocess.run([*NETSCOPE, "lab", "up", "docker-bridge", "--containers", str(containers),
                    "--instance", INSTANCE, "-q"], check=True, capture_output=True)
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return [line.split()[0] for line in out.splitlines()
            if line.startswith(f"nsl-{INSTANCE}-")]


def lab_down() -> None:
    subprocess.run([*NETSCOPE, "lab", "down", INSTANCE], capture_output=True)


def _size(out: str) -> int:
    return sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out))


def netscope_bundle(out: str) -> tuple[float, int]:
    """Wall time of the one-command bundle, and the bundle's size in bytes."""
    start = time.perf_counter()
    subprocess.run([*NETSCOPE, "export", "--live", "--redact",
                    *(x for ext in ("json", "html", "md")
                      for x in ("-o", os.path.join(out, f"host.{ext}")))],
                   check=True, capture_output=True)
    return time.perf_counter() - start, _size(out)


def netscope_two_commands(out: str) -> float:
    start = time.perf_counter()
    snap = os.path.join(out, "host.json")
    subprocess.run([*NETSCOPE, "snapshot", "--redact", "-o", snap], check=True,
                   capture_output=True)
    subprocess.run([*NETSCOPE, "export", snap, "-o", os.path.join(out, "host.html"),
                    "-o", os.path.join(out, "host.md")], check=True, capture_output=True)
    return time.perf_counter() - start


def netscope_steps() -> dict[str, float]:
    """Seconds per step of the same bundle, in one process."""
    steps, t = {}, time.perf_counter()
    snap = collect_snapshot()
    steps["collect"], t = time.perf_counter() - t, time.perf_counter()
    redaction = redact(snap)
    steps["redact"], t = time.perf_counter() - t, time.perf_counter()
    red = redaction.snapshot
    steps["rebuild"], t = time.perf_counter() - t, time.perf_counter()
    report = build_report(red)
    steps["doctor+tables"], t = time.perf_counter() - t, time.perf_counter()
    to_html(red, report)
    steps["HTML"], t = time.perf_counter() - t, time.perf_counter()
    to_markdown(red, report)
    steps["Markdown"] = time.perf_counter() - t
    steps["namespaces"] = len(snap.namespaces)
    return steps


def sos_ready() -> str | None:
    """None when `sos report` can run here, else why not."""
    if shutil.which("sos") is None:
        return "sos is not installed (apt-get install sosreport)"
    return None


def sos_run(out: str) -> tuple[float, int]:
    start = time.perf_counter()
    p = subprocess.run(["sos", "report", "--only-plugins", "networking", "--batch", "-q",
                        "--tmp-dir", out], capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if p.returncode != 0:
        raise RuntimeError(f"sos report failed ({p.returncode}): {p.stderr.strip()[-300:]}")
    size = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out))
    return elapsed, size


def main() -> int:
    as_installed()  # processes from bytecode, as installed
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--containers", type=int, default=200,
                    help="container namespaces in the lab (plus its host and internet ones)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--sos-runs", type=int, help="sos runs (default: --runs)")
    args = ap.parse_args()
    sos_runs = args.sos_runs or args.runs
    why_not = sos_ready()
    print(f"building the lab with {args.containers} containers ...", flush=True)
    names = lab_up(args.containers)
    work = tempfile.mkdtemp(prefix="netscope-bench-bundle-")
    try:
        netscope_steps()  # warm caches once: both sides then see a warm kernel
        bundle, two, base, steps, sizes, base_sizes = [], [], [], [], [], []
        for i in range(max(args.runs, sos_runs)):
            if i < args.runs:
                out = tempfile.mkdtemp(dir=work)
                elapsed, size = netscope_bundle(out)
                bundle.append(elapsed)
                sizes.append(size)
                two.append(netscope_two_commands(tempfile.mkdtemp(dir=work)))
                steps.append(netscope_steps())
                print(f"  run {i + 1}: netscope bundle {elapsed:.2f} s (two commands "
                      f"{two[-1]:.2f} s)", flush=True)
            if i < sos_runs:
                out = tempfile.mkdtemp(dir=work)
                if why_not is None:
                    elapsed, size = sos_run(out)
                    base_sizes.append(size)
                else:
                    elapsed = ip_loop(names)
                base.append(elapsed)
                label = "sos networking" if why_not is None else "ip -j loop"
                print(f"  run {i + 1}: {label} {elapsed:.2f} s", flush=True)
        ours, theirs = statistics.median(bundle), statistics.median(base)
        seen = steps[-1]["namespaces"]
        print(f"namespaces on the host: {seen:.0f} ({len(names)} of them the lab's)")
        print(f"netscope bundle (export --live --redact -o json -o html -o md): {ours:.2f} s "
              f"(median of {args.runs}), {statistics.median(sizes) / 1e6:.2f} MB")
        print(f"netscope two commands (snapshot --redact; export -o html -o md): "
              f"{statistics.median(two):.2f} s")
        for key in ("collect", "redact", "rebuild", "doctor+tables", "HTML", "Markdown"):
            ms = statistics.median(s[key] for s in steps) * 1000
            print(f"    in-process {key:<12} {ms:8.1f} ms")
        if why_not is None:
            print(f"sos report --only-plugins networking --batch: {theirs:.2f} s "
                  f"(median of {sos_runs}), {statistics.median(base_sizes) / 1e6:.2f} MB")
        else:
            print(f"baseline NOT sos ({why_not}): ip -j loop {theirs:.2f} s "
                  f"(median of {sos_runs})")
        print(f"ratio: netscope is {theirs / ours:.1f}x faster; budget < 2 s: "
              f"{'met' if ours < 2 else 'MISSED'}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        lab_down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
