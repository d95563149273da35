"""The benchmarks timed in their own ways, each its own quick run: the soak (a soak of
seconds), the impaired network (two namespaces built), the bridges (real peers started, ~30 s).

Split from test_bench_smoke.py (which says what a smoke is) so a worker of its own runs them.
"""

from __future__ import annotations

import pytest

from tests.mpd_peer import mpd_installed
from tests.netns import netns_skip_reason
from tests.unit.test_bench_smoke import quick


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_short_soak_reports_figures() -> None:
    assert quick(["soak"], 170).benchmarks() == {"soak"}


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_quick_run_over_the_impaired_network_reports_figures() -> None:
    why_not = netns_skip_reason()
    if why_not is not None:
        pytest.skip(why_not)
    assert quick(["impaired"], 170).benchmarks() == {"impaired"}


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_quick_run_of_the_bridges_reports_figures() -> None:
    if not mpd_installed():
        pytest.skip("mpd is not installed (./dev setup installs it)")
    assert quick(["bridges"], 170).benchmarks() == {"bridges"}
