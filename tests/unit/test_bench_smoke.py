"""Benchmarks never rot: the quick run of every benchmark succeeds and reports its figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.__main__ import BENCHMARKS

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_quick_run_of_every_benchmark_reports_figures() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    records = [
        json.loads(line.removeprefix("BENCH "))
        for line in result.stdout.splitlines()
        if line.startswith("BENCH ")
    ]
    reported = {record["name"].split(".")[0] for record in records}
    assert reported == set(BENCHMARKS), result.stdout
    for record in records:
        assert record["n"] > 0
        assert record["median"] <= record["p95"] <= record["p99"]
