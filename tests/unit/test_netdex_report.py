"""netdex without root: modes fit the lab files, and the report explains every mode that beats
host mode."""

from __future__ import annotations

import pytest

from netscope.labs import catalog
from netscope.netdex import report
from netscope.netdex.measure import Latency, SetupRate, Throughput
from netscope.netdex.modes import MODES, Mode, ModeError, select, server_address
from netscope.netdex.runner import ModeResult, NetdexRun


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.key)
def test_every_mode_fits_its_lab(mode):
    address = server_address(mode, catalog.resolve(mode.lab))
    assert address == "127.0.0.1" if mode.loopback else not address.startswith("127.")


def test_server_address_prefers_the_clients_subnet():
    user = next(m for m in MODES if m.key == "user-bridge")
    assert server_address(user, catalog.resolve(user.lab)) == "10.218.1.3"  # not 10.218.2.3


def test_select_and_errors():
    assert [m.key for m in select(["pod", "host"])] == ["host", "pod"]  # catalogue order
    with pytest.raises(ModeError, match="unknown mode 'nope'"):
        select(["nope"])
    lab = catalog.resolve("host-mode")
    with pytest.raises(ModeError, match="no node 'c9'"):
        server_address(Mode("x", "host-mode", "c9", "host", ""), lab)


def _result(key: str, gbps: float | None, loopback: bool = False, error: str | None = None):
    mode = Mode(key, f"{key}-lab", "a", "b", f"{key} path", loopback)
    if gbps is None:
        return ModeResult(mode, error=error)
    return ModeResult(mode, "10.0.0.2", "nsa", "nsb", Throughput(gbps, 50.0, 40.0, 0),
                      Latency(1000, 64, 20.0, 60.0), SetupRate(5000, 0.5, 10000.0))


def _run(*results) -> NetdexRun:
    return NetdexRun(tuple(results), 2.0, "6.18", 2, "2026-11-23T00:00:00+00:00", "iperf 3.12")


def test_report_relative_to_host_with_reasons():
    run = _run(_result("host", 10.0), _result("bridge", 7.0), _result("lo", 12.0, True),
               _result("noisy", 10.5), _result("odd", 13.0), _result("gone", None,
                                                                   error="lab failed"))
    doc = report.to_json(run)
    by = {m["mode"]: m for m in doc["modes"]}
    assert by["host"]["relative_to_host"] == 1.0 and by["bridge"]["relative_to_host"] == 0.7
    assert "loopback" in by["lo"]["note"]
    assert "within noise" in by["noisy"]["note"]
    assert "rerun" in by["odd"]["note"]
    assert by["gone"]["gbps"] is None and "lab failed" in by["gone"]["note"]
    assert by["host"]["cpu_pct_per_gbps"] == pytest.approx(9.0)
    text = report.text_report(run)
    assert "70%" in text and "(not measured)" in text
    md = report.markdown(run)
    assert md.count("\n| ") == 7 and "```" in md and "█" in md


def test_rounds_keep_medians_and_busy_machines_are_named():
    from dataclasses import replace

    from netscope.netdex.runner import combine

    runs = [replace(_result("bridge", g), load=load)
            for g, load in ((6.0, 0.5), (12.0, 3.5), (9.0, 1.0))]
    runs.append(_result("bridge", None, error="iperf3 failed"))
    merged = combine(runs)
    assert merged.throughput.gbps == 9.0 and merged.gbps_runs == (6.0, 12.0, 9.0)
    assert merged.error is None and merged.load == 3.5
    assert merged.latency.count == 3000
    assert combine([runs[-1]]).error == "iperf3 failed"

    busy = _run(replace(_result("host", 8.0), load=6.0), replace(_result("bridge", 10.0),
                                                                 load=6.2))
    text = report.note(busy.results[1], busy.results[0], busy.cpus)
    assert "busy (load 6.2 on 2 CPUs)" in text and "--repeat" in text
