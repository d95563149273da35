"""Benchmarks never rot: the quick run of every benchmark succeeds and reports its figures.

A smoke, not a measurement: `--quick` runs each benchmark's code once at its smallest sizes
(bench/README.md), and no figure is judged here. One run serves every benchmark that needs only
loopback, the transfer benchmark also through PulseAudio when the machine has it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.__main__ import BENCHMARKS
from tests.mpd_peer import mpd_installed
from tests.netns import netns_skip_reason

ROOT = Path(__file__).resolve().parents[2]

# Each timed in its own way, so each has its own test: the soak's smoke is a soak of seconds,
# the impaired network's builds two namespaces, the bridges' starts real peers (~30 s).
ON_THEIR_OWN = ("soak", "impaired", "bridges")
ON_LOOPBACK = [name for name in BENCHMARKS if name not in ON_THEIR_OWN]
HAVE_PULSE = shutil.which("pulseaudio") is not None and shutil.which("parecord") is not None


@dataclass(frozen=True)
class QuickRun:
    """What one `python -m bench --quick` printed, and its figures' names."""

    stdout: str
    names: frozenset[str]

    def benchmarks(self) -> set[str]:
        """Return the benchmarks that reported at least one figure."""
        return {name.split(".")[0] for name in self.names}


def _quick(args: list[str], timeout_s: float) -> QuickRun:
    """Run `python -m bench --quick ARGS`; check every figure; return what it reported."""
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout_s,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    records = [
        json.loads(line.removeprefix("BENCH "))
        for line in result.stdout.splitlines()
        if line.startswith("BENCH ")
    ]
    for record in records:
        assert record["n"] > 0
        assert record["median"] <= record["p95"] <= record["p99"]
    return QuickRun(result.stdout, frozenset(record["name"] for record in records))


@pytest.fixture(scope="module")
def every_benchmark() -> QuickRun:
    """One quick run of every benchmark on loopback (read-only: the tests only look at it)."""
    # `--output pulse` adds the transfer session through PulseAudio to the capture one,
    # instead of a second run of the whole transfer benchmark for it.
    output = ["--output", "pulse"] if HAVE_PULSE else []
    return _quick([*output, *ON_LOOPBACK], 590)


@pytest.mark.slow
@pytest.mark.timeout(600)  # ~1 min on a quiet 2-core machine; the timeout is for load average 10
def test_quick_run_of_every_benchmark_reports_figures(every_benchmark: QuickRun) -> None:
    assert every_benchmark.benchmarks() == set(ON_LOOPBACK)


@pytest.mark.slow
@pytest.mark.timeout(600)  # the same run, when this test is the first to ask for it
def test_quick_transfer_through_a_sound_server_reports_the_same_table(
    every_benchmark: QuickRun,
) -> None:
    """`bench transfer --output pulse`: the capture table and the same through PulseAudio."""
    if not HAVE_PULSE:
        pytest.skip("PulseAudio is not installed (./dev setup installs pulseaudio-utils)")
    names, out = every_benchmark.names, every_benchmark.stdout
    for figure in ("request_to_audible", "gap_or_overlap", "position_error"):
        assert f"transfer.handoff.{figure}" in names, out
        assert f"transfer.pulse.handoff.{figure}" in names, out
    assert "transfer.pulse.unreadable_transfers" not in names, out
    assert "side by side, same run: capture vs pulse" in out


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_short_soak_reports_figures() -> None:
    assert _quick(["soak"], 170).benchmarks() == {"soak"}


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_quick_run_over_the_impaired_network_reports_figures() -> None:
    why_not = netns_skip_reason()
    if why_not is not None:
        pytest.skip(why_not)
    assert _quick(["impaired"], 170).benchmarks() == {"impaired"}


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_quick_run_of_the_bridges_reports_figures() -> None:
    if not mpd_installed():
        pytest.skip("mpd is not installed (./dev setup installs it)")
    assert _quick(["bridges"], 170).benchmarks() == {"bridges"}
