"""The heavy benchmarks' quick run: transfers (also through PulseAudio), groups, faults.

Split from test_bench_smoke.py (which says what a smoke is) so a worker of its own runs it.
"""

from __future__ import annotations

import pytest

from tests.unit.test_bench_smoke import HAVE_PULSE, HEAVY, QuickRun, quick


@pytest.fixture(scope="module")
def heavy_run() -> QuickRun:
    """One quick run of the heavy benchmarks (read-only: the tests only look at it)."""
    # `--output pulse` adds the transfer session through PulseAudio to the capture one,
    # instead of a second run of the whole transfer benchmark for it.
    output = ["--output", "pulse"] if HAVE_PULSE else []
    return quick([*output, *HEAVY], 590)


@pytest.mark.slow
@pytest.mark.timeout(600)  # ~85 s on a quiet 2-core machine; the timeout is for load average 10
def test_quick_run_of_the_heavy_benchmarks_reports_figures(heavy_run: QuickRun) -> None:
    assert heavy_run.benchmarks() == set(HEAVY)


@pytest.mark.slow
@pytest.mark.timeout(600)  # the same run, when this test is the first to ask for it
def test_quick_transfer_through_a_sound_server_reports_the_same_table(
    heavy_run: QuickRun,
) -> None:
    """`bench transfer --output pulse`: the capture table and the same through PulseAudio."""
    if not HAVE_PULSE:
        pytest.skip("PulseAudio is not installed (./dev setup installs pulseaudio-utils)")
    names, out = heavy_run.names, heavy_run.stdout
    for figure in ("request_to_audible", "gap_or_overlap", "position_error"):
        assert f"transfer.handoff.{figure}" in names, out
        assert f"transfer.pulse.handoff.{figure}" in names, out
    assert "transfer.pulse.unreadable_transfers" not in names, out
    assert "side by side, same run: capture vs pulse" in out
