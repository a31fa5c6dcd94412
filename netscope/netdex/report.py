"""netdex results as a comparison table, terminal bar charts, a Markdown report and JSON.

Everything is relative to host mode, the limit on this host: a mode that beats it is either
within the machine's noise or crosses less than host mode does (the loopback modes cross no
device at all), and its note says which.
"""

from __future__ import annotations

from collections.abc import Callable

from netscope.netdex.modes import BASELINE
from netscope.netdex.runner import ModeResult, NetdexRun

JSON_FORMAT = "netscope-netdex"
JSON_VERSION = 1
BAR_WIDTH = 40
# one 4 s iperf3 run over veth+bridge varies by about 10% on these machines (DESIGN.md)
NOISE = 0.10


def baseline(run: NetdexRun) -> ModeResult | None:
    return next((r for r in run.results if r.mode.key == BASELINE and r.throughput), None)


def relative(result: ModeResult, base: ModeResult | None) -> float | None:
    """Throughput as a fraction of host mode's, or None when either is missing."""
    if not (result.throughput and base and base.throughput and base.throughput.gbps > 0):
        return None
    return result.throughput.gbps / base.throughput.gbps


def note(result: ModeResult, base: ModeResult | None, cpus: int = 0) -> str:
    """Why a mode is where it is: an error, the baseline, or why it beats host mode."""
    if result.error:
        return f"not measured: {result.error}"
    if result is base:
        return "baseline (the limit on this host)"
    rel = relative(result, base)
    if rel is None or rel <= 1.0:
        return ""
    if result.mode.loopback:
        return "loopback: crosses no device pair, so it can beat host mode's veth"
    if rel <= 1.0 + NOISE:
        return f"within noise of host mode (+{(rel - 1) * 100:.0f}%, runs vary ~10%)"
    busy = max((r.load for r in (result, base) if r and r.load is not None), default=None)
    if busy is not None and cpus and busy >= cpus:
        return (f"faster than host mode by {(rel - 1) * 100:.0f}%: the machine was busy "
                f"(load {busy:.1f} on {cpus} CPUs), so runs vary far more than ~10%; rerun "
                "when it is quiet, with --repeat 3")
    return (f"faster than host mode by {(rel - 1) * 100:.0f}%: beyond the ~10% noise; "
            "rerun with --repeat 3 and a longer --duration")


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


COLUMNS = ("mode", "lab", "Gbit/s", "vs host", "RTT p50 us", "RTT p99 us", "conn/s",
           "CPU %/Gbit/s")


def rows(run: NetdexRun) -> list[list[str]]:
    """The comparison table, one row of text cells per mode (COLUMNS)."""
    base = baseline(run)
    out = []
    for r in run.results:
        t, lat, setup = r.throughput, r.latency, r.setup
        rel = relative(r, base)
        out.append([
            r.mode.key, r.mode.lab, _fmt(t.gbps if t else None, 2),
            "-" if rel is None else f"{rel * 100:.0f}%",
            _fmt(lat.median_us if lat else None), _fmt(lat.p99_us if lat else None),
            _fmt(setup.per_second if setup else None, 0),
            _fmt(t.cpu_pct_per_gbps if t else None),
        ])
    return out


def table(run: NetdexRun) -> str:
    body = rows(run)
    widths = [max(len(c), *(len(row[i]) for row in body)) if body else len(c)
              for i, c in enumerate(COLUMNS)]

    def line(cells: list[str] | tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True)))

    return "\n".join([line(COLUMNS), line(["-" * w for w in widths]), *map(line, body)])


def bars(run: NetdexRun, title: str, value: Callable[[ModeResult], float | None],
         unit: str, width: int = BAR_WIDTH) -> str:
    """A horizontal bar per mode, scaled to the largest value."""
    values = [(r.mode.key, value(r)) for r in run.results]
    top = max((v for _, v in values if v), default=0.0)
    name_w = max((len(k) for k, _ in values), default=4)
    lines = [title]
    for key, v in values:
        if v is None:
            lines.append(f"  {key:<{name_w}}  (not measured)")
            continue
        n = round(width * v / top) if top else 0
        lines.append(f"  {key:<{name_w}}  {'█' * n}{'░' * (width - n)} {v:,.2f} {unit}")
    return "\n".join(lines)


