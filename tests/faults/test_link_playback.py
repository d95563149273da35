"""The link between a playing receiver and its controller (and media server) goes down.

Expected outcome: the receiver plays on from what it has buffered (here the whole track: a
12 s WAV is inside libVLC's read-ahead, so the music never stops); the controller marks it
offline within its dead-peer timeout (3 heartbeats), and once the link is back it reconnects
on its own and shows the device's true state: the same session, still playing, at the position
the music really reached. Nothing is lost. Detection and recovery times are printed (`-s`);
bench/faults.py repeats the scenario for percentiles. In `pin` mode the controller pairs first
and its session, TLS with a token, must come back by itself just the same.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from connect.wire import messages as m
from tests.audio import read_capture
from tests.faults.outages import link_down_during_playback
from tests.integration.transfer.fault_bench import assert_plays_on, assert_session_kept
from tests.netns import netns_skip_reason

pytestmark = [
    pytest.mark.netns,
    pytest.mark.slow,
    pytest.mark.skipif(netns_skip_reason() is not None, reason=str(netns_skip_reason())),
]


@pytest.mark.parametrize("pairing", ["open", "pin"])
@pytest.mark.warning_logs(r"offline: timed out")
async def test_link_down_during_playback_receiver_plays_on_controller_reconnects(
    tmp_path: Path, pairing: str
) -> None:
    outage = await link_down_during_playback(tmp_path, down_s=4.0, pairing=pairing)
    print(
        f"\n  offline after {outage.detection_ms:.0f} ms; online with its state "
        f"{outage.recovery_ms:.0f} ms after the link came back"
    )
    assert outage.online_in_registry
    if pairing == "pin":  # the session that came back presented the token pairing gave
        assert outage.role_after is m.Role.OWNER
    after, before = outage.after, outage.before
    assert_session_kept(after, before)
    assert after.clock.playing
    # The true state: where the music really is, as if the link had never gone.
    at = outage.state_us
    assert abs(after.clock.position_at(at) - before.clock.position_at(at)) < 100
    assert_plays_on(
        read_capture(outage.recording), outage.cut_us, outage.state_us,
        position_ms_at=after.clock.position_at,
    )  # fmt: skip
