"""The impaired link's release instants: delay, jitter, spikes, stalls, bandwidth, order, loss."""

from __future__ import annotations

import random

import pytest

from tests.impairment.profile import WIFI, Profile, Schedule


def schedule(profile: Profile, seed: int = 1) -> Schedule:
    return Schedule(profile, origin=0.0, rng=random.Random(seed))


def test_delay_stays_within_the_jitter_and_never_reorders_a_stream() -> None:
    link = schedule(Profile("j", delay_ms=20, jitter_ms=15))
    releases = [link.release_at(t / 1000, 100) for t in range(0, 1000, 2)]
    delays = [r - t / 1000 for r, t in zip(releases, range(0, 1000, 2), strict=True)]
    assert min(delays) >= 0.005 - 1e-9
    assert max(delays) <= 0.035 + 0.002  # a chunk may wait for the previous one, 2 ms apart
    assert releases == sorted(releases)


def test_datagrams_may_overtake_each_other() -> None:
    link = schedule(Profile("j", delay_ms=20, jitter_ms=15))
    releases = [link.release_at(t / 1000, 0, ordered=False) for t in range(0, 200, 2)]
    assert releases != sorted(releases)


def test_a_stall_holds_everything_until_its_end() -> None:
    link = schedule(Profile("s", stall_every_s=60, stall_s=2))
    assert link.release_at(10.0, 100) == pytest.approx(10.0)
    assert link.release_at(58.5, 100) == pytest.approx(60.0)  # in the stall: its end
    assert link.release_at(59.9, 100) == pytest.approx(60.0)
    assert link.release_at(60.1, 100) == pytest.approx(60.1)
    assert link.release_at(119.0, 100) == pytest.approx(120.0)  # every minute


def test_the_bandwidth_cap_spaces_chunks_by_their_size() -> None:
    link = schedule(Profile("b", bandwidth_kbps=1000))  # 125 000 bytes a second
    first = link.release_at(0.0, 12_500)
    second = link.release_at(0.0, 12_500)
    assert first == pytest.approx(0.1)
    assert second == pytest.approx(0.2)


def test_spikes_and_losses_come_at_their_rates() -> None:
    link = schedule(Profile("x", spike_rate=0.01, spike_ms=300, mdns_drop=0.02), seed=5)
    late = sum(link.release_at(0.0, 0, ordered=False) >= 0.3 for _ in range(20_000))
    lost = sum(link.dropped() for _ in range(20_000))
    assert 100 <= late <= 300  # 1 % of 20 000, give or take chance
    assert 250 <= lost <= 550  # 2 %


def test_the_wifi_profile_describes_itself_in_words() -> None:
    text = WIFI.describe()
    assert "20 ms ± 15 ms" in text
    assert "a 2 s stall every 60 s" in text
    assert "1% of packets +300 ms" in text