def charts(run: NetdexRun) -> str:
    return "\n\n".join([
        bars(run, "TCP throughput", lambda r: r.throughput.gbps if r.throughput else None,
             "Gbit/s"),
        bars(run, "request/response latency, median (shorter is better)",
             lambda r: r.latency.median_us if r.latency else None, "us"),
        bars(run, "connection setup rate", lambda r: r.setup.per_second if r.setup else None,
             "conn/s"),
    ])


def notes(run: NetdexRun) -> list[str]:
    base = baseline(run)
    out = []
    for r in run.results:
        text = note(r, base, run.cpus)
        out.append(f"{r.mode.key}: {r.mode.crossing}" + (f". {text}" if text else ""))
    return out


def text_report(run: NetdexRun) -> str:
    return "\n\n".join([table(run), charts(run), "\n".join(notes(run)), _how(run)])


def _how(run: NetdexRun) -> str:
    loads = [r.load for r in run.results if r.load is not None]
    rounds = f", medians of {run.repeat} alternating rounds" if run.repeat > 1 else ""
    busy = f"; load average up to {max(loads):.1f}" if loads else ""
    return (f"kernel {run.kernel}, {run.cpus} CPUs, {run.iperf3}; {run.duration_s:g} s per "
            f"measurement{rounds}{busy}. Gbit/s: one iperf3 TCP stream. RTT: 64-byte TCP "
            "request/response on one connection (python, so tens of us are the "
            "interpreter's). conn/s: connect and close, one at a time. CPU: iperf3 sender + "
            "receiver process time (% of one core) per Gbit/s.")


def markdown(run: NetdexRun) -> str:
    """The report as Markdown: table, charts in a code block, what each mode crosses."""
    body = rows(run)
    md = [f"# netdex: container networking modes on {run.kernel}", "",
          f"Measured {run.started_at}, {run.cpus} CPUs, {run.duration_s:g} s per measurement. "
          "Relative to host mode, the limit on this host.", "",
          "| " + " | ".join(COLUMNS) + " |",
          "|" + "|".join("---" if i < 2 else "---:" for i in range(len(COLUMNS))) + "|"]
    md += ["| " + " | ".join(row) + " |" for row in body]
    md += ["", "```", charts(run), "```", "", "## What each mode crosses", ""]
    md += [f"- {line}" for line in notes(run)]
    md += ["", "## How", "", _how(run), ""]
    return "\n".join(md)


def to_json(run: NetdexRun) -> dict:
    """{"format", "version", "kernel", "cpus", "started_at", "duration_s", "iperf3", "repeat",
    "modes": [{"mode", "lab", "crossing", "client_ns", "server_ns", "address", "gbps",
    "relative_to_host", "cpu_sender_pct", "cpu_receiver_pct", "cpu_pct_per_gbps",
    "retransmits", "rtt_median_us", "rtt_p99_us", "round_trips", "conn_per_s",
    "connections", "error", "note", "seconds", "gbps_runs", "load"}]}; figures are medians
    over the `repeat` rounds (gbps_runs: each round's); unmeasured values are null."""
    base = baseline(run)
    modes = []
    for r in run.results:
        t, lat, setup = r.throughput, r.latency, r.setup
        modes.append({
            "mode": r.mode.key, "lab": r.mode.lab, "crossing": r.mode.crossing,
            "client_ns": r.client_ns, "server_ns": r.server_ns, "address": r.address,
            "gbps": t.gbps if t else None, "relative_to_host": relative(r, base),
            "cpu_sender_pct": t.cpu_sender_pct if t else None,
            "cpu_receiver_pct": t.cpu_receiver_pct if t else None,
            "cpu_pct_per_gbps": t.cpu_pct_per_gbps if t else None,
            "retransmits": t.retransmits if t else None,
            "rtt_median_us": lat.median_us if lat else None,
            "rtt_p99_us": lat.p99_us if lat else None,
            "round_trips": lat.count if lat else None,
            "conn_per_s": setup.per_second if setup else None,
            "connections": setup.connections if setup else None,
            "error": r.error, "note": note(r, base, run.cpus), "seconds": r.seconds,
            "gbps_runs": list(r.gbps_runs), "load": r.load,
        })
    return {"format": JSON_FORMAT, "version": JSON_VERSION, "kernel": run.kernel,
            "cpus": run.cpus, "started_at": run.started_at, "duration_s": run.duration_s,
            "iperf3": run.iperf3, "repeat": run.repeat, "modes": modes}
