"""Benchmarks never rot: the quick run of every benchmark succeeds and reports its figures."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.__main__ import BENCHMARKS
from tests.netns import netns_skip_reason

ROOT = Path(__file__).resolve().parents[2]


# Timed on purpose, so each has its own test and its own time budget: the soak's smoke is a
# one-minute soak (what CI runs of it), the impaired network's builds two namespaces.
ON_THEIR_OWN = ("soak", "impaired")


def _quick(names: list[str], timeout_s: float) -> set[str]:
    """Run `python -m bench --quick NAMES`; check every figure; return the benchmarks reported."""
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", *names],
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
    return {record["name"].split(".")[0] for record in records}


@pytest.mark.slow
@pytest.mark.timeout(600)  # ~2 min on a quiet 2-core machine, over 4 min at load average 9
def test_quick_run_of_every_benchmark_reports_figures() -> None:
    names = [n for n in BENCHMARKS if n not in ON_THEIR_OWN]
    assert _quick(names, 590) == set(names)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_one_minute_soak_reports_figures() -> None:
    assert _quick(["soak"], 280) == {"soak"}


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_quick_run_over_the_impaired_network_reports_figures() -> None:
    why_not = netns_skip_reason()
    if why_not is not None:
        pytest.skip(why_not)
    assert _quick(["impaired"], 170) == {"impaired"}


@pytest.mark.slow
@pytest.mark.timeout(660)
def test_quick_transfer_through_a_sound_server_reports_the_same_table() -> None:
    """`bench transfer --output pulse`: the capture table and the same through PulseAudio."""
    if shutil.which("pulseaudio") is None or shutil.which("parecord") is None:
        pytest.skip("PulseAudio is not installed (./dev setup installs pulseaudio-utils)")
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--output", "pulse", "transfer"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    names = {
        json.loads(line.removeprefix("BENCH "))["name"]
        for line in result.stdout.splitlines()
        if line.startswith("BENCH ")
    }
    for figure in ("request_to_audible", "gap_or_overlap", "position_error"):
        assert f"transfer.handoff.{figure}" in names, result.stdout
        assert f"transfer.pulse.handoff.{figure}" in names, result.stdout
    assert "transfer.pulse.unreadable_transfers" not in names, result.stdout
    assert "side by side, same run: capture vs pulse" in result.stdout
