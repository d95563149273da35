"""Benchmarks never rot: the quick run of every benchmark succeeds and reports its figures.

A smoke, not a measurement: `--quick` runs each benchmark's code once at its smallest sizes
(bench/README.md), and no figure is judged here. This module's one run serves the light
benchmarks that need only loopback; the heavy ones (the transfer benchmark, also through
PulseAudio when the machine has it, groups, faults) run in test_bench_smoke_heavy.py, and those
timed in their own ways in test_bench_smoke_apart.py: three modules the suite hands to its three
workers first (tests/scheduling.py), so none of them waits for one long run.
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

ROOT = Path(__file__).resolve().parents[2]

# Each timed in its own way, so each has its own test: the soak's smoke is a soak of seconds,
# the impaired network's builds two namespaces, the bridges' starts real peers (~30 s).
ON_THEIR_OWN = ("soak", "impaired", "bridges")
# About half of the loopback run's time on a quiet machine (~85 s of ~160): one run of their own.
HEAVY = ("transfer", "group", "faults")
LIGHT = [name for name in BENCHMARKS if name not in ON_THEIR_OWN + HEAVY]
HAVE_PULSE = shutil.which("pulseaudio") is not None and shutil.which("parecord") is not None


@dataclass(frozen=True)
class QuickRun:
    """What one `python -m bench --quick` printed, and its figures' names."""

    stdout: str
    names: frozenset[str]

    def benchmarks(self) -> set[str]:
        """Return the benchmarks that reported at least one figure."""
        return {name.split(".")[0] for name in self.names}


def quick(args: list[str], timeout_s: float) -> QuickRun:
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


def test_the_smoke_modules_run_every_benchmark_once() -> None:
    assert sorted([*LIGHT, *HEAVY, *ON_THEIR_OWN]) == sorted(BENCHMARKS)


@pytest.mark.slow
@pytest.mark.timeout(600)  # ~75 s on a quiet 2-core machine; the timeout is for load average 10
def test_quick_run_of_every_light_benchmark_reports_figures() -> None:
    assert quick(LIGHT, 590).benchmarks() == set(LIGHT)
